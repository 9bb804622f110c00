"""Each fact about an appeal as one Open311 update (FixMyStreet's `servicerequestupdates`):
the extended status after it and its public text. Pure.

The statuses follow open311.md §9: received, classified or forwarded → `for_triage`;
assigned, not yet signed → `open`; signed for or being handled → `in_progress`; a return
or a redispatch → `internal_referral`; merged → `duplicate`; rejected as out of scope →
`not_councils_responsibility`; redo → `reopen`; closed, answered directly or transferred to
an emergency line → `closed`. The department's reply is `fixed` when it solved the problem
and `no_further_action` when it explained or could not solve it. A fact that moves no stage
(a rating, a callback, an approved extension) keeps the status it found; an undone merge or
a refused return goes back to what the appeal was before the merge or the return.

Descriptions carry only what the public may read (GET needs no key): never a citizen's name
or number, never a staff member's name, free text masked; facts between the hotline centre
and departments that change nothing the public sees are not updates at all (`INTERNAL`).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final
from uuid import UUID, uuid5

from intake_service.open311.params import format_datetime
from intake_service.open311.privacy import mask
from shared import events

# Negotiations between a department and the centre, timer marks and the centre's chasing:
# internal progress, visible to audit, not to the public. A notice to the citizen repeats
# what the reply or the approved extension already put in the feed.
INTERNAL: Final = frozenset(
    {
        "appeal.citizen_notified",
        "appeal.citizen_notice_failed",
        "appeal.leadership_notified",  # the department's leaders, not the public
        "appeal.leadership_notice_failed",
        "appeal.extension_requested",
        "appeal.extension_denied",
        "appeal.assist_contributed",
        "appeal.assist_requested",
        "appeal.assist_overdue",
        "appeal.assist_warned",
        "appeal.assist_deadline_recomputed",
        "appeal.supervised",
        "appeal.deadline_warned",
        "appeal.deadline_missed",
        "appeal.deadlines_recomputed",
        "appeal.escalated_to_centre",
        "calendar.published",  # not an appeal's fact at all: the working-day calendar's
        # A withdrawal in progress changes nothing the public sees: the status stays the work
        # order's until the front office's outcome takes effect, as its own (public) fact.
        "appeal.withdrawal_requested",
        "appeal.withdrawn",
        "appeal.withdrawal_refused",
        "appeal.outcome_abandoned",
        "appeal.personal_data_erased",  # the public never saw the data; nothing changed
    }
)
STATUSES: Final = (
    "for_triage",
    "open",
    "in_progress",
    "internal_referral",
    "duplicate",
    "not_councils_responsibility",
    "reopen",
    "fixed",
    "no_further_action",
    "closed",
)


@dataclass(frozen=True, slots=True)
class Keep:
    """The status stays what it was."""


@dataclass(frozen=True, slots=True)
class Undo:
    """The status goes back to what it was before the latest fact of `fact_type`."""

    fact_type: str


Rule = str | Keep | Undo


@dataclass(frozen=True, slots=True)
class Update:
    update_id: UUID  # the fact's id
    appeal_id: UUID
    fact_type: str
    status: str
    description: str
    at: datetime  # the fact's time
    department: str | None = None  # the lead unit this fact gave the appeal to
    due: datetime | None = None  # the handling deadline this fact set


_SATISFACTION: Final = {
    "satisfied": "满意 satisfied",
    "basically_satisfied": "基本满意 basically satisfied",
    "dissatisfied": "不满意 dissatisfied",
}
_LEGAL_ROUTE: Final = {
    "litigation": "诉讼 litigation",
    "arbitration": "仲裁 arbitration",
    "discipline_inspection": "纪检监察 discipline inspection",
    "administrative_reconsideration": "行政复议 administrative reconsideration",
    "information_disclosure": "政府信息公开 information disclosure",
    "petition": "信访 petition",
    "police": "公安机关 the police",
    "none": "无 none",
}
_CLOSED_BASIS: Final = {
    "rated_satisfied": "市民满意 the citizen was satisfied",
    "rated_dissatisfied": "已评价 rated, no redo warranted",
    "not_rated": "未评价 not rated",
    "operator": "热线中心办结 closed by the hotline centre",
}


def _public(event: events.Event) -> tuple[Rule, str] | None:
    match event:
        # intake
        case events.AppealReceived():
            return "for_triage", "已受理，待派单 Received, awaiting dispatch"
        case events.AppealClassified(category=category):
            return "for_triage", f"已分类为 {category} Classified as {category}"
        case events.AppealForwarded():
            return "for_triage", "已转派单 Forwarded for dispatch"
        case events.AnsweredDirectly(answer=answer):
            return "closed", f"已直接答复 Answered directly: {mask(answer)}"
        case events.TransferredToEmergency(line=line):
            return "closed", f"已转 {line} Transferred to the emergency line {line}"
        case events.AppealRejected(reason=reason, legal_route=route, explanation=explanation):
            return "not_councils_responsibility", (
                f"不属于受理范围 Not the hotline's to handle: {mask(reason)}; "
                f"途径 route: {_LEGAL_ROUTE[route]}; {mask(explanation)}"
            )
        case events.MergedInto(parent=parent):
            return "duplicate", f"已并入 {parent} Merged into request {parent}"
        case events.Unmerged(parent=parent):
            return Undo("appeal.merged"), f"撤销并单 No longer merged into {parent}"
        # dispatch
        case events.Assigned(department=department):
            return "open", f"已派至 {department}，待签收 Dispatched to {department}"
        case events.Redispatched(department=department, previous_department=previous):
            return "internal_referral", (
                f"改派至 {department} Redispatched from {previous} to {department}: "
                f"{mask(event.reason)}"
            )
        case events.SignedFor(department=department):
            return "in_progress", f"{department} 已签收，办理中 Signed for by {department}"
        case events.ReturnRequested(department=department, reason_code=code):
            return "internal_referral", (
                f"{department} 申请退单 {department} asked to hand it back ({code}): "
                f"{mask(event.legal_basis)}"
            )
        case events.ReturnApproved(reasoning=reasoning):
            return "internal_referral", f"退单已批准 The return was approved: {mask(reasoning)}"
        case events.ReturnDenied(department=department, reasoning=reasoning):
            return Undo("appeal.return_requested"), (
                f"退单未获批准，{department} 继续办理 The return was refused; "
                f"{department} keeps it: {mask(reasoning)}"
            )
        case events.ExtensionApproved(working_days=days, deadlines=deadlines):
            due = format_datetime(deadlines.handle_due)
            return Keep(), (
                f"延期 {days} 个工作日，办理期限至 {due} "
                f"Extended by {days} working days; now due {due}"
            )
        case events.RedoOrdered(round=round_, reason=reason):
            return "reopen", f"重办（第 {round_} 轮）Reopened for round {round_}: {mask(reason)}"
        case events.Closed(basis=basis, note=note):
            words = f"已办结 Closed: {_CLOSED_BASIS[basis]}"
            return "closed", f"{words}; {mask(note)}" if note else words
        # feedback
        case events.Handled(department=department, result=result, reply=reply):
            status = "fixed" if result == "solved" else "no_further_action"
            return status, f"{department} 答复 Reply from {department}: {mask(reply)}"
        case events.Rated(satisfaction=satisfaction):
            return Keep(), f"市民评价 Rated: {_SATISFACTION[satisfaction]}"
        case events.NotRated():
            return Keep(), "评价期已过，未评价 The rating window closed without a rating"
        case events.ReplyReviewed(decision="approved"):
            return Keep(), "答复已审核通过 The reply was approved"
        case events.ReplyReviewed(department=department, reason=reason):
            return "in_progress", (
                f"答复被退回，{department} 重新答复 The reply was sent back to {department}"
                + (f": {mask(reason)}" if reason else "")
            )
        case events.CallbackMade(reached=False, attempt=attempt):
            return Keep(), f"第 {attempt} 次回访未接通 Callback {attempt}: not reached"
        case events.CallbackMade(attempt=attempt, satisfaction=satisfaction):
            rated = f": {_SATISFACTION[satisfaction]}" if satisfaction else ""
            return Keep(), f"第 {attempt} 次回访 Callback {attempt}{rated}"
    return None


def closed_with_parent(closed: events.Closed, child: UUID) -> Update:
    """A merged child's update when its parent's work order closes (并单): the child was
    handled as the parent, so it closes with it. Its id is derived from the parent's fact
    and the child, so a redelivered fact finds the update already there."""
    return Update(
        update_id=uuid5(closed.id, str(child)),
        appeal_id=child,
        fact_type=closed.type,
        status="closed",
        description=(
            f"随主单 {closed.subject} 办结 Closed with request {closed.subject}: "
            f"{_CLOSED_BASIS[closed.basis]}"
        ),
        at=closed.time,
    )


def is_public(event_type: type[events.Event]) -> bool:
    return event_type.model_fields["type"].default not in INTERNAL


def update_for(event: events.Event, history: Sequence[Update]) -> Update | None:
    """The update `event` makes, given the appeal's earlier updates in time order; None for
    internal facts. Facts of different services arrive in any order, so only the updates
    recorded at or before the fact's own time count as its past."""
    public = _public(event)
    if public is None:
        return None
    rule, description = public
    past = [u for u in history if u.at <= event.time and u.update_id != event.id]
    return Update(
        update_id=event.id,
        appeal_id=event.subject,
        fact_type=event.type,
        status=_status(rule, past),
        description=description,
        at=event.time,
        department=_lead(event),
        due=_due(event),
    )


def _lead(event: events.Event) -> str | None:
    match event:
        case events.Assigned() | events.Redispatched() | events.RedoOrdered():
            return event.department
    return None


def _due(event: events.Event) -> datetime | None:
    match event:
        case (
            events.Assigned()
            | events.Redispatched()
            | events.RedoOrdered()
            | events.ExtensionApproved()
        ):
            return event.deadlines.handle_due
    return None


def _status(rule: Rule, past: Sequence[Update]) -> str:
    match rule:
        case str():
            return rule
        case Undo(fact_type=undone):
            marks = [i for i, u in enumerate(past) if u.fact_type == undone]
            if marks:
                return past[marks[-1] - 1].status if marks[-1] > 0 else "for_triage"
    return past[-1].status if past else "open"
