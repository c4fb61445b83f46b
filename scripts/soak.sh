#!/usr/bin/env bash
# The long version of the reliability suite, against its own DynamoDB Local: property tests with
# many cases, every fault and crash test, the bank workload at size under faults, schemathesis
# with many examples. Writes target/reliability-report.md (also when a step fails) and fails if
# any step did.
# env: SOAK_TRANSFERS (5000), SOAK_WORKERS (16), SOAK_FAULT_RATE (0.05), SOAK_HELD_RATE (0.03),
#      SOAK_PAYOUTS (1000), SOAK_WITHDRAWALS (200),
#      SOAK_PROPTEST_CASES (10000), SOAK_SCHEMATHESIS_EXAMPLES (300), BANK_SEED (11)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

dynamodb_session soak-dynamodb "${DYNAMODB_TEST_PORT:-$(free_port)}"

out="$ROOT/target/reliability"
mkdir -p "$out"
report="$ROOT/target/reliability-report.md"
cases="${SOAK_PROPTEST_CASES:-10000}"
examples="${SOAK_SCHEMATHESIS_EXAMPLES:-300}"
log "building the tests and the function binaries (the real-process crash test runs them)"
cargo build -q --bins --tests -p replaysafe-signing -p replaysafe -p payments -p replaysafe-tests \
  -p create-transfer -p payouts -p fake-bank

steps=() failed=0
# step NAME COMMAND...: runs it with its output in target/reliability/NAME.log, records the result.
step() {
  local name="$1" start=$SECONDS status=passed
  shift
  log "$name"
  "$@" >"$out/$name.log" 2>&1 || { status="**FAILED**"; failed=1; }
  steps+=("| $name | $status | $((SECONDS - start)) s | target/reliability/$name.log |")
}

started=$SECONDS
step properties env PROPTEST_CASES="$cases" \
  cargo test -q -p replaysafe-signing -p replaysafe -p payments --test props
step faults-and-crashes cargo test -q -p replaysafe-tests --test reliability -- --include-ignored faults:: crash::
step bank env BANK_TRANSFERS="${SOAK_TRANSFERS:-5000}" BANK_WORKERS="${SOAK_WORKERS:-16}" \
  BANK_FAULT_RATE="${SOAK_FAULT_RATE:-0.05}" BANK_HELD_RATE="${SOAK_HELD_RATE:-0.03}" \
  BANK_REPORT="$out/bank.md" cargo test -q -p replaysafe-tests --test reliability -- --include-ignored bank
step beyond-http env BANK_PAYOUTS="${SOAK_PAYOUTS:-1000}" BANK_WITHDRAWALS="${SOAK_WITHDRAWALS:-200}" \
  BANK_FAULT_RATE="${SOAK_FAULT_RATE:-0.05}" \
  cargo test -q -p replaysafe-tests --test reliability -- payouts_and_withdrawals_under_faults
step schemathesis "$ROOT/scripts/schemathesis.sh" "$examples"

{
  echo "# Reliability report"
  echo
  echo "- $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git rev-parse --short HEAD)$(git diff --quiet || echo ' (with local changes)'), $(nproc) cores"
  echo "- ran for $((SECONDS - started)) s"
  echo "- property tests: $cases cases per property; schemathesis: $examples examples per operation"
  echo "  ($(grep -Eo '[0-9]+ generated, [^=]*' "$out/schemathesis.log" | tail -1 || echo 'no summary'))"
  echo
  echo "| step | result | took | output |"
  echo "|---|---|---|---|"
  printf '%s\n' "${steps[@]}"
  echo
  if [[ -f "$out/bank.md" ]]; then sed -e '1s/^# .*/## The bank workload/' -e '2,$s/^## /### /' "$out/bank.md"; fi
} >"$report"
log "wrote ${report#"$ROOT"/}"
exit "$failed"
