"""What the citizen is told through their channel, and the fact that records it. Pure."""

from collections.abc import Callable
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


def delivery_settled(
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
    """The notice's fate on the appeal's feedback stream, so audit can show it. `notice` is
    the body sent (channel, kind, message)."""
    return fate(
        (events.CitizenNotified, events.CitizenNoticeFailed),
        appeal_id,
        cause_id=cause_id,
        correlation_id=correlation_id,
        delivery_id=delivery_id,
        message=notice["message"],
        about={"kind": notice["kind"], "channel": notice["channel"]},
        error=error,
        attempts=attempts,
        context=context,
    )


def fate(
    recorded_as: tuple[Callable[..., events.Event], Callable[..., events.Event]],
    appeal_id: UUID,
    *,
    cause_id: UUID,
    correlation_id: UUID,
    delivery_id: UUID,
    message: str,
    about: dict[str, Any],
    error: str | None,
    attempts: int,
    context: Context,
) -> list[events.Event]:
    """A delivery's fate as a fact, `recorded_as` (delivered, failed): delivered when
    `error` is None, else, once its attempts are spent, failed with the last error."""
    delivered, failed = recorded_as
    shared = {
        "id": context.new_id(),
        "subject": appeal_id,
        "time": context.now,
        "actor": context.actor,
        "causation_id": cause_id,
        "correlation_id": correlation_id,
        "delivery_id": delivery_id,
        "message": message,
        **about,
    }
    if error is None:
        return [delivered(**shared)]
    return [failed(**shared, attempts=attempts, error=error)]
