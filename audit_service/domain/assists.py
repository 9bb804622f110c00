"""Assisting departments' contributions (协办), measured apart from the lead's. Pure.

Each `appeal.assist_requested` is one ask of one assisting department, by the deadline dispatch
recorded on it (with its SLA policy and calendar versions). It is on time when the department's
first `appeal.assist_contributed` after the ask comes by that deadline; late when it comes
after, or when none came and the deadline passed while the ask stood (until `now`, or until
the holding ended: a redispatch, a closure, a withdrawal). A provisional deadline recomputed
once its year was published (`appeal.assist_deadline_recomputed`) is the one that stands.
An ask whose holding ended before its deadline with nothing contributed was never due, and
counts neither way. Each ask is attributed to the assisting department and the month (Beijing
time) it was asked in.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from audit_service.domain.facts import Fact
from shared.workdays import HOTLINE_ZONE

# What ends a holding's asks: a new lead asks its own, and a closed order asks nothing more.
ENDS = ("appeal.redispatched", "appeal.closed", "appeal.withdrawn")
_ABOUT_AN_ASK = (
    "appeal.assist_requested",
    "appeal.assist_contributed",
    "appeal.assist_deadline_recomputed",
)


@dataclass(frozen=True, slots=True)
class AssistOutcome:
    department: str
    month: str  # "YYYY-MM", Beijing time, of the ask
    asked: str  # the ask's fact id
    outcome: Literal["on_time", "late", "not_due"]
    decided_by: str  # the fact id that decided it: the contribution, or the ask itself


def outcomes(timeline: Sequence[Fact], *, now: datetime) -> list[AssistOutcome]:
    found: list[AssistOutcome] = []
    for n, fact in enumerate(timeline):
        if fact.type != "appeal.assist_requested":
            continue
        data = json.loads(fact.body)["data"]
        department, due = data["department"], datetime.fromisoformat(data["due"])
        contributed: Fact | None = None
        ended = now
        for later in timeline[n + 1 :]:
            if later.type in ENDS:
                ended = min(now, later.time)
                break
            if later.type not in _ABOUT_AN_ASK:
                continue
            about = json.loads(later.body)["data"]
            if about["department"] != department:
                continue
            if later.type == "appeal.assist_requested":
                ended = min(now, later.time)
                break
            if later.type == "appeal.assist_deadline_recomputed":
                due = datetime.fromisoformat(about["due"])  # the deadline that stands
            elif contributed is None:
                contributed = later
        outcome: Literal["on_time", "late", "not_due"]
        if contributed is not None:
            outcome = "on_time" if contributed.time <= due else "late"
        else:
            outcome = "late" if ended > due else "not_due"
        found.append(
            AssistOutcome(
                department=department,
                month=fact.time.astimezone(HOTLINE_ZONE).strftime("%Y-%m"),
                asked=str(fact.event_id),
                outcome=outcome,
                decided_by=str((contributed or fact).event_id),
            )
        )
    return found
