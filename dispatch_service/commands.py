"""dispatch's commands on a work order. Every decision, a route's here, a reaction to another
service's fact (handlers.py) or a timer's mark (timer.py), runs through the one write path,
`shared.runtime.commands.execute`, on the WORK_ORDER aggregate, whose projection keeps the
work-order view in step in the same transaction. The domain decides; a command gathers what
it decides by (the caller, the catalogue versions) and guards what the caller may see."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal
from uuid import UUID

from dispatch_service import domain, store
from dispatch_service.domain import sla
from shared import events
from shared.decisions import Context
from shared.runtime import commands
from shared.runtime.auth import Principal
from shared.runtime.commands import Aggregate, Outcome
from shared.runtime.eventstore import Tx
from shared.runtime.problems import not_found
from shared.workdays import WorkdayCalendar

SERVICE_ACTOR = "service:dispatch"
State = domain.WorkOrder | None


async def _project(tx: Tx, order: State, new: Sequence[events.Event], version: int) -> None:
    assert order is not None  # a work order's stream starts with its assignment
    # The replied round is another service's (feedback's appeal.handled); a stream that has
    # just begun has no row yet, so nothing to read: the assignment's common case.
    just_begun = version == len(new)
    await store.save_work_order(
        tx,
        order,
        version=version,
        at=new[-1].time,
        handled_round=0 if just_begun else await store.handled_round(tx, order.appeal_id),
        now=new[-1].time,
    )


WORK_ORDER: Aggregate[State, Tx] = Aggregate("work order", None, domain.evolve, _project)


def by_service(now: datetime | None = None, *, cause: events.Event | None = None) -> Context:
    return Context(
        actor=SERVICE_ACTOR,
        now=now or datetime.now(UTC),
        causation_id=None if cause is None else cause.id,
    )


# --- the departments' and the hotline centre's commands ---------------------------------


@dataclass(frozen=True, slots=True)
class Catalogue:
    """The catalogue versions a route's decision is made by, and the round the holder last
    replied in (feedback's `appeal.handled`, as dispatch heard it)."""

    policy: sla.SlaPolicy
    routing_version: int
    calendar: WorkdayCalendar
    replied_round: int = 0

    def replied(self, order: State) -> bool:
        return order is not None and self.replied_round >= order.round


RouteDecide = Callable[[State, Context, Catalogue], Sequence[events.Event]]


async def _decide(
    tx: Tx, appeal_id: UUID, caller: Principal, expected_version: int, decide: RouteDecide
) -> Outcome[State]:
    loaded = order, _ = commands.state_of(WORK_ORDER, await store.load_for_command(tx, appeal_id))
    # A department sees its own work orders only; another's is as good as absent.
    if order is None or (
        caller.department is not None
        and caller.department not in (order.department, *order.assisting)
    ):
        raise not_found("work order for appeal", appeal_id)
    catalogue = Catalogue(
        # The appeal runs under the policy in force when it was received, pinned at assignment.
        await store.policy_version(tx, order.deadlines.policy_version),
        (await store.current_routing(tx)).version,
        await store.current_calendar(tx),
        await store.handled_round(tx, appeal_id),
    )
    return await commands.execute(
        tx,
        WORK_ORDER,
        appeal_id,
        lambda order, context: decide(order, context, catalogue),
        context=Context(actor=caller.actor, now=datetime.now(UTC)),
        expected_version=expected_version,
        loaded=loaded,
    )


async def sign_for(
    tx: Tx, appeal_id: UUID, *, person: str, caller: Principal, expected_version: int
) -> Outcome[State]:
    return await _decide(
        tx,
        appeal_id,
        caller,
        expected_version,
        lambda order, context, _: domain.sign_for(
            order, department=caller.department, person=person, context=context
        ),
    )


async def request_return(
    tx: Tx,
    appeal_id: UUID,
    *,
    reason_code: str,
    legal_basis: str,
    explanation: str | None,
    caller: Principal,
    expected_version: int,
) -> Outcome[State]:
    return await _decide(
        tx,
        appeal_id,
        caller,
        expected_version,
        lambda order, context, by: domain.request_return(
            order,
            department=caller.department,
            reason_code=reason_code,
            legal_basis=legal_basis,
            explanation=explanation,
            policy=by.policy,
            calendar=by.calendar,
            replied=by.replied(order),
            context=context,
        ),
    )


async def decide_return(
    tx: Tx,
    appeal_id: UUID,
    *,
    reasoning: str,
    redispatch_to: tuple[str, tuple[str, ...]] | None,
    caller: Principal,
    expected_version: int,
) -> Outcome[State]:
    """Approve a return, redispatching to (lead, assisting), or deny it (None)."""

    def decide(order: State, context: Context, by: Catalogue) -> list[events.Event]:
        if redispatch_to is None:
            return domain.deny_return(order, reasoning=reasoning, context=context)
        department, assisting = redispatch_to
        return domain.approve_return(
            order,
            department=department,
            assisting=assisting,
            reasoning=reasoning,
            routing_version=by.routing_version,
            policy=by.policy,
            calendar=by.calendar,
            replied=by.replied(order),
            context=context,
        )

    return await _decide(tx, appeal_id, caller, expected_version, decide)


async def request_extension(
    tx: Tx,
    appeal_id: UUID,
    *,
    working_days: int,
    reason: str,
    legal_basis: str,
    caller: Principal,
    expected_version: int,
) -> Outcome[State]:
    return await _decide(
        tx,
        appeal_id,
        caller,
        expected_version,
        lambda order, context, by: domain.request_extension(
            order,
            department=caller.department,
            working_days=working_days,
            reason=reason,
            legal_basis=legal_basis,
            policy=by.policy,
            context=context,
        ),
    )


async def decide_extension(
    tx: Tx,
    appeal_id: UUID,
    *,
    approve: bool,
    reasoning: str,
    caller: Principal,
    expected_version: int,
) -> Outcome[State]:
    return await _decide(
        tx,
        appeal_id,
        caller,
        expected_version,
        lambda order, context, by: (
            domain.approve_extension(order, policy=by.policy, calendar=by.calendar, context=context)
            if approve
            else domain.deny_extension(order, reasoning=reasoning, context=context)
        ),
    )


async def contribute(
    tx: Tx, appeal_id: UUID, *, content: str, caller: Principal, expected_version: int
) -> Outcome[State]:
    return await _decide(
        tx,
        appeal_id,
        caller,
        expected_version,
        lambda order, context, _: domain.contribute(
            order, department=caller.department, content=content, context=context
        ),
    )


async def supervise(
    tx: Tx,
    appeal_id: UUID,
    *,
    level: Literal["reminder", "supervision", "escalation"],
    note: str,
    caller: Principal,
    expected_version: int,
) -> Outcome[State]:
    return await _decide(
        tx,
        appeal_id,
        caller,
        expected_version,
        lambda order, context, _: domain.supervise(order, level=level, note=note, context=context),
    )


async def reassign(
    tx: Tx,
    appeal_id: UUID,
    *,
    department: str,
    assisting: tuple[str, ...],
    reason: str,
    caller: Principal,
    expected_version: int,
) -> Outcome[State]:
    return await _decide(
        tx,
        appeal_id,
        caller,
        expected_version,
        lambda order, context, by: domain.reassign(
            order,
            department=department,
            assisting=assisting,
            reason=reason,
            routing_version=by.routing_version,
            policy=by.policy,
            calendar=by.calendar,
            replied=by.replied(order),
            context=context,
        ),
    )


async def close(
    tx: Tx, appeal_id: UUID, *, note: str, caller: Principal, expected_version: int
) -> Outcome[State]:
    return await _decide(
        tx,
        appeal_id,
        caller,
        expected_version,
        lambda order, context, _: domain.close(order, note=note, context=context),
    )
