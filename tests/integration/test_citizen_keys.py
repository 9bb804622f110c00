"""A citizen's data key on real PostgreSQL: found or created in one statement on filing, and
one key per phone however many filings from it race."""

import asyncio

import pytest
from sqlalchemy import text

from intake_service import domain, filing, personal
from intake_service.settings import IntakeSettings
from shared import events
from shared.decisions import Context
from shared.runtime.database import Database
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
