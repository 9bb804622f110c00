"""Projection replays: the log from offset 0 against the live projection, checked in place or
rebuilt beside it and compared (replay.py); and the record of their switch-overs (performed
by the database owner, see switch_over.py)."""

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response

from audit_service import replay, store, views, views_admin
from audit_service.routes.deps import AuditRuntime
from shared.runtime.auth import Principal, require
from shared.runtime.openapi import problems
from shared.runtime.pagination import LINK_HEADER, CursorQuery, LimitQuery, decode, page
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
) -> views_admin.ReplayStarted:
    bootstrap = runtime.settings.kafka_bootstrap
    replay_id, schema_name, ends = await replay.start(runtime.engine, bootstrap)
    runtime.tasks.append(
        asyncio.create_task(
            replay.run_apart(
                runtime.settings.database_url.get_secret_value(),
                bootstrap,
                replay_id=replay_id,
                schema_name=schema_name,
                end_offsets=ends,
                live_group=runtime.settings.consumer_group or runtime.settings.service_name,
            )
        )
    )
    href = f"/v1/replays/{replay_id}"
    response.headers["Location"] = href
    return views_admin.ReplayStarted(id=replay_id, status="running", href=href)


@router.get("/replays/{replay_id}", responses=problems(404))
async def get_replay(
    replay_id: Annotated[int, Path(ge=1, le=2**31 - 1)],  # the table's id is a PostgreSQL integer
    runtime: AuditRuntime,
    _: Annotated[Principal, require(views.READ)],
) -> views_admin.Replay:
    """A replay's progress (`facts_read` of the `end_offsets`), and its report once done."""
    async with runtime.engine.connect() as conn:
        row = await store.get_replay(conn, replay_id)
    if row is None:
        raise not_found("replay", replay_id)
    return views_admin.Replay.model_validate(row)


_PAGED: dict[int | str, dict[str, Any]] = {
    200: {"description": "One page", "headers": LINK_HEADER},
    **problems(400),
}


@router.get("/switch-overs", responses=_PAGED)
async def list_switch_overs(
    request: Request,
    response: Response,
    runtime: AuditRuntime,
    _: Annotated[Principal, require(views.READ)],
    cursor: CursorQuery = None,
    limit: LimitQuery = 100,
) -> views_admin.SwitchOvers:
    """Every replay switch-over, newest first: who ran it, when, from which replay, how many
    live rows were replaced, added or removed, and the first of them with what was wrong.
    The owner performs them (`hotline audit switch-over --replay N`): the service's own
    database role may only add facts, never replace them."""
    (before,) = decode(cursor, int) if cursor else (None,)
    async with runtime.engine.connect() as conn:
        rows = await store.list_switch_overs(conn, before=before, limit=limit)
    shown = page(
        [views_admin.SwitchOver.model_validate(row) for row in rows],
        limit=limit,
        key=lambda s: (s.id,),
        request=request,
        response=response,
    )
    return views_admin.SwitchOvers(items=shown.items, next=shown.next)
