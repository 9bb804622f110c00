"""audit's read models computed from facts: department measures, flagged appeals, and a
department's queue as it stood at a moment. Every answer names the facts behind it."""

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import AwareDatetime

from audit_service import domain, store
from audit_service.domain import gaming, kpis, queues, signals
from shared.runtime.app import RuntimeDep
from shared.runtime.auth import Principal, require

router = APIRouter(tags=["audit"])
Month = Annotated[str, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]
Department = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")]


async def month_measures(
    runtime: RuntimeDep, rule: kpis.Rule, now: datetime, month: str
) -> tuple[kpis.Table, gaming.SharesTable]:
    """The tables for every appeal active in `month`. Figures are attributed to the month a
    fact happened in, so appeals with no fact in it add nothing to its rows."""
    table: kpis.Table = {}
    shares: gaming.SharesTable = {}
    async with runtime.engine.connect() as conn:
        active = kpis.month_bounds(month)
        async for _appeal, found in store.facts_by_appeal(conn, None, active_between=active):
            ordered = domain.timeline(found)
            kpis.accumulate(table, ordered, rule, now)
            gaming.accumulate(shares, ordered)
    return table, shares


@router.get("/measures")
async def measures(
    runtime: RuntimeDep,
    _: Annotated[Principal, require("audit:read")],
    month: Month,
    exclude_category: Annotated[list[str] | None, Query(max_length=100)] = None,
    basically_satisfied_counts: bool = True,
    evidence: bool = False,
) -> dict[str, Any]:
    """Each department's measures for a month (Beijing time), ranked with red and black
    lists, computed from the facts alone under the rule the query names; `gaming` gives each
    department's share of replies reopened after a last-minute reply, of extensions asked at
    the deadline and of callback rounds repeated until satisfied (see gaming.py);
    `evidence=true` lists the ids of the facts behind every figure."""
    rule = kpis.Rule(
        name="query",
        basically_satisfied_counts=basically_satisfied_counts,
        excluded_categories=frozenset(exclude_category or ()),
    )
    now = datetime.now(UTC)
    table, shares = await month_measures(runtime, rule, now, month)
    ranked = kpis.ranking(table, month)
    result = {
        "rule": {
            "basically_satisfied_counts": rule.basically_satisfied_counts,
            "excluded_categories": sorted(rule.excluded_categories),
            "gaming_last_share_of_window": gaming.LAST_SHARE,
        },
        "as_of": now.isoformat(),
        **ranked,
        "gaming": {
            department: figures.summary()
            for (department, row_month), figures in sorted(shares.items())
            if row_month == month
        },
    }
    if evidence:
        result["evidence"] = {
            department: figures.evidence()
            for (department, row_month), figures in table.items()
            if row_month == month
        }
        result["gaming_evidence"] = {
            department: vars(figures)
            for (department, row_month), figures in shares.items()
            if row_month == month
        }
    return result


@router.get("/flags")
async def flagged_appeals(
    runtime: RuntimeDep,
    _: Annotated[Principal, require("audit:read")],
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    kind: Literal["buck_passing", "gaming"] | None = None,
) -> dict[str, Any]:
    """Appeals whose timeline shows buck-passing (signals.py) or gaming (gaming.py), or only
    one `kind`; most bounced first. Each entry keeps the buck-passing figures at its top
    level, says which `kinds` flagged it, and carries the gaming findings with their facts."""
    flagged: list[dict[str, Any]] = []
    async with runtime.engine.connect() as conn:
        async for appeal_id, found in store.facts_by_appeal(conn, None):
            ordered = domain.timeline(found)
            bounced, gamed = signals.buck_passing(ordered), gaming.gaming(ordered)
            kinds = [
                name
                for name, raised in (("buck_passing", bounced.flagged), ("gaming", gamed.flagged))
                if raised and kind in (None, name)
            ]
            if kinds:
                flagged.append(
                    {
                        "appeal_id": str(appeal_id),
                        **bounced.as_dict(),
                        "kinds": kinds,
                        "gaming": gamed.as_dict(),
                    }
                )
    flagged.sort(key=lambda f: (-f["returns_requested"], -len(f["departments"]), f["appeal_id"]))
    return {"flagged": flagged[:limit], "total": len(flagged)}


@router.get("/departments/{department}/queue")
async def department_queue(
    department: Department,
    runtime: RuntimeDep,
    _: Annotated[Principal, require("audit:read")],
    at: AwareDatetime | None = None,
) -> dict[str, Any]:
    """The appeals `department` held at `at` (default now), with stage and deadlines then in
    force, derived only from the facts audit had recorded by then (what a supervisor's
    screen could have shown at that moment)."""
    moment = at or datetime.now(UTC)
    held: list[dict[str, Any]] = []
    async with runtime.engine.connect() as conn:
        for appeal_id in await store.appeals_given_to(conn, department, moment):
            recorded = await store.appeal_facts(conn, appeal_id, known_at=moment)
            found = queues.holding(domain.timeline(fact for fact, _ in recorded), moment)
            if found is not None and found.department == department:
                held.append(found.as_dict())
    held.sort(key=lambda h: (h["handle_due"], h["appeal_id"]))
    return {"department": department, "at": moment.isoformat(), "appeals": held}
