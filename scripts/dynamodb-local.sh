#!/usr/bin/env bash
# Manage a long-lived, in-memory DynamoDB Local for development.
# Usage: scripts/dynamodb-local.sh start|stop|status|stop-all    (port: DYNAMODB_PORT, default 8000)
# `start` prints the endpoint URL on stdout, so: export AWS_ENDPOINT_URL_DYNAMODB=$(scripts/dynamodb-local.sh start)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PORT="${DYNAMODB_PORT:-8000}"
# One pid file per port, so several instances (e.g. dev server + tests) never step on each other.
PIDFILE="$LOCAL_DIR/dynamodb-$PORT.pid"
LOGFILE="$LOCAL_DIR/dynamodb-$PORT.log"

case "${1:-}" in
  start)
    "$ROOT/scripts/bootstrap.sh" dynamodb
    dynamodb_start "$PORT" "$PIDFILE" "$LOGFILE"
    echo "http://127.0.0.1:$PORT"
    ;;
  stop)
    if pid_alive "$PIDFILE"; then log "stopping DynamoDB Local (pid $(cat "$PIDFILE"))"; fi
    dynamodb_stop "$PIDFILE"
    ;;
  status)
    if pid_alive "$PIDFILE"; then
      log "DynamoDB Local running (pid $(cat "$PIDFILE")) at http://127.0.0.1:$PORT"
    else
      log "DynamoDB Local not running on port $PORT"; exit 1
    fi
    ;;
  stop-all)  # every instance these scripts started (used by `make clean-local` before deleting .local)
    for f in "$LOCAL_DIR"/*dynamodb-*.pid; do
      [[ -f "$f" ]] || continue
      if pid_alive "$f"; then log "stopping DynamoDB Local (pid $(cat "$f"))"; fi
      dynamodb_stop "$f"
    done
    ;;
  *) die "usage: $0 start|stop|status|stop-all" ;;
esac
