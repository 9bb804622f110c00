"""Projection replays: rebuild from offset 0 beside the live projection, then compare."""

import asyncio
from typing import Annotated

from fastapi import APIRouter, Path, Response

from audit_service import replay, store, views
from audit_service.routes.deps import AuditRuntime
from shared.runtime.auth import Principal, require
from shared.runtime.openapi import problems
from shared.runtime.problems import not_found

router = APIRouter(prefix="/v1", tags=["audit"])


@router.post(
    "/replays",
    status_code=202,
    responses={
        202: {
            "description": "The replay runs in the background; follow `href`",
            "headers": {"Location": {"schema": {"type": "string"}}},
        }
    },
)
async def start_replay(
    response: Response, runtime: AuditRuntime, _: Annotated[Principal, require(views.REPLAY)]
) -> views.ReplayStarted:
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
    href = f"/v1/replays/{replay_id}"
    response.headers["Location"] = href
    return views.ReplayStarted(id=replay_id, status="running", href=href)


@router.get("/replays/{replay_id}", responses=problems(404))
async def get_replay(
    replay_id: Annotated[int, Path(ge=1, le=2**31 - 1)],  # the table's id is a PostgreSQL integer
    runtime: AuditRuntime,
    _: Annotated[Principal, require(views.READ)],
) -> views.Replay:
    """A replay's progress (`facts_read` of the `end_offsets`), and its report once done."""
    async with runtime.engine.connect() as conn:
        row = await store.get_replay(conn, replay_id)
    if row is None:
        raise not_found("replay", replay_id)
    return views.Replay.model_validate(row)
