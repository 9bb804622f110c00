"""audit's REST routes: an appeal's verified history and projection replays."""

import asyncio
import json
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import AwareDatetime

from audit_service import checkpoints, domain, exports, measures_api, replay, store
from audit_service.domain import findings, gaming, signals
from shared.runtime.app import Runtime, RuntimeDep
from shared.runtime.auth import Principal, require
from shared.runtime.problems import Problem

router = APIRouter(prefix="/v1", tags=["audit"])
PERSONAL_DATA = "audit:personal-data"


@router.get("/appeals/{appeal_id}/history")
async def history(
    appeal_id: UUID,
    runtime: RuntimeDep,
    caller: Annotated[Principal, require("audit:read")],
    known_at: AwareDatetime | None = None,
    happened_by: AwareDatetime | None = None,
) -> dict[str, Any]:
    """Every fact about the appeal in causal order, each service's hash chain verified.

    `known_at`: only what audit had recorded by then (what the system knew at that moment);
    `happened_by`: only facts whose own time is not later (the appeal as it stood then).
    Citizens' names and phone numbers are masked unless the token has audit:personal-data.
    """
    return await appeal_history(runtime, appeal_id, caller, known_at, happened_by)


async def appeal_history(
    runtime: Runtime,
    appeal_id: UUID,
    caller: Principal,
    known_at: datetime | None = None,
    happened_by: datetime | None = None,
) -> dict[str, Any]:
    """The history document, for the REST route and the auditor's page alike."""
    show = (lambda data: data) if PERSONAL_DATA in caller.scopes else domain.mask_personal_data
    async with runtime.engine.connect() as conn:
        found = [
            (fact, at)
            for fact, at in await store.appeal_facts(conn, appeal_id)
            if (known_at is None or at <= known_at)
            and (happened_by is None or fact.time <= happened_by)
        ]
    if not found:
        raise Problem(404, "Not Found", f"no facts about appeal {appeal_id}")
    ingested = {fact.event_id: at for fact, at in found}
    ordered = domain.timeline(fact for fact, _ in found)
    chains = domain.verify_chains(ordered)
    async with runtime.engine.connect() as conn:
        seen = [
            f
            for f in await store.list_findings(conn, appeal_id=appeal_id, limit=1000)
            if known_at is None or f["found_at"] <= known_at
        ]
    return {
        "appeal_id": str(appeal_id),
        "verified": all(chain.verified for chain in chains) and not seen,
        "findings": [finding_view(f) for f in seen],
        "buck_passing": signals.buck_passing(ordered).as_dict(),
        "gaming": gaming.gaming(ordered).as_dict(),
        "digest": domain.digest(ordered),
        "chains": [
            {
                "source": c.source,
                "length": c.length,
                "verified": c.verified,
                "problems": list(c.problems),
            }
            for c in chains
        ],
        "facts": [
            {
                "position": n,
                "event_id": str(f.event_id),
                "type": f.type,
                "source": f.source,
                "version": f.version,
                "actor": f.actor,
                "time": f.time.isoformat(),
                "recorded_at": ingested[f.event_id].isoformat(),
                "causation_id": str(f.causation_id) if f.causation_id else None,
                "hash": f.hash,
                "prev_hash": f.prev_hash,
                "data": show(json.loads(f.body)["data"]),
            }
            for n, f in enumerate(ordered, start=1)
        ],
    }


@router.post("/replays", status_code=202)
async def start_replay(
    runtime: RuntimeDep, _: Annotated[Principal, require("audit:replay")]
) -> dict[str, Any]:
    bootstrap = runtime.settings.kafka_bootstrap
    replay_id, schema_name, ends = await replay.start(runtime.engine, bootstrap)
    runtime.tasks.append(
        asyncio.create_task(
            replay.run(
                runtime.engine,
                bootstrap,
                replay_id=replay_id,
                schema_name=schema_name,
                end_offsets=ends,
            )
        )
    )
    return {"id": replay_id, "status": "running", "href": f"/v1/replays/{replay_id}"}


@router.get("/replays/{replay_id}")
async def get_replay(
    replay_id: int, runtime: RuntimeDep, _: Annotated[Principal, require("audit:read")]
) -> dict[str, Any]:
    async with runtime.engine.connect() as conn:
        row = await store.get_replay(conn, replay_id)
    if row is None:
        raise Problem(404, "Not Found", f"no replay {replay_id}")
    return {
        "id": row["id"],
        "status": row["status"],
        "schema": row["schema_name"],
        "started_at": row["started_at"].isoformat(),
        "finished_at": row["finished_at"].isoformat() if row["finished_at"] else None,
        "facts_read": row["facts_read"],
        "end_offsets": row["end_offsets"],
        "report": row["report"],
    }


@router.post("/checkpoints", status_code=201)
async def create_checkpoint(
    runtime: RuntimeDep, _: Annotated[Principal, require("audit:replay")]
) -> dict[str, Any]:
    """Checkpoint now (the timer also does, periodically); 200 with the latest when nothing
    new was recorded since."""
    made = await checkpoints.create(runtime.engine)
    if made is None:
        async with runtime.engine.connect() as conn:
            latest = await store.get_checkpoint(conn, None)
        if latest is None:
            raise Problem(409, "Conflict", "no facts recorded yet: nothing to checkpoint")
        return _checkpoint_view(latest)
    return _checkpoint_view(made)


@router.get("/checkpoints")
async def list_checkpoints(
    runtime: RuntimeDep, _: Annotated[Principal, require("audit:read")]
) -> list[dict[str, Any]]:
    async with runtime.engine.connect() as conn:
        return [_checkpoint_view(c) for c in await store.list_checkpoints(conn, limit=100)]


@router.get("/facts/{event_id}/proof")
async def fact_proof(
    event_id: UUID,
    runtime: RuntimeDep,
    _: Annotated[Principal, require("audit:read")],
    size: int | None = None,
) -> dict[str, Any]:
    found = await checkpoints.proof(runtime.engine, event_id, size)
    if found is None:
        raise Problem(
            404, "Not Found", f"fact {event_id} is not covered by checkpoint {size or '(latest)'}"
        )
    return found


def _checkpoint_view(row: dict[str, Any]) -> dict[str, Any]:
    return {"size": row["size"], "root": row["root"], "created_at": row["created_at"].isoformat()}


@router.get("/exports/facts.{fmt}")
async def export_facts(
    fmt: Literal["jsonl", "csv"],
    runtime: RuntimeDep,
    caller: Annotated[Principal, require("audit:read")],
) -> StreamingResponse:
    """Every recorded fact in recorded order, streamed; personal data masked as in history."""
    mask = (lambda data: data) if PERSONAL_DATA in caller.scopes else domain.mask_personal_data
    if fmt == "jsonl":
        return StreamingResponse(
            exports.json_lines(runtime.engine, mask), media_type="application/jsonl; charset=utf-8"
        )
    return StreamingResponse(
        exports.csv_lines(runtime.engine, mask),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="facts.csv"'},
    )


def finding_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "kind": row["kind"],
        "appeal_id": str(row["appeal_id"]) if row["appeal_id"] else None,
        "event_id": str(row["event_id"]) if row["event_id"] else None,
        "source": row["source"],
        "type": row["type"],
        "version": row["version"],
        "position": {"topic": row["topic"], "partition": row["partition"], "offset": row["offset"]},
        "detail": row["detail"],
        "found_at": row["found_at"].isoformat(),
    }


@router.get("/findings")
async def list_findings(
    runtime: RuntimeDep,
    _: Annotated[Principal, require("audit:read")],
    kind: Literal[findings.KINDS] | None = None,  # type: ignore[valid-type]
    appeal_id: UUID | None = None,
    after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Integrity findings in the order found: records parked as forged or undecodable, and
    facts that break their stream's chain (see findings.py), each with the appeal and the
    topic, partition and offset it was read at. `after` is the cursor: the last id seen."""
    async with runtime.engine.connect() as conn:
        rows = await store.list_findings(
            conn, kind=kind, appeal_id=appeal_id, after=after, limit=limit
        )
    return {
        "findings": [finding_view(r) for r in rows],
        "next_after": rows[-1]["id"] if len(rows) == limit else None,
    }


# Measures, flags and queues live in their own module; mounted under the same /v1 prefix.
router.include_router(measures_api.router)
