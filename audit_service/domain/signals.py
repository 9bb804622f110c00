"""Buck-passing (推诿扯皮) read from one appeal's timeline. Pure: the same facts give the
same signals, so a flag can always be traced to the facts that raised it."""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from audit_service.domain.facts import Fact

# An appeal is flagged when it bounced at least this often or came back to where it was.
RETURNS_FLAGGED = 2
DEPARTMENTS_FLAGGED = 3


@dataclass(frozen=True, slots=True)
class BuckPassing:
    departments: tuple[str, ...]  # every lead department, in the order they held it
    returns_requested: int
    returns_approved: int
    returns_denied: int  # returns the hotline overruled: the improper-return evidence
    redispatches: int
    ping_pong: bool  # a department got it back after it had moved on (A → B → A)
    ownerless_seconds: float  # time a return left the appeal waiting for arbitration
    flagged: bool
    facts: tuple[str, ...]  # ids of the facts behind these figures


def buck_passing(timeline: Sequence[Fact]) -> BuckPassing:
    departments: list[str] = []
    counts = {
        "appeal.return_requested": 0,
        "appeal.return_approved": 0,
        "appeal.return_denied": 0,
        "appeal.redispatched": 0,
    }
    evidence: list[str] = []
    ownerless, waiting_since = 0.0, None
    for fact in timeline:
        if fact.type in ("appeal.assigned", "appeal.redispatched"):
            department = json.loads(fact.body)["data"]["department"]
            if not departments or departments[-1] != department:
                departments.append(department)
        if fact.type in counts:
            counts[fact.type] += 1
            evidence.append(str(fact.event_id))
        if fact.type == "appeal.return_requested":
            waiting_since = fact.time
        elif fact.type in ("appeal.redispatched", "appeal.return_denied", "appeal.closed"):
            ownerless += _since(waiting_since, fact.time)
            waiting_since = None
    ping_pong = any(departments[i] in departments[: i - 1] for i in range(2, len(departments)))
    flagged = (
        counts["appeal.return_requested"] >= RETURNS_FLAGGED
        or ping_pong
        or len(departments) >= DEPARTMENTS_FLAGGED
    )
    return BuckPassing(
        departments=tuple(departments),
        returns_requested=counts["appeal.return_requested"],
        returns_approved=counts["appeal.return_approved"],
        returns_denied=counts["appeal.return_denied"],
        redispatches=counts["appeal.redispatched"],
        ping_pong=ping_pong,
        ownerless_seconds=ownerless,
        flagged=flagged,
        facts=tuple(evidence),
    )


def _since(start: datetime | None, end: datetime) -> float:
    return 0.0 if start is None else max(0.0, (end - start).total_seconds())
