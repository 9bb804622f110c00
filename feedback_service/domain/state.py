"""The appeal's feedback state, folded from feedback's own facts, and the holder as dispatch's
facts describe it."""

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal, TypeVar
from uuid import UUID

from shared import events
from shared.decisions import Context
from shared.errors import InvalidTransitionError

ReviewOutcome = Literal["approved", "sent_back"]
E = TypeVar("E", bound=events.Event)


@dataclass(frozen=True, slots=True)
class Holder:
    """Who holds the work order and in which round, as dispatch's facts say."""

    department: str
    cause_id: UUID  # the dispatch fact that put the order in this department's hands
    correlation_id: UUID
    round: int = 1
    signed_for: bool = False


@dataclass(frozen=True, slots=True)
class Feedback:
    handled_round: int = 0  # the round of the latest reply
    handled_by: str | None = None
    handled_event_id: UUID | None = None
    correlation_id: UUID | None = None
    review: ReviewOutcome | None = None  # of the latest reply; None while it awaits review
    approved_round: int = 0  # the last round whose reply was approved
    approved_event_id: UUID | None = None
    callback_due: datetime | None = None  # when the next callback attempt is due
    callbacks: int = 0  # callback attempts in the approved round
    failed_callbacks: int = 0  # of which did not reach the citizen
    callbacks_round: int = 0  # the round those attempts were for
    callbacks_correlation: UUID | None = None  # the work order of that round
    rated_round: int = 0  # the last round settled: rated, or recorded as not rated
    rated_correlation: UUID | None = None  # the work order of that round

    @property
    def approved(self) -> bool:
        """The latest reply was approved, so its round may be called back and rated."""
        return self.handled_round > 0 and self.approved_round == self.handled_round

    @property
    def settled(self) -> bool:
        return self.handled_round > 0 and self.rated_round >= self.handled_round


def fact(cls: type[E], state: Feedback, *, appeal_id: UUID, context: Context, **fields: Any) -> E:
    """A fact on the appeal's feedback stream, in the correlation of its work order: a new
    id, the decision's time and actor."""
    assert state.correlation_id is not None
    return cls(
        id=context.new_id(),
        subject=appeal_id,
        time=context.now,
        actor=context.actor,
        correlation_id=state.correlation_id,
        **fields,
    )


def evolve(state: Feedback, event: events.Event) -> Feedback:
    match event:
        case events.Handled():
            return replace(
                state,
                handled_round=event.round,
                handled_by=event.department,
                handled_event_id=event.id,
                correlation_id=event.correlation_id,
                review=None,
                callback_due=None,
                callbacks=0,
                failed_callbacks=0,
            )
        case events.ReplyReviewed(decision="approved"):
            return replace(
                state,
                review="approved",
                approved_round=event.round,
                approved_event_id=event.id,
                callback_due=event.callback_due,
            )
        case events.ReplyReviewed():
            return replace(state, review=event.decision)
        case events.CallbackMade():
            # A round's first call starts its count afresh: a merged child's stream has no
            # reply of its own to reset it, so its unreached calls of an earlier round of the
            # parent would otherwise use up the attempts of this one.
            same = (event.round, event.correlation_id)
            earlier = (
                state.failed_callbacks
                if same == (state.callbacks_round, state.callbacks_correlation)
                else 0
            )
            return replace(
                state,
                callbacks_round=event.round,
                callbacks_correlation=event.correlation_id,
                callbacks=event.attempt,
                failed_callbacks=earlier + (not event.reached),
                callback_due=event.next_attempt_due,
            )
        case events.Rated() | events.NotRated():
            return replace(
                state,
                rated_round=event.round,
                rated_correlation=event.correlation_id,
                callback_due=None,
            )  # settled
    return state


def as_merged_child(parent: Feedback, own: Feedback) -> Feedback:
    """A merged child's state (并单): the parent's reply and its review, which the child
    follows, with the child's own callbacks and rating, which it keeps (its citizen is
    called back and rates on the child's own stream). A child's facts carry the work order
    they were made in (its correlation), so what the child did while merged into another
    parent, before an unmerge, does not count against this one's round of the same number."""
    here = parent.correlation_id
    calls = (own.callbacks_round, own.callbacks_correlation) == (parent.handled_round, here)
    rated = own.rated_correlation == here
    return replace(
        parent,
        callbacks=own.callbacks if calls else 0,
        failed_callbacks=own.failed_callbacks if calls else 0,
        callbacks_round=own.callbacks_round if calls else 0,
        callbacks_correlation=own.callbacks_correlation if calls else None,
        callback_due=own.callback_due if calls else parent.callback_due,
        rated_round=own.rated_round if rated else 0,
        rated_correlation=own.rated_correlation if rated else None,
    )


def childs_own(
    new: Sequence[events.Event], *, child: UUID, parent: UUID, handled_by: str | None = None
) -> list[events.Event]:
    """The facts a decision made for a merged child, refused if any is the parent's to
    make: the reply and its review belong to the parent. A rating says whose handling it
    rates (the parent's, by `handled_by`), so dispatch and audit can hold that handling to it."""
    if any(isinstance(e, events.Handled | events.ReplyReviewed) for e in new):
        raise InvalidTransitionError(
            f"appeal {child} is merged into {parent}: the reply and its review are the parent's"
        )
    return [
        e.model_copy(update={"merged_into": parent, "handled_by": handled_by})
        if isinstance(e, events.Rated)
        else e
        for e in new
    ]
