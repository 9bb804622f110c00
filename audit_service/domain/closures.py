"""The centre closing a work order it had no ground to close, read from one appeal's
timeline. Pure, like signals.py.

The loop closes on its own when the citizen rated the approved reply or the rating window
closed unrated. An operator's closure (`basis: operator`) skips that loop: it is flagged
when, in the round it ended, no reply had been approved by the centre, or the citizen was
never asked: no callback attempted and no rating taken. Closing an appeal escalated to the
centre after its redo rounds is the centre's to do, but the same two questions are asked.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass

from audit_service.domain.facts import Fact


@dataclass(frozen=True, slots=True)
class Closure:
    closed_by_operator: bool
    approved_reply: bool  # the last round's reply was approved before the closure
    called_back: bool  # a callback of the last round was attempted (or a rating taken)
    flagged: bool
    facts: tuple[str, ...]  # the closure, and the approval and callback it found, if any


def closure(timeline: Sequence[Fact]) -> Closure:
    round_, approved, called, evidence = 1, None, None, []
    for fact in timeline:
        data = json.loads(fact.body)["data"]
        match fact.type:
            case "appeal.redo_ordered":
                round_, approved, called = data["round"], None, None
            case "appeal.reply_reviewed" if data["round"] == round_:
                approved = fact if data["decision"] == "approved" else None
            case "appeal.callback_made" | "appeal.rated" if (
                data["round"] == round_ and called is None
            ):
                called = fact  # a call attempted, or the citizen's rating otherwise taken
            case "appeal.closed" if data["basis"] == "operator":
                evidence = [str(f.event_id) for f in (fact, approved, called) if f is not None]
                return Closure(
                    closed_by_operator=True,
                    approved_reply=approved is not None,
                    called_back=called is not None,
                    flagged=approved is None or called is None,
                    facts=tuple(evidence),
                )
    return Closure(False, approved is not None, called is not None, False, tuple(evidence))
