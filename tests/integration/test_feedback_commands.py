"""Feedback's commands against real PostgreSQL: one racing a fact the consume loop records on
the same stream is decided again, not refused (the race forced, not hoped for); and what a
command sends PostgreSQL, counted by pg_stat_statements."""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from uuid import uuid4

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from benchmarks import measure
from feedback_service import commands, domain, handlers, views
from feedback_service.main import MIGRATIONS
from feedback_service.routes import feedback
from feedback_service.settings import FeedbackSettings
from feedback_service.store import notifications, read_models
from shared import events
from shared.decisions import Context
from shared.runtime.auth import Principal
from shared.runtime.database import Database
from shared.runtime.running import Runtime
from tests.support import infra
from tests.unit import factories

pytestmark = pytest.mark.integration

# A department's reply to a partner's appeal, besides BEGIN and COMMIT: the appeal (its
# merge parent, the holder, the stream and the partner's subscriptions, in one statement;
# they were four), the append, the partner's webhook queued. Raise it only knowing what the
# new statement buys.
STATEMENTS_PER_REPLY = 3
# An approval, besides BEGIN and COMMIT: the calendar's versions (outside the transaction),
# the appeal, the append carrying the rating window and the callback due (they were a
# statement of their own), the citizen's channel for the notice.
STATEMENTS_PER_REVIEW = 4


@pytest.fixture
async def runtime(servers: None) -> AsyncIterator[Runtime[FeedbackSettings]]:
    """Feedback's runtime on a fresh database, no HTTP server: routes are called directly."""
    url = await infra.fresh_database("t_fb_commands", MIGRATIONS)
    engine = create_async_engine(url)
    yield Runtime(FeedbackSettings(database_url=url), engine, Database(engine), MIGRATIONS)
    await engine.dispose()


async def test_a_reply_racing_a_citizen_notice_is_decided_again(
    runtime: Runtime[FeedbackSettings],
) -> None:
    db = runtime.db
    assigned = factories.assigned(factories.received())
    appeal_id = assigned.subject
    water = Principal("department:water", frozenset({"replies:write"}), "water")
    decided = asyncio.Event()
    seen_versions: list[int] = []
    async with db.transaction() as tx:
        await handlers.on_assigned(assigned, tx)
        await read_models.mark_signed_for(tx, appeal_id, department="water")

    def reply(
        state: domain.Feedback, holder: domain.Holder | None, context: Context
    ) -> list[events.Event]:
        seen_versions.append(state.handled_round)
        decided.set()
        return domain.handle(
            state,
            domain.Reply(result="solved", reply="已修复"),
            appeal_id=appeal_id,
            holder=holder,
            department="water",
            context=context,
        )

    notice = events.CitizenNotified(
        id=uuid4(),
        subject=appeal_id,
        time=factories.T0,
        actor="service:feedback",
        correlation_id=assigned.correlation_id,
        kind="extension_approved",
        channel="phone",
        delivery_id=uuid4(),
        message="您的诉求办理期限延长3个工作日",
    )
    async with db.transaction() as other:  # the consume loop's transaction, still open
        await other.append(appeal_id, [notice], expected_version=0)
        command = asyncio.create_task(
            commands.command(
                runtime,
                water,
                appeal_id=appeal_id,
                key=None,
                body=feedback.Reply(result="solved", reply="已修复"),
                decide=reply,
                answer=views.Recorded.of,
                now=factories.T0,
            )
        )
        async with asyncio.timeout(10):
            await decided.wait()  # the command loaded the stream at version 0
    # `other` committed: the command's append at version 0 conflicts and it decides again
    async with asyncio.timeout(10):
        answer = await command
    assert len(seen_versions) == 2
    assert answer["version"] == 2
    async with db.transaction() as tx:
        kinds = [type(r.event) for r in await tx.load(appeal_id)]
    assert kinds == [events.CitizenNotified, events.Handled]


async def test_a_reply_reads_its_appeal_in_one_statement(
    runtime: Runtime[FeedbackSettings],
) -> None:
    url = runtime.settings.database_url.get_secret_value()
    water = Principal("department:water", frozenset({"replies:write"}), "water")
    filed = [factories.received().model_copy(update={"actor": "partner:demo"}) for _ in range(5)]
    appeals = [factories.assigned(received) for received in filed]
    async with runtime.db.transaction() as tx:
        await notifications.create_subscription(  # the partner hears of every reply
            tx,
            id=uuid4(),
            filer="partner:demo",
            url="https://partner.example/hook",
            secret="s" * 32,
            created_at=datetime.now(UTC),
        )
        for received, assigned in zip(filed, appeals, strict=True):
            await notifications.remember_appeal(tx, received)
            await handlers.on_assigned(assigned, tx)
            await read_models.mark_signed_for(tx, assigned.subject, department="water")
    for n, assigned in enumerate(appeals):
        if n == 1:  # the first opened the pool's connection (the driver's set-up queries)
            await measure.reset_statements(measure.database_name(url))
        answer = await feedback.post_reply(
            assigned.subject,
            feedback.Reply(result="solved", reply="已修复"),
            runtime,
            water,
        )
        assert answer.version == 1
    counted = await measure.statements(
        measure.database_name(url), len(appeals) - 1, role=infra.RUNTIME
    )
    assert counted["per_command"] == STATEMENTS_PER_REPLY, counted["statements"]
    assert counted["transaction_control_per_command"] == 2, counted  # BEGIN, COMMIT
    queued = await infra.query(
        url, "SELECT appeal_id, count(*) FROM deliveries WHERE kind = 'status' GROUP BY 1"
    )
    # The partner heard of each assignment (before) and of each reply.
    assert sorted(queued) == sorted((a.subject, 2) for a in appeals)


async def test_a_review_runs_in_one_transaction(runtime: Runtime[FeedbackSettings]) -> None:
    url = runtime.settings.database_url.get_secret_value()
    water = Principal("department:water", frozenset({"replies:write"}), "water")
    centre = Principal("operator:1", frozenset({"workorders:dispatch"}))
    appeals = [factories.assigned(factories.received()) for _ in range(4)]
    async with runtime.db.transaction() as tx:
        for assigned in appeals:
            await handlers.on_assigned(assigned, tx)
            await read_models.mark_signed_for(tx, assigned.subject, department="water")
    for assigned in appeals:
        await feedback.post_reply(
            assigned.subject, feedback.Reply(result="solved", reply="已修复"), runtime, water
        )
    for n, assigned in enumerate(appeals):
        if n == 1:  # the first learnt the calendar
            await measure.reset_statements(measure.database_name(url))
        reviewed = await feedback.post_review(
            assigned.subject, feedback.ReviewDecision(decision="approved"), runtime, centre
        )
        assert reviewed.callback_due is not None
    counted = await measure.statements(
        measure.database_name(url), len(appeals) - 1, role=infra.RUNTIME
    )
    # The calendar the callback falls due by is read without a transaction of its own.
    assert counted["transaction_control_per_command"] == 2, counted  # BEGIN, COMMIT
    assert counted["per_command"] == STATEMENTS_PER_REVIEW, counted["statements"]
    # What rode in the append was written: each window open, each callback due.
    opened = await infra.query(
        url,
        "SELECT h.rating_round, c.round FROM holders h JOIN callbacks_due c USING (appeal_id)"
        " WHERE h.rating_closes_at IS NOT NULL AND h.appeal_id = ANY(CAST(:ids AS uuid[]))",
        ids=[a.subject for a in appeals],
    )
    assert sorted(opened) == [(1, 1)] * len(appeals)
