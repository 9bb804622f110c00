"""dispatch's REST routes: work-order commands (each checks If-Match) and reads.

Departments act with `workorders:act` on their own work orders only; the hotline centre
dispatches, arbitrates and supervises with `workorders:dispatch`.
"""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from dispatch_service import catalogue_api, domain, handlers, sla, store
from shared import events
from shared.runtime import preconditions
from shared.runtime.app import RuntimeDep
from shared.runtime.auth import Principal, require
from shared.runtime.eventstore import ConcurrencyError
from shared.runtime.preconditions import IfMatch
from shared.runtime.problems import Problem

router = APIRouter(prefix="/v1", tags=["work orders"])
router.include_router(catalogue_api.router)
Reader = Annotated[Principal, require("workorders:read")]
Department = Annotated[Principal, require("workorders:act")]
Centre = Annotated[Principal, require("workorders:dispatch")]


class _Body(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SignFor(_Body):
    person: str = Field(min_length=1, max_length=100)


class ReturnRequest(_Body):
    reason_code: events.Code
    legal_basis: events.Text
    explanation: events.Text | None = None


class ReturnDecision(_Body):
    approve: bool
    reasoning: events.Text
    department: events.Code | None = None  # the new lead, when approving
    assisting: tuple[events.Code, ...] = ()


class ExtensionRequest(_Body):
    working_days: int = Field(ge=1, le=30)
    reason: events.Text
    legal_basis: events.Text


class ExtensionDecision(_Body):
    approve: bool
    reasoning: events.Text


class Contribution(_Body):
    content: events.Text


class Supervision(_Body):
    level: Literal["reminder", "supervision", "escalation"]
    note: events.Text


class Reassignment(_Body):
    department: events.Code
    assisting: tuple[events.Code, ...] = ()
    reason: events.Text


class Closure(_Body):
    note: events.Text


Decide = Callable[[domain.WorkOrder | None, domain.Meta, sla.SlaPolicy, int], list[events.Event]]


async def _command(
    runtime: RuntimeDep, appeal_id: UUID, caller: Principal, if_match: str | None, decide: Decide
) -> JSONResponse:
    """Load, check the caller's expected version, decide, record; answer with the new ETag."""
    expected = preconditions.expected_version(if_match, "work order")
    try:
        return await _decide_and_record(runtime, appeal_id, caller, expected, decide)
    except ConcurrencyError as exc:
        # Another command won the race between our version check and our append: to this
        # caller that is the same as a stale If-Match.
        raise Problem(
            412, "Precondition Failed", "the work order changed while this command was decided"
        ) from exc


async def _decide_and_record(
    runtime: RuntimeDep, appeal_id: UUID, caller: Principal, expected: int, decide: Decide
) -> JSONResponse:
    async with runtime.db.transaction() as tx:
        order, version = await tx.load_state(appeal_id, domain.evolve, None)
        if order is None:
            raise Problem(404, "Not Found", f"no work order for appeal {appeal_id}")
        if caller.department is not None and caller.department not in (
            order.department,
            *order.assisting,
        ):
            raise Problem(404, "Not Found", f"no work order for appeal {appeal_id}")
        if version != expected:
            raise preconditions.stale("work order", version, expected)
        now = datetime.now(UTC)
        policy = await store.current_policy(tx)
        routing_version = (await store.current_routing(tx)).version
        new = decide(order, handlers.meta(actor=caller.actor, now=now), policy, routing_version)
        order, version = await handlers.record(
            tx, appeal_id, order, new, expected_version=version, now=now
        )
        row = await store.get_work_order(tx, appeal_id)
    assert row is not None
    return JSONResponse(row["state"], headers={"ETag": preconditions.etag(version)})


def _visible(row: dict[str, Any] | None, caller: Principal, appeal_id: UUID) -> dict[str, Any]:
    # A department sees its own work orders only; another's is as good as absent.
    if row is None or (
        caller.department is not None
        and caller.department not in (row["department"], *row["state"]["assisting"])
    ):
        raise Problem(404, "Not Found", f"no work order for appeal {appeal_id}")
    return row


@router.get("/work-orders/{appeal_id}")
async def get_work_order(appeal_id: UUID, runtime: RuntimeDep, caller: Reader) -> JSONResponse:
    async with runtime.db.transaction() as tx:
        row = _visible(await store.get_work_order(tx, appeal_id), caller, appeal_id)
    return JSONResponse(
        store.with_clock(row, datetime.now(UTC)),
        headers={"ETag": preconditions.etag(row["version"])},
    )


@router.get("/work-orders")
async def list_work_orders(
    runtime: RuntimeDep,
    caller: Reader,
    department: Annotated[str | None, Query(max_length=64)] = None,
    stage: Literal["assigned", "signed_for", "return_requested", "closed"] | None = None,
    district: Annotated[str | None, Query(max_length=64)] = None,
    overdue: bool | None = None,
    include_closed: bool = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200, pattern=r"^[A-Za-z0-9_-]+$")] = None,
) -> dict[str, Any]:
    """A department's queue (its token forces its own department), or the operator's view."""
    if caller.department is not None:
        department = caller.department
    try:
        after = store.decode_cursor(cursor) if cursor else None
    except ValueError as exc:
        raise Problem(400, "Bad Request", "the cursor is not one this API issued") from exc
    async with runtime.db.transaction() as tx:
        rows = await store.list_work_orders(
            tx,
            department=department,
            stage=stage,
            district=district,
            overdue=overdue,
            open_only=not include_closed and stage != "closed",
            after=after,
            limit=limit,
        )
    next_cursor = (
        store.encode_cursor(rows[-1]["updated_at"], rows[-1]["appeal_id"])
        if len(rows) == limit
        else None
    )
    now = datetime.now(UTC)
    return {"items": [store.with_clock(r, now) for r in rows], "next": next_cursor}


@router.post("/work-orders/{appeal_id}/sign-for")
async def sign_for(
    appeal_id: UUID,
    body: SignFor,
    runtime: RuntimeDep,
    caller: Department,
    if_match: IfMatch = None,
) -> JSONResponse:
    return await _command(
        runtime,
        appeal_id,
        caller,
        if_match,
        lambda o, m, _p, _r: domain.sign_for(
            o, department=caller.department, person=body.person, meta=m
        ),
    )


@router.post("/work-orders/{appeal_id}/returns")
async def request_return(
    appeal_id: UUID,
    body: ReturnRequest,
    runtime: RuntimeDep,
    caller: Department,
    if_match: IfMatch = None,
) -> JSONResponse:
    return await _command(
        runtime,
        appeal_id,
        caller,
        if_match,
        lambda o, m, p, _r: domain.request_return(
            o,
            department=caller.department,
            reason_code=body.reason_code,
            legal_basis=body.legal_basis,
            explanation=body.explanation,
            policy=p,
            calendar=handlers.CALENDAR,
            meta=m,
        ),
    )


@router.post("/work-orders/{appeal_id}/returns/decision")
async def decide_return(
    appeal_id: UUID,
    body: ReturnDecision,
    runtime: RuntimeDep,
    caller: Centre,
    if_match: IfMatch = None,
) -> JSONResponse:
    def decide(
        o: domain.WorkOrder | None, m: domain.Meta, p: sla.SlaPolicy, r: int
    ) -> list[events.Event]:
        if not body.approve:
            return domain.deny_return(o, reasoning=body.reasoning, meta=m)
        if body.department is None:
            raise Problem(422, "Invalid request", "approving a return needs the new department")
        return domain.approve_return(
            o,
            department=body.department,
            assisting=body.assisting,
            reasoning=body.reasoning,
            routing_version=r,
            policy=p,
            calendar=handlers.CALENDAR,
            meta=m,
        )

    return await _command(runtime, appeal_id, caller, if_match, decide)


@router.post("/work-orders/{appeal_id}/extensions")
async def request_extension(
    appeal_id: UUID,
    body: ExtensionRequest,
    runtime: RuntimeDep,
    caller: Department,
    if_match: IfMatch = None,
) -> JSONResponse:
    return await _command(
        runtime,
        appeal_id,
        caller,
        if_match,
        lambda o, m, p, _r: domain.request_extension(
            o,
            department=caller.department,
            working_days=body.working_days,
            reason=body.reason,
            legal_basis=body.legal_basis,
            policy=p,
            meta=m,
        ),
    )


@router.post("/work-orders/{appeal_id}/extensions/decision")
async def decide_extension(
    appeal_id: UUID,
    body: ExtensionDecision,
    runtime: RuntimeDep,
    caller: Centre,
    if_match: IfMatch = None,
) -> JSONResponse:
    return await _command(
        runtime,
        appeal_id,
        caller,
        if_match,
        lambda o, m, p, _r: (
            domain.approve_extension(o, policy=p, calendar=handlers.CALENDAR, meta=m)
            if body.approve
            else domain.deny_extension(o, reasoning=body.reasoning, meta=m)
        ),
    )


@router.post("/work-orders/{appeal_id}/assists")
async def contribute(
    appeal_id: UUID,
    body: Contribution,
    runtime: RuntimeDep,
    caller: Department,
    if_match: IfMatch = None,
) -> JSONResponse:
    return await _command(
        runtime,
        appeal_id,
        caller,
        if_match,
        lambda o, m, _p, _r: domain.contribute(
            o, department=caller.department, content=body.content, meta=m
        ),
    )


@router.post("/work-orders/{appeal_id}/supervision")
async def supervise(
    appeal_id: UUID,
    body: Supervision,
    runtime: RuntimeDep,
    caller: Centre,
    if_match: IfMatch = None,
) -> JSONResponse:
    return await _command(
        runtime,
        appeal_id,
        caller,
        if_match,
        lambda o, m, _p, _r: domain.supervise(o, level=body.level, note=body.note, meta=m),
    )


@router.post("/work-orders/{appeal_id}/reassignment")
async def reassign(
    appeal_id: UUID,
    body: Reassignment,
    runtime: RuntimeDep,
    caller: Centre,
    if_match: IfMatch = None,
) -> JSONResponse:
    return await _command(
        runtime,
        appeal_id,
        caller,
        if_match,
        lambda o, m, p, r: domain.reassign(
            o,
            department=body.department,
            assisting=body.assisting,
            reason=body.reason,
            routing_version=r,
            policy=p,
            calendar=handlers.CALENDAR,
            meta=m,
        ),
    )


@router.post("/work-orders/{appeal_id}/closure")
async def close(
    appeal_id: UUID, body: Closure, runtime: RuntimeDep, caller: Centre, if_match: IfMatch = None
) -> JSONResponse:
    return await _command(
        runtime,
        appeal_id,
        caller,
        if_match,
        lambda o, m, _p, _r: domain.close(o, note=body.note, meta=m),
    )
