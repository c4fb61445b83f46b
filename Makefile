# The verbs a newcomer looks for. Targets stay thin: the logic lives in scripts/.
.DEFAULT_GOAL := help
.PHONY: help run test unit db endpoints fmt lint build bench soak fuzz clean-local

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

run: ## Serve the API at http://127.0.0.1:9000 through the local gateway (DynamoDB Local, tables, demo client, payout queue on a local SQS, hot reload); AUTH_MODE=jwt for a JWT authorizer
	@scripts/run.sh

test: ## fmt, clippy, every test on a fresh DynamoDB Local, deploy checks (what CI runs). ARGS='--test api finality': only cargo test ARGS, no fmt/clippy/deploy checks, on make db's DynamoDB if exported
	@scripts/test.sh $(ARGS)

unit: ## Every test that needs no database (unit, doc, mock and stub-server tests): seconds once built
	@scripts/unit.sh

db: ## DynamoDB Local in the foreground: prints the env to export in another shell; Ctrl-C stops it
	@scripts/db.sh

endpoints: ## Write what the endpoint table (payments/src/routes.rs) derives: functions/, router, template.yaml functions, events/
	cargo xtask endpoints

fmt: ## Format the code
	cargo fmt --all

lint: ## fmt check and clippy with warnings as errors
	@scripts/lint.sh

build: ## Every function as a Lambda zip for arm64 (cargo lambda, release), with sizes; ARCH=x86_64 to override
	@scripts/build.sh

bench: ## replaysafe vs a Powertools peer and the SDK floor, cold start, concurrency: writes bench/RESULTS.md
	@scripts/bench.sh

soak: ## The long reliability suite (faults, crashes, bank workload, schemathesis); writes target/reliability-report.md
	@scripts/soak.sh

fuzz: ## cargo +nightly fuzz on the header parsers, bodies and request check, FUZZ_SECONDS (60) per target
	@scripts/fuzz.sh

clean-local: ## Stop local DynamoDB instances, delete .local/ and .venv (tools reinstall on next run)
	@scripts/dynamodb-local.sh stop-all
	rm -rf .local .venv
