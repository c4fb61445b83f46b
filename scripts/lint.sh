#!/usr/bin/env bash
# Formatting and lints, as CI enforces them (`make lint`; also the first steps of `make test`).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

log "cargo fmt --check"
cargo fmt --all -- --check
log "cargo clippy -D warnings"
cargo clippy --workspace --all-targets -- -D warnings
log "cargo clippy -D warnings, the library without its Lambda adapter"
cargo clippy -p replaysafe --no-default-features --all-targets -- -D warnings
