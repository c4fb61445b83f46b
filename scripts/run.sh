#!/usr/bin/env bash
# What `make run` runs: serve the API at http://127.0.0.1:${API_PORT:-9000} through the local gateway
# (target/debug/local-gateway: API Gateway's routing, payload 2.0 events and, with AUTH_MODE=jwt,
# its JWT authorizer) in front of `cargo lambda watch` (hot reload) on an internal port, against
# DynamoDB Local (or AWS_ENDPOINT_URL_DYNAMODB when set), with tables and a demo client; and the
# payout queue on a local SQS server (SQS_PORT, default 9324) delivered to the payouts function
# by local-queue-mapping (docs/local-queue.md); and the money tables' streams delivered to the
# ledger auditor by local-stream-mapping (docs/local-streams.md).
# AUTH_MODE: signature (default) or jwt; jwt writes .local/jwt-dev.json once (the local signing
# key) and keeps it. Ctrl-C / SIGTERM stop the gateway, cargo-lambda, its functions, and the
# DynamoDB Local we started.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

API_PORT="${API_PORT:-9000}"
AUTH_MODE="${AUTH_MODE:-signature}"
case "$AUTH_MODE" in signature | jwt) ;; *) die "AUTH_MODE must be signature or jwt, not '$AUTH_MODE'" ;; esac
# The functions read AUTH_MODE from the environment cargo lambda watch passes them.
export AUTH_MODE
JWT_DEV_FILE="$LOCAL_DIR/jwt-dev.json"
DYNAMODB_PORT="${DYNAMODB_PORT:-8000}"
PIDFILE="$LOCAL_DIR/dynamodb-$DYNAMODB_PORT.pid"   # same file as dynamodb-local.sh: reuse its instance
CLIENT_FILE="$LOCAL_DIR/demo-client.json"
CLIENT_DB_FILE="$LOCAL_DIR/demo-client.db"     # which database that client was created in
own_db=false

# On exit (Ctrl-C and SIGTERM included), last started first stopped: the gateway, cargo lambda
# watch and its functions, the DynamoDB Local we started; then this file.
on_exit rm -f "$CLIENT_FILE.tmp"

"$ROOT/scripts/bootstrap.sh" all
aws_dummy_env
port_open "$API_PORT" && die "port $API_PORT is already in use (set API_PORT)"

# Build every binary first (the CLI and the gateway among them): fails fast on a build error.
# `cargo lambda watch` still runs `cargo run --bin <function>` on each function's first request,
# which resolves that package's features alone: after a change, that first request waits for it.
log "building the workspace"
cargo build --workspace --bins

if [[ "$AUTH_MODE" == jwt ]]; then
  jwt_dev_init "$JWT_DEV_FILE"
fi

if [[ -n "${AWS_ENDPOINT_URL_DYNAMODB:-}" ]]; then
  log "using DynamoDB at $AWS_ENDPOINT_URL_DYNAMODB"
  db_id="$AWS_ENDPOINT_URL_DYNAMODB"
elif pid_alive "$PIDFILE"; then
  log "using DynamoDB Local started by scripts/dynamodb-local.sh (left running on exit)"
  export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$DYNAMODB_PORT"
  db_id="$AWS_ENDPOINT_URL_DYNAMODB pid $(cat "$PIDFILE")"   # in-memory: a restart loses the client
else
  own_db=true
  db_id="ours, in-memory"
  dynamodb_session dynamodb "$DYNAMODB_PORT"   # in $PIDFILE
fi

log "creating tables (existing ones are kept)"
cargo run -q -p replaysafe-cli -- admin create-tables --with-app-tables --endpoint-url "$AWS_ENDPOINT_URL_DYNAMODB"

# Keep the saved demo client only while it can still exist: never in our own fresh in-memory
# database, and only in the same external database it was created in.
if $own_db || [[ ! -s "$CLIENT_FILE" || "$(cat "$CLIENT_DB_FILE" 2>/dev/null)" != "$db_id" ]]; then
  log "creating the demo client"
  # Write to a temporary file first: a failed command must not leave an empty client file.
  cargo run -q -p replaysafe-cli -- admin create-client --endpoint-url "$AWS_ENDPOINT_URL_DYNAMODB" \
    >"$CLIENT_FILE.tmp"
  mv "$CLIENT_FILE.tmp" "$CLIENT_FILE"
  echo "$db_id" >"$CLIENT_DB_FILE"
fi

# The payout queue on an SQS server of our own (in memory, SQS_PORT): the event source mapping
# started below delivers it to the payouts function.
SQS_PORT="${SQS_PORT:-9324}"
sqs_session sqs "$SQS_PORT"
log "creating the payout queues (existing ones are kept)"
queues="$(cargo run -q -p replaysafe-cli -- admin create-queues --endpoint-url "$AWS_ENDPOINT_URL_SQS" \
  --visibility-timeout 30)"
queue_field() { python3 -c 'import json, sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$queues" "$1"; }
queue_url="$(queue_field queue_url)"
dlq_url="$(queue_field dlq_url)"

# The bank withdrawals pay out to: the project's fake bank (in memory, BANK_PORT), its URL
# passed to the functions as BANK_URL.
BANK_PORT="${BANK_PORT:-9400}"
port_open "$BANK_PORT" && die "port $BANK_PORT is already in use (set BANK_PORT)"
log "starting the fake bank on 127.0.0.1:$BANK_PORT"
"${TIED[@]}" "$ROOT/target/debug/fake-bank" --listen "127.0.0.1:$BANK_PORT" >/dev/null &
bank_pid=$!
on_exit stop_pid "$bank_pid" 5
wait_port "$BANK_PORT" 30 "$bank_pid" || die "the fake bank did not listen on port $BANK_PORT"
export BANK_URL="http://127.0.0.1:$BANK_PORT"

# cargo-lambda 1.9.2 passes this process's environment (AWS_ENDPOINT_URL_DYNAMODB, credentials,
# region) to the functions. Precedence, measured: [workspace.metadata.lambda.env] in Cargo.toml
# beats --env-var/--env-file, which beat the inherited environment.
# Run in the background and `wait`, so a signal sent to this script alone still reaches the trap.
# cargo lambda watch listens on an internal port (LAMBDA_PORT, else a free one): its own routes
# (the watch router, and a function-URL form /lambda-url/<function>/... that API Gateway does not
# have) stay off the API's port. The gateway invokes the functions through its Lambda Invoke API.
watch_port="${LAMBDA_PORT:-$(free_port)}"
log "starting cargo lambda watch on 127.0.0.1:$watch_port (internal)"
"${TIED[@]}" cargo lambda watch --invoke-address 127.0.0.1 --invoke-port "$watch_port" &
watch_pid=$!
on_exit stop_pid "$watch_pid" 15
wait_port "$watch_port" 120 "$watch_pid" || die "cargo lambda watch did not listen on port $watch_port"

log "starting the local gateway on 127.0.0.1:$API_PORT ($AUTH_MODE mode)"
"${TIED[@]}" "$ROOT/target/debug/local-gateway" --listen "127.0.0.1:$API_PORT" \
  --lambda-url "http://127.0.0.1:$watch_port" --manifest "$ROOT/Cargo.toml" \
  --auth-mode "$AUTH_MODE" --jwt-dev "$JWT_DEV_FILE" &
gateway_pid=$!
on_exit stop_pid "$gateway_pid" 5
wait_port "$API_PORT" 30 "$gateway_pid" || die "the local gateway did not listen on port $API_PORT"

# Lambda's event source mapping, locally: batches of 10 to payouts, failures back after the
# visibility timeout. It outlives invoke failures (a payouts function not built yet included).
log "starting the queue mapping: ${queue_url##*/} -> payouts"
"${TIED[@]}" "$ROOT/target/debug/local-queue-mapping" --queue-url "$queue_url" \
  --endpoint-url "$AWS_ENDPOINT_URL_SQS" --lambda-url "http://127.0.0.1:$watch_port" \
  --function payouts --batch-size 10 --visibility-timeout 30 &
mapping_pid=$!
on_exit stop_pid "$mapping_pid" 5

# Lambda's DynamoDB Streams event source mappings, locally: each money table's stream (turned
# on here, NEW_AND_OLD_IMAGES, as the stack's StreamSpecification does) from its oldest record,
# batches to ledger-auditor, a failed record and the rest of its shard delivered again.
prefix="${TABLE_PREFIX:-replaysafe-}"
log "starting the stream mapping: ${prefix}{accounts,transfers,payouts,withdrawals} -> ledger-auditor"
"${TIED[@]}" "$ROOT/target/debug/local-stream-mapping" --endpoint-url "$AWS_ENDPOINT_URL_DYNAMODB" \
  --lambda-url "http://127.0.0.1:$watch_port" --function ledger-auditor --from-start \
  --table "${prefix}accounts" --table "${prefix}transfers" --table "${prefix}payouts" \
  --table "${prefix}withdrawals" &
stream_pid=$!
on_exit stop_pid "$stream_pid" 5

if [[ "$AUTH_MODE" == jwt ]]; then
  auth_line="jwt: Authorization: Bearer <token>, RS256 by ${JWT_DEV_FILE#"$ROOT"/}
                    ({\"issuer\", \"audience\", \"kid\", \"private_key_pem\"}; a token: replaysafe admin token --sub SUB)"
else
  auth_line="signature: RFC 9421 signatures by the demo client (AUTH_MODE=jwt for a JWT authorizer)"
fi

cat >&2 <<BANNER

  replaysafe API    http://127.0.0.1:$API_PORT   (accounts, transfers, withdrawals, payouts: docs/contract.md)
  auth mode         $auth_line
  functions         cargo lambda watch, Lambda Invoke API at http://127.0.0.1:$watch_port
  DynamoDB          $AWS_ENDPOINT_URL_DYNAMODB
  demo client       ${CLIENT_FILE#"$ROOT"/}   ({"client_id", "secret"})
  fake bank         $BANK_URL   (GET /_control/payments lists what it paid; docs/fake-bank.md)
  SQS               $AWS_ENDPOINT_URL_SQS   (moto, in memory; local-queue-mapping -> payouts)
  payout queue      $queue_url
  dead letters      $dlq_url   (after 5 receives)
  ledger auditor    the money tables' streams -> ledger-auditor (local-stream-mapping; a violation
                    is an ERROR line with "event":"ledger-violation": docs/ledger-auditor.md)
  send a payout     export AWS_ENDPOINT_URL_SQS=$AWS_ENDPOINT_URL_SQS PAYOUTS_QUEUE_URL=$queue_url AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_REGION=us-east-1
                    cargo run -q -p replaysafe-cli -- payout send --payout-id po_2026_12_alice \\
                      --from acc_alice --to acc_bob --amount 1500 --currency EUR   (--copies 2: a duplicate)
  try               cargo run -q -p replaysafe-cli -- --help
  stop              Ctrl-C

BANNER
# Any one stopping ends the run (on_exit stops the others).
wait -n "$watch_pid" "$gateway_pid" "$mapping_pid" "$stream_pid" "$bank_pid"
