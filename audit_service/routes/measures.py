"""audit's read models computed from facts: department measures, flagged appeals, and a
department's queue as it stood at a moment. Every answer names the facts behind it."""

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import AwareDatetime

from audit_service import domain, flags, store, views
from audit_service.domain import gaming, kpis, queues
from audit_service.routes.deps import AuditRuntime
from shared.runtime.auth import Principal, require
from shared.runtime.openapi import problems
from shared.runtime.pagination import LINK_HEADER, CursorQuery, LimitQuery, decode, page

router = APIRouter(prefix="/v1", tags=["audit"])
# Years 1900-2099: every month whose bounds Python's datetime can hold (0000-01 and 9999-12
# cannot), and more than a hotline's facts will span. The ranking page takes the same.
MONTH_PATTERN = r"^(19|20)\d{2}-(0[1-9]|1[0-2])$"
Month = Annotated[str, Query(pattern=MONTH_PATTERN, description="YYYY-MM, Beijing time")]
Department = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")]
_PAGED: dict[int | str, dict[str, Any]] = {
    200: {"description": "One page", "headers": LINK_HEADER},
    **problems(400),
}


async def month_measures(
    runtime: AuditRuntime, rule: kpis.Rule, *, now: datetime, month: str
) -> tuple[kpis.Table, gaming.SharesTable]:
    """The tables for every appeal active in `month`. Figures are attributed to the month a
    fact happened in, so appeals with no fact in it add nothing to its rows."""
    table: kpis.Table = {}
    shares: gaming.SharesTable = {}
    async with runtime.engine.connect() as conn:
        active = kpis.month_bounds(month)
        async for _appeal, found in store.facts_by_appeal(conn, None, active_between=active):
            ordered = domain.timeline(found)
            kpis.accumulate(table, ordered, rule=rule, now=now)
            gaming.accumulate(shares, ordered)
    return table, shares


@router.get("/measures", responses=_PAGED)
async def measures(
    request: Request,
    response: Response,
    runtime: AuditRuntime,
    _: Annotated[Principal, require(views.READ)],
    month: Month,
    exclude_category: Annotated[list[str] | None, Query(max_length=100)] = None,
    basically_satisfied_counts: bool = True,
    evidence: bool = False,
    cursor: CursorQuery = None,
    limit: LimitQuery = 100,
) -> views.Measures:
    """Each department's measures for a month (Beijing time), ranked, with red and black
    lists, computed from the facts alone under the rule the query names; `gaming` gives each
    department's share of replies reopened after a last-minute reply, of extensions asked at
    the deadline and of callback rounds repeated until satisfied (see domain/gaming.py);
    `evidence=true` lists the ids of the facts behind every figure. Pages follow the rank."""
    (after,) = decode(cursor, int) if cursor else (0,)
    rule = kpis.Rule(
        name="query",
        basically_satisfied_counts=basically_satisfied_counts,
        excluded_categories=frozenset(exclude_category or ()),
    )
    now = datetime.now(UTC)
    table, shares = await month_measures(runtime, rule, now=now, month=month)
    ranked = kpis.ranking(table, month)
    rows = [
        views.DepartmentMeasures(
            rank=n,
            **row,
            evidence=table[(row["department"], month)].evidence() if evidence else None,
        )
        for n, row in enumerate(ranked["rows"], start=1)
        if n > after
    ]
    shown = page(rows, limit=limit, key=lambda r: (r.rank,), request=request, response=response)
    in_month = {d: s for (d, m), s in sorted(shares.items()) if m == month}
    return views.Measures(
        items=shown.items,
        next=shown.next,
        month=month,
        rule=views.MeasuresRule(
            basically_satisfied_counts=rule.basically_satisfied_counts,
            excluded_categories=sorted(rule.excluded_categories),
            gaming_last_share_of_window=gaming.LAST_SHARE,
        ),
        as_of=now,
        red_list=ranked["red_list"],
        black_list=ranked["black_list"],
        gaming={d: views.GamingShares(**s.summary()) for d, s in in_month.items()},
        gaming_evidence={d: vars(s) for d, s in in_month.items()} if evidence else None,
    )


@router.get("/flags", responses=_PAGED)
async def flagged_appeals(
    request: Request,
    response: Response,
    runtime: AuditRuntime,
    _: Annotated[Principal, require(views.READ)],
    kind: Literal["buck_passing", "gaming"] | None = None,
    cursor: CursorQuery = None,
    limit: LimitQuery = 100,
) -> views.Flags:
    """Appeals whose timeline shows buck-passing (domain/signals.py) or gaming
    (domain/gaming.py), or only one `kind`; most bounced first. Each keeps the buck-passing
    figures at its top level, says which `kinds` flagged it, and carries the gaming findings
    with their facts."""
    after = decode(cursor, int, int, str) if cursor else None
    flagged = [
        views.FlaggedAppeal(
            **found.bounced.model_dump(),
            appeal_id=found.appeal_id,
            kinds=kinds,
            gaming=found.gamed,
        )
        for found in await flags.flagged(runtime.engine)
        if (kinds := [name for name in found.kinds if kind in (None, name)])
    ]

    def order(f: views.FlaggedAppeal) -> tuple[int, int, str]:
        return (-f.returns_requested, -len(f.departments), str(f.appeal_id))

    flagged.sort(key=order)
    rest = [f for f in flagged if after is None or order(f) > after]
    shown = page(rest, limit=limit, key=order, request=request, response=response)
    return views.Flags(items=shown.items, next=shown.next, total=len(flagged))


@router.get("/departments/{department}/queue", responses=_PAGED)
async def department_queue(
    request: Request,
    response: Response,
    department: Department,
    runtime: AuditRuntime,
    _: Annotated[Principal, require(views.READ)],
    at: AwareDatetime | None = None,
    cursor: CursorQuery = None,
    limit: LimitQuery = 100,
) -> views.DepartmentQueue:
    """The appeals `department` held at `at` (default now), with stage and deadlines then in
    force, derived only from the facts audit had recorded by then (what a supervisor's
    screen could have shown at that moment); soonest handling deadline first. A `cursor`
    keeps the moment of the first page."""
    after = decode(cursor, datetime, datetime, str) if cursor else None
    moment: datetime = after[0] if after else at or datetime.now(UTC)
    held: list[views.HeldAppeal] = []
    async with runtime.engine.connect() as conn:
        for appeal_id in await store.appeals_given_to(conn, department, moment):
            recorded = await store.appeal_facts(conn, appeal_id, known_at=moment)
            found = queues.holding(domain.timeline(fact for fact, _ in recorded), moment)
            if found is not None and found.department == department:
                held.append(views.HeldAppeal.model_validate(found))

    def order(h: views.HeldAppeal) -> tuple[datetime, datetime, str]:
        return (moment, h.handle_due, str(h.appeal_id))

    held.sort(key=order)
    rest = [h for h in held if after is None or order(h) > after]
    shown = page(rest, limit=limit, key=order, request=request, response=response)
    return views.DepartmentQueue(
        items=shown.items, next=shown.next, department=department, at=moment
    )
