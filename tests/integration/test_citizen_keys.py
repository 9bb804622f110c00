"""A citizen's data key on real PostgreSQL: found or created in one statement on filing, and
one key per phone however many filings from it race."""

import asyncio
from typing import Any
from uuid import uuid4

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from intake_service import domain, erasure, filing, personal
from intake_service.main import MIGRATIONS
from intake_service.settings import IntakeSettings
from shared import events
from shared.decisions import Context
from shared.runtime.database import Database
from tests.support import infra
from tests.unit import factories

pytestmark = pytest.mark.integration

KEYRING = personal.Keyring.of(IntakeSettings())
OPERATOR = Context(actor="operator:test", now=factories.T0)


def _appeal(phone: str) -> domain.NewAppeal:
    return domain.NewAppeal(
        channel="phone",
        appeal_type="complaint",
        category="water.outage",
        content="停水",
        citizen=events.Citizen(name="张三", phone=phone),
    )


async def _file(db: Database, phone: str) -> events.AppealReceived:
    async with db.transaction() as tx:
        return await filing.file_appeal(tx, _appeal(phone), context=OPERATOR, keyring=KEYRING)


async def _keys(db: Database) -> list[tuple[str, str]]:
    async with db.transaction() as tx:
        rows = await tx.conn.execute(
            text(
                "SELECT a.key_id::text, k.phone_index"
                " FROM appeals a JOIN citizen_keys k USING (key_id)"
            )
        )
        return [(row[0], row[1]) for row in rows]


async def test_filings_from_one_phone_at_once_share_its_one_key(db: Database) -> None:
    await asyncio.gather(*(_file(db, "13800138000") for _ in range(6)))
    keys = await _keys(db)
    assert len(keys) == 6
    assert len({key for key, _ in keys}) == 1


async def test_each_phone_has_a_key_of_its_own_and_keeps_it(db: Database) -> None:
    await _file(db, "13800138000")
    await _file(db, "13900139000")
    await _file(db, "13800138000")
    keys = await _keys(db)
    by_phone: dict[str, set[str]] = {}
    for key, phone in keys:
        by_phone.setdefault(phone, set()).add(key)
    assert sorted(len(found) for found in by_phone.values()) == [1, 1]
    async with db.transaction() as tx:
        stored = await tx.conn.scalar(text("SELECT count(*) FROM citizen_keys"))
    assert stored == 2  # the returning citizen's filing made no key


async def test_an_erasure_racing_a_filing_under_the_key_erases_that_appeal_too(
    servers: None,
) -> None:
    """A filing from the citizen's phone holds the key's lock, its appeal not yet committed,
    while an erasure by another of their appeals runs: the erasure waits, then erases it too
    (listed before the wait, it would stay unerased, sealed under a destroyed key)."""
    url = await infra.fresh_database("t_erase_race", MIGRATIONS)
    engine = create_async_engine(url)
    db = Database(engine)
    try:
        earlier = await _file(db, "13800138077")
        erasing = Context(actor="operator:privacy", now=factories.T0)
        filed = asyncio.Event()

        async def filing_from_the_phone() -> events.AppealReceived:
            async with db.transaction() as tx:
                received = await filing.file_appeal(
                    tx, _appeal("13800138077"), context=OPERATOR, keyring=KEYRING
                )
                filed.set()
                await infra.until_a_backend_waits_on_a_lock(url)  # the erasure waits on it
                return received

        async def erasure_by_the_earlier_appeal() -> dict[str, Any]:
            await filed.wait()
            async with db.transaction() as tx:
                return await erasure.erase(
                    tx,
                    erasure.Request(appeal_id=earlier.subject, basis="citizen_request"),
                    erasure_id=uuid4(),
                    keyring=KEYRING,
                    context=erasing,
                )

        later, record = await asyncio.wait_for(
            asyncio.gather(filing_from_the_phone(), erasure_by_the_earlier_appeal()), timeout=30
        )
        assert sorted(record["appeal_ids"]) == sorted([str(earlier.subject), str(later.subject)])
        [(erased_at,)] = await infra.query(
            url, "SELECT personal_data_erased_at FROM appeals WHERE id = :id", id=later.subject
        )
        assert erased_at is not None
    finally:
        await engine.dispose()
