"""SLA policies: how long each clock may run, as versioned configuration. Pure.

A policy version takes effect from a moment (`effective_from`); the version in force when
intake received an appeal governs every clock of that appeal for its whole life (assignment,
redispatch, redo, extension, recomputation), so a policy published while an appeal is open
never changes its terms. Within a version, clock rules select by appeal type, urgency and
category, the most specific rule winning (see `clocks_for`).

Both clocks start when the work order is assigned (not when it is signed for), so a
department that withholds sign-for stops nothing. Limits are clock hours or working days;
a working-day deadline falls at `day_ends_at` local time on the last allowed working day,
counting from the next working day: boundary rules are parameters, not code.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from shared import events
from shared.workdays import WorkdayCalendar

ANY = "*"
# The first policy a deployment publishes governs everything received before any other.
SINCE_EVER = datetime(1970, 1, 1, tzinfo=UTC)
ClockKey = tuple[str, str, str]  # (appeal type, urgency, category pattern), each maybe ANY


@dataclass(frozen=True, slots=True)
class Limit:
    amount: int
    unit: Literal["hours", "working_days"]


@dataclass(frozen=True, slots=True)
class Clocks:
    sign_for: Limit
    handling: Limit
    dispatch: Limit = Limit(24, "hours")  # from receipt to the first assignment


@dataclass(frozen=True)
class SlaPolicy:
    version: int
    # (appeal type, urgency, category pattern) → clocks; ANY matches every value, a
    # category pattern `water.*` every code of that family (see clocks_for)
    clocks: Mapping[ClockKey, Clocks]
    warn_share: float = 0.8
    timezone: str = "Asia/Shanghai"
    day_ends_at: time = time(18, 0)
    return_window: Limit = field(default_factory=lambda: Limit(2, "working_days"))
    max_extension_days: int = 10  # per request
    max_redo_rounds: int = 2  # redos per appeal; past them the centre takes it over
    max_extension_days_total: int = 15  # every extension of an appeal together
    effective_from: datetime = SINCE_EVER
    # An assisting department's (协办) limit from the holding's start, capped at the lead's
    # handling deadline: the lead needs the contribution before it can reply.
    assist_window: Limit = field(default_factory=lambda: Limit(3, "working_days"))

    def clocks_for(self, appeal_type: str, urgency: str, category: str) -> Clocks:
        """The clocks of the most specific rule that matches. Specificity ranks urgency
        first (urgent limits are clock hours, whatever the type or category), then the
        category (an exact code over its family `a.*`, a longer family over a shorter,
        any last), then the appeal type. Two matching rules never rank equal, since a key
        is unique and one code matches one family of each length: the choice is
        deterministic."""
        ranked = [
            ((u != ANY, rank, t != ANY), clocks)
            for (t, u, c), clocks in self.clocks.items()
            if t in (ANY, appeal_type)
            and u in (ANY, urgency)
            and (rank := category_rank(c, category)) is not None
        ]
        if not ranked:
            raise LookupError(
                f"SLA policy v{self.version} has no clocks for {appeal_type}/{urgency}/{category}"
            )
        return max(ranked, key=lambda pair: pair[0])[1]


def category_rank(pattern: str, category: str) -> int | None:
    """How specifically `pattern` matches `category`: None when it does not; ANY 0, a
    family `water.*` its length, the exact code above every family."""
    if pattern == ANY:
        return 0
    if pattern.endswith(".*"):
        return len(pattern) if category.startswith(pattern[:-1]) else None
    return 1000 if pattern == category else None


def in_force(versions: Sequence[tuple[int, datetime]], at: datetime) -> int | None:
    """Which version of (version, effective_from) governs what happened `at`: the one that
    took effect last by then; of two taking effect at the same moment, the later published.
    A version scheduled ahead therefore takes over on its date even if another was published
    meanwhile for the time before it. None: nothing was in force yet."""
    started = [(effective, version) for version, effective in versions if effective <= at]
    return max(started)[1] if started else None


def due(policy: SlaPolicy, calendar: WorkdayCalendar, *, start: datetime, limit: Limit) -> datetime:
    return _due(policy, calendar, start=start, limit=limit)[0]


def _due(
    policy: SlaPolicy, calendar: WorkdayCalendar, *, start: datetime, limit: Limit
) -> tuple[datetime, tuple[int, ...]]:
    """The deadline, and the years it was counted across that the calendar does not know
    (clock hours need no calendar, so they are never provisional)."""
    if limit.unit == "hours":
        return start + timedelta(hours=limit.amount), ()
    zone = ZoneInfo(policy.timezone)
    first_day = start.astimezone(zone).date()
    last_day = calendar.add_workdays(first_day, limit.amount)
    deadline = datetime.combine(last_day, policy.day_ends_at, zone)
    return deadline, calendar.unknown_years(first_day, last_day)


def assist_due(
    policy: SlaPolicy, calendar: WorkdayCalendar, *, start: datetime, handle_due: datetime
) -> tuple[datetime, tuple[int, ...]]:
    """An assisting department's deadline and the unpublished years it was counted across.
    Capped at the lead's handling deadline, it is provisional on the years up to that
    deadline's: the lead's count, from the same start, crossed those too."""
    due_at, years = _due(policy, calendar, start=start, limit=policy.assist_window)
    if handle_due < due_at:
        last_year = handle_due.astimezone(ZoneInfo(policy.timezone)).year
        return handle_due, tuple(y for y in years if y <= last_year)
    return due_at, years


def warn_at(policy: SlaPolicy, start: datetime, *, deadline: datetime) -> datetime:
    return start + (deadline - start) * policy.warn_share


def deadlines(
    policy: SlaPolicy,
    calendar: WorkdayCalendar,
    *,
    appeal_type: str,
    urgency: str,
    category: str,
    start: datetime,
    received_at: datetime | None = None,
) -> events.Deadlines:
    """The clocks a (re)assignment at `start` sets; with `received_at`, the first assignment
    also records the dispatch clock's deadline, counted from receipt."""
    clocks = policy.clocks_for(appeal_type, urgency, category)
    sign_for_due, sign_for_years = _due(policy, calendar, start=start, limit=clocks.sign_for)
    handle_due, handle_years = _due(policy, calendar, start=start, limit=clocks.handling)
    dispatch_due, dispatch_years = (
        (None, ())
        if received_at is None
        else _due(policy, calendar, start=received_at, limit=clocks.dispatch)
    )
    return events.Deadlines(
        sign_for_due=sign_for_due,
        handle_due=handle_due,
        sign_for_warn_at=warn_at(policy, start, deadline=sign_for_due),
        handle_warn_at=warn_at(policy, start, deadline=handle_due),
        dispatch_due=dispatch_due,
        policy_version=policy.version,
        calendar=calendar.version,
        provisional_years=tuple(sorted({*sign_for_years, *handle_years, *dispatch_years})),
    )


def extended(
    policy: SlaPolicy,
    calendar: WorkdayCalendar,
    *,
    current: events.Deadlines,
    working_days: int,
    now: datetime,
) -> events.Deadlines:
    """The deadlines after an approved extension of the handling clock."""
    zone = ZoneInfo(policy.timezone)
    first_day = current.handle_due.astimezone(zone).date()
    last_day = calendar.add_workdays(first_day, working_days)
    handle_due = datetime.combine(last_day, policy.day_ends_at, zone)
    # A year still marked stays marked even if published meanwhile: the base deadline was
    # counted on weekdays, and only the recomputation (which replays extensions) may lift it.
    unknown = {*current.provisional_years, *calendar.unknown_years(first_day, last_day)}
    return current.model_copy(
        update={
            "handle_due": handle_due,
            "handle_warn_at": warn_at(policy, now, deadline=handle_due),
            "policy_version": policy.version,
            "calendar": calendar.version,
            "provisional_years": tuple(sorted(unknown)),
        }
    )


DEMO_POLICY = SlaPolicy(
    version=1,
    clocks={
        (ANY, "urgent", ANY): Clocks(Limit(1, "hours"), Limit(24, "hours"), Limit(1, "hours")),
        ("consultation", ANY, ANY): Clocks(Limit(1, "working_days"), Limit(2, "working_days")),
        ("help", ANY, ANY): Clocks(Limit(1, "working_days"), Limit(5, "working_days")),
        ("praise", ANY, ANY): Clocks(Limit(1, "working_days"), Limit(5, "working_days")),
        ("suggestion", ANY, ANY): Clocks(Limit(1, "working_days"), Limit(10, "working_days")),
        ("complaint", ANY, ANY): Clocks(Limit(1, "working_days"), Limit(15, "working_days")),
        ("report", ANY, ANY): Clocks(Limit(1, "working_days"), Limit(15, "working_days")),
    },
)


def to_document(policy: SlaPolicy) -> dict[str, Any]:
    """The policy as stored (JSON), version aside."""
    return {
        "clocks": [
            {
                "appeal_type": t,
                "urgency": u,
                "category": c,
                "sign_for": [clocks.sign_for.amount, clocks.sign_for.unit],
                "handling": [clocks.handling.amount, clocks.handling.unit],
                "dispatch": [clocks.dispatch.amount, clocks.dispatch.unit],
            }
            for (t, u, c), clocks in policy.clocks.items()
        ],
        "warn_share": policy.warn_share,
        "timezone": policy.timezone,
        "day_ends_at": policy.day_ends_at.isoformat(),
        "return_window": [policy.return_window.amount, policy.return_window.unit],
        "max_extension_days": policy.max_extension_days,
        "max_redo_rounds": policy.max_redo_rounds,
        "max_extension_days_total": policy.max_extension_days_total,
        "assist_window": [policy.assist_window.amount, policy.assist_window.unit],
    }


def from_document(
    version: int, document: dict[str, Any], *, effective_from: datetime = SINCE_EVER
) -> SlaPolicy:
    def limit(pair: list[Any]) -> Limit:
        return Limit(int(pair[0]), pair[1])

    return SlaPolicy(
        version=version,
        clocks={
            # policies stored before categories had rules held every category
            (c["appeal_type"], c["urgency"], c.get("category", ANY)): Clocks(
                limit(c["sign_for"]), limit(c["handling"]), limit(c.get("dispatch", [24, "hours"]))
            )
            for c in document["clocks"]
        },
        warn_share=float(document["warn_share"]),
        timezone=document["timezone"],
        day_ends_at=time.fromisoformat(document["day_ends_at"]),
        return_window=limit(document["return_window"]),
        max_extension_days=int(document["max_extension_days"]),
        max_redo_rounds=int(document.get("max_redo_rounds", 2)),
        # policies published before the cap existed had none: the per-request limit, twice
        max_extension_days_total=int(
            document.get("max_extension_days_total", 2 * int(document["max_extension_days"]))
        ),
        effective_from=effective_from,
        assist_window=limit(document.get("assist_window", [3, "working_days"])),
    )
