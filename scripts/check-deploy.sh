#!/usr/bin/env bash
# The deployment checks of `make test` that need no AWS account and no Docker: the SAM template
# (`sam validate --lint`, `cfn-lint`, and SAM's transform in each AuthMode, which those two do not
# run) and the OpenAPI document. The consistency tests between them and the code run with
# `cargo test` (tests/tests/deploy.rs).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

"$ROOT/scripts/bootstrap.sh" sam

# Offline: no telemetry, no update check. `sam validate` needs a region to translate the
# template, but no credentials.
export SAM_CLI_TELEMETRY=0
export AWS_REGION="${AWS_REGION:-us-east-1}"

log "sam validate --lint"
sam validate --lint --template-file template.yaml --region "$AWS_REGION"
log "cfn-lint template.yaml"
cfn-lint template.yaml
log "SAM transform of template.yaml in both AuthModes"
AWS_DEFAULT_REGION="$AWS_REGION" "$VENV_DIR/bin/python" scripts/sam-transform.py template.yaml
log "openapi-spec-validator openapi.yaml"
openapi-spec-validator openapi.yaml
