"""What the hotline centre decides on a work order: arbitrating returns and extensions,
supervising, reassigning and closing. Needs `workorders:dispatch`."""

from typing import Literal
from uuid import UUID

from fastapi import APIRouter, Response
from pydantic import Field

from dispatch_service import commands
from dispatch_service.routes.deps import COMMAND_RESPONSES, Body, Centre, DispatchRuntime, run
from dispatch_service.views import WorkOrderView
from shared import events
from shared.runtime.preconditions import IfMatch
from shared.runtime.problems import invalid_field

router = APIRouter(prefix="/v1/work-orders", tags=["work orders"])


class ReturnDecision(Body):
    approve: bool
    reasoning: events.Text
    department: events.Code | None = Field(default=None, description="the new lead, to approve")
    assisting: tuple[events.Code, ...] = ()


class ExtensionDecision(Body):
    approve: bool
    reasoning: events.Text


class Supervision(Body):
    level: Literal["reminder", "supervision", "escalation"]
    note: events.Text


class Reassignment(Body):
    department: events.Code
    assisting: tuple[events.Code, ...] = ()
    reason: events.Text


class Closure(Body):
    note: events.Text


@router.post("/{appeal_id}/returns/decision", responses=COMMAND_RESPONSES)
async def decide_return(
    appeal_id: UUID,
    body: ReturnDecision,
    runtime: DispatchRuntime,
    caller: Centre,
    response: Response,
    if_match: IfMatch = None,
) -> WorkOrderView:
    if body.approve and body.department is None:
        raise invalid_field("body.department", "approving a return needs the new department")
    to = (body.department, body.assisting) if body.approve and body.department else None
    return await run(
        runtime,
        appeal_id,
        if_match,
        response,
        lambda tx, expected: commands.decide_return(
            tx,
            appeal_id,
            reasoning=body.reasoning,
            redispatch_to=to,
            caller=caller,
            expected_version=expected,
        ),
    )


@router.post("/{appeal_id}/extensions/decision", responses=COMMAND_RESPONSES)
async def decide_extension(
    appeal_id: UUID,
    body: ExtensionDecision,
    runtime: DispatchRuntime,
    caller: Centre,
    response: Response,
    if_match: IfMatch = None,
) -> WorkOrderView:
    return await run(
        runtime,
        appeal_id,
        if_match,
        response,
        lambda tx, expected: commands.decide_extension(
            tx,
            appeal_id,
            approve=body.approve,
            reasoning=body.reasoning,
            caller=caller,
            expected_version=expected,
        ),
    )


@router.post("/{appeal_id}/supervision", responses=COMMAND_RESPONSES)
async def supervise(
    appeal_id: UUID,
    body: Supervision,
    runtime: DispatchRuntime,
    caller: Centre,
    response: Response,
    if_match: IfMatch = None,
) -> WorkOrderView:
    return await run(
        runtime,
        appeal_id,
        if_match,
        response,
        lambda tx, expected: commands.supervise(
            tx,
            appeal_id,
            level=body.level,
            note=body.note,
            caller=caller,
            expected_version=expected,
        ),
    )


@router.post("/{appeal_id}/reassignment", responses=COMMAND_RESPONSES)
async def reassign(
    appeal_id: UUID,
    body: Reassignment,
    runtime: DispatchRuntime,
    caller: Centre,
    response: Response,
    if_match: IfMatch = None,
) -> WorkOrderView:
    return await run(
        runtime,
        appeal_id,
        if_match,
        response,
        lambda tx, expected: commands.reassign(
            tx,
            appeal_id,
            department=body.department,
            assisting=body.assisting,
            reason=body.reason,
            caller=caller,
            expected_version=expected,
        ),
    )


@router.post("/{appeal_id}/closure", responses=COMMAND_RESPONSES)
async def close(
    appeal_id: UUID,
    body: Closure,
    runtime: DispatchRuntime,
    caller: Centre,
    response: Response,
    if_match: IfMatch = None,
) -> WorkOrderView:
    return await run(
        runtime,
        appeal_id,
        if_match,
        response,
        lambda tx, expected: commands.close(
            tx, appeal_id, note=body.note, caller=caller, expected_version=expected
        ),
    )
