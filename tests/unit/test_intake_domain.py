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


def test_status_follows_other_services_facts() -> None:
    r, a, h, s, c = factories.full_history()
    assert domain.status_after(r) is None
    assert [domain.status_after(e) for e in (a, h, s, c)] == [
        "assigned",
        "handled",
        "rated",
        "closed",
    ]


@pytest.mark.parametrize(
    ("current", "new", "moves"),
    [
        ("received", "assigned", True),
        ("handled", "assigned", False),
        ("rated", "closed", True),
        ("closed", "rated", False),
        ("assigned", "assigned", False),
    ],
)
def test_status_only_moves_forward_whatever_the_arrival_order(
    current: str, new: str, moves: bool
) -> None:
    assert domain.advances(current, new) is moves
