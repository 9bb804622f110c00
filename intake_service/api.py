"""intake's REST routes: thin adapters between HTTP and the domain."""

from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID, uuid4

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from intake_service import catalogue_api, domain, store
from intake_service.open311 import updates as open311_updates
from shared import events
from shared.runtime import idempotency
from shared.runtime.app import RuntimeDep
from shared.runtime.auth import Principal, require
from shared.runtime.eventstore import Tx
from shared.runtime.problems import Problem

router = APIRouter(prefix="/v1", tags=["appeals"])
router.include_router(catalogue_api.router)


async def file_appeal(
    tx: Tx,
    appeal: domain.NewAppeal,
    *,
    actor: str,
    now: datetime,
    extras: dict[str, Any] | None = None,
) -> events.AppealReceived:
    """Accept an appeal in the caller's transaction: the fact and the read-model row. Every
    channel files through here (POST /v1/appeals, Open311)."""
    appeal_id = uuid4()
    new = domain.receive(appeal, appeal_id=appeal_id, event_id=uuid4(), actor=actor, now=now)
    await tx.append(appeal_id, new, expected_version=0)
    received = new[0]
    assert isinstance(received, events.AppealReceived)
    await store.add(tx, received, extras)
    await open311_updates.record(tx, new)
    return received


def _view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "status": row["status"],
        "status_at": row["status_at"].isoformat(),
        "received_at": row["received_at"].isoformat(),
        **{
            k: row["received"][k]
            for k in ("channel", "appeal_type", "category", "urgency", "content", "location")
        },
    }


async def _known_category(tx: Tx, category: str) -> None:
    """Once a catalogue is published, a category must be one of its codes (before the first
    version, any code is accepted, as it was before the catalogue existed)."""
    current = await store.current_catalogue(tx)
    if current is None or current[1].find(category) is not None:
        return
    message = f"unknown category {category!r}: not in appeal catalogue version {current[0]}"
    raise Problem(
        422,
        "Invalid request",
        "invalid fields: body.category",
        errors=[{"field": "body.category", "message": message, "type": "unknown_category"}],
    )


@router.post("/appeals", status_code=201)
async def create_appeal(
    appeal: domain.NewAppeal,
    runtime: RuntimeDep,
    caller: Annotated[Principal, require("appeals:write")],
    idempotency_key: idempotency.KeyHeader = None,
) -> JSONResponse:
    async def accept(tx: Tx) -> idempotency.StoredResponse:
        await _known_category(tx, appeal.category)
        received = await file_appeal(tx, appeal, actor=caller.actor, now=datetime.now(UTC))
        return idempotency.StoredResponse(
            201,
            {
                "id": str(received.subject),
                "status": "received",
                "received_at": received.time.isoformat(),
                "event_id": str(received.id),
            },
        )

    answer = await idempotency.run_once(
        runtime.db,
        scope=f"intake:appeals:{caller.subject}",
        key=idempotency_key,
        request_body=appeal.model_dump(mode="json"),
        action=accept,
    )
    return JSONResponse(
        answer.body,
        status_code=answer.status_code,
        headers={"Location": f"/v1/appeals/{answer.body['id']}"},
    )


@router.get("/appeals/{appeal_id}")
async def get_appeal(
    appeal_id: UUID, runtime: RuntimeDep, _: Annotated[Principal, require("appeals:read")]
) -> dict[str, Any]:
    async with runtime.db.transaction() as tx:
        row = await store.get(tx, appeal_id)
    if row is None:
        raise Problem(404, "Not Found", f"no appeal {appeal_id}")
    return _view(row)
