import itertools
from datetime import timedelta
from typing import Any
from uuid import uuid4

from audit_service import domain
from audit_service.domain import signals
from shared import events
from tests.unit import factories


def _later(base: events.Event, cls: type[events.Event], minutes: int, **data: Any) -> events.Event:
    return cls(
        id=uuid4(),
        subject=base.subject,
        time=base.time + timedelta(minutes=minutes),
        actor="x",
        correlation_id=base.correlation_id,
        **data,
    )


def _bounced(*route: str) -> list[domain.Fact]:
    """Assigned to route[0], then returned and redispatched along the rest of the route."""
    assigned = factories.assigned(factories.received(), department=route[0])
    history: list[events.Event] = [assigned]
    minutes = 0
    for previous, department in itertools.pairwise(route):
        minutes += 60
        history.append(
            _later(
                assigned,
                events.ReturnRequested,
                minutes,
                department=previous,
                reason_code="not-ours",
                legal_basis="三定",
            )
        )
        minutes += 30
        history.append(
            _later(assigned, events.ReturnApproved, minutes, department=previous, reasoning="ok")
        )
        history.append(
            _later(
                assigned,
                events.Redispatched,
                minutes,
                department=department,
                previous_department=previous,
                routing_rule="operator",
                routing_version=1,
                reason="改派",
                deadlines=factories.DEADLINES,
            )
        )
    return factories.audit_facts(history)


def test_a_straight_appeal_raises_no_flag() -> None:
    found = signals.buck_passing(_bounced("water"))
    assert (found.departments, found.returns_requested, found.flagged) == (("water",), 0, False)


def test_returns_and_redispatches_are_counted_with_the_time_nobody_owned_it() -> None:
    found = signals.buck_passing(_bounced("water", "power"))
    assert found.departments == ("water", "power")
    assert (found.returns_requested, found.returns_approved, found.redispatches) == (1, 1, 1)
    assert found.ownerless_seconds == 30 * 60
    assert len(found.facts) == 3
    assert not found.flagged


def test_a_ping_pong_between_departments_is_flagged() -> None:
    found = signals.buck_passing(_bounced("water", "power", "water"))
    assert found.ping_pong
    assert found.flagged
    assert found.ownerless_seconds == 2 * 30 * 60


def test_an_overruled_return_is_evidence_of_an_improper_return() -> None:
    assigned = factories.assigned(factories.received())
    history = [
        assigned,
        _later(
            assigned,
            events.ReturnRequested,
            10,
            department="water",
            reason_code="not-ours",
            legal_basis="三定",
        ),
        _later(assigned, events.ReturnDenied, 70, department="water", reasoning="属职责"),
    ]
    found = signals.buck_passing(factories.audit_facts(history))
    assert (found.returns_denied, found.ownerless_seconds) == (1, 3600)
    assert found.departments == ("water",)
