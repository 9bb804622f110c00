"""Filings asked at once share a transaction in a running intake (group commit), and each
is still whole or absent: its facts, its row and its Open311 updates in one transaction, a
refused one refused alone."""

import asyncio
import copy
from collections import Counter

import httpx
import pytest

from tests.e2e.test_happy_path import APPEAL
from tests.e2e.test_open311 import seed_catalogue
from tests.support import infra, processes
from tests.support.processes import OPERATOR, bearer

pytestmark = pytest.mark.e2e
FILINGS = 24
REFUSED = {5, 17}  # a category the catalogue does not have: refused in the transaction


def _appeal(n: int, *, refused: bool = False) -> dict[str, object]:
    appeal: dict[str, object] = {**copy.deepcopy(APPEAL)}
    appeal["citizen"] = {"name": "张三", "phone": f"139{n:08d}"}
    if refused:
        appeal["category"] = "no.such.category"
    return appeal


async def test_filings_at_once_share_transactions_and_each_stays_whole(servers: None) -> None:
    intake = await processes.make("intake")
    await seed_catalogue(intake)  # so that a category outside it is refused
    # One transaction open at a time: what arrives while it is open waits to share the next.
    # No relay: its mark on each published fact would give the fact's row a later writer.
    intake.start(
        HOTLINE_COMMIT_GROUPS_OPEN="1", HOTLINE_COMMIT_GROUP_SIZE="8", HOTLINE_RELAY_ENABLED="false"
    )
    try:
        await intake.ready()
        async with httpx.AsyncClient(timeout=30) as client:
            answers = await asyncio.gather(
                *(
                    client.post(
                        f"{intake.url}/v1/appeals",
                        json=_appeal(n, refused=n in REFUSED),
                        headers=bearer(*OPERATOR),
                    )
                    for n in range(FILINGS)
                )
            )
    finally:
        intake.stop()

    statuses = {n: answer.status_code for n, answer in enumerate(answers)}
    assert statuses == {n: 422 if n in REFUSED else 201 for n in range(FILINGS)}
    assert answers[5].headers["content-type"] == "application/problem+json"
    filed = [answer.json()["id"] for answer in answers if answer.status_code == 201]
    url = infra.owner_url(processes.database_url(intake))
    writers: dict[str, set[str]] = {}
    for table, key in (
        ("events", "stream_id"),
        ("appeals", "id"),
        ("open311_updates", "appeal_id"),
    ):
        rows = await infra.query(url, f"SELECT {key}::text, xmin::text FROM {table}")
        for appeal, xmin in rows:
            writers.setdefault(appeal, set()).add(xmin)
    assert sorted(writers) == sorted(filed)  # the refused left nothing behind
    assert all(len(each) == 1 for each in writers.values()), writers  # each in one transaction
    shared = Counter(next(iter(each)) for each in writers.values())
    assert max(shared.values()) > 1, shared  # and some of them in one together


BURST = 160


async def test_killed_with_groups_open_it_loses_no_answered_filing_nor_doubles_one(
    servers: None,
) -> None:
    intake = await processes.make("intake")
    intake.start()
    answered: dict[int, str] = {}
    quarter = asyncio.Event()

    async def post(client: httpx.AsyncClient, n: int) -> httpx.Response | None:
        headers = {**bearer(*OPERATOR), "Idempotency-Key": f"burst-{n}"}
        try:
            return await client.post(f"{intake.url}/v1/appeals", json=_appeal(n), headers=headers)
        except httpx.TransportError:
            return None  # killed before it answered

    async def first_try(client: httpx.AsyncClient, n: int) -> None:
        if (answer := await post(client, n)) is not None and answer.status_code == 201:
            answered[n] = answer.json()["id"]
            if len(answered) >= BURST // 4:
                quarter.set()

    try:
        await intake.ready()
        async with httpx.AsyncClient(timeout=30) as client:
            burst = [asyncio.create_task(first_try(client, n)) for n in range(BURST)]
            await asyncio.wait_for(quarter.wait(), 60)  # SIGKILL with groups open
            intake.kill()
            await asyncio.gather(*burst)
            intake.start()
            await intake.ready()
            again = [await post(client, n) for n in range(BURST)]  # the same keys, retried
    finally:
        intake.stop()

    assert BURST // 4 <= len(answered) < BURST
    retried = {n: answer.json()["id"] for n, answer in enumerate(again) if answer is not None}
    assert all(answer is not None and answer.status_code == 201 for answer in again)
    # What was answered was committed: the retry gets the same appeal back.
    assert {n: retried[n] for n in answered} == answered
    # And no filing is there twice: one appeal per key.
    rows = await infra.query(processes.database_url(intake), "SELECT id::text FROM appeals")
    assert sorted(id_ for (id_,) in rows) == sorted(retried.values())
