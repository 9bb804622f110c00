"""feedback's facts: the department's reply and the citizen's rating."""

from typing import ClassVar, Literal

from pydantic import Field

from shared.events.base import Code, Event, HandlingResult, Satisfaction, Text, UtcDatetime


class Handled(Event):
    """The holding department replied with what it did. feedback → dispatch, intake, audit."""

    source: ClassVar[str] = "feedback"
    type: Literal["appeal.handled"] = "appeal.handled"
    department: Code
    round: int = Field(default=1, ge=1)  # 2 and up after a redo
    result: HandlingResult
    reply: Text


class Rated(Event):
    """The citizen rated the handling. feedback → dispatch, intake, audit.

    v1 carried `satisfied: bool`; v2 has the three grades the hotline really uses
    (see `shared.upcasting`).
    """

    source: ClassVar[str] = "feedback"
    schema_version: ClassVar[int] = 2
    type: Literal["appeal.rated"] = "appeal.rated"
    round: int = Field(default=1, ge=1)
    satisfaction: Satisfaction
    solved: bool
    comment: str | None = Field(default=None, max_length=2000)


class NotRated(Event):
    """The rating window of a handling round closed with no rating: recorded as such, never
    as a silent "satisfied". feedback → dispatch, intake, audit."""

    source: ClassVar[str] = "feedback"
    type: Literal["appeal.not_rated"] = "appeal.not_rated"
    round: int = Field(ge=1)
    window_closed_at: UtcDatetime
