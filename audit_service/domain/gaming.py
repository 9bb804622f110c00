"""Gaming the numbers, read from one appeal's timeline. Pure, like signals.py.

Three patterns the hotline's own rules warn against (domain.md §5, "Resistant to gaming"):

- close then reopen: the department replied in the last share of its handling window, and the
  appeal came back for a redo. A reply rushed out to beat the clock that did not solve it.
- extension at the deadline: an extension requested in the last share of the handling window,
  when it can no longer be planned work, only a way to stop the clock.
- callbacks until satisfied: in one round, a callback reached the citizen who said
  "dissatisfied", and a later callback of the same round recorded "satisfied" or "basically
  satisfied".

"The last share of the window" is LAST_SHARE of the clock time from the holding's start
(assignment, redispatch or redo) to the handling deadline then in force (after approved
extensions): 10 % of a 15-day window is the last 36 hours. Clock time, not working time, so
the rule reads the same for clock-hour and working-day policies; the deadline itself already
carries the calendar.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from audit_service.domain.facts import Fact
from shared.workdays import HOTLINE_ZONE

LAST_SHARE = 0.1
STARTS = ("appeal.assigned", "appeal.redispatched", "appeal.redo_ordered")
SATISFIED = ("satisfied", "basically_satisfied")


@dataclass(frozen=True, slots=True)
class NearDeadline:
    """A reply or an extension request late in its window; `share_used` of the window was
    gone when it was made (1.0 = at the deadline)."""

    department: str
    fact: str
    share_used: float
    reopened_by: str | None = None  # the redo that followed a reply


@dataclass(frozen=True, slots=True)
class RepeatedCallback:
    round: int
    dissatisfied: str  # the callback that reached a dissatisfied citizen
    satisfied: str  # the later one of the same round that recorded satisfaction


@dataclass(frozen=True, slots=True)
class Gaming:
    close_then_reopen: tuple[NearDeadline, ...]
    extensions_at_deadline: tuple[NearDeadline, ...]
    callbacks_until_satisfied: tuple[RepeatedCallback, ...]
    flagged: bool
    facts: tuple[str, ...]  # ids of the facts behind these findings


@dataclass(frozen=True, slots=True)
class _Holding:
    """One department's turn with the appeal, as gaming needs it."""

    department: str
    start: Fact
    replies: tuple[tuple[Fact, float], ...]  # the department's replies, share of window used
    extensions: tuple[tuple[Fact, float], ...]  # its extension requests, likewise
    ended_by_redo: Fact | None


def _data(fact: Fact) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(fact.body)["data"]
    return data


def _share(start: datetime, due: datetime, at: datetime) -> float:
    window = (due - start).total_seconds()
    return 1.0 if window <= 0 else round((at - start).total_seconds() / window, 4)


def _holdings(timeline: Sequence[Fact]) -> list[_Holding]:
    starts = [i for i, f in enumerate(timeline) if f.type in STARTS]
    found = []
    for n, begin in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(timeline)
        start = timeline[begin]
        data = _data(start)
        department = data["department"]
        due = datetime.fromisoformat(data["deadlines"]["handle_due"])
        replies, extensions = [], []
        for fact in timeline[begin + 1 : end]:
            own = _data(fact).get("department") == department
            # the deadline then in force: extended, or recomputed on a published calendar
            if fact.type in ("appeal.extension_approved", "appeal.deadlines_recomputed") and own:
                due = datetime.fromisoformat(_data(fact)["deadlines"]["handle_due"])
            elif fact.type == "appeal.extension_requested" and own:
                extensions.append((fact, _share(start.time, due, fact.time)))
            elif fact.type == "appeal.handled" and own:
                replies.append((fact, _share(start.time, due, fact.time)))
        redo = timeline[end] if end < len(timeline) else None
        found.append(
            _Holding(
                department,
                start,
                tuple(replies),
                tuple(extensions),
                redo if redo is not None and redo.type == "appeal.redo_ordered" else None,
            )
        )
    return found


def _late(share: float) -> bool:
    """In the last share of the window but not past it: a reply after the deadline is late,
    which on-time completion already counts; gaming is beating the clock."""
    return 1 - LAST_SHARE <= share <= 1.0


def callbacks_until_satisfied(timeline: Sequence[Fact]) -> list[RepeatedCallback]:
    unhappy: dict[int, str] = {}  # round → the first reached "dissatisfied" callback
    found: dict[int, RepeatedCallback] = {}
    for fact in timeline:
        if fact.type != "appeal.callback_made":
            continue
        data = _data(fact)
        if not data.get("reached"):
            continue
        round_ = int(data["round"])
        if data.get("satisfaction") == "dissatisfied":
            unhappy.setdefault(round_, str(fact.event_id))
        elif data.get("satisfaction") in SATISFIED and round_ in unhappy and round_ not in found:
            found[round_] = RepeatedCallback(round_, unhappy[round_], str(fact.event_id))
    return [found[r] for r in sorted(found)]


def gaming(timeline: Sequence[Fact]) -> Gaming:
    reopened: list[NearDeadline] = []
    extensions: list[NearDeadline] = []
    for holding in _holdings(timeline):
        if holding.ended_by_redo is not None and holding.replies:
            last, share = holding.replies[-1]
            if _late(share):
                reopened.append(
                    NearDeadline(
                        holding.department,
                        str(last.event_id),
                        share,
                        str(holding.ended_by_redo.event_id),
                    )
                )
        extensions.extend(
            NearDeadline(holding.department, str(fact.event_id), share)
            for fact, share in holding.extensions
            if _late(share)
        )
    callbacks = callbacks_until_satisfied(timeline)
    evidence = [
        *(id_ for r in reopened for id_ in (r.fact, r.reopened_by) if id_ is not None),
        *(e.fact for e in extensions),
        *(id_ for c in callbacks for id_ in (c.dissatisfied, c.satisfied)),
    ]
    return Gaming(
        close_then_reopen=tuple(reopened),
        extensions_at_deadline=tuple(extensions),
        callbacks_until_satisfied=tuple(callbacks),
        flagged=bool(reopened or extensions or callbacks),
        facts=tuple(evidence),
    )


@dataclass
class Shares:
    """One department's month: how much of its work shows each gaming pattern. Attributed to
    the month (Beijing time) of the reply, the extension request, or the round's first
    callback that reached the citizen."""

    replies: list[str] = field(default_factory=list)
    replies_near_deadline_reopened: list[str] = field(default_factory=list)
    extensions: list[str] = field(default_factory=list)
    extensions_at_deadline: list[str] = field(default_factory=list)
    rounds_called_back: list[str] = field(default_factory=list)  # first reached callback
    rounds_called_until_satisfied: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        def share(part: list[str], whole: list[str]) -> float | None:
            return round(len(part) / len(whole), 4) if whole else None

        return {
            "replies": len(self.replies),
            "close_then_reopen_share": share(self.replies_near_deadline_reopened, self.replies),
            "extensions": len(self.extensions),
            "extensions_at_deadline_share": share(self.extensions_at_deadline, self.extensions),
            "rounds_called_back": len(self.rounds_called_back),
            "callbacks_until_satisfied_share": share(
                self.rounds_called_until_satisfied, self.rounds_called_back
            ),
        }


SharesTable = dict[tuple[str, str], Shares]  # (department, "YYYY-MM") → shares


def _month(at: datetime) -> str:
    return at.astimezone(HOTLINE_ZONE).strftime("%Y-%m")


def accumulate(table: SharesTable, timeline: Sequence[Fact]) -> None:
    """Add one appeal's replies, extension requests and callback rounds to the table."""
    found = gaming(timeline)
    late_replies = {r.fact for r in found.close_then_reopen}
    late_extensions = {e.fact for e in found.extensions_at_deadline}
    round_department: dict[int, str] = {}
    for holding in _holdings(timeline):
        for fact, _ in holding.replies:
            shares = table.setdefault((holding.department, _month(fact.time)), Shares())
            shares.replies.append(str(fact.event_id))
            if str(fact.event_id) in late_replies:
                shares.replies_near_deadline_reopened.append(str(fact.event_id))
            round_department[int(_data(fact).get("round", 1))] = holding.department
        for fact, _ in holding.extensions:
            shares = table.setdefault((holding.department, _month(fact.time)), Shares())
            shares.extensions.append(str(fact.event_id))
            if str(fact.event_id) in late_extensions:
                shares.extensions_at_deadline.append(str(fact.event_id))
    repeated = {c.round: c for c in found.callbacks_until_satisfied}
    counted: set[int] = set()
    for fact in timeline:
        if fact.type != "appeal.callback_made" or not _data(fact).get("reached"):
            continue
        round_ = int(_data(fact)["round"])
        department = round_department.get(round_)
        if department is None or round_ in counted:
            continue
        counted.add(round_)
        shares = table.setdefault((department, _month(fact.time)), Shares())
        shares.rounds_called_back.append(str(fact.event_id))
        if round_ in repeated:
            shares.rounds_called_until_satisfied.append(repeated[round_].satisfied)
