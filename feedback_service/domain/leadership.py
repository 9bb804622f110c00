"""What a department's leadership is told of an escalation (提级), and the fact that records
whether it heard. Pure. The notice names the appeal, the department, the escalation and its
reason: never the citizen, whose data stays with intake."""

from typing import Any
from uuid import UUID

from feedback_service.domain import notices
from shared import events
from shared.decisions import Context

KIND = "leadership_escalation"  # the delivery's kind


def escalation_of(fact: events.Event) -> events.Supervised | events.EscalatedToCentre | None:
    """The fact, if it is an escalation the leadership must hear of."""
    if isinstance(fact, events.EscalatedToCentre):
        return fact
    if isinstance(fact, events.Supervised) and fact.level == "escalation":
        return fact
    return None


def notice(fact: events.Supervised | events.EscalatedToCentre) -> dict[str, Any]:
    """The notice's content: the message, and what it is about."""
    if isinstance(fact, events.EscalatedToCentre):
        message = (
            f"贵单位承办的诉求经{fact.redo_rounds}次重办仍未解决，已提级至热线中心。"
            f"原因：{fact.reason}"
        )
        reason = fact.reason
    else:
        message = f"热线中心已对贵单位承办的诉求提级督办。意见：{fact.note}"
        reason = fact.note
    return {
        "kind": KIND,
        "department": fact.department,
        "escalation": fact.type,
        "reason": reason,
        "message": message,
    }


def settled(
    appeal_id: UUID,
    *,
    cause_id: UUID,
    correlation_id: UUID,
    notice: dict[str, Any],
    delivery_id: UUID,
    error: str | None,
    attempts: int,
    context: Context,
) -> list[events.Event]:
    """The notice's fate on the appeal's feedback stream: delivered (`error` None) or, once
    its attempts are spent, failed with the last error."""
    return notices.fate(
        (events.LeadershipNotified, events.LeadershipNoticeFailed),
        appeal_id,
        cause_id=cause_id,
        correlation_id=correlation_id,
        delivery_id=delivery_id,
        message=notice["message"],
        about={"department": notice["department"], "escalation": notice["escalation"]},
        error=error,
        attempts=attempts,
        context=context,
    )
