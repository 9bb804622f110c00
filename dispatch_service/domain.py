"""The work order: routing decisions and state transitions. Pure: no I/O, time passed in."""

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal
from uuid import UUID

from shared import events

FALLBACK_RULE = "fallback"
Stage = Literal["assigned", "closed"]


@dataclass(frozen=True, slots=True)
class RoutingRule:
    rule_id: str
    category: str
    district: str | None  # None: any district
    department: str


@dataclass(frozen=True, slots=True)
class RoutingTable:
    version: int
    rules: tuple[RoutingRule, ...]
    fallback_department: str  # the district government takes what nobody else owns


@dataclass(frozen=True, slots=True)
class WorkOrder:
    appeal_id: UUID
    department: str
    stage: Stage = "assigned"


def route(table: RoutingTable, *, category: str, district: str | None) -> tuple[str, str]:
    """(department, rule id): a rule for the category in this district beats a city-wide one."""
    candidates = [
        r for r in table.rules if r.category == category and r.district in (district, None)
    ]
    candidates.sort(key=lambda r: (r.district is None, r.rule_id))
    if candidates:
        return candidates[0].department, candidates[0].rule_id
    return table.fallback_department, FALLBACK_RULE


def assign(
    received: events.AppealReceived, table: RoutingTable, *, event_id: UUID, now: datetime
) -> list[events.Event]:
    department, rule = route(table, category=received.category, district=received.location.district)
    return [
        events.Assigned(
            id=event_id,
            subject=received.subject,
            time=now,
            actor="service:dispatch",
            causation_id=received.id,
            correlation_id=received.correlation_id,
            department=department,
            routing_rule=rule,
            routing_version=table.version,
        )
    ]


def on_rated(
    order: WorkOrder | None, rated: events.Rated, *, event_id: UUID, now: datetime
) -> list[events.Event]:
    """A satisfied verdict closes the loop; a dissatisfied one leaves it open for redo."""
    if order is None or order.stage == "closed":
        return []
    if rated.satisfaction == "dissatisfied":
        return []
    return [
        events.Closed(
            id=event_id,
            subject=rated.subject,
            time=now,
            actor="service:dispatch",
            causation_id=rated.id,
            correlation_id=rated.correlation_id,
            basis="rated_satisfied",
        )
    ]


def evolve(state: WorkOrder | None, event: events.Event) -> WorkOrder | None:
    match event:
        case events.Assigned(subject=appeal_id, department=department):
            return WorkOrder(appeal_id, department)
        case events.Closed() if state is not None:
            return replace(state, stage="closed")
    return state
