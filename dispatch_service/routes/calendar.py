"""The working-day calendar: read it with `workorders:read`, publish a year's official
arrangement with `catalogue:admin`. Each publication is a new calendar version (a fact on the
calendar's stream): deadlines keep the version that computed them, and deadlines counted on
weekdays for want of that year's arrangement are recomputed by the timer as new facts."""

from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from pydantic import Field

from dispatch_service import calendars, store, views
from dispatch_service.routes.deps import Body, DispatchRuntime, Reader
from shared.runtime import openapi, pagination
from shared.runtime.auth import Principal, require
from shared.runtime.pagination import CursorQuery, LimitQuery, Page
from shared.runtime.problems import invalid_field
from shared.workdays import SEED_VERSION, SEED_YEARS, Arrangement, version_name

router = APIRouter(prefix="/v1/calendar", tags=["calendar"])
Admin = Annotated[Principal, require("catalogue:admin", centre=True)]
Year = Annotated[int, Path(ge=2000, le=2100, description="the calendar year")]


class ArrangementBody(Body):
    """A year's official arrangement, as the State Council General Office publishes it."""

    holidays: list[date] = Field(max_length=366, description="working weekdays that are off")
    workdays: list[date] = Field(max_length=366, description="weekend days that are worked (调休)")
    note: str | None = Field(
        default=None, min_length=1, max_length=4000, description="e.g. the notice's number"
    )


@router.get("")
async def current_calendar(runtime: DispatchRuntime, _: Reader) -> views.CalendarView:
    async with runtime.db.transaction() as tx:
        calendar = await store.current_calendar(tx)
    return views.CalendarView(
        number=calendar.number,
        calendar=calendar.version,
        seed=SEED_VERSION,
        seed_years=[min(SEED_YEARS), max(SEED_YEARS)],
        published_years=sorted(calendar.published),
    )


@router.get("/versions", responses={200: {"headers": pagination.LINK_HEADER}})
async def list_versions(
    runtime: DispatchRuntime,
    _: Reader,
    request: Request,
    response: Response,
    limit: LimitQuery = 100,
    cursor: CursorQuery = None,
) -> Page[views.CalendarVersionView]:
    """Every published version, oldest first."""
    after = pagination.decode(cursor, int)[0] if cursor else None
    async with runtime.db.transaction() as tx:
        rows = await store.list_calendar_versions(tx, after=after, limit=limit + 1)
    found = [
        views.CalendarVersionView.model_validate({**row, "calendar": version_name(row["number"])})
        for row in rows
    ]
    return pagination.page(
        found, limit=limit, key=lambda v: (v.number,), request=request, response=response
    )


@router.put("/years/{year}", responses=openapi.problems(412))
async def publish_year(
    year: Year, body: ArrangementBody, runtime: DispatchRuntime, caller: Admin
) -> views.PublishedView:
    """Publish the year's arrangement as a new calendar version (the same arrangement again
    publishes nothing). New deadlines use it at once; open work orders whose deadlines were
    provisional on this year get them recomputed, each as an `appeal.deadlines_recomputed`
    fact. 412: another operator published at the same moment; read and try again."""
    try:
        arrangement = Arrangement(year, frozenset(body.holidays), frozenset(body.workdays))
    except ValueError as exc:
        raise invalid_field("body", str(exc)) from exc
    async with runtime.db.transaction() as tx:
        outcome = await calendars.publish_year(
            tx, arrangement, note=body.note, actor=caller.actor, now=datetime.now(UTC)
        )
    return views.PublishedView(version=outcome.version, published=bool(outcome.new))
