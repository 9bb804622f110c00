"""What audit's watch routes answer (routes/watch.py): departments whose conduct drew
complaints or poor attitude ratings, and hot spots of appeals. Kept apart from views.py,
same conventions: one pydantic model per response, every figure with the facts behind it."""

from uuid import UUID

from pydantic import Field

from audit_service.views import Instant, _View
from shared.runtime.pagination import Page


class ConductConcern(_View):
    """A department with conduct complaints or poor attitude ratings in the month."""

    rank: int = Field(description="1 = the most complaints and poor ratings together")
    department: str
    conduct_complaints: int = Field(description="conduct complaints naming it, received")
    poor_attitude: int = Field(description="ratings of its attitude as poor")
    attitude_rated: int = Field(description="ratings that gave its attitude at all")
    poor_attitude_share: float | None = Field(description="poor ÷ rated; null if none rated")
    complaint_facts: list[str] = Field(description="ids of the complaints' appeal.received")
    poor_attitude_facts: list[str] = Field(description="ids of the poor appeal.rated facts")
    appeals: list[UUID] = Field(description="the appeals behind both")


class Conduct(Page[ConductConcern]):
    """The month's departments of concern for their conduct, most concerning first."""

    month: str
    as_of: Instant


class HotSpotRule(_View):
    window_hours: int
    baseline_days: int
    min_count: int
    max_p_value: float
    min_expected: float = Field(description="the floor of the usual number per window")
    cell_degrees: float = Field(description="a cell's size: coordinates rounded down to it")


class HotSpot(_View):
    """Many appeals of one category in one place in the window, against its usual rate."""

    rank: int = Field(description="1 = the least likely under the usual rate")
    category: str
    district: str | None
    cell: str | None = Field(
        description='"lat,long" of a ~500 m cell\'s south-west corner; null: the district'
    )
    window_start: Instant
    window_end: Instant
    count: int = Field(description="appeals in the window")
    baseline_count: int = Field(description="appeals in the baseline before the window")
    expected: float = Field(description="the usual number in a window this long")
    p_value: float = Field(description="chance of at least `count` at the usual rate")
    appeals: list[UUID] = Field(description="the appeals in the window, oldest first")
    facts: list[UUID] = Field(description="their appeal.received facts")


class HotSpots(Page[HotSpot]):
    """Hot spots as of `at`: candidates to merge and give to one department."""

    at: Instant = Field(description="the moment detection ran as of")
    rule: HotSpotRule
