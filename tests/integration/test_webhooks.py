"""Webhook deliveries against real PostgreSQL and a real HTTP receiver: written with the fact,
signed per Standard Webhooks (checked here by recomputing the HMAC), retried with backoff
while the receiver is down or failing, and recorded as delivered or failed."""

import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from feedback_service import commands, leadership, notify, sender, webhooks
from feedback_service.main import MIGRATIONS
from feedback_service.settings import FeedbackSettings
from feedback_service.store import leadership as leadership_store
from feedback_service.store import notifications as nstore
from shared import events
from shared.runtime.database import Database
from tests.support import infra
from tests.support.webhook_receiver import Received, receiver
from tests.unit import factories

pytestmark = pytest.mark.integration
SECRET = webhooks.new_secret()


@pytest.fixture
async def db(servers: None) -> AsyncIterator[Database]:
    engine = create_async_engine(await infra.fresh_database("t_webhooks", MIGRATIONS))
    yield Database(engine)
    await engine.dispose()


def settings(channels: dict[str, str] | None = None) -> FeedbackSettings:
    return FeedbackSettings(
        webhook_backoff_seconds=5, webhook_max_attempts=3, citizen_channel_urls=channels or {}
    )


def signed_correctly(received: Received, secret: str) -> bool:
    """The receiver's check, written from the Standard Webhooks spec, not from our code."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    h = received.headers
    content = f"{h['webhook-id']}.{h['webhook-timestamp']}.".encode() + received.body
    expected = base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()
    return f"v1,{expected}" in h["webhook-signature"].split()


async def _filed_and_subscribed(db: Database, url: str) -> events.Assigned:
    received = factories.received().model_copy(update={"actor": "partner:demo"})
    assigned = factories.assigned(received)
    async with db.transaction() as tx:
        await nstore.remember_appeal(tx, received)
        await nstore.create_subscription(
            tx,
            id=uuid4(),
            filer="partner:demo",
            url=url,
            secret=SECRET,
            created_at=datetime.now(UTC),
        )
        await nstore.create_subscription(  # someone else's: hears nothing of this appeal
            tx,
            id=uuid4(),
            filer="partner:other",
            url=url,
            secret=SECRET,
            created_at=datetime.now(UTC),
        )
        assert await notify.status_changed(tx, assigned) == 1
    return assigned


async def _deliveries(db: Database) -> list[dict[str, object]]:
    async with db.transaction() as tx:
        return await nstore.list_deliveries(tx, appeal_id=None, limit=10)


async def test_a_receiver_that_is_down_gets_the_notification_once_it_is_up(
    db: Database,
) -> None:
    async with receiver(up=False) as hooks:
        assigned = await _filed_and_subscribed(db, hooks.url)
        now = datetime.now(UTC)
        assert await sender.sweep(db, now, settings=settings()) == 1
        [row] = await _deliveries(db)
        assert (row["status"], row["attempts"]) == ("pending", 1)
        assert "ConnectError" in str(row["last_error"])
        assert row["next_attempt_at"] == now + timedelta(seconds=5)
        assert await sender.sweep(db, now + timedelta(seconds=4), settings=settings()) == 0

        await hooks.start()
        later = now + timedelta(seconds=5)
        assert await sender.sweep(db, later, settings=settings()) == 1
        [row] = await _deliveries(db)
        assert (row["status"], row["attempts"], row["last_status_code"]) == ("delivered", 2, 204)
        [got] = hooks.requests
    assert signed_correctly(got, SECRET)
    assert not signed_correctly(got, webhooks.new_secret())
    assert got.headers["webhook-id"] == sender.message_id(row["id"])
    assert got.headers["webhook-timestamp"] == str(int(later.timestamp()))
    body = json.loads(got.body)
    assert (body["type"], body["fact"], body["appeal_id"]) == (
        "appeal.status_changed",
        "appeal.assigned",
        str(assigned.subject),
    )
    assert body["data"] == {"department": "water"}


async def test_a_failing_receiver_is_retried_with_backoff_then_recorded_failed(
    db: Database,
) -> None:
    async with receiver() as hooks:
        hooks.status = 500
        await _filed_and_subscribed(db, hooks.url)
        now = datetime.now(UTC)
        for wait in (0, 5, 10):  # 5 s, then 10 s: the backoff doubles
            now += timedelta(seconds=wait)
            assert await sender.sweep(db, now, settings=settings()) == 1
        [row] = await _deliveries(db)
        assert (row["status"], row["attempts"], row["last_status_code"]) == ("failed", 3, 500)
        assert row["next_attempt_at"] is None
        assert await sender.sweep(db, now + timedelta(days=1), settings=settings()) == 0
    assert len(hooks.requests) == 3
    assert len(hooks.unique) == 1  # one message, deduplicated by webhook-id at the receiver
    assert all(signed_correctly(r, SECRET) for r in hooks.requests)


async def test_the_citizen_is_told_of_an_approved_extension_through_their_channel(
    db: Database,
) -> None:
    # The phone in clear, as a fact recorded before sealing carries it: opening a sealed one
    # needs intake's key service, which the e2e notification test runs.
    received = factories.received().model_copy(update={"personal_data": factories.CITIZEN})
    [*_, extended] = [
        f
        for f in factories.dispatch_facts(factories.assigned(received))
        if isinstance(f, events.ExtensionApproved)
    ]
    assert isinstance(extended, events.ExtensionApproved)
    async with receiver() as hooks:
        config = settings({"phone": hooks.url})
        async with db.transaction() as tx:
            await nstore.remember_appeal(tx, received)
            await nstore.note_extension_reason(tx, received.subject, "需更换变压器")
            assert await commands.tell_citizen(tx, config, extended)
            no_channel = settings({"wechat": hooks.url})
            assert not await commands.tell_citizen(tx, no_channel, extended)
        assert await sender.sweep(db, datetime.now(UTC), settings=config) == 1
        [got] = hooks.requests
    async with db.transaction() as tx:  # the notice is a fact on the feedback stream too
        [told] = [recorded.event for recorded in await tx.load(received.subject)]
    [row] = await _deliveries(db)
    assert isinstance(told, events.CitizenNotified)
    assert (told.kind, told.channel, told.delivery_id, told.causation_id) == (
        "extension_approved",
        "phone",
        row["id"],
        extended.id,
    )
    assert got.headers["webhook-id"] == sender.message_id(told.delivery_id)
    secret = config.channel_secret()
    assert secret is not None  # the development key, outside production
    assert signed_correctly(got, secret)
    notice = json.loads(got.body)
    assert (notice["kind"], notice["phone"], notice["reason"]) == (
        "extension_approved",
        "13800138000",
        "需更换变压器",
    )
    assert notice["handle_due"] == extended.deadlines.handle_due.isoformat()
    assert "需更换变压器" in notice["message"]


async def test_without_a_link_key_the_reply_notice_goes_without_a_link(db: Database) -> None:
    """Production with a channel key but no rating-link key: the approval that triggers the
    notice must not fail; the notice simply carries no link."""
    received = factories.received()
    handled = factories.handled(factories.assigned(received))
    approved = factories.feedback_facts(handled)[1]
    assert isinstance(approved, events.ReplyReviewed)
    config = FeedbackSettings(
        environment="production",
        jwt_jwks_url="https://idp.example/jwks",
        citizen_channel_secret=webhooks.new_secret(),
        citizen_channel_urls={"phone": "https://channel.example/notices"},
    )
    assert config.rating_link_key() is None

    async with db.transaction() as tx:
        await nstore.remember_appeal(tx, received)
        await tx.append(received.subject, [handled], expected_version=0)
        # Issuing a link without a key is a 503 problem: had it been tried, this would fail.
        assert await commands.tell_citizen(tx, config, approved)
    [row] = await _deliveries(db)
    notice = json.loads(str(row["body"]))
    assert notice["kind"] == "reply_approved"
    assert notice["rating_link"] is None


async def test_a_sender_that_outlived_its_lease_records_nothing(db: Database) -> None:
    """Two replicas: the first is slow past its lease, the second takes the delivery and
    records it; the first's late answer is dropped, so the delivery settles once."""
    async with receiver() as hooks:
        await _filed_and_subscribed(db, hooks.url)
        now = datetime.now(UTC)
        lease = now + timedelta(seconds=15)
        async with db.transaction() as tx:
            [slow] = await nstore.claim_due(tx, now=now, lease_until=lease, limit=10)
        later = lease + timedelta(seconds=1)  # the lease ran out: another sender's turn
        assert await sender.sweep(db, later, settings=settings()) == 1
        outcome = await sender._record(db, slow, 204, None, now, settings(), leased_until=lease)
    assert outcome == "superseded"
    [row] = await _deliveries(db)
    assert (row["status"], row["attempts"]) == ("delivered", 1)  # the second sender's
    assert row["delivered_at"] == later


async def test_a_delivery_that_cannot_be_sent_is_its_own_failure_not_the_sweeps(
    db: Database,
) -> None:
    """One delivery raising what no HTTP client raises (a stored secret that is no base64):
    the others of the sweep are still recorded, and so is its own failed attempt."""
    async with receiver() as hooks:
        assigned = await _filed_and_subscribed(db, hooks.url)
        async with db.transaction() as tx:
            await nstore.create_subscription(
                tx, id=uuid4(), filer="partner:demo", url=hooks.url, secret="whsec_abc",
                created_at=datetime.now(UTC),
            )  # fmt: skip
            redone = assigned.model_copy(update={"id": uuid4()})
            assert await notify.status_changed(tx, redone) == 2  # both of the partner's
        now = datetime.now(UTC)
        assert await sender.sweep(db, now, settings=settings()) == 3
        rows = await _deliveries(db)
    outcomes = sorted((str(r["status"]), r["attempts"], r["last_error"]) for r in rows)
    assert outcomes == [("delivered", 1, None), ("delivered", 1, None), ("pending", 1, "Error")]
    assert len(hooks.unique) == 2


async def test_a_partner_hears_codes_not_the_staffs_free_text(db: Database) -> None:
    assigned = await _filed_and_subscribed(db, "https://partner.example/hook")
    sent_back = events.ReplyReviewed(
        id=uuid4(), subject=assigned.subject, time=assigned.time, actor="operator:zhao",
        correlation_id=assigned.correlation_id, round=1, department="water",
        decision="sent_back", reason="回访市民张伟(13812345678)，答复不实",
    )  # fmt: skip
    not_rated = events.NotRated(
        id=uuid4(), subject=assigned.subject, time=assigned.time, actor="service:feedback",
        correlation_id=assigned.correlation_id, round=1, reason="unreachable",
        window_closed_at=assigned.time,
    )  # fmt: skip
    async with db.transaction() as tx:
        assert await notify.status_changed(tx, sent_back) == 1
        assert await notify.status_changed(tx, not_rated) == 1
        rows = await nstore.list_deliveries(tx, appeal_id=assigned.subject, limit=10)
    by_fact = {json.loads(str(r["body"]))["fact"]: json.loads(str(r["body"])) for r in rows}
    assert by_fact["appeal.reply_reviewed"]["data"] == {
        "decision": "sent_back", "department": "water", "round": 1,
    }  # fmt: skip
    assert by_fact["appeal.not_rated"]["data"]["reason"] == "unreachable"


async def test_a_channel_published_again_gets_the_notices_queued_before(db: Database) -> None:
    """A leadership notice goes where its department's channel is when it is sent, signed
    with that channel's secret: not to the URL it was queued for, which the department's
    leaders may have left."""
    assigned = factories.assigned(factories.received())
    escalation = events.Supervised(
        id=uuid4(), subject=assigned.subject, time=assigned.time + timedelta(hours=1),
        actor="operator:centre", causation_id=assigned.id,
        correlation_id=assigned.correlation_id, department="water", level="escalation",
        note="逾期未办结，提级督办",
    )  # fmt: skip
    async with receiver() as left, receiver() as moved:
        async with db.transaction() as tx:
            await leadership_store.publish(
                tx, department="water", url=left.url, actor="operator:centre",
                now=datetime.now(UTC), secret=webhooks.new_secret(),
            )  # fmt: skip
            assert await leadership.enqueue(tx, escalation)
            secret = webhooks.new_secret()
            await leadership_store.publish(
                tx, department="water", url=moved.url, actor="operator:centre",
                now=datetime.now(UTC), secret=secret,
            )  # fmt: skip
        assert await sender.sweep(db, datetime.now(UTC), settings=settings()) == 1
        [row] = await _deliveries(db)
        assert row["status"] == "delivered", row
    assert left.requests == []
    [got] = moved.requests
    assert signed_correctly(got, secret)
    assert json.loads(got.body)["appeal_id"] == str(assigned.subject)
