"""Which facts notify whom, written as delivery rows in the fact's own transaction.

Partners and channels hear of every status change of the appeals they filed (one delivery
per active subscription of the filer). The citizen hears, through their channel's endpoint,
of an approved extension (new deadline and why) and of an approved reply (what was done,
and a rating link); `commands.tell_citizen` records that notice as a fact. Sending is
`feedback_service.sender`'s job; nothing here waits on it.
"""

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from feedback_service import rating_links
from feedback_service.domain import notices
from feedback_service.settings import FeedbackSettings
from feedback_service.store import notifications
from shared import events
from shared.runtime.eventstore import Tx

STATUS_CHANGES: tuple[type[events.Event], ...] = (
    events.Assigned,
    events.Redispatched,
    events.SignedFor,
    events.ExtensionApproved,
    events.Handled,
    events.ReplyReviewed,
    events.Rated,
    events.NotRated,
    events.RedoOrdered,
    events.EscalatedToCentre,
    events.Closed,
    events.Withdrawn,
)
# What a partner learns of each change: codes only. No personal data, no reply text, and
# no staff's free text (a review's, a withdrawal's or a redispatch's reason may name the
# citizen or say what is internal); "not rated"'s reason is a code, and is shown.
_SHOWN = (
    "department",
    "round",
    "decision",
    "basis",
    "result",
    "satisfaction",
    "outcome",
)
_CODED_REASONS = (events.NotRated,)


@dataclass(frozen=True, slots=True)
class Notice:
    """A notice for the citizen, ready to record and to enqueue."""

    cause: events.ExtensionApproved | events.ReplyReviewed
    channel: events.Channel
    url: str
    personal_data: dict[str, Any] | None  # sealed; the sender opens it for the phone
    content: dict[str, Any]


def _body(payload: dict[str, Any]) -> str:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


async def status_changed(tx: Tx, fact: events.Event) -> int:
    """One delivery per subscription of the appeal's filer; the count enqueued."""
    if not isinstance(fact, STATUS_CHANGES):
        return 0
    found = await notifications.subscribers(tx, fact.subject)
    if not found:
        return 0
    shown = {*_SHOWN, "reason"} if isinstance(fact, _CODED_REASONS) else set(_SHOWN)
    data = fact.model_dump(mode="json", include=shown)
    body = _body(
        {
            "type": "appeal.status_changed",
            "appeal_id": str(fact.subject),
            "fact": fact.type,
            "event_id": str(fact.id),
            "time": fact.time.isoformat(),
            "data": {k: v for k, v in data.items() if v is not None},
        }
    )
    for sub in found:
        await notifications.enqueue(
            tx,
            id=uuid4(),
            subscription_id=sub["id"],
            appeal_id=fact.subject,
            event_id=fact.id,
            kind="status",
            url=sub["url"],
            body=body,
            created_at=datetime.now(UTC),
        )
    return len(found)


async def citizen_notice(tx: Tx, settings: FeedbackSettings, fact: events.Event) -> Notice | None:
    """The notice to the citizen's channel for an approved extension or an approved reply;
    None when there is none to send (another fact, no endpoint for the channel, or no key
    to sign it with)."""
    if not isinstance(fact, events.ExtensionApproved | events.ReplyReviewed):
        return None
    if isinstance(fact, events.ReplyReviewed) and fact.decision != "approved":
        return None
    appeal = await notifications.appeal(tx, fact.subject)
    url = appeal and settings.citizen_channel_urls.get(appeal["channel"])
    if appeal is None or not url or settings.channel_secret() is None:
        return None
    reply, link = None, None
    if isinstance(fact, events.ReplyReviewed):
        reply = await _reply(tx, fact)
        # Without a link key the notice still goes, only without a link (the citizen is
        # called back instead); a missing key must never stop the review that triggers it.
        if settings.rating_link_key() is not None:
            link = (await rating_links.issue(settings, tx, fact.subject, now=fact.time)).url
    content = notices.notice(
        fact, extension_reason=appeal["extension_reason"], reply=reply, rating_link=link
    )
    return Notice(fact, appeal["channel"], url, appeal["personal_data"], content)


def with_phone(body: str, phone: str | None) -> str:
    """A citizen notice's body as sent: with the phone the sender opened, if any."""
    return _body({**json.loads(body), "phone": phone})


async def enqueue_notice(tx: Tx, notice: Notice, *, delivery_id: UUID, now: datetime) -> None:
    body = {
        "type": "citizen.notice",
        "appeal_id": str(notice.cause.subject),
        "event_id": str(notice.cause.id),
        "channel": notice.channel,
        **notice.content,
    }
    await notifications.enqueue(
        tx,
        id=delivery_id,
        subscription_id=None,
        channel=notice.channel,
        appeal_id=notice.cause.subject,
        event_id=notice.cause.id,
        kind=notice.content["kind"],
        url=notice.url,
        body=_body(body),
        personal_data=notice.personal_data,
        created_at=now,
    )


async def _reply(tx: Tx, reviewed: events.ReplyReviewed) -> events.Handled | None:
    """The reply the review approved (its cause) from the appeal's feedback stream."""
    for recorded in reversed(await tx.load(reviewed.subject)):
        if isinstance(recorded.event, events.Handled) and recorded.event.id == (
            reviewed.causation_id
        ):
            return recorded.event
    return None
