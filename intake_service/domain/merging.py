"""Repeat appeals (并单): a held appeal joins an open one and follows its handling, and a
wrong merge is undone without loss. Pure."""

from intake_service.domain.appeal import CLOSING_STAGES, Appeal, fact
from intake_service.domain.outcomes import settle, settleable
from shared import events
from shared.decisions import Context
from shared.errors import InvalidTransitionError, NotFoundError


def merge(
    child: Appeal | None,
    parent: Appeal | None,
    *,
    child_has_children: bool,
    reason: str,
    context: Context,
) -> list[events.Event]:
    """A repeat appeal joins an open one and follows its handling (a forwarded one once
    dispatch withdrew its work order). One level only: a parent is never itself merged (nor
    about to be: its own outcome pending), and an appeal others joined (or are joining) is
    not merged away."""
    child = settleable(child, has_children=child_has_children)
    if parent is None:
        raise NotFoundError("no such parent appeal")
    if parent.appeal_id == child.appeal_id:
        raise InvalidTransitionError("an appeal cannot be merged into itself")
    if parent.merged_into is not None:
        raise InvalidTransitionError(
            f"the parent is itself merged into {parent.merged_into}: merge into that one"
        )
    if parent.stage in CLOSING_STAGES:
        raise InvalidTransitionError(f"the parent was {parent.stage}: it is closed")
    if parent.withdrawal is not None:
        raise InvalidTransitionError(
            f"the parent's own outcome is pending (to be {parent.withdrawal.outcome}): "
            "join it once that is settled"
        )
    merged = fact(events.MergedInto, child, context=context, parent=parent.appeal_id, reason=reason)
    return settle(child, merged, why=f"merged into {parent.appeal_id}: {reason}", context=context)


def unmerge(child: Appeal | None, *, reason: str, context: Context) -> list[events.Event]:
    """A wrong merge undone: the appeal is back at the front office for a decision."""
    if child is None:
        raise NotFoundError("no such appeal")
    if child.merged_into is None:
        raise InvalidTransitionError("the appeal is not merged")
    return [fact(events.Unmerged, child, context=context, parent=child.merged_into, reason=reason)]
