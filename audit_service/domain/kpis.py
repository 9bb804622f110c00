"""Department measures per month, computed from facts alone. Pure.

Every figure is a cohort of "holdings": each time a department is given an appeal (assigned,
redispatched, or handed back for a redo) starts one, attributed to the month it started in
(Beijing time). A holding is completed by the reply the hotline centre approved, at the time
the department made it, against the deadline in force (after approved extensions and
recomputations): a reply sent back completes nothing, so a template reply before the deadline
followed by a real one after it is late. A figure counts holdings, and keeps the ids of the
facts that decided each count, so any number on a ranking can be opened up and recomputed
under another rule.
"""

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from audit_service.domain import assists
from audit_service.domain.clocks import HandlingLimits
from audit_service.domain.facts import Fact
from shared.workdays import HOTLINE_ZONE, WorkdayCalendar

STARTS = ("appeal.assigned", "appeal.redispatched", "appeal.redo_ordered")
CALENDAR = WorkdayCalendar()


@dataclass(frozen=True)
class Rule:
    """A named, versioned scoring rule (stored as data: domain/rules.py): what counts as
    satisfied, which categories are left out, and which handling deadline applies (None:
    the one dispatch recorded)."""

    name: str = "standard"
    version: int = 1
    basically_satisfied_counts: bool = True
    excluded_categories: frozenset[str] = frozenset()
    # A department with fewer holdings in the month is ranked but named on neither list: a
    # rate over two work orders says little, and one bad week of a tiny unit is no verdict.
    list_min_volume: int = 5
    listed: int = 5  # how many the red and the black list name at most
    handling_limits: HandlingLimits | None = None

    def handle_due(self, start: Fact, appeal: dict[str, Any], recorded: str) -> datetime:
        due = datetime.fromisoformat(recorded)
        if self.handling_limits is None:
            return due
        return self.handling_limits.handle_due(
            start=start.time,
            appeal_type=appeal.get("appeal_type"),
            urgency=appeal.get("urgency"),
            recorded=due,
        )

    def extended(self, current: datetime, extension: dict[str, Any]) -> datetime:
        if self.handling_limits is None:
            return datetime.fromisoformat(extension["deadlines"]["handle_due"])
        return self.handling_limits.extended(current, int(extension["working_days"]))


@dataclass
class Figures:
    volume: list[str] = field(default_factory=list)  # fact ids of the starts
    signed_in_time: list[str] = field(default_factory=list)
    signed_late_or_never: list[str] = field(default_factory=list)
    completed_on_time: list[str] = field(default_factory=list)
    completed_late_or_overdue: list[str] = field(default_factory=list)
    returns: list[str] = field(default_factory=list)
    returns_overruled: list[str] = field(default_factory=list)
    redos: list[str] = field(default_factory=list)
    completed: list[str] = field(default_factory=list)
    satisfied: list[str] = field(default_factory=list)
    rated: list[str] = field(default_factory=list)
    handling_workdays: list[int] = field(default_factory=list)
    # As an assisting department (协办), apart from its own holdings: asks, and how they went.
    assists_asked: list[str] = field(default_factory=list)
    assists_on_time: list[str] = field(default_factory=list)
    assists_late_or_missing: list[str] = field(default_factory=list)
    # Ratings by merged children's citizens of this department's handling of their parent
    # (also in `rated` and, when satisfied, `satisfied`).
    rated_by_merged: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        def rate(part: list[str], whole: int) -> float | None:
            return round(len(part) / whole, 4) if whole else None

        sign_for_due = len(self.signed_in_time) + len(self.signed_late_or_never)
        completion_due = len(self.completed_on_time) + len(self.completed_late_or_overdue)
        assists_due = len(self.assists_on_time) + len(self.assists_late_or_missing)
        return {
            "volume": len(self.volume),
            "timely_sign_for_rate": rate(self.signed_in_time, sign_for_due),
            "on_time_completion_rate": rate(self.completed_on_time, completion_due),
            "return_rate": rate(self.returns, len(self.volume)),
            "returns_overruled": len(self.returns_overruled),
            "redo_rate": rate(self.redos, len(self.completed)),
            "satisfaction_rate": rate(self.satisfied, len(self.rated)),
            "mean_handling_workdays": (
                round(sum(self.handling_workdays) / len(self.handling_workdays), 2)
                if self.handling_workdays
                else None
            ),
            "assist_volume": len(self.assists_asked),
            "assist_on_time_rate": rate(self.assists_on_time, assists_due),
        }

    def evidence(self) -> dict[str, list[str]]:
        return {k: v for k, v in vars(self).items() if k != "handling_workdays"}


Table = dict[tuple[str, str], Figures]  # (department, "YYYY-MM") → figures


def _data(fact: Fact) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(fact.body)["data"]
    return data


def accumulate(table: Table, timeline: Sequence[Fact], *, rule: Rule, now: datetime) -> None:
    """Add one appeal's holdings, its assisting departments' asks and, for a merged child,
    its citizen's ratings of the parent's handling to the table (as of `now`, for clocks
    still running)."""
    # A child merged after forwarding had a work order of its own, withdrawn: its ratings
    # still rate the parent's handling.
    _merged_ratings(table, timeline, rule=rule)
    starts = [i for i, f in enumerate(timeline) if f.type in STARTS]
    if not starts:
        return
    first = _data(timeline[starts[0]])
    if first.get("category") in rule.excluded_categories:
        return
    for found in assists.outcomes(timeline, now=now):
        figures = table.setdefault((found.department, found.month), Figures())
        figures.assists_asked.append(found.asked)
        if found.outcome == "on_time":
            figures.assists_on_time.append(found.decided_by)
        elif found.outcome == "late":
            figures.assists_late_or_missing.append(found.decided_by)
    for n, begin in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(timeline)
        during = timeline[begin + 1 : end]
        _holding(table, timeline[begin], during=during, rule=rule, now=now, appeal=first)


def _holding(
    table: Table,
    start: Fact,
    *,
    during: Sequence[Fact],
    rule: Rule,
    now: datetime,
    appeal: dict[str, Any],
) -> None:
    data = _data(start)
    department, deadlines = data["department"], data["deadlines"]
    month = start.time.astimezone(HOTLINE_ZONE).strftime("%Y-%m")
    figures = table.setdefault((department, month), Figures())
    start_id = str(start.event_id)
    if start.type == "appeal.redo_ordered":
        figures.redos.append(start_id)
    else:
        figures.volume.append(start_id)
    sign_for_due = datetime.fromisoformat(deadlines["sign_for_due"])
    handle_due = rule.handle_due(start, appeal, deadlines["handle_due"])
    signed = replied = reply = approved = ended = None
    for fact in during:
        own = _data(fact).get("department") == department
        match fact.type:
            case "appeal.signed_for" if own and signed is None:
                signed = fact
            case "appeal.extension_approved" if own:
                handle_due = rule.extended(handle_due, _data(fact))
            case "appeal.deadlines_recomputed" if own:
                recomputed = _data(fact)["deadlines"]
                sign_for_due = datetime.fromisoformat(recomputed["sign_for_due"])
                if rule.handling_limits is None:
                    handle_due = datetime.fromisoformat(recomputed["handle_due"])
            # The holding ends here: withdrawn or closed by the centre, or returned with the
            # centre's approval. No clock runs on; only what fell due before counts.
            case "appeal.withdrawn" | "appeal.closed" if ended is None:
                ended = fact
            case "appeal.return_approved" if own and ended is None:
                ended = fact
            case "appeal.return_requested" if own:
                figures.returns.append(str(fact.event_id))
            case "appeal.return_denied" if own:
                figures.returns_overruled.append(str(fact.event_id))
            case "appeal.handled" if own and approved is None:
                replied = reply = fact  # awaits the centre's review
            case "appeal.reply_reviewed" if own and reply is not None and approved is None:
                # Only the reply the centre approved completes the holding: a template
                # reply sent back before the deadline does not stop the clock.
                if _data(fact)["decision"] == "approved":
                    approved = reply
                    figures.completed.append(str(reply.event_id))
                    figures.handling_workdays.append(
                        CALENDAR.workdays_between(
                            start.time.astimezone(HOTLINE_ZONE).date(),
                            reply.time.astimezone(HOTLINE_ZONE).date(),
                        )
                    )
                reply = None
            case "appeal.rated" if replied is not None and not _data(fact).get("merged_into"):
                figures.rated.append(str(fact.event_id))
                if _satisfied(fact, rule):
                    figures.satisfied.append(str(fact.event_id))
    if ended is not None and ended.type == "appeal.withdrawn" and start_id in figures.volume:
        figures.volume.remove(start_id)  # taken back unsigned: nothing was due from it
    until = now if ended is None else min(now, ended.time)
    if signed is not None and signed.time <= sign_for_due:
        figures.signed_in_time.append(str(signed.event_id))
    elif signed is not None or until > sign_for_due:
        figures.signed_late_or_never.append(str((signed or start).event_id))
    if approved is not None and approved.time <= handle_due:
        figures.completed_on_time.append(str(approved.event_id))
    elif approved is not None or (reply is None and until > handle_due):
        # late, or overdue with no reply; a reply still awaiting review is not judged yet
        figures.completed_late_or_overdue.append(str((approved or start).event_id))


def _satisfied(fact: Fact, rule: Rule) -> bool:
    grades = (
        {"satisfied", "basically_satisfied"} if rule.basically_satisfied_counts else {"satisfied"}
    )
    return bool(_data(fact)["satisfaction"] in grades)


def _merged_ratings(table: Table, timeline: Sequence[Fact], *, rule: Rule) -> None:
    """A merged child (并单) has no holding: its citizen rates the parent's handling, and the
    rating counts for the department that handled it (`handled_by` on the rating), in the
    month it was given."""
    # its category as last (re)classified: an operator's reclassification decides, as it
    # does for the appeals that hold an order of their own
    categories = [
        _data(f).get("category")
        for f in timeline
        if f.type in ("appeal.received", "appeal.classified")
    ]
    if categories and categories[-1] in rule.excluded_categories:
        return
    for fact in timeline:
        data = _data(fact) if fact.type == "appeal.rated" else {}
        if not data.get("merged_into") or not data.get("handled_by"):
            continue
        month = fact.time.astimezone(HOTLINE_ZONE).strftime("%Y-%m")
        figures = table.setdefault((data["handled_by"], month), Figures())
        figures.rated.append(str(fact.event_id))
        figures.rated_by_merged.append(str(fact.event_id))
        if _satisfied(fact, rule):
            figures.satisfied.append(str(fact.event_id))


def months(table: Iterable[tuple[str, str]]) -> list[str]:
    return sorted({month for _, month in table})


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """A "YYYY-MM" month in Beijing time as [start, end)."""
    year, number = (int(part) for part in month.split("-"))
    start = datetime(year, number, 1, tzinfo=HOTLINE_ZONE)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=HOTLINE_ZONE)
    return start, end
