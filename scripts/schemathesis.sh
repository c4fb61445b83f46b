#!/usr/bin/env bash
# Contract fuzzing: schemathesis (pinned in tests/schemathesis/requirements.txt, installed into
# .venv) generates requests from openapi.yaml, tests/schemathesis/hooks.py signs each one, and
# the running API (target/debug/api-under-test: the real handlers over HTTP on fresh tables,
# withdrawals paid to a fake bank of its own)
# answers. Fails on any 5xx, any answer the schema does not describe, any error that is not
# problem+json.
# Usage: scripts/schemathesis.sh [MAX_EXAMPLES]   (default 20; make soak uses more)
# Needs AWS_ENDPOINT_URL_DYNAMODB (a DynamoDB Local; scripts/test.sh and scripts/soak.sh set it).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

max_examples="${1:-20}"
: "${AWS_ENDPOINT_URL_DYNAMODB:?set AWS_ENDPOINT_URL_DYNAMODB to a running DynamoDB Local}"
aws_dummy_env

venv_install "$ROOT/tests/schemathesis/requirements.txt"

cargo build -q -p replaysafe-tests --bin api-under-test
cargo build -q -p fake-bank   # the bank api-under-test pays withdrawals out to
# The server prints its URL and client on one line and serves until its stdin closes.
coproc API { exec "$ROOT/target/debug/api-under-test" 2>"$LOCAL_DIR/api-under-test.log"; }
on_exit stop_pid "$API_PID" 5   # API_PID: set by coproc
read -r -t 60 line <&"${API[0]}" || die "api-under-test did not start (see .local/api-under-test.log)"
field() { python3 -c 'import json, sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$line" "$1"; }
url="$(field url)"

log "schemathesis: $max_examples examples per operation against $url"
# Every check runs but unsupported_method: an HTTP API in API Gateway answers a method that no
# route declares (DELETE /accounts) with its own 404 before any function runs, as api-under-test
# does; the check wants 405 with `Allow`, which no function of ours can send. ignored_auth runs:
# the hook signs only what its auth provider marked, so the check's probes (no Signature, an
# invalid one) go out unsigned and must get 401. positive_data_acceptance runs with the
# expectations in tests/schemathesis/schemathesis.toml and the hook's filter (see hooks.py).
# Its caches and reports go under target/, not into the source tree.
mkdir -p "$ROOT/target/schemathesis" && cd "$ROOT/target/schemathesis"
REPLAYSAFE_CLIENT_ID="$(field client_id)" REPLAYSAFE_SECRET="$(field secret)" \
  PYTHONPATH="$ROOT/tests/schemathesis" SCHEMATHESIS_HOOKS=hooks \
  "$VENV_DIR/bin/schemathesis" --config-file "$ROOT/tests/schemathesis/schemathesis.toml" \
  run "$ROOT/openapi.yaml" \
  --url "$url" --checks all --exclude-checks unsupported_method \
  --max-examples "$max_examples" --seed "${SCHEMATHESIS_SEED:-1}" --no-color \
  --report-dir "$ROOT/target/schemathesis/reports"
