"""What a department does with the work orders it leads (or assists): sign for, ask to
return, ask for more time, contribute. Needs `workorders:act`; the token names the department."""

from uuid import UUID

from fastapi import APIRouter, Response
from pydantic import Field

from dispatch_service import commands
from dispatch_service.routes.deps import COMMAND_RESPONSES, Body, Department, DispatchRuntime, run
from dispatch_service.views import WorkOrderView
from shared import events
from shared.runtime.preconditions import IfMatch

router = APIRouter(prefix="/v1/work-orders", tags=["work orders"])


class SignFor(Body):
    person: str = Field(min_length=1, max_length=100)


class ReturnRequest(Body):
    reason_code: events.Code
    legal_basis: events.Text
    explanation: events.Text | None = None


class ExtensionRequest(Body):
    working_days: int = Field(ge=1, le=30)
    reason: events.Text
    legal_basis: events.Text


class Contribution(Body):
    content: events.Text


@router.post("/{appeal_id}/sign-for", responses=COMMAND_RESPONSES)
async def sign_for(
    appeal_id: UUID,
    body: SignFor,
    runtime: DispatchRuntime,
    caller: Department,
    response: Response,
    if_match: IfMatch = None,
) -> WorkOrderView:
    return await run(
        runtime,
        appeal_id,
        if_match,
        response,
        lambda tx, expected: commands.sign_for(
            tx, appeal_id, person=body.person, caller=caller, expected_version=expected
        ),
    )


@router.post("/{appeal_id}/returns", responses=COMMAND_RESPONSES)
async def request_return(
    appeal_id: UUID,
    body: ReturnRequest,
    runtime: DispatchRuntime,
    caller: Department,
    response: Response,
    if_match: IfMatch = None,
) -> WorkOrderView:
    return await run(
        runtime,
        appeal_id,
        if_match,
        response,
        lambda tx, expected: commands.request_return(
            tx,
            appeal_id,
            reason_code=body.reason_code,
            legal_basis=body.legal_basis,
            explanation=body.explanation,
            caller=caller,
            expected_version=expected,
        ),
    )


@router.post("/{appeal_id}/extensions", responses=COMMAND_RESPONSES)
async def request_extension(
    appeal_id: UUID,
    body: ExtensionRequest,
    runtime: DispatchRuntime,
    caller: Department,
    response: Response,
    if_match: IfMatch = None,
) -> WorkOrderView:
    return await run(
        runtime,
        appeal_id,
        if_match,
        response,
        lambda tx, expected: commands.request_extension(
            tx,
            appeal_id,
            working_days=body.working_days,
            reason=body.reason,
            legal_basis=body.legal_basis,
            caller=caller,
            expected_version=expected,
        ),
    )


@router.post("/{appeal_id}/assists", responses=COMMAND_RESPONSES)
async def contribute(
    appeal_id: UUID,
    body: Contribution,
    runtime: DispatchRuntime,
    caller: Department,
    response: Response,
    if_match: IfMatch = None,
) -> WorkOrderView:
    return await run(
        runtime,
        appeal_id,
        if_match,
        response,
        lambda tx, expected: commands.contribute(
            tx, appeal_id, content=body.content, caller=caller, expected_version=expected
        ),
    )
