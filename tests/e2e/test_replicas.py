"""Two replicas of every service under load: one of each SIGKILLed in turn (and restarted),
then one stopped gracefully. Every appeal still travels the whole loop exactly once, nothing
is lost, at most one outbox relay per service holds its lock at any sampled moment, and the
stopped replica's partitions and relay are taken over.

Bounded: APPEALS appeals, CONCURRENCY at a time, every wait with a deadline. Takeover times
are not asserted here (they are noisy on a shared machine); `make bench` reports them.
"""

import asyncio
import contextlib
import signal
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
import pytest

from services.cli import DEPARTMENT_SCOPES
from services.processes import ServiceProcess
from shared import topics
from tests.e2e.conftest import seed_routing
from tests.e2e.test_happy_path import APPEAL
from tests.support import infra, polling, processes, replicas
from tests.support.processes import OPERATOR, bearer

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(480)]  # eight processes on a small machine

APPEALS = 60
CONCURRENCY = 10
SERVICES = ("intake", "dispatch", "feedback", "audit")
T = TypeVar("T")
OPERATOR_HEADERS = bearer(*OPERATOR)
WATER = bearer(*DEPARTMENT_SCOPES, department="water")
# A two-second rating window, swept often: each round's "not rated" comes from a timer that
# runs on both feedback replicas and must fire once.
FEEDBACK_ENV = {
    "HOTLINE_RATING_WINDOW_HOURS": str(2 / 3600),
    # the window closes only after the callback was due: due a second after approval here
    "HOTLINE_CALLBACK_DUE_HOURS": str(1 / 3600),
    "HOTLINE_TIMER_INTERVAL_SECONDS": "0.2",
}
DEADLINE_SECONDS = 420


@dataclass
class Service:
    name: str
    replicas: list[ServiceProcess]
    partitions: int | None = None  # what the group reads; None: no consume loop
    turn: int = 0

    @property
    def relay(self) -> bool:
        return self.name in topics.BY_SOURCE

    @property
    def database(self) -> str:
        return replicas.database_name(self.replicas[0])

    async def call(
        self, client: httpx.AsyncClient, method: str, path: str, **kwargs: Any
    ) -> httpx.Response:
        """Round robin over the replicas; a replica that does not answer (being killed or
        restarted) or answers 5xx is passed over for the next, within a deadline."""
        async with asyncio.timeout(60):
            while True:
                self.turn += 1
                replica = self.replicas[self.turn % len(self.replicas)]
                if replica.alive():
                    with contextlib.suppress(httpx.TransportError):
                        response = await client.request(method, f"{replica.url}{path}", **kwargs)
                        if response.status_code < 500:
                            return response
                await asyncio.sleep(0.05)


@dataclass
class Observed:
    relay_holders: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    most_holders_at_once: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    samples: int = 0
    takeovers: list[tuple[str, str, replicas.Takeover]] = field(default_factory=list)


@contextlib.asynccontextmanager
async def two_of_each() -> AsyncIterator[dict[str, Service]]:
    stack: dict[str, Service] = {}
    for name in SERVICES:
        env = {"HOTLINE_LOG_LEVEL": "WARNING"} | (FEEDBACK_ENV if name == "feedback" else {})
        stack[name] = Service(name, await replicas.make(name, 2, env))
    await seed_routing(stack["dispatch"].replicas[0])
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            for service in stack.values():  # the first alone: what it owns is the whole group
                first = service.replicas[0]
                first.start()
                await first.ready()
                checks = (await client.get(f"{first.url}/readyz")).json()["checks"]
                if "consume_loop" in checks:
                    service.partitions = await replicas.total_partitions(client, first)
            for service in stack.values():
                service.replicas[1].start()
            for service in stack.values():
                await service.replicas[1].ready()
        yield stack
    finally:
        for service in stack.values():
            for replica in service.replicas:
                replica.stop()


async def _lifecycle(client: httpx.AsyncClient, stack: dict[str, Service], n: int) -> str:
    """One appeal, received to closed; retries are safe (idempotency key, If-Match, and a
    409 for a step already taken by the first attempt)."""
    intake, dispatch, feedback = stack["intake"], stack["dispatch"], stack["feedback"]
    created = await intake.call(
        client,
        "POST",
        "/v1/appeals",
        json=APPEAL,
        headers={**OPERATOR_HEADERS, "Idempotency-Key": f"replicas-{n}"},
    )
    assert created.status_code in (200, 201), created.text
    appeal_id = str(created.json()["id"])
    order_path = f"/v1/work-orders/{appeal_id}"

    async def order_when(stage: str) -> dict[str, Any]:
        async def probe() -> dict[str, Any] | None:
            response = await dispatch.call(client, "GET", order_path, headers=OPERATOR_HEADERS)
            body = response.json() if response.status_code == 200 else None
            return dict(body) if body is not None and body["stage"] == stage else None

        return await _until(probe, f"{appeal_id} {stage}")

    order = await order_when("assigned")
    signed = await dispatch.call(
        client,
        "POST",
        f"{order_path}/sign-for",
        json={"person": "李工"},
        headers={**WATER, "If-Match": f'"{order["version"]}"'},
    )
    assert signed.status_code in (200, 412), signed.text  # 412: a retry after it was taken

    async def feedback_knows() -> bool | None:
        path = f"/v1/appeals/{appeal_id}/feedback"
        response = await feedback.call(client, "GET", path, headers=OPERATOR_HEADERS)
        return True if response.status_code == 200 and response.json()["signed_for"] else None

    await _until(feedback_knows, f"{appeal_id} signed for")
    reply = {"result": "solved", "reply": "已修复"}
    for path, body, headers in (
        ("replies", reply, WATER),
        ("reviews", {"decision": "approved"}, OPERATOR_HEADERS),
    ):
        done = await feedback.call(
            client, "POST", f"/v1/appeals/{appeal_id}/{path}", json=body, headers=headers
        )
        assert done.status_code in (201, 409), done.text
    await order_when("closed")  # after the rating window: "not rated", then closed
    return appeal_id


async def _until(probe: Callable[[], Awaitable[T | None]], what: str) -> T:
    """polling.until, but gentler: many appeals poll at once on two shared cores."""
    try:
        async with asyncio.timeout(180):
            while True:
                if (found := await probe()) is not None:
                    return found
                await asyncio.sleep(0.3)
    except TimeoutError:
        raise AssertionError(f"gave up waiting for {what}") from None


async def _sample_relays(stack: dict[str, Service], seen: Observed, stop: asyncio.Event) -> None:
    async with replicas.RelayLocks() as locks:
        while not stop.is_set():
            for service in stack.values():
                if service.relay:
                    holders = await locks.holders(service.name, service.database)
                    seen.relay_holders[service.name].update(holders)
                    seen.most_holders_at_once[service.name] = max(
                        seen.most_holders_at_once[service.name], len(holders)
                    )
            seen.samples += 1
            await asyncio.sleep(0.05)


async def _stop_one(
    client: httpx.AsyncClient, service: Service, how: signal.Signals, seen: Observed
) -> None:
    """Stop the replica holding the relay (else the first) and wait for the other to own
    every partition and the relay; a SIGKILLed one is restarted afterwards."""
    roles = [await replicas.metric(client, r, replicas.RELAY) for r in service.replicas]
    victim = service.replicas[roles.index(1) if 1 in roles else 0]
    survivor = next(r for r in service.replicas if r is not victim)
    assert victim.process is not None
    since = time.monotonic()
    victim.process.send_signal(how)
    took = await replicas.takeover(
        client, survivor, since=since, partitions=service.partitions, relay=service.relay
    )
    seen.takeovers.append((service.name, how.name, took))
    print(f"{time.strftime('%X')} {service.name} {how.name}: {took}", flush=True)
    assert await victim.exited(deadline_seconds=30) == -how
    if how == signal.SIGKILL:
        victim.start()
        await victim.ready()


async def _faults(client: httpx.AsyncClient, stack: dict[str, Service], seen: Observed) -> None:
    await asyncio.sleep(3)  # load first
    for service in stack.values():
        await _stop_one(client, service, signal.SIGKILL, seen)
        await asyncio.sleep(1)
    await _stop_one(client, stack["dispatch"], signal.SIGTERM, seen)


async def test_two_replicas_of_each_service_survive_kills_and_handle_each_appeal_once(
    servers: None,
) -> None:
    seen = Observed()
    stop_sampling = asyncio.Event()
    async with (
        two_of_each() as stack,
        httpx.AsyncClient(timeout=10) as client,
        asyncio.timeout(DEADLINE_SECONDS),
    ):
        sampler = asyncio.create_task(_sample_relays(stack, seen, stop_sampling))
        gate = asyncio.Semaphore(CONCURRENCY)

        async def one(n: int) -> str:
            async with gate:
                return await _lifecycle(client, stack, n)

        faults = asyncio.create_task(_faults(client, stack, seen))
        appeal_ids = await asyncio.gather(*(one(n) for n in range(APPEALS)))
        await faults
        await _drained(stack)
        stop_sampling.set()
        await sampler
        await _assert_exactly_once(stack, set(appeal_ids))

    # The replica stopped each time was taken over: partitions and relay.
    assert [(name, how) for name, how, _ in seen.takeovers] == [
        *((name, "SIGKILL") for name in SERVICES),
        ("dispatch", "SIGTERM"),
    ]
    for name, _, took in seen.takeovers:
        service = stack[name]
        assert (took.partitions_s is not None) == (service.partitions is not None)
        assert (took.relay_s is not None) == service.relay
    # One relay per service at every sampled moment, and the role moved when its holder went.
    assert seen.samples > 100
    assert dict(seen.most_holders_at_once) == dict.fromkeys(topics.BY_SOURCE, 1)
    assert all(len(seen.relay_holders[name]) >= 2 for name in topics.BY_SOURCE)


async def _drained(stack: dict[str, Service]) -> None:
    """Every outbox published and audit holding every fact the three services recorded."""

    async def done() -> bool | None:
        stored: set[str] = set()
        for name in topics.BY_SOURCE:
            url = processes.database_url(stack[name].replicas[0])
            rows = await infra.query(url, "SELECT event_id, published_at IS NULL FROM events")
            if any(unpublished for _, unpublished in rows):
                return None
            stored |= {str(event_id) for event_id, _ in rows}
        audit_url = processes.database_url(stack["audit"].replicas[0])
        audited = {str(i) for (i,) in await infra.query(audit_url, "SELECT event_id FROM facts")}
        return True if stored <= audited else None

    await polling.until(done, deadline_seconds=120, what="outboxes and audit to drain")


async def _count_by_stream(
    name: str, stack: dict[str, Service], type_: str, appeal_ids: set[str]
) -> dict[str, int]:
    """How many events of `type_` each of our appeals has (the shared topics also carry
    other tests' appeals, which fresh consumer groups read too)."""
    rows = await infra.query(
        processes.database_url(stack[name].replicas[0]),
        "SELECT stream_id::text, count(*) FROM events WHERE type = :type GROUP BY 1",
        type=type_,
    )
    return {str(stream): int(count) for stream, count in rows if str(stream) in appeal_ids}


async def _assert_exactly_once(stack: dict[str, Service], appeal_ids: set[str]) -> None:
    assert len(appeal_ids) == APPEALS
    once = dict.fromkeys(appeal_ids, 1)
    assert await _count_by_stream("intake", stack, "appeal.received", appeal_ids) == once
    assert await _count_by_stream("dispatch", stack, "appeal.assigned", appeal_ids) == once
    assert await _count_by_stream("dispatch", stack, "appeal.closed", appeal_ids) == once
    # feedback's rating-window timer ran on both replicas: each round settled once.
    assert await _count_by_stream("feedback", stack, "appeal.not_rated", appeal_ids) == once

    # Nothing lost: every stored event is on its topic, and audit recorded each exactly once.
    stored: set[str] = set()
    for name, topic in topics.BY_SOURCE.items():
        url = processes.database_url(stack[name].replicas[0])
        ids = {str(i) for (i,) in await infra.query(url, "SELECT event_id FROM events")}
        on_topic = await infra.read_topic(topic)
        assert ids <= {m.event_id for m in on_topic}
        _assert_in_stream_order([m for m in on_topic if m.event_id in ids])
        stored |= ids
    # audit recorded each of them once (its group read the whole topics, other tests' too)
    audit_url = processes.database_url(stack["audit"].replicas[0])
    audited = await infra.query(audit_url, "SELECT event_id::text, count(*) FROM facts GROUP BY 1")
    assert {i: n for i, n in audited if i in stored} == dict.fromkeys(stored, 1)


def _assert_in_stream_order(messages: list[infra.Message]) -> None:
    """Per appeal, each version first appears on the topic after the one before it: a
    second relay publishing alongside the first could overtake it (kafka.md §5). Copies
    republished after a crash may repeat older versions later; first appearances may not."""
    first_seen: dict[str, list[int]] = defaultdict(list)
    seen: set[tuple[str, int]] = set()
    for message in sorted(messages, key=lambda m: (m.partition, m.offset)):
        fact = message.fact
        key = (str(fact["subject"]), int(fact["version"]))
        if key not in seen:
            seen.add(key)
            first_seen[key[0]].append(key[1])
    for versions in first_seen.values():
        assert versions == sorted(versions)
