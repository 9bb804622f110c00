from uuid import uuid4

import pytest

from intake_service import domain
from shared import events
from tests.unit import factories


def test_receive_emits_one_appeal_received_fact() -> None:
    appeal = domain.NewAppeal(
        channel="web",
        appeal_type="help",
        category="housing.repair",
        content="楼道灯坏了",
        citizen=events.Citizen(anonymous=True),
    )
    appeal_id, event_id = uuid4(), uuid4()
    [fact] = domain.receive(
        appeal, appeal_id=appeal_id, event_id=event_id, actor="partner:wechat", now=factories.T0
    )
    assert isinstance(fact, events.AppealReceived)
    assert (fact.id, fact.subject, fact.correlation_id) == (event_id, appeal_id, appeal_id)
    assert (fact.actor, fact.time, fact.category) == (
        "partner:wechat",
        factories.T0,
        "housing.repair",
    )


def test_progress_follows_other_services_facts() -> None:
    r, a, h, s, c = factories.full_history()
    assert domain.progress_after(r, 1) is None
    assert [domain.progress_after(e, 1) for e in (a, h, s, c)] == [
        (1, "assigned"),
        (1, "handled"),
        (1, "rated"),
        (1, "closed"),
    ]


@pytest.mark.parametrize(
    ("current", "new", "moves"),
    [
        ((1, "received"), (1, "assigned"), True),
        ((1, "handled"), (1, "assigned"), False),
        ((1, "rated"), (1, "closed"), True),
        ((1, "closed"), (1, "rated"), False),
        ((1, "rated"), (2, "redo"), True),  # a redo starts the next round
        ((2, "redo"), (1, "rated"), False),  # a late fact of the previous round
        ((2, "redo"), (2, "in_progress"), True),
    ],
)
def test_progress_only_moves_forward_whatever_the_arrival_order(
    current: tuple[int, str], new: tuple[int, str], moves: bool
) -> None:
    assert domain.advances(current, new) is moves
