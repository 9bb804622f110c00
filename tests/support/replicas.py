"""Several processes of one service, and what shows who holds what among them: each
replica's /metrics (partitions owned, relay role) and PostgreSQL's pg_locks (the relay's
advisory lock), for the replica test and the takeover benchmark."""

import asyncio
import re
import time
from dataclasses import dataclass

import asyncpg
import httpx

from services.processes import ServiceProcess
from tests.support import infra, polling, processes

PARTITIONS = "hotline_consumer_partitions_assigned"
RELAY = "hotline_outbox_relay_active"


async def make(
    name: str, count: int = 2, env: dict[str, str] | None = None
) -> list[ServiceProcess]:
    """`count` processes of one service on one fresh database and one consumer group, each
    on its own port. Dynamic group members: a graceful stop sends LeaveGroup (docs/kafka.md)."""
    first = await processes.make(name)
    first.env.pop("HOTLINE_CONSUMER_INSTANCE_ID", None)
    first.env.update(env or {})
    return [first] + [
        ServiceProcess(first.service, first.logs, env=dict(first.env)) for _ in range(count - 1)
    ]


async def metric(client: httpx.AsyncClient, process: ServiceProcess, name: str) -> float | None:
    """The value of an unlabelled-but-for-service gauge; None when the replica does not answer."""
    if not process.alive():
        return None
    try:
        text = (await client.get(f"{process.url}/metrics", timeout=2)).text
    except httpx.HTTPError:
        return None
    found = re.search(rf"^{name}\{{[^}}]*\}} (\S+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


async def total_partitions(client: httpx.AsyncClient, alone: ServiceProcess) -> int:
    """How many partitions the group reads: what a replica running alone owns."""

    async def owned() -> int | None:
        value = await metric(client, alone, PARTITIONS)
        return int(value) if value else None

    return await polling.until(owned, deadline_seconds=60, what="the lone replica's assignment")


@dataclass(frozen=True)
class Takeover:
    partitions_s: float | None  # until the survivor owned every partition (None: no consumer)
    relay_s: float | None  # until a survivor held the relay role (None: no relay)


async def takeover(
    client: httpx.AsyncClient,
    survivor: ServiceProcess,
    *,
    since: float,
    partitions: int | None,
    relay: bool,
    deadline_seconds: float = 60,
) -> Takeover:
    """Seconds from `since` (time.monotonic) until `survivor` owns all `partitions` and holds
    the relay; polled every 20 ms, so the figures are good to about that."""
    owned_at = relay_at = None
    async with asyncio.timeout(deadline_seconds):
        while (partitions is not None and owned_at is None) or (relay and relay_at is None):
            owns = owned_at is None and partitions is not None
            if owns and await metric(client, survivor, PARTITIONS) == partitions:
                owned_at = time.monotonic() - since
            if relay_at is None and relay and await metric(client, survivor, RELAY) == 1:
                relay_at = time.monotonic() - since
            await asyncio.sleep(0.02)
    return Takeover(owned_at, relay_at)


RELAY_LOCKS = """
SELECT d.datname, l.pid FROM pg_locks l JOIN pg_database d ON d.oid = l.database
WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
  AND d.datname = ANY($1::text[])
  AND l.classid::bigint = ((hashtext('outbox:' || $2)::bigint >> 32) & 4294967295)
  AND l.objid::bigint = (hashtext('outbox:' || $2)::bigint & 4294967295)
"""


class RelayLocks:
    """Samples which backend holds each service's relay lock, over one connection."""

    def __init__(self) -> None:
        self.conn: asyncpg.Connection | None = None

    async def __aenter__(self) -> "RelayLocks":
        self.conn = await asyncpg.connect(
            host="127.0.0.1", port=infra.PG_PORT, user="hotline", database="postgres"
        )
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self.conn is not None
        await self.conn.close()

    async def holders(self, service: str, database: str) -> list[int]:
        """The pids holding `service`'s relay lock in `database`: never more than one."""
        assert self.conn is not None
        rows = await self.conn.fetch(RELAY_LOCKS, [database], service)
        return [row["pid"] for row in rows]


def database_name(process: ServiceProcess) -> str:
    return processes.database_url(process).rsplit("/", 1)[1]
