"""audit's read models computed from facts: department measures, flagged appeals, and a
department's queue as it stood at a moment. Every answer names the facts behind it."""

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response

from audit_service import domain, flags, store, views
from audit_service.domain import conduct, gaming, kpis, queues, rules, standings
from audit_service.routes.deps import AuditRuntime
from shared import events
from shared.runtime.auth import Principal, require
from shared.runtime.openapi import problems
from shared.runtime.pagination import LINK_HEADER, CursorQuery, LimitQuery, decode, page
from shared.runtime.problems import invalid_field

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
_MEASURED: dict[int | str, dict[str, Any]] = {**_PAGED, **problems(422)}


async def month_measures(
    runtime: AuditRuntime,
    rule: kpis.Rule,
    *,
    now: datetime,
    month: str,
    attitude: conduct.Table | None = None,
) -> tuple[kpis.Table, gaming.SharesTable]:
    """The tables for every appeal active in `month`, from the facts recorded by `now` and
    with clocks as they stood then. Figures are attributed to the month a fact happened in,
    so appeals with no fact in it add nothing to its rows. `attitude`, if given, gains the
    same appeals' attitude ratings and conduct complaints."""
    table: kpis.Table = {}
    shares: gaming.SharesTable = {}
    async with runtime.engine.connect() as conn:
        active = kpis.month_bounds(month)
        found_by = store.facts_by_appeal(conn, None, active_between=active, known_by=now)
        async for _appeal, found in found_by:
            ordered = domain.timeline(found)
            kpis.accumulate(table, ordered, rule=rule, now=now)
            gaming.accumulate(shares, ordered)
            if attitude is not None:
                conduct.accumulate(attitude, ordered)
    return table, shares


async def stored_rule(
    runtime: AuditRuntime, name: str, version: int | None
) -> tuple[int, rules.RuleDocument]:
    """A published rule version and its document; 422 naming `rule` if there is none."""
    async with runtime.engine.connect() as conn:
        row = await store.get_rule(conn, name, version)
    if row is None:
        shown = name if version is None else f"{name} version {version}"
        raise invalid_field("rule", f"no KPI rule {shown} is published (GET /v1/kpi-rules)")
    return row["version"], rules.RuleDocument.model_validate(row["document"])


def _department(row: dict[str, Any]) -> str:
    department: str = row["department"]
    return department


@router.get("/measures", responses=_MEASURED)
async def measures(
    request: Request,
    response: Response,
    runtime: AuditRuntime,
    _: Annotated[Principal, require(views.READ)],
    month: Month,
    rule: Annotated[str, Query(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")] = rules.DEFAULT_NAME,
    rule_version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    exclude_category: Annotated[list[str] | None, Query(max_length=100)] = None,
    basically_satisfied_counts: bool | None = None,
    list_min_volume: Annotated[int | None, Query(ge=1, le=100_000)] = None,
    listed: Annotated[int | None, Query(ge=0, le=100)] = None,
    evidence: bool = False,
    cursor: CursorQuery = None,
    limit: LimitQuery = 100,
) -> views.Measures:
    """Each department's measures for a month (Beijing time), ranked, with red and black
    lists, computed from the facts alone under the stored KPI rule `rule` (its latest
    version, or `rule_version`), which fixes the lists too: only departments with
    `list_min_volume` holdings can be listed, each list names at most `listed` and never a
    department the other names (domain/standings.py `ranking`). `exclude_category`,
    `basically_satisfied_counts`, `list_min_volume` and `listed` adjust the stored rule for
    this query only, and the answer says so (`rule.adjusted`). `gaming` gives each
    department's share of replies reopened after a last-minute reply, of extensions asked at
    the deadline and of callback rounds repeated until satisfied (see domain/gaming.py);
    `evidence=true` lists the ids of the facts behind every figure. Pages follow the rank."""
    # A cursor keeps the first page's moment: the same facts and clocks rank every page.
    moment, after = decode(cursor, datetime, int) if cursor else (datetime.now(UTC), 0)
    version, document = await stored_rule(runtime, rule, rule_version)
    given = {
        "excluded_categories": exclude_category,
        "basically_satisfied_counts": basically_satisfied_counts,
        "list_min_volume": list_min_volume,
        "listed": listed,
    }
    applied = document.model_copy(update={k: v for k, v in given.items() if v is not None})
    scoring = rules.to_rule(rule, version, applied)
    attitude: conduct.Table = {}
    table, shares = await month_measures(
        runtime, scoring, now=moment, month=month, attitude=attitude
    )
    ranked = standings.ranking(table, month, rule=scoring)
    seen = {
        d: attitude.get((d, month), conduct.Conduct()) for d in map(_department, ranked["rows"])
    }
    rows = [
        views.DepartmentMeasures(
            rank=n,
            **row,
            **seen[row["department"]].summary(),
            evidence=(
                {
                    **table[(row["department"], month)].evidence(),
                    **seen[row["department"]].evidence(),
                }
                if evidence
                else None
            ),
        )
        for n, row in enumerate(ranked["rows"], start=1)
        if n > after
    ]
    shown = page(
        rows, limit=limit, key=lambda r: (moment, r.rank), request=request, response=response
    )
    in_month = {d: s for (d, m), s in sorted(shares.items()) if m == month}
    return views.Measures(
        items=shown.items,
        next=shown.next,
        month=month,
        rule=views.MeasuresRule(
            name=rule,
            version=version,
            adjusted=applied != document,
            basically_satisfied_counts=applied.basically_satisfied_counts,
            excluded_categories=sorted(applied.excluded_categories),
            handling_limits=None
            if applied.handling_limits is None
            else applied.handling_limits.model_dump(mode="json"),
            gaming_last_share_of_window=gaming.LAST_SHARE,
            list_min_volume=applied.list_min_volume,
            listed=applied.listed,
        ),
        as_of=moment,
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
    kind: Literal["buck_passing", "gaming", "closure"] | None = None,
    cursor: CursorQuery = None,
    limit: LimitQuery = 100,
) -> views.Flags:
    """Appeals whose timeline shows buck-passing (domain/signals.py), gaming
    (domain/gaming.py) or a closure by the centre with no approved reply or no callback
    (domain/closures.py), or only one `kind`; most bounced first. Each keeps the
    buck-passing figures at its top level, says which `kinds` flagged it, and carries the
    gaming and closure findings with their facts."""
    after = decode(cursor, int, int, str) if cursor else None
    flagged = [
        views.FlaggedAppeal(
            **found.bounced.model_dump(),
            appeal_id=found.appeal_id,
            kinds=kinds,
            gaming=found.gamed,
            closure=found.closed,
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
    at: events.UtcDatetime | None = None,
    cursor: CursorQuery = None,
    limit: LimitQuery = 100,
) -> views.DepartmentQueue:
    """The appeals `department` held at `at` (default now), with stage and deadlines then in
    force, and those it was asked to assist (`role` assisting, with the ask's own deadline
    and state), derived only from the facts audit had recorded by then (what a supervisor's
    screen could have shown at that moment); soonest deadline first (the handling
    deadline, or an assist's own). A `cursor` keeps the moment of the first page."""
    after = decode(cursor, datetime, datetime, str) if cursor else None
    moment: datetime = after[0] if after else at or datetime.now(UTC)
    held: list[views.HeldAppeal] = []
    async with runtime.engine.connect() as conn:
        for appeal_id in await store.appeals_given_to(conn, department, moment):
            recorded = await store.appeal_facts(conn, appeal_id, known_at=moment)
            timeline = domain.timeline(fact for fact, _ in recorded)
            found = queues.holding(timeline, moment)
            if found is None:
                continue
            if found.department == department:
                as_lead = {**asdict(found), "role": "lead", "assist": None}
                held.append(views.HeldAppeal.model_validate(as_lead))
            elif (asked := queues.assisting(timeline, moment, department)) is not None:
                as_assisting = {**asdict(found), "role": "assisting", "assist": asdict(asked)}
                held.append(views.HeldAppeal.model_validate(as_assisting))

    def order(h: views.HeldAppeal) -> tuple[datetime, datetime, str]:
        return (moment, h.assist.due if h.assist else h.handle_due, str(h.appeal_id))

    held.sort(key=order)
    rest = [h for h in held if after is None or order(h) > after]
    shown = page(rest, limit=limit, key=order, request=request, response=response)
    return views.DepartmentQueue(
        items=shown.items, next=shown.next, department=department, at=moment
    )
