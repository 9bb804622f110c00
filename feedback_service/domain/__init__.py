"""Replies, their review, callbacks and ratings for one appeal, one handling round at a time.

Pure: no I/O, no clock. Each decision takes the appeal's feedback state and a
`shared.decisions.Context` (who, when, new ids) and returns the new facts, or raises a
domain error saying why not.
"""

from feedback_service.domain.notices import delivery_settled, notice
from feedback_service.domain.ratings import (
    Callback,
    Rating,
    call_back,
    callback_due,
    expire_rating,
    rate,
    window_still_open,
)
from feedback_service.domain.replies import Reply, ReviewDecision, handle, review
from feedback_service.domain.state import Feedback, Holder, as_merged_child, childs_own, evolve

__all__ = [
    "Callback",
    "Feedback",
    "Holder",
    "Rating",
    "Reply",
    "ReviewDecision",
    "as_merged_child",
    "call_back",
    "callback_due",
    "childs_own",
    "delivery_settled",
    "evolve",
    "expire_rating",
    "handle",
    "notice",
    "rate",
    "review",
    "window_still_open",
]
