#!/usr/bin/env bash
# Local single-node Apache Kafka 4.3.1 (KRaft) for development, tests and chaos tests.
# Runs from Maven Central jars, no Docker. See services/README.md and
# /work/shared/reference/kafka.md section 1.
#
#   services/kafka.sh resolve|start|wait|stop|kill|wipe|status
#
# Environment (defaults in brackets):
#   HOTLINE_STACK_DIR      state root [<repo>/.cache/stack]; Kafka keeps its state in ./kafka
#   KAFKA_PORT             client listener on 127.0.0.1 [9092]
#   KAFKA_CONTROLLER_PORT  KRaft controller listener on 127.0.0.1 [9093]
#   KAFKA_WAIT_SECONDS     readiness deadline for start/wait [90]
#   KAFKA_STOP_SECONDS     grace period before SIGKILL on stop [30]
set -euo pipefail

readonly KAFKA_VERSION=4.3.1
readonly PROG=kafka.sh

SCRIPT_DIR=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
REPO_ROOT=$(cd -- "$SCRIPT_DIR/.." && pwd -P)
readonly SCRIPT_DIR REPO_ROOT

readonly LIBS_DIR="$REPO_ROOT/.cache/kafka-$KAFKA_VERSION/libs"
readonly POM="$SCRIPT_DIR/kafka/pom.xml"
readonly TEMPLATE="$SCRIPT_DIR/kafka/server.properties.template"
readonly LOG4J_CONFIG="$SCRIPT_DIR/kafka/log4j2.properties"

STACK_DIR=${HOTLINE_STACK_DIR:-$REPO_ROOT/.cache/stack}
# Absolute paths only: the broker must not depend on the caller's working directory.
[[ $STACK_DIR == /* ]] || STACK_DIR="$PWD/$STACK_DIR"
readonly STATE_DIR="$STACK_DIR/kafka"
readonly DATA_DIR="$STATE_DIR/data"
readonly CONFIG="$STATE_DIR/server.properties"
readonly LOG_FILE="$STATE_DIR/kafka.log"
readonly PID_FILE="$STATE_DIR/kafka.pid"

readonly PORT=${KAFKA_PORT:-9092}
readonly CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-9093}
readonly WAIT_SECONDS=${KAFKA_WAIT_SECONDS:-90}
readonly STOP_SECONDS=${KAFKA_STOP_SECONDS:-30}

die() {
    echo "$PROG: $*" >&2
    exit 1
}

info() {
    echo "$PROG: $*" >&2
}

require_java() {
    command -v java >/dev/null 2>&1 ||
        die "java not found: install a JDK 17 (apt-get install openjdk-17-jre-headless)"
    # Kafka 4.x brokers need Java 17+ (KIP-1013); 17 is what we test with.
    local spec
    spec=$(java -XshowSettings:properties -version 2>&1 |
        awk -F'= *' '/java\.specification\.version/ {print $2; exit}')
    if [[ $spec == 1.* ]] || ! [[ $spec =~ ^[0-9]+$ ]] || ((spec < 17)); then
        die "java $spec is too old for Kafka $KAFKA_VERSION: install a JDK 17 (apt-get install openjdk-17-jre-headless)"
    fi
}

libs_present() {
    # The directory is moved into place only after a complete copy, so these suffice.
    [[ -f $LIBS_DIR/kafka_2.13-$KAFKA_VERSION.jar &&
        -f $LIBS_DIR/kafka-clients-$KAFKA_VERSION.jar &&
        -f $LIBS_DIR/log4j-slf4j-impl-2.25.4.jar ]]
}

cmd_resolve() {
    require_java
    libs_present && return 0
    command -v mvn >/dev/null 2>&1 ||
        die "mvn not found: install Maven 3 (apt-get install maven)"
    info "fetching Kafka $KAFKA_VERSION jars from Maven Central into $LIBS_DIR (first run only)"
    local tmp="$LIBS_DIR.partial.$$"
    rm -rf -- "$tmp"
    mkdir -p -- "$(dirname -- "$LIBS_DIR")"
    # Copy into a temporary directory and rename: an interrupted download never looks complete.
    # Output goes to a file (Maven 3.8 -q still prints stray ANSI resets) and is shown on failure.
    if ! mvn -q -B -f "$POM" \
        org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
        -DincludeScope=runtime -DoutputDirectory="$tmp" >"$tmp.log" 2>&1; then
        cat -- "$tmp.log" >&2
        rm -rf -- "$tmp" "$tmp.log"
        die "mvn copy-dependencies failed (is Maven Central reachable?)"
    fi
    rm -f -- "$tmp.log"
    rm -rf -- "$LIBS_DIR"
    mv -- "$tmp" "$LIBS_DIR"
}

# Prints the pid of the broker we started, if it is alive. Checking the command line
# guards against a stale pid file whose pid now belongs to another process.
running_pid() {
    [[ -f $PID_FILE ]] || return 1
    local pid
    pid=$(<"$PID_FILE")
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'kafka\.Kafka' || return 1
    echo "$pid"
}

port_open() {
    # bash's /dev/tcp: no nc/ss dependency. timeout guards against a hung connect.
    # shellcheck disable=SC2016 # $1 is expanded by the inner bash, on purpose.
    timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$1" 2>/dev/null
}

render_config() {
    # Escape sed's replacement metacharacters in the path.
    local dirs=${DATA_DIR//\\/\\\\}
    dirs=${dirs//|/\\|}
    dirs=${dirs//&/\\&}
    sed -e "s|@KAFKA_PORT@|$PORT|g" \
        -e "s|@KAFKA_CONTROLLER_PORT@|$CONTROLLER_PORT|g" \
        -e "s|@KAFKA_LOG_DIRS@|$dirs|g" \
        "$TEMPLATE" >"$CONFIG.tmp"
    mv -- "$CONFIG.tmp" "$CONFIG"
}

storage_tool() {
    # Our Log4j 2 config, but WARN and on stderr: stdout must carry only the tool's own output.
    java -Dlog4j2.configurationFile="$LOG4J_CONFIG" -Dhotline.log.level=WARN \
        -Dhotline.log.target=SYSTEM_ERR -cp "$LIBS_DIR/*" kafka.tools.StorageTool "$@"
}

format_storage() {
    # meta.properties is written by `format`; its presence means "already formatted".
    [[ -f $DATA_DIR/meta.properties ]] && return 0
    local cluster_id
    cluster_id=$(storage_tool random-uuid)
    [[ $cluster_id =~ ^[A-Za-z0-9_-]{22}$ ]] || die "unexpected cluster id from StorageTool: $cluster_id"
    info "formatting $DATA_DIR (cluster id $cluster_id)"
    storage_tool format --standalone \
        -t "$cluster_id" -c "$CONFIG" >>"$STATE_DIR/format.log" 2>&1 || {
        tail -n 30 "$STATE_DIR/format.log" >&2
        die "storage format failed (full output in $STATE_DIR/format.log)"
    }
}

cmd_start() {
    cmd_resolve
    local pid p
    if pid=$(running_pid); then
        echo "kafka already running (pid $pid, 127.0.0.1:$PORT)"
        return 0
    fi
    # Something else (another checkout's broker?) holds the port: fail now, not after 90 s.
    for p in "$PORT" "$CONTROLLER_PORT"; do
        if port_open "$p"; then
            die "port 127.0.0.1:$p is already in use by another process"
        fi
    done
    mkdir -p -- "$DATA_DIR" "$STATE_DIR/logs"
    rm -f -- "$PID_FILE"
    render_config
    format_storage
    # Keep the previous run's log for post-mortems; `wait` must only see this run's lines.
    [[ -f $LOG_FILE ]] && mv -f -- "$LOG_FILE" "$LOG_FILE.prev"
    # setsid + nohup: the broker outlives this shell and a Ctrl-C/SIGHUP aimed at it.
    # Without job control the background child is no group leader, so setsid execs
    # in place and $! is the JVM's pid.
    # The serial collector: a one-node broker's heap is small and its live set smaller, and
    # on two cores G1's concurrent threads cost more than they save (docs/benchmarks.md:
    # about a fifth less broker CPU per message). C1 only: this broker lives for a test run,
    # a bench or a `make run`, and C2 never finished warming up in one: its compiler threads
    # were more than half of the broker's CPU while intake filed, the requests' own work a
    # quarter. Without C2 the broker's CPU fell to about a third per filing and a half per
    # lifecycle, its request threads' no higher (docs/benchmarks.md). A long-lived
    # production broker keeps C2.
    setsid nohup java -Xms512m -Xmx1g -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
        -Djava.awt.headless=true \
        -Dkafka.logs.dir="$STATE_DIR/logs" \
        -Dlog4j2.configurationFile="$LOG4J_CONFIG" \
        -cp "$LIBS_DIR/*" kafka.Kafka "$CONFIG" \
        </dev/null >"$LOG_FILE" 2>&1 &
    echo "$!" >"$PID_FILE"
    info "started kafka (pid $!), log: $LOG_FILE"
    cmd_wait
}

cmd_wait() {
    local deadline=$((SECONDS + WAIT_SECONDS)) pid
    [[ -f $PID_FILE ]] ||
        die "kafka is not running (no pid file in $STATE_DIR); run '$PROG start'"
    pid=$(<"$PID_FILE")
    while ((SECONDS < deadline)); do
        # Only liveness here: right after the fork the pid may not have exec'd java yet.
        if ! kill -0 "$pid" 2>/dev/null; then
            tail -n 30 "$LOG_FILE" >&2 2>/dev/null || true
            die "kafka exited during startup (log: $LOG_FILE)"
        fi
        if port_open "$PORT" && grep -q 'Kafka Server started' "$LOG_FILE" 2>/dev/null; then
            echo "kafka ready on 127.0.0.1:$PORT"
            return 0
        fi
        sleep 1
    done
    tail -n 30 "$LOG_FILE" >&2 2>/dev/null || true
    die "kafka not ready after ${WAIT_SECONDS}s (log: $LOG_FILE)"
}

cmd_stop() {
    local pid
    if ! pid=$(running_pid); then
        rm -f -- "$PID_FILE"
        echo "kafka not running"
        return 0
    fi
    # SIGTERM triggers a controlled shutdown (flushes logs, writes clean-shutdown markers).
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + STOP_SECONDS))
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
        sleep 0.5
    done
    if kill -0 "$pid" 2>/dev/null; then
        info "kafka (pid $pid) ignored SIGTERM for ${STOP_SECONDS}s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        wait_gone "$pid"
    fi
    rm -f -- "$PID_FILE"
    echo "kafka stopped"
}

wait_gone() {
    # SIGKILL is asynchronous; the ports are free only once the process is gone.
    local i
    for ((i = 0; i < 50; i++)); do
        kill -0 "$1" 2>/dev/null || return 0
        sleep 0.1
    done
}

cmd_kill() {
    local pid
    if pid=$(running_pid); then
        # Simulates a crash: no controlled shutdown, data directory kept for recovery.
        kill -KILL "$pid" 2>/dev/null || true
        wait_gone "$pid"
        echo "kafka killed (pid $pid)"
    else
        echo "kafka not running"
    fi
    rm -f -- "$PID_FILE"
}

cmd_wipe() {
    cmd_stop
    rm -rf -- "$STATE_DIR"
    echo "kafka state removed ($STATE_DIR)"
}

cmd_status() {
    local pid
    if pid=$(running_pid); then
        echo "kafka running (pid $pid, 127.0.0.1:$PORT)"
        return 0
    fi
    echo "kafka stopped"
    return 3
}

usage() {
    echo "usage: $PROG resolve|start|wait|stop|kill|wipe|status" >&2
    exit 2
}

(($# == 1)) || usage
case $1 in
resolve) cmd_resolve ;;
start) cmd_start ;;
wait) cmd_wait ;;
stop) cmd_stop ;;
kill) cmd_kill ;;
wipe) cmd_wipe ;;
status) cmd_status ;;
*) usage ;;
esac
