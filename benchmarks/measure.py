"""What the bench reads besides time: SQL statements per command (pg_stat_statements, which
services/postgres.sh preloads) and the services' resident memory."""

import os
import re
from pathlib import Path
from typing import Any

import asyncpg

from tests.support import infra

# The services the bench runs as web processes beside a worker (the rest in one process
# each). On this two-core box, with every service's processes sharing both cores, splitting
# the consuming services measured worse than leaving them whole (docs/benchmarks.md), so by
# default only intake, whose HTTP load the accept phase measures, is split.
SPLIT = frozenset(os.environ.get("BENCH_SPLIT", "intake").split(","))

# Transaction control is a round trip like any other, so it is counted; it is shown apart
# so a reader sees what the command itself runs.
_TRANSACTION_CONTROL = r"^\s*(BEGIN|COMMIT|ROLLBACK|START TRANSACTION)"
# The relay's own statements (claim, mark, its advisory lock): amortised over a batch. By
# the outbox's column on the events table only: a filing's read of the catalogue version in
# force names a `published_at` of its own, and was once counted here.
_RELAY = r"(?s)\bevents\b.*\bpublished_at\b|pg_try_advisory_lock|pg_advisory_unlock"


async def _superuser() -> asyncpg.Connection:
    return await asyncpg.connect(
        host="127.0.0.1", port=infra.PG_PORT, user=infra.OWNER, database="postgres"
    )


async def reset_statements(database: str) -> None:
    conn = await _superuser()
    try:
        await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        oid = await conn.fetchval("SELECT oid FROM pg_database WHERE datname = $1", database)
        await conn.execute("SELECT pg_stat_statements_reset(0, $1::oid, 0)", oid)
    finally:
        await conn.close()


async def execution_ms(database: str) -> float:
    """PostgreSQL's execution time of every statement in `database` since its reset, in ms."""
    conn = await _superuser()
    try:
        found = await conn.fetchval(
            "SELECT coalesce(sum(total_exec_time), 0) FROM pg_stat_statements s"
            " JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = $1",
            database,
        )
    finally:
        await conn.close()
    return float(found)


async def statements(database: str, per: int, *, role: str | None = None) -> dict[str, Any]:
    """Calls in `database` since its reset (only `role`'s, if named), per one of `per`
    commands, split into the command's own statements, transaction control and the relay's."""
    conn = await _superuser()
    try:
        rows = await conn.fetch(
            "SELECT query, calls FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid"
            " JOIN pg_roles r ON r.oid = s.userid"
            " WHERE d.datname = $1 AND s.toplevel AND ($2::text IS NULL OR r.rolname = $2)",
            database,
            role,
        )
    finally:
        await conn.close()
    control = relay = own = 0
    top: list[tuple[int, str]] = []
    for row in rows:
        query, calls = row["query"], int(row["calls"])
        if re.match(_TRANSACTION_CONTROL, query, re.IGNORECASE):
            control += calls
        elif re.search(_RELAY, query):
            relay += calls
        else:
            own += calls
            top.append((calls, " ".join(query.split())[:160]))
    top.sort(reverse=True)
    return {
        "commands": per,
        "per_command": round(own / per, 2),
        "transaction_control_per_command": round(control / per, 2),
        "relay_per_command": round(relay / per, 3),
        "statements": [{"calls": calls, "query": query} for calls, query in top[:12]],
    }


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its descendants (uvicorn workers), in MB."""
    total = 0
    for each in [pid, *_descendants(pid)]:
        try:
            status = Path(f"/proc/{each}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return round(total / 1024, 1)


def largest_rss_mb(pids: list[int]) -> float:
    """Resident memory of the largest one process among these and their descendants, in
    MB: a service run as web processes and a worker holds each process to the line."""
    every = [each for pid in pids for each in [pid, *_descendants(pid)]]
    return max(_own_rss_mb(each) for each in every)


def _own_rss_mb(pid: int) -> float:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process and its descendants so far: per request, the
    one figure here that a busy machine does not skew much (it stretches wall time, not
    the work done)."""
    ticks = 0
    for each in [pid, *_descendants(pid)]:
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return ticks / os.sysconf("SC_CLK_TCK")


def _descendants(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            children = Path(f"/proc/{pid}/task/{task}/children").read_text().split()
        except OSError:
            continue
        for child in map(int, children):
            found += [child, *_descendants(child)]
    return found


def database_name(url: str) -> str:
    return url.rsplit("/", 1)[1]


def dsn(url: str) -> str:
    """An asyncpg DSN for a service's SQLAlchemy URL, as the database's owner."""
    return infra.owner_url(url).replace("postgresql+asyncpg://", "postgresql://", 1)
