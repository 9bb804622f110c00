"""What dispatch's routes share: the typed runtime, the caller by scope, and `run`, which
answers a work-order command with the work order and its new ETag."""

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import Depends, Response
from pydantic import BaseModel, ConfigDict

from dispatch_service import commands, store, views
from dispatch_service.settings import DispatchSettings
from shared.runtime import openapi, preconditions
from shared.runtime.auth import Principal, require
from shared.runtime.commands import Outcome
from shared.runtime.eventstore import Tx
from shared.runtime.running import Runtime, get_runtime

DispatchRuntime = Annotated[Runtime[DispatchSettings], Depends(get_runtime)]
Reader = Annotated[Principal, require("workorders:read")]
Department = Annotated[Principal, require("workorders:act")]
Centre = Annotated[Principal, require("workorders:dispatch", centre=True)]


class Body(BaseModel):
    """A request body: unknown fields are refused, not ignored."""

    model_config = ConfigDict(frozen=True, extra="forbid")


# 403: a department acting on a work order it does not lead (or, for assists, assist)
COMMAND_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "the work order after the command", "headers": views.ETAG_HEADER},
    **openapi.problems(403, 404, 409, 412, 428),
}
Command = Callable[[Tx, int], Awaitable[Outcome[commands.State]]]


async def run(
    runtime: Runtime[DispatchSettings],
    appeal_id: UUID,
    if_match: str | None,
    response: Response,
    command: Command,
) -> views.WorkOrderView:
    """Run one command at the version If-Match names (428 without one); answer the work
    order as it now stands, with its new ETag."""
    expected = preconditions.expected_version(if_match, "work order")
    async with runtime.db.transaction() as tx:
        await command(tx, expected)
        row = await store.saved_or_read(tx, appeal_id)
    assert row is not None
    response.headers["ETag"] = views.etag(row)  # the row as the command left it
    return views.work_order(row, datetime.now(UTC))
