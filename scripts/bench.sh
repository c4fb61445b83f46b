#!/usr/bin/env bash
# What `make bench` runs: the request-path benchmark (DynamoDB calls, sequential round trips and
# time outside DynamoDB per path) against its own DynamoDB Local, stopped on any exit.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

"$ROOT/scripts/bootstrap.sh" dynamodb
port="$(free_port)"
pidfile="$LOCAL_DIR/bench-dynamodb-$port.pid"
trap 'dynamodb_stop "$pidfile"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
dynamodb_start "$port" "$pidfile" "$LOCAL_DIR/bench-dynamodb.log" tied
export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$port"
aws_dummy_env
cargo bench -p replaysafe-tests --bench request_paths
