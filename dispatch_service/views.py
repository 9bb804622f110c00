"""What dispatch's routes answer: one pydantic model per response, so the OpenAPI document
types every 2xx body. Built from the stored work-order view and the catalogue."""

from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from dispatch_service.domain import routing, sla
from dispatch_service.domain.state import Stage
from shared.runtime import preconditions

ETAG_HEADER = {
    "ETag": {
        "description": "the work order's version, then the round whose reply dispatch has "
        "learnt (a change no fact of dispatch's records): send it back in If-Match with a "
        "command, where the version decides",
        "schema": {"type": "string", "examples": ['"3.0"']},
    }
}


def etag(row: dict[str, Any]) -> str:
    """A stored work order's ETag: it changes whenever its representation's state does."""
    return preconditions.etag(row["version"], row["handled_round"])


class _View(BaseModel):
    model_config = ConfigDict(frozen=True)


class DeadlinesView(_View):
    sign_for_due: datetime
    handle_due: datetime
    dispatch_due: datetime | None = Field(description="from receipt; on the first assignment")
    policy_version: int = Field(description="the SLA policy version that set these deadlines")
    calendar: str = Field(description="the working-day calendar's version")
    provisional: bool = Field(
        description="counted on weekdays across a year whose holiday arrangement is not "
        "published; recomputed (appeal.deadlines_recomputed) once it is"
    )
    provisional_years: list[int] = Field(description="the unpublished years behind it")


class RunningClockView(_View):
    clock: Literal["sign_for", "handling"]
    due: datetime
    remaining_seconds: int = Field(description="negative once overdue")
    used_share: float = Field(description="share of the allowed time used, 1 at the deadline")


class AssistView(_View):
    """An assisting department's part in the current holding, on its own deadline."""

    department: str
    asked_at: datetime
    due: datetime = Field(description="the assist window, never past the lead's handling due")
    state: Literal["asked", "contributed", "overdue"]
    contributed_at: datetime | None = Field(description="its first contribution")
    provisional_years: list[int] = Field(
        description="unpublished years `due` was counted across on weekdays; recomputed "
        "(appeal.assist_deadline_recomputed) once they are published",
    )
    warn_at: datetime | None = Field(
        description="its warning mark: the timer records appeal.assist_warned and reminds the "
        "department then (null on asks recorded without one)"
    )


class WorkOrderView(_View):
    """A work order as of `as_of`; `version` is its ETag."""

    appeal_id: UUID
    department: str = Field(description="the lead department")
    assisting: list[str]
    stage: Stage
    round: int = Field(description="1, then one more per redo")
    version: int
    handled_this_round: bool = Field(description="the lead department has replied this round")
    category: str
    district: str | None
    appeal_type: str
    urgency: str
    pending_extension_days: int | None = Field(description="working days asked for, undecided")
    deadlines: DeadlinesView
    assigned_at: datetime = Field(description="when the current lead got it")
    assists: list[AssistView] = Field(
        default_factory=list,
        description="each assisting department's ask (appeal.assist_requested)",
    )
    as_of: datetime
    overdue: bool
    running_clock: RunningClockView | None = Field(description="null once no clock runs")


def work_order(row: dict[str, Any], now: datetime) -> WorkOrderView:
    """The stored view plus how close its running clock is to its deadline, as of `now`."""
    state = row["state"]
    running: Literal["sign_for", "handling"] | None = None
    if state["stage"] == "assigned":
        running = "sign_for"
    elif state["stage"] in ("signed_for", "return_requested") and not state["handled_this_round"]:
        running = "handling"
    clock: RunningClockView | None = None
    if running is not None:
        start = datetime.fromisoformat(state["assigned_at"])
        due_key = {"sign_for": "sign_for_due", "handling": "handle_due"}[running]
        due = datetime.fromisoformat(state["deadlines"][due_key])
        allowed = (due - start).total_seconds()
        clock = RunningClockView(
            clock=running,
            due=due,
            remaining_seconds=round((due - now).total_seconds()),
            used_share=round((now - start).total_seconds() / allowed, 3) if allowed else 1,
        )
    return WorkOrderView.model_validate(
        {**state, "overdue": row["overdue"], "running_clock": clock}
    )


# --- the catalogue --------------------------------------------------------------------------


class DepartmentView(_View):
    id: str
    name: str
    district: str | None = Field(description="null for a city-wide department")


class RoutingRuleView(_View):
    rule_id: str
    category: str
    district: str | None = Field(description="null: any district")
    department: str
    assisting: list[str]


class RoutingView(_View):
    """The routing table in force: work orders keep the version that routed them."""

    version: int
    fallback_department: str = Field(description="takes what no rule covers")
    rules: list[RoutingRuleView]


def routing_table(table: routing.RoutingTable) -> RoutingView:
    return RoutingView(
        version=table.version,
        fallback_department=table.fallback_department,
        rules=[
            RoutingRuleView(
                rule_id=r.rule_id,
                category=r.category,
                district=r.district,
                department=r.department,
                assisting=list(r.assisting),
            )
            for r in table.rules
        ],
    )


class LimitView(_View):
    amount: int
    unit: Literal["hours", "working_days"]


class ClocksView(_View):
    appeal_type: str = Field(description="an appeal type, or * for any")
    urgency: str = Field(description="normal, urgent, or * for any")
    category: str = Field(description="a category code, a family `water.*`, or * for any")
    sign_for: LimitView
    handling: LimitView
    dispatch: LimitView


class PolicyView(_View):
    """An SLA policy version, in the shape `PUT /v1/sla-policy` takes, with its version, when
    it takes effect, and the working-day calendar's version."""

    version: int
    effective_from: datetime = Field(
        description="appeals received from this moment on run under this version"
    )
    clocks: list[ClocksView]
    warn_share: float
    timezone: str
    day_ends_at: str = Field(examples=["18:00"])
    return_window: LimitView
    max_extension_days: int
    max_extension_days_total: int
    max_redo_rounds: int
    assist_window: LimitView
    calendar: str


def policy(current: sla.SlaPolicy, *, calendar: str) -> PolicyView:
    def limit(value: sla.Limit) -> LimitView:
        return LimitView(amount=value.amount, unit=value.unit)

    return PolicyView(
        version=current.version,
        effective_from=current.effective_from,
        clocks=[
            ClocksView(
                appeal_type=appeal_type,
                urgency=urgency,
                category=category,
                sign_for=limit(c.sign_for),
                handling=limit(c.handling),
                dispatch=limit(c.dispatch),
            )
            for (appeal_type, urgency, category), c in current.clocks.items()
        ],
        warn_share=current.warn_share,
        timezone=current.timezone,
        day_ends_at=current.day_ends_at.strftime("%H:%M"),
        return_window=limit(current.return_window),
        max_extension_days=current.max_extension_days,
        max_extension_days_total=current.max_extension_days_total,
        max_redo_rounds=current.max_redo_rounds,
        assist_window=limit(current.assist_window),
        calendar=calendar,
    )


class CalendarVersionView(_View):
    """One published calendar version: a year's official holiday arrangement."""

    number: int = Field(description="the calendar version: the seed plus versions 1..number")
    calendar: str = Field(description="the version's name, as deadlines record it")
    year: int
    holidays: list[date] = Field(description="working weekdays that are off")
    workdays: list[date] = Field(description="weekend days that are worked (调休)")
    note: str | None
    published_by: str
    published_at: datetime


class CalendarView(_View):
    """The working-day calendar in force."""

    number: int = Field(description="0: the seed alone")
    calendar: str = Field(description="the version's name, as deadlines record it")
    seed: str = Field(description="the packaged library whose years are the seed")
    seed_years: list[int] = Field(description="first and last year the seed covers")
    published_years: list[int] = Field(description="years with a published arrangement")


class PublishedView(_View):
    version: int = Field(description="the new version, or the one already saying the same")
    published: bool = Field(description="false when the newest version already said the same")
