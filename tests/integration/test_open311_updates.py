"""The Open311 update feed's table on real PostgreSQL: written with intake's own facts in
their transaction, once per fact however often the consumer delivers it, and filled for
appeals received before the table existed."""

import asyncio
import dataclasses
import json
from datetime import timedelta
from typing import Any
from uuid import uuid4

import pytest
from alembic import command
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from intake_service import domain, erasure, filing, handlers, personal, store
from intake_service.main import MIGRATIONS
from intake_service.open311 import updates
from intake_service.settings import IntakeSettings
from intake_service.store import tables
from intake_service.store import updates as feed_store
from shared import events
from shared.decisions import Context
from shared.runtime import migrations
from shared.runtime.database import Database
from tests.support import infra
from tests.unit import factories

pytestmark = pytest.mark.integration

APPEAL = domain.NewAppeal(
    channel="open311",
    appeal_type="complaint",
    category="water.outage",
    content="停水 call 13800138000",
    citizen=events.Citizen(anonymous=True),
)
# May be public: filed through Open311 (consent implied) by a citizen who gave a name.
PUBLIC = dataclasses.replace(APPEAL, citizen=events.Citizen(name="李四", phone="13900139000"))
PARTNER = Context(actor="partner:test", now=factories.T0)
KEYRING = personal.Keyring.of(IntakeSettings())


async def _file(db: Database) -> events.AppealReceived:
    async with db.transaction() as tx:
        return await filing.file_appeal(
            tx, APPEAL, context=PARTNER, keyring=KEYRING, extras={"partner": "test"}
        )


async def test_a_filed_appeal_has_its_first_update_in_the_same_transaction(db: Database) -> None:
    received = await _file(db)
    async with db.transaction() as tx:
        update, forwarded = await feed_store.history(tx, received.subject)
    assert (update.update_id, update.status, update.at) == (
        received.id,
        "for_triage",
        factories.T0,
    )
    assert (forwarded.fact_type, forwarded.status) == ("appeal.forwarded", "for_triage")

    async def fail_after_filing() -> None:
        async with db.transaction() as tx:
            await filing.file_appeal(tx, APPEAL, context=PARTNER, keyring=KEYRING)
            raise RuntimeError("the command failed after filing")

    # A command that fails leaves no update behind.
    with pytest.raises(RuntimeError, match="the command failed after filing"):
        await fail_after_filing()
    async with db.transaction() as tx:
        assert await tx.conn.scalar(select(func.count()).select_from(tables.open311_updates)) == 2


async def test_a_redelivered_fact_adds_no_second_update(db: Database) -> None:
    received = await _file(db)
    assigned = factories.assigned(received)
    signed = factories.dispatch_facts(assigned)[1]
    assert isinstance(signed, events.SignedFor)
    on_assigned = handlers.HANDLERS[events.Assigned]
    on_signed = handlers.HANDLERS[events.SignedFor]
    for _ in range(2):  # the consume loop delivers at least once
        async with db.transaction() as tx:
            await on_assigned(assigned, tx)
            await on_signed(signed, tx)
            await updates.record(tx, [received])
    async with db.transaction() as tx:
        history = await feed_store.history(tx, received.subject)
        row = await store.get(tx, received.subject)
    assert [(u.fact_type, u.status) for u in history] == [
        ("appeal.received", "for_triage"),
        ("appeal.forwarded", "for_triage"),
        ("appeal.assigned", "open"),
        ("appeal.signed_for", "in_progress"),
    ]
    assert row is not None
    assert row["status"] == "in_progress"  # the handler it already had still runs


async def test_facts_of_appeals_intake_does_not_hold_and_internal_facts_add_nothing(
    db: Database,
) -> None:
    stranger = factories.assigned(factories.received())
    received = await _file(db)
    supervised = factories.dispatch_facts(factories.assigned(received))[9]
    assert isinstance(supervised, events.Supervised)
    async with db.transaction() as tx:
        await handlers.HANDLERS[events.Assigned](stranger, tx)
        await updates.record(tx, [supervised])
        assert await feed_store.history(tx, stranger.subject) == []
        assert len(await feed_store.history(tx, received.subject)) == 2  # received, forwarded


async def test_concurrent_deliveries_of_one_fact_record_it_once(db: Database) -> None:
    received = await _file(db)
    assigned = factories.assigned(received)

    async def deliver() -> None:
        async with db.transaction() as tx:
            await updates.record(tx, [assigned])

    await asyncio.gather(*(deliver() for _ in range(5)))
    async with db.transaction() as tx:
        assert [u.fact_type for u in await feed_store.history(tx, received.subject)] == [
            "appeal.received",
            "appeal.forwarded",
            "appeal.assigned",
        ]


async def test_the_migration_fills_the_feed_with_appeals_received_before_it(
    servers: None,
) -> None:
    runtime_url = await infra.fresh_database("t_open311", MIGRATIONS)
    # as the owner throughout: before revision 0007 the runtime role has no grants at all
    url = infra.pg_url(runtime_url.rsplit("/", 1)[1])
    config = migrations.alembic_config(MIGRATIONS, url)
    await asyncio.to_thread(command.downgrade, config, "0004")
    engine = create_async_engine(url)
    db = Database(engine)
    received = factories.received()
    try:
        async with db.transaction() as tx:
            await tx.append(received.subject, [received], expected_version=0)
            # the row as revision 0004's table holds it (store.add writes today's columns)
            await tx.conn.execute(
                tables.appeals.insert().values(
                    id=received.subject,
                    received_at=received.time,
                    channel=received.channel,
                    appeal_type=received.appeal_type,
                    category=received.category,
                    status="received",
                    status_at=received.time,
                    received=received.model_dump(mode="json"),
                )
            )
        await asyncio.to_thread(migrations.upgrade, MIGRATIONS, url)
        async with db.transaction() as tx:
            [update] = await feed_store.history(tx, received.subject)
    finally:
        await engine.dispose()
    assert (update.update_id, update.fact_type, update.status, update.at) == (
        received.id,
        "appeal.received",
        "for_triage",
        received.time,
    )


async def _file_public(db: Database, appeal: domain.NewAppeal = PUBLIC) -> events.AppealReceived:
    async with db.transaction() as tx:
        return await filing.file_appeal(
            tx, appeal, context=PARTNER, keyring=KEYRING, extras={"partner": "t"}
        )


async def test_the_feed_reads_a_window_oldest_first_up_to_its_limit(db: Database) -> None:
    first, second = await _file_public(db), await _file_public(db)
    assigned = factories.assigned(first)
    late = factories.assigned(second).model_copy(update={"time": factories.T0 + timedelta(days=1)})
    async with db.transaction() as tx:
        await updates.record(tx, [late, assigned])
    since, until = factories.T0, factories.T0 + timedelta(hours=1)
    async with db.transaction() as tx:
        window = [u for u, _ in await feed_store.between(tx, since, until, limit=10)]
        limited = [
            u for u, _ in await feed_store.between(tx, since, until + timedelta(days=1), limit=2)
        ]
        by_appeal = await feed_store.of_appeals(tx, [second.subject, uuid4()])
    filed = ["appeal.received", "appeal.forwarded"]
    assert [(u.appeal_id, u.fact_type) for u in window] == [
        *((first.subject, t) for t in filed),
        *((second.subject, t) for t in filed),
        (first.subject, "appeal.assigned"),
    ]
    assert [u.update_id for u in window][::2] == [first.id, second.id, assigned.id]
    assert [(u.appeal_id, u.fact_type) for u in limited] == [(first.subject, t) for t in filed]
    assert list(by_appeal) == [second.subject]
    assert [u.fact_type for u in by_appeal[second.subject]] == [*filed, "appeal.assigned"]
    assert by_appeal[second.subject][-1].update_id == late.id


async def test_the_public_feeds_hold_only_appeals_that_may_be_public(db: Database) -> None:
    def citizen(**given: Any) -> events.Citizen:
        return events.Citizen(**{"name": "王五", "phone": "13700137000", **given})

    def appeal(**changes: Any) -> domain.NewAppeal:
        return dataclasses.replace(PUBLIC, **changes)

    public = await _file_public(db)
    consented = await _file_public(
        db, appeal(channel="phone", citizen=citizen(public_consent=True))
    )
    private = [
        await _file_public(db, appeal(appeal_type="report")),  # whistle-blowing
        await _file_public(db, APPEAL),  # anonymous
        await _file_public(db, appeal(citizen=citizen(public_consent=False))),  # said no
        await _file_public(db, appeal(channel="phone")),  # never asked, consent required
    ]
    # public until its citizen was erased: staff text might name them, with no name left to
    # mask it with
    gone = await _file_public(db, appeal(citizen=citizen(phone="13600136000")))
    async with db.transaction() as tx:
        await erasure.erase(
            tx,
            erasure.Request(appeal_id=gone.subject, basis="citizen_request"),
            erasure_id=uuid4(),
            keyring=KEYRING,
            context=PARTNER,
        )
    private.append(gone)
    since, until = factories.T0, factories.T0 + timedelta(hours=1)
    async with db.transaction() as tx:
        found = await store.find(tx, limit=100)
        by_id = await store.find(tx, ids=[r.subject for r in private])
        feed = await feed_store.between(tx, since, until, limit=100)
        # the names are sealed in the rows; the feed opens them only to mask them
        opened = await personal.revealed_rows(tx, KEYRING, [row for _, row in feed])
    assert {row["id"] for row in found} == {public.subject, consented.subject}
    assert by_id == []
    assert {u.appeal_id for u, _ in feed} == {public.subject, consented.subject}
    assert {row["received"]["citizen"]["name"] for row in opened} == {"李四", "王五"}
    assert all("李四" not in json.dumps(row, ensure_ascii=False, default=str) for _, row in feed)
