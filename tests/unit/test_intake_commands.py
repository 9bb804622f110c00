"""intake's decisions through the one write path, on the in-memory event store: the appeal
stream's version is what If-Match names, and a decision on a stale one records nothing."""

from uuid import UUID, uuid4

import pytest

from intake_service import commands, domain
from shared import events
from shared.decisions import Context
from shared.runtime import commands as runner
from shared.runtime.commands import StaleStreamError
from shared.runtime.memory import MemoryDatabase, MemoryTx
from tests.unit import factories

# The appeal's stream as commands.APPEAL folds it, without its read model (which is SQL).
APPEAL = runner.Aggregate[commands.State, MemoryTx](
    what=commands.APPEAL.what, initial=None, evolve=commands.APPEAL.evolve
)
CONTEXT = Context(actor="operator:li", now=factories.T0)
FILING = domain.NewAppeal(
    channel="phone",
    appeal_type="help",
    category="housing.repair",
    content="楼道灯坏了",
    citizen=events.Citizen(anonymous=True),
)


def _receive(appeal_id: UUID, *, hold: bool) -> runner.Decide[commands.State]:
    return lambda _, ctx: domain.receive(
        FILING,
        category="housing.repair",
        urgency="normal",
        hold=hold,
        appeal_id=appeal_id,
        personal_data=None,
        content=factories.sealed_text(FILING.content),
        context=ctx,
    )


async def test_a_held_appeal_is_forwarded_on_the_version_the_operator_saw() -> None:
    db, appeal_id = MemoryDatabase(), uuid4()
    async with db.transaction() as tx:
        filed = await runner.execute(
            tx,
            APPEAL,
            appeal_id,
            _receive(appeal_id, hold=True),
            context=CONTEXT,
            expected_version=0,
        )
    assert (filed.version, filed.state is not None and filed.state.stage) == (1, "held")
    async with db.transaction() as tx:
        forwarded = await runner.execute(
            tx, APPEAL, appeal_id, domain.forward, context=CONTEXT, expected_version=1
        )
    assert [type(e) for e in forwarded.new] == [events.AppealForwarded]
    assert forwarded.version == 2


async def test_a_decision_on_a_stale_version_records_nothing() -> None:
    db, appeal_id = MemoryDatabase(), uuid4()
    async with db.transaction() as tx:
        await runner.execute(
            tx,
            APPEAL,
            appeal_id,
            _receive(appeal_id, hold=False),
            context=CONTEXT,
            expected_version=0,
        )
    with pytest.raises(StaleStreamError) as stale:
        async with db.transaction() as tx:
            await runner.execute(
                tx, APPEAL, appeal_id, domain.forward, context=CONTEXT, expected_version=1
            )
    assert (stale.value.current, stale.value.expected) == (2, 1)
    with pytest.raises(StaleStreamError):  # the same id filed twice
        async with db.transaction() as tx:
            await runner.execute(
                tx,
                APPEAL,
                appeal_id,
                _receive(appeal_id, hold=True),
                context=CONTEXT,
                expected_version=0,
            )
    assert len(db.snapshot()[appeal_id]) == 2
