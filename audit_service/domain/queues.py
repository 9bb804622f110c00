"""Who held an appeal at a moment, and at which stage: a department's queue as it stood.
Pure: give it the facts audit had recorded by then, in timeline order.

A department holds an appeal from its assignment, redispatch or redo until a return of its
is approved, the appeal moves to another department, or it is closed. While it holds it the
stage follows its steps (signed for, return requested, replied, rated) and the deadlines in
force are the latest ones given (an approved extension moves the handling deadline, a
published calendar year settles provisional ones). A withdrawal ends it as a closure does.

A department asked to assist the holder (协办) has the appeal in its queue too, as assisting:
from the ask until the holding ends (a redispatch, a closure, a withdrawal: dispatch's new
lead asks its own), on the ask's own deadline (as recomputed, if it was provisional), asked,
contributed, or overdue at the moment asked.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from audit_service.domain.assists import ENDS as ASKS_END
from audit_service.domain.facts import Fact

STARTS = ("appeal.assigned", "appeal.redispatched", "appeal.redo_ordered")
ANY_STAGES = {"appeal.rated": "rated", "appeal.not_rated": "not_rated"}


@dataclass(frozen=True, slots=True)
class Held:
    appeal_id: str
    department: str
    stage: str  # assigned | redo | signed_for | return_requested | replied | sent_back | rated…
    since: str  # when this department was given it (the start fact's time)
    sign_for_due: str
    handle_due: str
    signed: bool
    replied: bool
    extension_pending: bool
    sign_for_overdue: bool  # at the moment asked
    handling_overdue: bool
    facts: tuple[str, ...]  # the start fact and every later fact that moved the stage


def _data(fact: Fact) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(fact.body)["data"]
    return data


def holding(timeline: Sequence[Fact], at: datetime) -> Held | None:
    """The appeal's holder at `at`, or None when nobody held it (not yet dispatched, a return
    approved and not yet redispatched, or closed)."""
    held: dict[str, Any] | None = None
    for fact in timeline:
        data = _data(fact)
        if fact.type in STARTS:
            deadlines = data["deadlines"]
            held = {
                "department": data["department"],
                "stage": "redo" if fact.type == "appeal.redo_ordered" else "assigned",
                "since": fact.time,
                "sign_for_due": datetime.fromisoformat(deadlines["sign_for_due"]),
                "handle_due": datetime.fromisoformat(deadlines["handle_due"]),
                "signed": False,
                "replied": False,
                "extension_pending": False,
                "before_return": None,
                "facts": [str(fact.event_id)],
            }
            continue
        if held is None:
            continue
        own = data.get("department") == held["department"]
        moved = True
        match fact.type:
            case "appeal.closed" | "appeal.withdrawn":
                held = None
                continue
            case "appeal.return_approved" if own:
                held = None
                continue
            case "appeal.return_requested" if own:
                held["before_return"] = held["stage"]
                held["stage"] = "return_requested"
            case "appeal.return_denied" if own:
                held["stage"] = held["before_return"] or "assigned"
            case "appeal.signed_for" if own:
                held["signed"], held["stage"] = True, "signed_for"
            case "appeal.handled" if own:
                held["replied"], held["stage"] = True, "replied"
            case "appeal.reply_reviewed" if own and data.get("decision") == "sent_back":
                held["replied"], held["stage"] = False, "sent_back"
            case "appeal.extension_requested" if own:
                held["extension_pending"] = True
            case "appeal.extension_approved" if own:
                held["extension_pending"] = False
                held["handle_due"] = datetime.fromisoformat(data["deadlines"]["handle_due"])
            case "appeal.deadlines_recomputed" if own:
                held["sign_for_due"] = datetime.fromisoformat(data["deadlines"]["sign_for_due"])
                held["handle_due"] = datetime.fromisoformat(data["deadlines"]["handle_due"])
            case "appeal.extension_denied" if own:
                held["extension_pending"] = False
            case "appeal.rated" | "appeal.not_rated":
                held["stage"] = ANY_STAGES[fact.type]
            case _:
                moved = False
        if moved:
            held["facts"].append(str(fact.event_id))
    if held is None:
        return None
    return Held(
        appeal_id=str(timeline[0].subject),
        department=held["department"],
        stage=held["stage"],
        since=held["since"].isoformat(),
        sign_for_due=held["sign_for_due"].isoformat(),
        handle_due=held["handle_due"].isoformat(),
        signed=held["signed"],
        replied=held["replied"],
        extension_pending=held["extension_pending"],
        sign_for_overdue=not held["signed"] and at > held["sign_for_due"],
        handling_overdue=not held["replied"] and at > held["handle_due"],
        facts=tuple(held["facts"]),
    )


@dataclass(frozen=True, slots=True)
class Assisting:
    department: str  # the assisting department
    lead: str
    asked_at: str
    due: str  # its own deadline, as it stood at the moment asked
    state: Literal["asked", "contributed", "overdue"]  # at the moment asked
    facts: tuple[str, ...]  # the ask and every later fact about it


def assisting(timeline: Sequence[Fact], at: datetime, department: str) -> Assisting | None:
    """`department`'s standing ask to assist at `at`, or None when it had none."""
    ask: dict[str, Any] | None = None
    for fact in timeline:
        if fact.type in ASKS_END:
            ask = None
            continue
        data = _data(fact)
        if data.get("department") != department:
            continue
        match fact.type:
            case "appeal.assist_requested":
                ask = {
                    "lead": data["lead"],
                    "asked_at": fact.time,
                    "due": datetime.fromisoformat(data["due"]),
                    "contributed": False,
                    "facts": [str(fact.event_id)],
                }
                continue
            case "appeal.assist_deadline_recomputed" if ask is not None:
                ask["due"] = datetime.fromisoformat(data["due"])
            case "appeal.assist_contributed" if ask is not None:
                ask["contributed"] = True
            case "appeal.assist_warned" | "appeal.assist_overdue" if ask is not None:
                pass
            case _:
                continue
        ask["facts"].append(str(fact.event_id))
    if ask is None:
        return None
    state: Literal["asked", "contributed", "overdue"] = (
        "contributed" if ask["contributed"] else "overdue" if at > ask["due"] else "asked"
    )
    return Assisting(
        department=department,
        lead=ask["lead"],
        asked_at=ask["asked_at"].isoformat(),
        due=ask["due"].isoformat(),
        state=state,
        facts=tuple(ask["facts"]),
    )
