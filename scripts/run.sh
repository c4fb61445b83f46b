#!/usr/bin/env bash
# What `make run` runs: serve the API at http://127.0.0.1:${API_PORT:-9000} with `cargo lambda watch`
# (hot reload), against DynamoDB Local (or AWS_ENDPOINT_URL_DYNAMODB when set), with tables and a
# demo client. Ctrl-C / SIGTERM stop cargo-lambda, its functions, and the DynamoDB Local we started.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

API_PORT="${API_PORT:-9000}"
DYNAMODB_PORT="${DYNAMODB_PORT:-8000}"
PIDFILE="$LOCAL_DIR/dynamodb-$DYNAMODB_PORT.pid"   # same file as dynamodb-local.sh: reuse its instance
CLIENT_FILE="$LOCAL_DIR/demo-client.json"
CLIENT_DB_FILE="$LOCAL_DIR/demo-client.db"     # which database that client was created in
own_db=false
watch_pid=""

cleanup() {
  trap '' INT TERM   # a second Ctrl-C must not cut the cleanup short (it is bounded by timeouts)
  if [[ -n "$watch_pid" ]]; then stop_pid "$watch_pid" 15; fi
  if $own_db; then dynamodb_stop "$PIDFILE"; fi
  rm -f "$CLIENT_FILE.tmp"
}
trap cleanup EXIT
trap 'exit 130' INT    # leave through the EXIT trap
trap 'exit 143' TERM

"$ROOT/scripts/bootstrap.sh" all
aws_dummy_env
port_open "$API_PORT" && die "port $API_PORT is already in use (set API_PORT)"

# Build every binary first: fails fast without a JVM, and `cargo lambda watch` (which runs
# `cargo run --bin <function>` in the same dev profile) then answers the first request at once.
log "building the workspace"
cargo build --workspace --bins

if [[ -n "${AWS_ENDPOINT_URL_DYNAMODB:-}" ]]; then
  log "using DynamoDB at $AWS_ENDPOINT_URL_DYNAMODB"
  db_id="$AWS_ENDPOINT_URL_DYNAMODB"
elif pid_alive "$PIDFILE"; then
  log "using DynamoDB Local started by scripts/dynamodb-local.sh (left running on exit)"
  export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$DYNAMODB_PORT"
  db_id="$AWS_ENDPOINT_URL_DYNAMODB pid $(cat "$PIDFILE")"   # in-memory: a restart loses the client
else
  own_db=true   # set before starting, so an interrupt during the start still stops it
  db_id="ours, in-memory"
  dynamodb_start "$DYNAMODB_PORT" "$PIDFILE" "$LOCAL_DIR/dynamodb-$DYNAMODB_PORT.log" tied
  export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$DYNAMODB_PORT"
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

# cargo-lambda 1.9.2 passes this process's environment (AWS_ENDPOINT_URL_DYNAMODB, credentials,
# region) to the functions. Precedence, measured: [workspace.metadata.lambda.env] in Cargo.toml
# beats --env-var/--env-file, which beat the inherited environment.
# Run in the background and `wait`, so a signal sent to this script alone still reaches the trap.
log "starting cargo lambda watch on 127.0.0.1:$API_PORT"
"${TIED[@]}" cargo lambda watch --invoke-address 127.0.0.1 --invoke-port "$API_PORT" &
watch_pid=$!
wait_port "$API_PORT" 120 "$watch_pid" || die "cargo lambda watch did not listen on port $API_PORT"

cat >&2 <<BANNER

  replaysafe API    http://127.0.0.1:$API_PORT   (POST /accounts, GET /accounts/{id}, POST /transfers, GET /transfers/{id})
  DynamoDB          $AWS_ENDPOINT_URL_DYNAMODB
  demo client       ${CLIENT_FILE#"$ROOT"/}   ({"client_id", "secret"})
  try               cargo run -q -p replaysafe-cli -- --help
  stop              Ctrl-C

BANNER
wait "$watch_pid"
