# The verbs a newcomer looks for. Targets stay thin: the logic lives in scripts/.
.DEFAULT_GOAL := help
.PHONY: help run test fmt lint build bench clean-local

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

run: ## Serve the API at http://127.0.0.1:9000 (DynamoDB Local, tables, demo client, hot reload)
	@scripts/run.sh

test: ## fmt check, clippy, then all tests against a fresh DynamoDB Local (what CI runs)
	@scripts/test.sh

fmt: ## Format the code
	cargo fmt --all

lint: ## fmt check and clippy with warnings as errors
	@scripts/lint.sh

build: ## Every function as a Lambda zip for arm64 (cargo lambda, release), with sizes; ARCH=x86_64 to override
	@scripts/build.sh

bench: ## replaysafe vs a Powertools peer and the SDK floor, cold start, concurrency: writes bench/RESULTS.md
	@scripts/bench.sh

clean-local: ## Stop local DynamoDB instances, delete .local/ and .venv (tools reinstall on next run)
	@scripts/dynamodb-local.sh stop-all
	rm -rf .local .venv
