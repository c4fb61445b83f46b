#!/usr/bin/env bash
# What `make test` and CI run: fmt + clippy, then the whole workspace's tests against ONE fresh
# in-memory DynamoDB Local (port: DYNAMODB_TEST_PORT, default a free port) and one SQS server
# (SQS_TEST_PORT, default a free port), stopped on any exit, then the deploy checks. The
# workspace's tests include make run's stack over its real port (gateway/tests/stack.rs: cargo
# lambda watch behind the local gateway), hence cargo-lambda.
#
# With arguments (`make test ARGS=...`), only `cargo test <arguments>`: no fmt, clippy or deploy
# checks. It runs against the DynamoDB Local of `make db` when AWS_ENDPOINT_URL_DYNAMODB names
# one on this machine, else against a fresh one of its own as above; always on an SQS server of
# its own.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

if (($# > 0)) && [[ "${AWS_ENDPOINT_URL_DYNAMODB:-}" =~ ^http://(127\.0\.0\.1|localhost): ]]; then
  log "cargo test $* (DynamoDB at $AWS_ENDPOINT_URL_DYNAMODB)"
  for tool in lambda sqs interop; do "$ROOT/scripts/bootstrap.sh" "$tool"; done
  sqs_session test-sqs "${SQS_TEST_PORT:-$(free_port)}"
  cargo test "$@"
  exit
fi

# The tools first, so a missing one fails before the minutes of clippy.
"$ROOT/scripts/bootstrap.sh" dynamodb
"$ROOT/scripts/bootstrap.sh" lambda
"$ROOT/scripts/bootstrap.sh" sqs
"$ROOT/scripts/bootstrap.sh" interop
if (($# == 0)); then "$ROOT/scripts/lint.sh"; fi

dynamodb_session test-dynamodb "${DYNAMODB_TEST_PORT:-$(free_port)}"
# The queue tests (gateway/tests/queue_mapping.rs, cli/tests/queue.rs) read AWS_ENDPOINT_URL_SQS.
sqs_session test-sqs "${SQS_TEST_PORT:-$(free_port)}"

if (($# > 0)); then
  log "cargo test $* (DynamoDB Local at $AWS_ENDPOINT_URL_DYNAMODB)"
  cargo test "$@"
  exit
fi

log "cargo test (DynamoDB Local at $AWS_ENDPOINT_URL_DYNAMODB)"
# The real-process crash test runs target/debug/create-transfer, and cargo test builds a
# package's binaries only for that package's own integration tests: build every binary first,
# with the same features as the tests (--tests), so cargo test then has nothing left to build.
cargo build --workspace --bins --tests
cargo test --workspace

# Contract fuzzing of the running API: bounded here, more in `make soak`.
"$ROOT/scripts/schemathesis.sh" "${SCHEMATHESIS_EXAMPLES:-20}"

# ---- Later checks go here (e.g. `sam validate --lint`), before the exit stops DynamoDB. ----

# The SAM template and the OpenAPI document (the consistency tests ran with cargo test above).
"$ROOT/scripts/check-deploy.sh"
