"""What the citizen is told through their channel, and the fact that records it. Pure."""

from typing import Any
from uuid import UUID

from shared import events
from shared.decisions import Context
from shared.workdays import HOTLINE_ZONE

REPLY_MESSAGE = "您的诉求已办结答复，请对办理结果进行评价。"


def notice(
    fact: events.ExtensionApproved | events.ReplyReviewed,
    *,
    extension_reason: str | None,
    reply: events.Handled | None,
    rating_link: str | None,
) -> dict[str, Any]:
    """The notice's content: its kind, the message for the citizen and what goes with it."""
    if isinstance(fact, events.ExtensionApproved):
        due = fact.deadlines.handle_due
        local = due.astimezone(HOTLINE_ZONE).strftime("%Y-%m-%d %H:%M")
        why = f"原因：{extension_reason}" if extension_reason else ""
        return {
            "kind": "extension_approved",
            "handle_due": due.isoformat(),
            "reason": extension_reason,
            "message": f"您的诉求办理期限延长{fact.working_days}个工作日，"
            f"新的办结期限为{local}。{why}",
        }
    return {
        "kind": "reply_approved",
        "result": reply.result if reply else None,
        "reply": reply.reply if reply else None,
        "rating_link": rating_link,
        "message": REPLY_MESSAGE,
    }


def citizen_notified(
    cause: events.Event,
    content: dict[str, Any],
    *,
    channel: events.Channel,
    delivery_id: UUID,
    context: Context,
) -> list[events.Event]:
    """The notice recorded on the appeal's feedback stream, so audit can show it."""
    return [
        events.CitizenNotified(
            id=context.new_id(),
            subject=cause.subject,
            time=context.now,
            actor=context.actor,
            causation_id=cause.id,
            correlation_id=cause.correlation_id,
            kind=content["kind"],
            channel=channel,
            delivery_id=delivery_id,
            message=content["message"],
        )
    ]
