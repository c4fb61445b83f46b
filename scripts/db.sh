#!/usr/bin/env bash
# What `make db` runs: an in-memory DynamoDB Local in the foreground for the fast loop. Prints
# the environment to paste into another shell (for `cargo test …`, `make test ARGS=…` or
# `make run`), then waits; Ctrl-C (or SIGTERM) stops the JVM. Port: DYNAMODB_PORT (default 8000,
# or a free port when 8000 is taken and DYNAMODB_PORT is unset).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

port="${DYNAMODB_PORT:-8000}"
if [[ -z "${DYNAMODB_PORT:-}" ]] && port_open "$port"; then
  port="$(free_port)"
  log "port 8000 is in use: using $port (set DYNAMODB_PORT to choose)"
fi
dynamodb_session db-dynamodb "$port"
on_exit log "stopping DynamoDB Local"   # said before the session stops it (last in, first out)

# Fixed dummy credentials, never the caller's: DynamoDB Local accepts any, and real ones have no
# business on a terminal.
cat <<ENV
export AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:$port AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_REGION=us-east-1
ENV
cat >&2 <<HINT

  DynamoDB Local    http://127.0.0.1:$port   (in memory: gone when it stops)
  paste             the export line above into another shell, then e.g.
                      cargo test --test api finality
                      make test ARGS='--test api finality'
                      make run     (uses it instead of starting its own)
  stop              Ctrl-C

HINT
wait "$DYNAMODB_SESSION_PID"
