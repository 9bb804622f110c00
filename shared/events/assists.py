"""dispatch's facts about assisting departments (协办): each asked by its own deadline,
warned, marked overdue, recomputed once a provisional year is published, and contributing."""

from typing import ClassVar, Literal

from pydantic import Field

from shared.events.base import Code, Event, Text, UtcDatetime


class _AssistEvent(Event):
    source: ClassVar[str] = "dispatch"


class AssistContributed(_AssistEvent):
    """An assisting department's contribution to the lead (协办). dispatch → audit."""

    type: Literal["appeal.assist_contributed"] = "appeal.assist_contributed"
    department: Code
    content: Text


class AssistRequested(_AssistEvent):
    """An assisting department (协办) was asked to contribute to the lead, by its own deadline:
    the policy's assist window from this holding's start, never past the lead's handling
    deadline, on the same calendar. One per assisting department, beside the Assigned or
    Redispatched fact that named it. dispatch → audit."""

    type: Literal["appeal.assist_requested"] = "appeal.assist_requested"
    department: Code  # the assisting department
    lead: Code  # the department it assists
    due: UtcDatetime
    policy_version: int = Field(ge=1)
    calendar: str
    provisional_years: tuple[int, ...] = ()  # as Deadlines: counted on weekdays across these
    # The warning mark: the policy's warning share of the time from the ask to `due` (the
    # timer reminds the department then). None on asks recorded before it was kept: no mark.
    warn_at: UtcDatetime | None = None


class AssistWarned(_AssistEvent):
    """An assisting department's deadline passed its warning mark with nothing contributed;
    recorded before the deadline, an automatic reminder (appeal.supervised) to that
    department comes with it. dispatch → audit."""

    type: Literal["appeal.assist_warned"] = "appeal.assist_warned"
    department: Code
    due: UtcDatetime


class AssistOverdue(_AssistEvent):
    """An assisting department's deadline passed with nothing contributed. dispatch → audit."""

    type: Literal["appeal.assist_overdue"] = "appeal.assist_overdue"
    department: Code
    due: UtcDatetime


class AssistDeadlineRecomputed(_AssistEvent):
    """An assisting department's provisional deadline computed again once a year it was
    counted across was published (or the lead's deadline capping it moved): same ask, same
    pinned SLA policy, the new calendar. Recorded even when the date did not move, since the
    deadline stops being provisional. Beside `appeal.deadlines_recomputed`. dispatch → audit."""

    type: Literal["appeal.assist_deadline_recomputed"] = "appeal.assist_deadline_recomputed"
    department: Code  # the assisting department
    years: tuple[int, ...] = ()  # the newly published years behind it (empty: the cap moved)
    previous_due: UtcDatetime
    due: UtcDatetime
    policy_version: int = Field(ge=1)
    calendar: str
    provisional_years: tuple[int, ...] = ()  # still counted on weekdays across these
    warn_at: UtcDatetime | None = None  # its warning mark, as on the ask
