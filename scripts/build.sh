#!/usr/bin/env bash
# What `make build` runs: each Lambda function as a deployable zip,
# `cargo lambda build --release --arm64 --output-format zip`, then each zip's size.
# arm64 is the template's default Architecture. Where the aarch64 std library cannot be installed,
# it builds x86_64 instead and says so: deploy that with `--parameter-overrides Architecture=x86_64`.
# ARCH=arm64|x86_64 forces one.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

"$ROOT/scripts/bootstrap.sh" lambda

arch="${ARCH:-}"
if [[ "$arch" != x86_64 ]]; then "$ROOT/scripts/bootstrap.sh" arm64; fi
if [[ -z "$arch" ]]; then
  if rustup target list --installed 2>/dev/null | grep -qx aarch64-unknown-linux-gnu; then
    arch=arm64
  else
    arch=x86_64
    log "warning: no aarch64 std library (rustup target add aarch64-unknown-linux-gnu failed):"
    log "         building x86_64; deploy with --parameter-overrides Architecture=x86_64"
  fi
fi
case "$arch" in
  arm64) flags=(--arm64) ;;
  x86_64) flags=(--x86-64) ;;
  *) die "ARCH must be arm64 or x86_64, not '$arch'" ;;
esac
# cargo-lambda cross-compiles and pins glibc with zig (from the venv). Without zig it can only
# use the host toolchain, which works for the host's own architecture.
if ! command -v python-zig >/dev/null && ! command -v zig >/dev/null; then
  log "warning: zig not found: building with --compiler cargo"
  flags+=(--compiler cargo)
fi

functions=()
for dir in functions/*/; do functions+=("$(basename "$dir")"); done
packages=()
for f in "${functions[@]}"; do packages+=(--package "$f"); done

log "cargo lambda build --release ${flags[*]} --output-format zip (${functions[*]})"
started=$SECONDS
cargo lambda build --release "${flags[@]}" --output-format zip "${packages[@]}"
elapsed=$((SECONDS - started))

printf '\n%-16s %-8s %12s  %s\n' function arch bytes zip
for f in "${functions[@]}"; do
  zip="target/lambda/$f/bootstrap.zip"
  [[ -f "$zip" ]] || die "$zip was not produced"
  size="$(stat -c %s "$zip")"
  printf '%-16s %-8s %12s  %s (%s)\n' "$f" "$arch" "$size" "$zip" "$(numfmt --to=iec-i --suffix=B "$size")"
done
printf '\nbuilt in %ss\n' "$elapsed"
