"""The appeal's status as intake's own facts and other services' facts report it. Pure."""

from typing import Final

from shared import events

# Facts from different topics arrive in any order, so a status only ever moves up this
# ranking within a handling round. `received` is an appeal held at the front office;
# `merged` follows a parent's handling; the front office's own outcomes close it.
STATUS_RANK: Final = {
    "received": 0,
    "merged": 0,
    "forwarded": 1,  # sent on to dispatch, awaiting assignment
    "assigned": 2,
    "redo": 2,
    "in_progress": 3,
    "handled": 4,
    "reviewed": 5,  # the centre approved the reply: a callback is due
    "rated": 6,
    "not_rated": 6,
    "closed": 9,
}
STATUSES: Final = tuple(STATUS_RANK)

Progress = tuple[int, str]  # (handling round, status)


def progress_after(event: events.Event, current_round: int) -> Progress | None:
    """Where a fact puts the appeal, if anywhere. Facts that carry no round belong to the
    current one."""
    match event:
        case events.AppealForwarded():
            return current_round, "forwarded"
        case events.AnsweredDirectly() | events.TransferredToEmergency() | events.AppealRejected():
            return current_round, "closed"
        case events.Assigned() | events.Redispatched():
            return current_round, "assigned"
        case events.SignedFor():
            return current_round, "in_progress"
        case events.RedoOrdered(round=round_):
            return round_, "redo"
        case events.Handled(round=round_):
            return round_, "handled"
        case events.ReplyReviewed(round=round_, decision="approved"):
            return round_, "reviewed"
        case events.ReplyReviewed(round=round_):  # sent back: the department works on
            return round_, "in_progress"
        case events.Rated(round=round_):
            return round_, "rated"
        case events.NotRated(round=round_):
            return round_, "not_rated"
        case events.Closed():
            return current_round, "closed"
    return None


def advances(current: Progress, new: Progress) -> bool:
    # Round first (a redo starts a new round), then stage within the round.
    return (new[0], STATUS_RANK[new[1]]) > (current[0], STATUS_RANK[current[1]])


def applies(event: events.Event, current: Progress, *, new: Progress) -> bool:
    """Whether `new` replaces `current`. Only forward, with two steps back that each
    service's own ordering makes safe:
    - a reply sent back takes "handled" back to "in_progress": feedback's facts of one appeal
      arrive in order, so the send-back always finds the reply it sends back;
    - a redispatch takes "in_progress" back to "assigned" (the new department has not signed
      for it): dispatch's facts arrive in order, so no later sign-for can precede it, and a
      reply (from feedback, read apart) already shown is never undone."""
    if isinstance(event, events.ReplyReviewed) and event.decision == "sent_back":
        return current == (new[0], "handled")
    if isinstance(event, events.Redispatched):
        return current in ((new[0], "in_progress"), (new[0], "assigned"))
    return advances(current, new)
