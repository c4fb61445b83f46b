#!/usr/bin/env bash
# What `make unit` runs: every test that needs no database, in seconds once built. Unit tests
# and doc tests of every crate, the aws-smithy-mocks tests of the guard
# (tests/tests/transaction_failures.rs), the client's retry tests against a stub HTTP server, the
# CLI's jwt-mode tests (cli/tests/jwt_mode.rs). Not the suites run against DynamoDB Local (`make
# test` runs those).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

# The crates whose integration tests need DynamoDB Local (their harness, tests/src/lib.rs,
# reads AWS_ENDPOINT_URL_DYNAMODB; the gateway's runs make run's stack on it). Only their unit
# tests run here.
DB_PACKAGES=(replaysafe-tests replaysafe-cli replaysafe-gateway)

# "No database" must hold even with `make db`'s exports in this shell: a test that needs one
# then fails here with the harness's message instead of quietly passing.
unset AWS_ENDPOINT_URL_DYNAMODB AWS_ENDPOINT_URL

"$ROOT/scripts/bootstrap.sh" interop

exclude=()
for p in "${DB_PACKAGES[@]}"; do exclude+=(--exclude "$p"); done

# Three runs over the whole workspace, so that cargo resolves features as `make test` does and
# rebuilds nothing (selecting packages with -p would resolve them anew).
log "cargo test: unit tests of every crate"
cargo test --workspace --lib --bins
log "cargo test: integration and doc tests of every crate but ${DB_PACKAGES[*]}"
cargo test --workspace "${exclude[@]}" --test '*'
cargo test --workspace "${exclude[@]}" --doc
log "cargo test: the guard's mocked failure paths and the CLI's jwt-mode tests (no database)"
cargo test --workspace --test transaction_failures --test jwt_mode
