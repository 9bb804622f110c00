"""Gaming signals at their boundaries: where "just before the deadline" starts and ends."""

from datetime import timedelta
from typing import Any
from uuid import uuid4

import pytest

from audit_service import domain
from audit_service.domain import gaming
from shared import events
from tests.unit import factories

WINDOW = factories.DEADLINES.handle_due - factories.T0  # 15 days from the assignment's T0


def _at(base: events.Event, cls: type[events.Event], share: float, **data: Any) -> events.Event:
    """A fact `share` of the way through the assignment's handling window."""
    return cls(
        id=uuid4(),
        subject=base.subject,
        time=base.time + (WINDOW - timedelta(seconds=1)) * share,
        actor="x",
        correlation_id=base.correlation_id,
        **data,
    )


def _replied_then_redone(share: float, redo: bool = True) -> gaming.Gaming:
    assigned = factories.assigned(factories.received())
    history = [
        assigned,
        _at(assigned, events.Handled, share, department="water", result="solved", reply="好"),
    ]
    if redo:
        history.append(
            _at(
                assigned,
                events.RedoOrdered,
                min(share, 1.0) + 0.01,
                department="water",
                round=2,
                reason="不满意",
                deadlines=factories.DEADLINES,
            )
        )
    return gaming.gaming(domain.timeline(factories.audit_facts(history)))


@pytest.mark.parametrize(
    ("share", "redo", "flagged"),
    [
        (0.9, True, True),  # the last tenth starts here
        (0.99, True, True),
        (0.89, True, False),  # before the last tenth: an ordinary redo
        (0.95, False, False),  # late in the window but it held: no reopen
        (1.2, True, False),  # past the deadline: late, which on-time completion counts
    ],
)
def test_a_reply_just_before_the_deadline_then_a_redo(
    share: float, redo: bool, flagged: bool
) -> None:
    found = _replied_then_redone(share, redo)
    assert bool(found.close_then_reopen) is flagged
    assert found.flagged is flagged
    if flagged:
        [near] = found.close_then_reopen
        assert near.department == "water"
        assert near.share_used == pytest.approx(share, abs=1e-3)
        assert near.reopened_by is not None
        assert set(found.facts) == {near.fact, near.reopened_by}


def _extension(assigned: events.Assigned, share: float) -> events.Event:
    return _at(
        assigned,
        events.ExtensionRequested,
        share,
        department="water",
        working_days=5,
        reason="需更换管道",
        legal_basis="办理规定",
    )


def test_an_extension_is_measured_against_the_deadline_then_in_force() -> None:
    assigned = factories.assigned(factories.received())
    moved = factories.DEADLINES.model_copy(
        update={"handle_due": factories.DEADLINES.handle_due + WINDOW}
    )
    first = _extension(assigned, 0.92)  # at the original deadline: flagged
    approved = _at(
        assigned,
        events.ExtensionApproved,
        0.93,
        department="water",
        working_days=10,
        previous_handle_due=factories.DEADLINES.handle_due,
        deadlines=moved,
    )
    second = _extension(assigned, 1.5)  # three quarters into the doubled window: not flagged
    found = gaming.gaming(
        domain.timeline(factories.audit_facts([assigned, first, approved, second]))
    )
    assert [e.fact for e in found.extensions_at_deadline] == [str(first.id)]
    assert found.extensions_at_deadline[0].share_used == pytest.approx(0.92, abs=1e-3)


def _callback(base: events.Event, round_: int, attempt: int, said: str | None) -> events.Event:
    return _at(
        base,
        events.CallbackMade,
        0.5 + attempt / 100,
        round=round_,
        attempt=attempt,
        reached=said is not None,
        satisfaction=said,
        counted=attempt == 1,
    )


@pytest.mark.parametrize(
    ("calls", "repeated"),
    [
        ([(1, "dissatisfied"), (1, None), (1, "basically_satisfied")], True),
        ([(1, "dissatisfied"), (1, "satisfied")], True),
        ([(1, None), (1, "satisfied")], False),  # unreached first: one honest answer
        ([(1, "satisfied"), (1, "dissatisfied")], False),  # the wrong way round
        ([(1, "dissatisfied"), (2, "satisfied")], False),  # a new round after a redo
    ],
)
def test_callbacks_repeated_in_a_round_until_satisfied(
    calls: list[tuple[int, str | None]], repeated: bool
) -> None:
    assigned = factories.assigned(factories.received())
    made = [_callback(assigned, r, n, said) for n, (r, said) in enumerate(calls, start=1)]
    found = gaming.gaming(domain.timeline(factories.audit_facts([assigned, *made])))
    assert bool(found.callbacks_until_satisfied) is repeated
    if repeated:
        [pair] = found.callbacks_until_satisfied
        assert (pair.round, pair.dissatisfied, pair.satisfied) == (
            1,
            str(made[0].id),
            str(made[-1].id),
        )


def test_the_window_is_the_recomputed_deadline_once_one_is_recorded() -> None:
    """A reply at 95 % of the provisional window is an ordinary one once the published
    calendar moved the deadline twice as far: half the window in force."""
    assigned = factories.assigned(factories.received())
    later = factories.DEADLINES.model_copy(update={"handle_due": assigned.time + WINDOW * 2})
    recomputed = _at(
        assigned, events.DeadlinesRecomputed, 0.1, department="water", years=(2027,),
        previous=factories.DEADLINES, deadlines=later,
    )  # fmt: skip
    reply = _at(assigned, events.Handled, 0.95, department="water", result="solved", reply="好")
    redo = _at(
        assigned, events.RedoOrdered, 0.96, department="water", round=2, reason="不满意",
        deadlines=factories.DEADLINES,
    )  # fmt: skip
    found = gaming.gaming(
        domain.timeline(factories.audit_facts([assigned, recomputed, reply, redo]))
    )
    assert not found.flagged
    provisional = [assigned, reply, redo]
    assert gaming.gaming(domain.timeline(factories.audit_facts(provisional))).flagged
