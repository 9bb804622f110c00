"""dispatch's facts: the work order, from assignment to closure.

Every fact that starts or moves a clock carries the deadlines it set and the versions of the
SLA policy and working-day calendar that computed them, so a replay recomputes nothing.
"""

from datetime import date
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.events.assists import (
    AssistContributed,
    AssistDeadlineRecomputed,
    AssistOverdue,
    AssistRequested,
    AssistWarned,
)
from shared.events.base import AppealType, Code, Event, Text, Urgency, UtcDatetime

Clock = Literal["sign_for", "handling"]


class Deadlines(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    sign_for_due: UtcDatetime
    handle_due: UtcDatetime
    sign_for_warn_at: UtcDatetime
    handle_warn_at: UtcDatetime
    dispatch_due: UtcDatetime | None = None  # on the first assignment: receipt + dispatch limit
    policy_version: int = Field(ge=1)
    calendar: str  # the working-day calendar's version
    # Years the working days were counted across whose holiday arrangement was not published
    # (weekdays stood in): the deadlines are provisional until each is published and
    # `appeal.deadlines_recomputed` replaces them. Empty: final. (v2 of the deadline facts.)
    provisional_years: tuple[int, ...] = ()

    @property
    def provisional(self) -> bool:
        return bool(self.provisional_years)


class _DispatchEvent(Event):
    source: ClassVar[str] = "dispatch"


class Assigned(_DispatchEvent):
    """The work order was assigned to a lead department. dispatch → feedback, intake, audit."""

    schema_version: ClassVar[int] = 2  # v2: deadlines.provisional_years

    type: Literal["appeal.assigned"] = "appeal.assigned"
    department: Code
    assisting: tuple[Code, ...] = ()
    routing_rule: str  # the rule that chose the department, "fallback", or "operator"
    routing_version: int = Field(ge=1)
    category: Code
    district: Code | None = None
    appeal_type: AppealType
    urgency: Urgency
    deadlines: Deadlines
    # A conduct complaint's department complained about: never the lead nor an assisting one.
    about_department: Code | None = None


class Redispatched(_DispatchEvent):
    """The work order moved to another lead department, with fresh clocks: after an approved
    return, or an operator's reassignment. dispatch → feedback, intake, audit."""

    schema_version: ClassVar[int] = 3  # v2: deadlines.provisional_years; v3: round

    type: Literal["appeal.redispatched"] = "appeal.redispatched"
    department: Code
    assisting: tuple[Code, ...] = ()
    previous_department: Code
    routing_rule: str
    routing_version: int = Field(ge=1)
    reason: Text
    deadlines: Deadlines
    # The round the new holding begins, when the one before had a reply: the new lead replies
    # and is rated anew. None: the round goes on (nobody replied in it yet).
    round: int | None = Field(default=None, ge=2)


class SignedFor(_DispatchEvent):
    """The lead department took ownership (签收). dispatch → feedback, intake, audit."""

    type: Literal["appeal.signed_for"] = "appeal.signed_for"
    department: Code
    person: str = Field(min_length=1, max_length=100)


class ReturnRequested(_DispatchEvent):
    """The lead department asked to hand the work order back (退单). dispatch → audit."""

    type: Literal["appeal.return_requested"] = "appeal.return_requested"
    department: Code
    reason_code: Code
    legal_basis: Text
    explanation: Text | None = None


class ReturnApproved(_DispatchEvent):
    """The hotline accepted the return; a Redispatched fact follows. dispatch → audit."""

    type: Literal["appeal.return_approved"] = "appeal.return_approved"
    department: Code  # the department whose return was approved
    reasoning: Text


class ReturnDenied(_DispatchEvent):
    """The hotline refused the return: same department, clocks still running (an improper
    return in the making). dispatch → audit."""

    type: Literal["appeal.return_denied"] = "appeal.return_denied"
    department: Code
    reasoning: Text


class ExtensionRequested(_DispatchEvent):
    """The lead department asked for more time (延期). dispatch → audit."""

    type: Literal["appeal.extension_requested"] = "appeal.extension_requested"
    department: Code
    working_days: int = Field(ge=1, le=30)
    reason: Text
    legal_basis: Text


class ExtensionApproved(_DispatchEvent):
    """The handling deadline moved; the citizen is to be told. dispatch → feedback, intake."""

    schema_version: ClassVar[int] = 2  # v2: deadlines.provisional_years

    type: Literal["appeal.extension_approved"] = "appeal.extension_approved"
    department: Code
    working_days: int = Field(ge=1, le=30)
    previous_handle_due: UtcDatetime
    deadlines: Deadlines


class ExtensionDenied(_DispatchEvent):
    """The deadline stays. dispatch → audit."""

    type: Literal["appeal.extension_denied"] = "appeal.extension_denied"
    department: Code
    reasoning: Text


class Supervised(_DispatchEvent):
    """The hotline chased the department: reminder (催办), supervision (督办) or escalation to a
    higher level (提级). dispatch → audit."""

    type: Literal["appeal.supervised"] = "appeal.supervised"
    department: Code
    level: Literal["reminder", "supervision", "escalation"]
    note: Text


class DeadlineWarned(_DispatchEvent):
    """A clock passed its warning share of the allowed time. dispatch → audit."""

    type: Literal["appeal.deadline_warned"] = "appeal.deadline_warned"
    department: Code
    clock: Clock
    due: UtcDatetime


class DeadlineMissed(_DispatchEvent):
    """A clock ran out (overdue). dispatch → audit."""

    type: Literal["appeal.deadline_missed"] = "appeal.deadline_missed"
    department: Code
    clock: Clock
    due: UtcDatetime


class RedoOrdered(_DispatchEvent):
    """A dissatisfied rating sent the work order back to the department that handled it
    (重办), with fresh clocks. dispatch → feedback, intake, audit."""

    schema_version: ClassVar[int] = 2  # v2: deadlines.provisional_years

    type: Literal["appeal.redo_ordered"] = "appeal.redo_ordered"
    department: Code
    round: int = Field(ge=2)
    reason: Text
    deadlines: Deadlines


class EscalatedToCentre(_DispatchEvent):
    """The citizen is still not served after the redo rounds the policy allows: instead of
    another redo, the appeal goes to the hotline centre (提级), which closes or reassigns
    it. dispatch → feedback, intake, audit."""

    type: Literal["appeal.escalated_to_centre"] = "appeal.escalated_to_centre"
    department: Code  # the department that handled the last round
    round: int = Field(ge=1)
    redo_rounds: int = Field(ge=0)  # redos already ordered, the policy's maximum
    reason: Text


class Closed(_DispatchEvent):
    """The work order's loop ended. `rated_dissatisfied`: the citizen was dissatisfied but
    said the problem was solved and the department not at fault, so no redo. dispatch →
    intake, feedback, audit."""

    type: Literal["appeal.closed"] = "appeal.closed"
    basis: Literal["rated_satisfied", "rated_dissatisfied", "not_rated", "operator"]
    note: Text | None = None


class DeadlinesRecomputed(_DispatchEvent):
    """Provisional deadlines computed again once the calendar year they were counted across
    was published: same start, same pinned SLA policy, the new calendar. Recorded even when
    no date moved, since the deadlines stop being provisional. dispatch → feedback, audit."""

    type: Literal["appeal.deadlines_recomputed"] = "appeal.deadlines_recomputed"
    department: Code
    years: tuple[int, ...] = Field(min_length=1)  # the newly published years behind it
    previous: Deadlines
    deadlines: Deadlines


class CalendarPublished(_DispatchEvent):
    """An operator published a year's official holiday arrangement: calendar version
    `number`, the seed plus every arrangement up to this one (a year published again replaces
    its earlier arrangement). Subject: the calendar's own stream, not an appeal's (its id is
    drawn at the first publication; `number` is its version). dispatch → feedback, audit."""

    type: Literal["calendar.published"] = "calendar.published"
    number: int = Field(ge=1)
    calendar: str  # the version's name, as deadline facts record it
    year: int = Field(ge=2000, le=2100)
    holidays: tuple[date, ...] = Field(max_length=366)  # working weekdays that are off
    workdays: tuple[date, ...] = Field(max_length=366)  # weekend days worked (调休)
    note: Text | None = None  # e.g. the notice's number: 国办发明电〔2026〕N号


class Withdrawn(_DispatchEvent):
    """The front office settled the appeal before the department signed for it, and the work
    order closed as withdrawn: no clock runs on, nothing is due from the department.
    dispatch → intake, feedback, audit."""

    type: Literal["appeal.withdrawn"] = "appeal.withdrawn"
    department: Code  # the department that held it, unsigned
    outcome: Code  # the front office's outcome: answered, transferred, rejected, merged
    reason: Text


class WithdrawalRefused(_DispatchEvent):
    """The front office asked to withdraw a work order its department had already signed
    for (or that had closed): the department keeps it. dispatch → intake, audit."""

    type: Literal["appeal.withdrawal_refused"] = "appeal.withdrawal_refused"
    department: Code
    reason: Text


DISPATCH_EVENTS: tuple[type[Event], ...] = (
    Assigned,
    Redispatched,
    SignedFor,
    ReturnRequested,
    ReturnApproved,
    ReturnDenied,
    ExtensionRequested,
    ExtensionApproved,
    ExtensionDenied,
    AssistContributed,
    AssistRequested,
    AssistWarned,
    AssistOverdue,
    AssistDeadlineRecomputed,
    Supervised,
    DeadlineWarned,
    DeadlineMissed,
    RedoOrdered,
    Closed,
    DeadlinesRecomputed,
    CalendarPublished,
    EscalatedToCentre,
    Withdrawn,
    WithdrawalRefused,
)
