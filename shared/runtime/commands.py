"""The one write path. Every command of every service, whether a route or a reaction to
another service's fact, runs through `execute`: load the stream, check the version the caller
decided on, decide with one `Context`, append, and project the read model, all in the caller's
transaction. A lost race surfaces as `StaleStreamError`, which the problem handler answers 412.

    outcome = await commands.execute(
        tx, WORK_ORDER, appeal_id, lambda order, ctx: domain.sign_for(order, ..., context=ctx),
        context=ctx, expected_version=expected,
    )
"""

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar
from uuid import UUID

from shared import envelope, events
from shared.decisions import Context
from shared.runtime.eventstore import ConcurrencyError, EventStore

State = TypeVar("State")
TxT = TypeVar("TxT", bound=EventStore)
Decide = Callable[[State, Context], Sequence[events.Event]]
Project = Callable[[TxT, State, Sequence[events.Event], int], Awaitable[None]]


class StaleStreamError(Exception):
    """The caller decided on another version than the stream is at (stale If-Match), or lost
    the race to append: either way its decision rests on a state that is gone."""

    def __init__(self, what: str, stream_id: UUID, *, current: int | None, expected: int) -> None:
        at = "moved on" if current is None else f"is at version {current}"
        super().__init__(f"the {what} {at}, not {expected}")
        self.what = what
        self.stream_id = stream_id
        self.current = current
        self.expected = expected


@dataclass(frozen=True)
class Aggregate(Generic[State, TxT]):
    """How a service folds one kind of stream and keeps its read model in step with it.

    `project` sees the state after the new facts, the facts and the stream's new version, in
    the same transaction as the append: a read model never lags its own service's facts.
    """

    what: str  # names it in problems: "work order", "appeal"
    initial: State
    evolve: Callable[[State, events.Event], State]
    project: Project[TxT, State] | None = None
    # True when `project` needs nothing the append makes: it then runs before the append,
    # whose statement carries the writes it held (`Tx.hold`), so the facts and their read
    # model take one round trip (a filing's, a review's).
    project_first: bool = False


@dataclass(frozen=True, slots=True)
class Outcome(Generic[State]):
    state: State
    version: int
    new: tuple[events.Event, ...]


async def load(
    tx: EventStore, aggregate: Aggregate[State, TxT], stream_id: UUID
) -> tuple[State, int]:
    """The stream folded through the aggregate, and its version (0 for none)."""
    return await tx.load_state(stream_id, aggregate.evolve, aggregate.initial)


def state_of(
    aggregate: Aggregate[State, TxT], stream: Sequence[envelope.Recorded]
) -> tuple[State, int]:
    """A stream read along with other rows (`Tx.adopt`) folded through the aggregate."""
    return envelope.fold(stream, aggregate.evolve, aggregate.initial)


async def execute(
    tx: TxT,
    aggregate: Aggregate[State, TxT],
    stream_id: UUID,
    decide: Decide[State],
    *,
    context: Context,
    expected_version: int | None = None,
    loaded: tuple[State, int] | None = None,
) -> Outcome[State]:
    """Decide on the stream and record the decision with its read model, in `tx`.

    `expected_version` is the version the caller saw (If-Match); None accepts whatever the
    stream is at. `loaded` passes a state the caller already folded in this transaction (a
    guard needed it first), so the stream is read once.
    """
    state, version = loaded if loaded is not None else await load(tx, aggregate, stream_id)
    if expected_version is not None and version != expected_version:
        raise StaleStreamError(
            aggregate.what, stream_id, current=version, expected=expected_version
        )
    new = tuple(decide(state, context))
    if not new:
        return Outcome(state, version, new)
    after = state
    for event in new:
        after = aggregate.evolve(after, event)
    if aggregate.project is not None and aggregate.project_first:
        await aggregate.project(tx, after, new, version + len(new))
    try:
        new_version = await tx.append(stream_id, new, expected_version=version)
    except ConcurrencyError as exc:
        # Another writer appended between our load and our append: to the caller that is
        # the same as a stale If-Match, whichever transaction started first.
        raise StaleStreamError(aggregate.what, stream_id, current=None, expected=version) from exc
    if aggregate.project is not None and not aggregate.project_first:
        await aggregate.project(tx, after, new, new_version)
    return Outcome(after, new_version, new)
