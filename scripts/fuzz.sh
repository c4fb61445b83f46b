#!/usr/bin/env bash
# Coverage-guided fuzzing of the header parsers, the request bodies and the whole request check
# (fuzz/fuzz_targets), each for a bounded time. Needs the nightly toolchain (installed on our
# machines; `cargo +nightly fuzz`) and cargo-fuzz (installed here, pinned, when missing).
# Usage: scripts/fuzz.sh [TARGET...]   env: FUZZ_SECONDS per target (default 60),
#        FUZZ_SANITIZER (default none: safe Rust; `address` for ASan)
# Corpus grows in target/fuzz-corpus/<target> from the committed seeds in fuzz/seeds/<target>;
# a crash is written to target/fuzz-artifacts/<target>/ and fails the run (and the next ones,
# until it passes).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

CARGO_FUZZ_VERSION="0.13.2"
seconds="${FUZZ_SECONDS:-60}"
sanitizer="${FUZZ_SANITIZER:-none}"

rustup toolchain list 2>/dev/null | grep -q '^nightly' ||
  die "no nightly toolchain: cargo fuzz needs it (rustup toolchain install nightly)"
if [[ "$(cargo fuzz --version 2>/dev/null)" != "cargo-fuzz $CARGO_FUZZ_VERSION" ]]; then
  log "installing cargo-fuzz $CARGO_FUZZ_VERSION (crates.io)"
  cargo install -q cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
fi

cd "$ROOT/fuzz"
targets=("$@")
if ((${#targets[@]} == 0)); then mapfile -t targets < <(cargo +nightly fuzz list); fi
log "building fuzz targets (nightly, sanitizer: $sanitizer)"
cargo +nightly fuzz build -s "$sanitizer"
for t in "${targets[@]}"; do
  corpus="$ROOT/target/fuzz-corpus/$t" artifacts="$ROOT/target/fuzz-artifacts/$t"
  mkdir -p "$corpus" "$artifacts" "seeds/$t"
  # A crash kept from an earlier run is tried again first: still a crash fails the run; one
  # that passes now (fixed since) moves to fixed/, so that it cannot fail later runs.
  while IFS= read -r old; do
    cargo +nightly fuzz run -s "$sanitizer" "$t" "$old" >/dev/null 2>&1 ||
      die "$t: ${old#"$ROOT"/} still crashes"
    mkdir -p "$artifacts/fixed" && mv "$old" "$artifacts/fixed/"
    log "$t: ${old##*/} from an earlier run passes now (moved to fixed/)"
  done < <(find "$artifacts" -maxdepth 1 -name 'crash-*')
  log "fuzzing $t for ${seconds}s"
  cargo +nightly fuzz run -s "$sanitizer" "$t" "$corpus" "seeds/$t" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -artifact_prefix="$artifacts/" 2>&1 |
    grep -E '^(#[0-9]+ +(INITED|DONE)|Done|==[0-9]+==|SUMMARY|thread .* panicked|.*Test unit written)' || true
  if compgen -G "$artifacts/crash-*" >/dev/null; then die "$t: crash found, see $artifacts"; fi
done
log "no crash in ${#targets[@]} targets (${seconds}s each)"
