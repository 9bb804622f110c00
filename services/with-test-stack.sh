#!/usr/bin/env bash
# Run a command with a test-only Kafka and PostgreSQL, started fresh and stopped afterwards.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export HOTLINE_STACK_DIR="${HOTLINE_TEST_STACK_DIR:-$ROOT/.cache/test-stack}"
export KAFKA_PORT="${HOTLINE_TEST_KAFKA_PORT:-19092}"
export KAFKA_CONTROLLER_PORT="${HOTLINE_TEST_KAFKA_CONTROLLER_PORT:-19093}"
export PGPORT_HOTLINE="${HOTLINE_TEST_PG_PORT:-55433}"

stop() {
    bash "$ROOT/services/kafka.sh" wipe >/dev/null 2>&1 || true
    bash "$ROOT/services/postgres.sh" wipe >/dev/null 2>&1 || true
}
trap stop EXIT
# A fresh state each run: leftovers of an interrupted run must not change test results.
stop
bash "$ROOT/services/postgres.sh" start
bash "$ROOT/services/kafka.sh" start
"$@"
