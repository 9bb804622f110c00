"""Valid events of every type, for contract and domain tests."""

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from shared import events

T0 = datetime(2026, 10, 9, 8, 30, tzinfo=UTC)


def received(
    appeal_id: UUID | None = None,
    *,
    category: str = "water.outage",
    district: str | None = "east",
    at: datetime = T0,
) -> events.AppealReceived:
    appeal_id = appeal_id or uuid4()
    return events.AppealReceived(
        id=uuid4(),
        subject=appeal_id,
        time=at,
        actor="operator:li",
        correlation_id=appeal_id,
        channel="phone",
        appeal_type="complaint",
        category=category,
        content="小区停水三天了",
        citizen=events.Citizen(name="张三", phone="13800138000"),
        location=events.Location(address="幸福路1号", district=district, lat=39.9, long=116.4),
    )


def assigned(cause: events.AppealReceived, department: str = "water") -> events.Assigned:
    return events.Assigned(
        id=uuid4(),
        subject=cause.subject,
        time=cause.time + timedelta(seconds=1),
        actor="service:dispatch",
        causation_id=cause.id,
        correlation_id=cause.correlation_id,
        department=department,
        routing_rule="city:water.outage",
        routing_version=1,
    )


def handled(cause: events.Assigned) -> events.Handled:
    return events.Handled(
        id=uuid4(),
        subject=cause.subject,
        time=cause.time + timedelta(hours=3),
        actor="department:water",
        causation_id=cause.id,
        correlation_id=cause.correlation_id,
        department=cause.department,
        result="solved",
        reply="已抢修供水管道 恢复供水",
    )


def rated(cause: events.Handled, satisfaction: events.Satisfaction = "satisfied") -> events.Rated:
    return events.Rated(
        id=uuid4(),
        subject=cause.subject,
        time=cause.time + timedelta(days=1),
        actor="operator:wang",
        causation_id=cause.id,
        correlation_id=cause.correlation_id,
        satisfaction=satisfaction,
        solved=True,
        comment="很快",
    )


def closed(cause: events.Rated) -> events.Closed:
    return events.Closed(
        id=uuid4(),
        subject=cause.subject,
        time=cause.time + timedelta(seconds=1),
        actor="service:dispatch",
        causation_id=cause.id,
        correlation_id=cause.correlation_id,
        basis="rated_satisfied",
    )


def full_history() -> tuple[
    events.AppealReceived, events.Assigned, events.Handled, events.Rated, events.Closed
]:
    r = received()
    a = assigned(r)
    h = handled(a)
    s = rated(h)
    return r, a, h, s, closed(s)
