"""KPI rules as named, versioned data: the document audit stores and serves, and the
`kpis.Rule` it stands for. Pure.

A rule says which categories count, what counts as satisfied, which deadline a reply is
on time against: the one dispatch recorded (its SLA policy and calendar versions are in
each fact), or the rule's own handling limits under a named working-day calendar
(domain/clocks.py), and who can be named on the red and black lists (standings.ranking), so
one stored version fixes both the figures and the ranking built on them. Publishing a
changed document makes a new version; old versions stay, so a month's figures can always
be recomputed under the rule that produced them, and compared with another.
"""

from datetime import time
from typing import Annotated, Final

from pydantic import BaseModel, ConfigDict, Field

from audit_service.domain import clocks, kpis

DEFAULT_NAME: Final = "standard"
Code = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9*][a-z0-9._-]*$")]


class HandlingLimits(BaseModel):
    """Recompute the handling deadline: working days per appeal type ("*" for the rest)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    working_days: dict[Code, Annotated[int, Field(ge=1, le=60)]] = Field(max_length=20)
    calendar: clocks.CalendarName = "chinese-calendar"
    day_ends_at: time = time(18, 0)


class RuleDocument(BaseModel):
    """What a KPI rule decides; `handling_limits` null keeps dispatch's recorded deadlines."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    excluded_categories: list[Code] = Field(default=[], max_length=200)
    basically_satisfied_counts: bool = True
    handling_limits: HandlingLimits | None = None
    # The same bounds GET /v1/measures puts on its `list_min_volume` and `listed` overrides.
    list_min_volume: int = Field(default=kpis.Rule.list_min_volume, ge=1, le=100_000)
    listed: int = Field(default=kpis.Rule.listed, ge=0, le=100)


DEFAULT: Final = RuleDocument()  # version 1 of "standard": what the measures always applied


def to_rule(name: str, version: int, document: RuleDocument) -> kpis.Rule:
    limits = document.handling_limits
    return kpis.Rule(
        name=name,
        version=version,
        basically_satisfied_counts=document.basically_satisfied_counts,
        excluded_categories=frozenset(document.excluded_categories),
        list_min_volume=document.list_min_volume,
        listed=document.listed,
        handling_limits=None
        if limits is None
        else clocks.HandlingLimits(
            working_days=dict(limits.working_days),
            calendar=limits.calendar,
            day_ends_at=limits.day_ends_at,
        ),
    )
