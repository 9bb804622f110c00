"""An appeal's verified history, and every recorded fact exported as a stream."""

import json
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from audit_service import domain, exports, personal, store, views
from audit_service.domain import gaming, signals
from audit_service.domain.findings import REPAIRABLE
from audit_service.routes.deps import AuditRuntime
from audit_service.store import access, tree
from shared import events, topics
from shared.runtime.auth import Principal, require
from shared.runtime.openapi import problem, problems
from shared.runtime.problems import not_found

router = APIRouter(prefix="/v1", tags=["audit"])


UNAVAILABLE = problem(503, "intake, which keeps citizens' keys, could not be asked")
SOURCE_OF = {topic: source for source, topic in topics.BY_SOURCE.items()}


@router.get("/appeals/{appeal_id}/history", responses={**problems(404), **UNAVAILABLE})
async def history(
    appeal_id: UUID,
    runtime: AuditRuntime,
    caller: Annotated[Principal, require(views.READ)],
    known_at: events.UtcDatetime | None = None,
    happened_by: events.UtcDatetime | None = None,
) -> views.History:
    """Every fact about the appeal in causal order, each service's hash chain verified.

    `known_at`: only what audit had recorded by then (what the system knew at that moment);
    `happened_by`: only facts whose own time is not later (the appeal as it stood then).
    Without audit:personal-data, citizens' names, numbers and ID cards, addresses,
    coordinates, staff names and numbers in free text are masked; with it, the citizen's
    sealed personal data is opened (or shown erased), and the read is logged.
    """
    return await appeal_history(
        runtime, appeal_id, caller, known_at=known_at, happened_by=happened_by
    )


async def appeal_history(
    runtime: AuditRuntime,
    appeal_id: UUID,
    caller: Principal,
    *,
    known_at: datetime | None = None,
    happened_by: datetime | None = None,
) -> views.History:
    """The history document, for the REST route and the auditor's page alike."""
    async with runtime.engine.connect() as conn:
        listed = await store.appeal_facts(conn, appeal_id)
        found = [
            (fact, at)
            for fact, at in listed
            if (known_at is None or at <= known_at)
            and (happened_by is None or fact.time <= happened_by)
        ]
        if not found:
            raise not_found("facts about appeal", appeal_id)
        # A fact the signed tree holds for the appeal must still be listed under it.
        unlisted = await tree.unlisted_leaves(conn, appeal_id, [f.event_id for f, _ in listed])
        seen = [
            f
            for f in await store.list_findings(conn, appeal_id=appeal_id, limit=1000)
            if known_at is None or f["found_at"] <= known_at
        ]
        # A tampered, rewritten or lost row a switch-over later set right from the log stays
        # listed, but no longer keeps the history from verifying.
        repaired = await store.repaired_at(
            conn,
            [f["event_id"] for f in seen if f["kind"] in REPAIRABLE and f["event_id"]],
            known_at=known_at,
        )
    open_findings = [
        f
        for f in seen
        if f["kind"] not in REPAIRABLE
        or repaired.get(f["event_id"], f["found_at"]) <= f["found_at"]
    ]
    if views.PERSONAL_DATA in caller.scopes:  # logged before anything is shown
        await access.record(
            runtime.engine, principal=caller.actor, action="appeal history", appeal_id=appeal_id
        )
    ingested = {fact.event_id: at for fact, at in found}
    ordered = domain.timeline(fact for fact, _ in found)
    bodies = [json.loads(f.body) for f in ordered]
    recorded = [b["data"] for b in bodies]
    keys = await personal.KeyCache(runtime.settings).keys(recorded)
    # masked in every fact's text, not only its own
    datas = (
        personal.opened(recorded, keys)
        if views.PERSONAL_DATA in caller.scopes
        else personal.masked(recorded, keys)
    )
    chains = domain.with_unlisted(
        domain.verify_chains(ordered),
        (
            (
                SOURCE_OF.get(leaf.topic, "unknown"),
                f"fact {leaf.event_id} (Merkle leaf {leaf.leaf_index}, read at "
                f"{leaf.topic}:{leaf.partition}:{leaf.offset}) is in the signed tree for this "
                "appeal but no longer among its facts",
            )
            for leaf in unlisted
        ),
    )
    return views.History(
        appeal_id=appeal_id,
        verified=all(chain.verified for chain in chains) and not open_findings,
        findings=[views.Finding.of(f) for f in seen],
        buck_passing=views.BuckPassing.model_validate(signals.buck_passing(ordered)),
        gaming=views.Gaming.model_validate(gaming.gaming(ordered)),
        digest=domain.digest(ordered),
        chains=[views.Chain.model_validate(c) for c in chains],
        facts=[
            views.RecordedFact(
                position=n,
                event_id=f.event_id,
                type=f.type,
                source=f.source,
                version=f.version,
                actor=f.actor,
                time=f.time,
                recorded_at=ingested[f.event_id],
                causation_id=f.causation_id,
                hash=f.hash,
                prev_hash=f.prev_hash,
                schema_version=body["schema_version"],
                data=data,
            )
            for n, (f, body, data) in enumerate(zip(ordered, bodies, datas, strict=True), start=1)
        ],
    )


_EXPORTED: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Every recorded fact in recorded order, one JSON object a line (jsonl) "
        "or one CSV row a fact with its data as JSON (csv)",
        "content": {
            "application/jsonl": {"schema": {"type": "string"}},
            "text/csv": {"schema": {"type": "string"}},
        },
        "headers": {
            "X-Total-Count": {
                "description": "facts recorded when the export began (for progress)",
                "schema": {"type": "integer"},
            }
        },
    }
}


@router.get("/exports/facts.{fmt}", response_class=StreamingResponse, responses=_EXPORTED)
async def export_facts(
    fmt: Literal["jsonl", "csv"],
    runtime: AuditRuntime,
    caller: Annotated[Principal, require(views.READ)],
) -> StreamingResponse:
    """Every recorded fact in recorded order, streamed; personal data as in history: opened
    (or erased) for audit:personal-data, and the export logged; otherwise masked."""
    shown = exports.Shown(
        personal.KeyCache(runtime.settings), opened=views.PERSONAL_DATA in caller.scopes
    )
    if shown.opened:
        await access.record(
            runtime.engine, principal=caller.actor, action=f"export {fmt}", appeal_id=None
        )
    async with runtime.engine.connect() as conn:
        counted = {"X-Total-Count": str(await store.count_facts(conn))}
    if fmt == "jsonl":
        return StreamingResponse(
            exports.json_lines(runtime.engine, shown),
            media_type="application/jsonl; charset=utf-8",
            headers=counted,
        )
    return StreamingResponse(
        exports.csv_lines(runtime.engine, shown),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="facts.csv"', **counted},
    )
