"""What audit watches for the centre to act on: departments whose conduct drew complaints or
poor attitude ratings (domain/conduct.py), and hot spots of appeals (domain/hotspots.py).
Every entry names the facts behind it."""

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from audit_service import domain, store, views, views_watch
from audit_service.domain import conduct, hotspots, kpis
from audit_service.routes.deps import AuditRuntime
from audit_service.routes.measures import Month
from shared import events
from shared.runtime.auth import Principal, require
from shared.runtime.openapi import problems
from shared.runtime.pagination import LINK_HEADER, CursorQuery, LimitQuery, decode, page

router = APIRouter(prefix="/v1", tags=["audit"])
_DEFAULT = hotspots.Rule()
_PAGED: dict[int | str, dict[str, Any]] = {
    200: {"description": "One page", "headers": LINK_HEADER},
    **problems(400),
}


async def month_conduct(runtime: AuditRuntime, month: str, *, known_by: datetime) -> conduct.Table:
    """Attitude ratings and conduct complaints of every appeal active in `month`, from the
    facts recorded by `known_by`."""
    table: conduct.Table = {}
    async with runtime.engine.connect() as conn:
        active = kpis.month_bounds(month)
        found_by = store.facts_by_appeal(conn, None, active_between=active, known_by=known_by)
        async for _appeal, found in found_by:
            conduct.accumulate(table, domain.timeline(found))
    return table


@router.get("/conduct", responses=_PAGED)
async def conduct_concerns(
    request: Request,
    response: Response,
    runtime: AuditRuntime,
    _: Annotated[Principal, require(views.READ)],
    month: Month,
    cursor: CursorQuery = None,
    limit: LimitQuery = 100,
) -> views_watch.Conduct:
    """Departments with conduct complaints about them (received in `month`, Beijing time) or
    poor attitude ratings (of holdings that started in `month`), most of both first, each
    with the ids of the facts and appeals behind it. The department complained about is
    never the one handling the complaint (the supervising body is): this is where the
    centre sees them together."""
    # A cursor keeps the first page's moment: the same facts rank every page.
    moment, after = decode(cursor, datetime, int) if cursor else (datetime.now(UTC), 0)
    table = await month_conduct(runtime, month, known_by=moment)
    rows = [
        views_watch.ConductConcern(
            rank=n,
            department=department,
            **found.summary(),
            complaint_facts=found.complaints,
            poor_attitude_facts=found.attitude_poor,
            appeals=found.appeals,
        )
        for n, (department, found) in enumerate(conduct.of_concern(table, month), start=1)
        if n > after
    ]
    shown = page(
        rows, limit=limit, key=lambda r: (moment, r.rank), request=request, response=response
    )
    return views_watch.Conduct(items=shown.items, next=shown.next, month=month, as_of=moment)


@router.get("/hot-spots", responses=_PAGED)
async def hot_spots(
    request: Request,
    response: Response,
    runtime: AuditRuntime,
    _: Annotated[Principal, require(views.READ)],
    at: events.UtcDatetime | None = None,
    window_hours: Annotated[int, Query(ge=1, le=72)] = _DEFAULT.window_hours,
    baseline_days: Annotated[int, Query(ge=1, le=90)] = _DEFAULT.baseline_days,
    min_count: Annotated[int, Query(ge=2, le=1000)] = _DEFAULT.min_count,
    max_p_value: Annotated[float, Query(gt=0, le=0.5)] = _DEFAULT.max_p_value,
    cursor: CursorQuery = None,
    limit: LimitQuery = 100,
) -> views_watch.HotSpots:
    """Surges of appeals of one category in one district (and in one ~500 m cell, where the
    coordinates are readable) in the last `window_hours` before `at` (default now), against
    the place's rate over the `baseline_days` before: listed when at least `min_count`
    arrived and that many is at most `max_p_value` likely under a Poisson law at the usual
    rate (domain/hotspots.py). Each lists its appeals, for the centre to merge them and
    give one department the whole problem. A `cursor` keeps the moment of the first page."""
    after = decode(cursor, datetime, int) if cursor else None
    moment: datetime = after[0] if after else at or datetime.now(UTC)
    rule = hotspots.Rule(
        window_hours=window_hours,
        baseline_days=baseline_days,
        min_count=min_count,
        max_p_value=max_p_value,
    )
    spots = await detect_at(runtime, moment, rule=rule)
    rows = [
        views_watch.HotSpot(
            rank=n,
            **{k: v for k, v in vars_of(spot).items() if k not in ("appeals", "facts")},
            appeals=list(spot.appeals),
            facts=list(spot.facts),
        )
        for n, spot in enumerate(spots, start=1)
        if after is None or n > after[1]
    ]
    shown = page(
        rows, limit=limit, key=lambda r: (moment, r.rank), request=request, response=response
    )
    return views_watch.HotSpots(
        items=shown.items,
        next=shown.next,
        at=moment,
        rule=views_watch.HotSpotRule(
            window_hours=rule.window_hours,
            baseline_days=rule.baseline_days,
            min_count=rule.min_count,
            max_p_value=rule.max_p_value,
            min_expected=rule.min_expected,
            cell_degrees=hotspots.CELL_DEGREES,
        ),
    )


async def detect_at(
    runtime: AuditRuntime, moment: datetime, *, rule: hotspots.Rule = _DEFAULT
) -> list[hotspots.HotSpot]:
    """The hot spots as they stood at `moment`, from the appeals audit had recorded."""
    async with runtime.engine.connect() as conn:
        found = await store.arrivals(conn, rule.baseline(moment)[0], moment)
    return hotspots.detect(hotspots.sightings(found), now=moment, rule=rule)


def vars_of(spot: hotspots.HotSpot) -> dict[str, object]:
    return {name: getattr(spot, name) for name in hotspots.HotSpot.__slots__}
