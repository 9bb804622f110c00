"""Which facts notify whom, written as delivery rows in the fact's own transaction.

Partners and channels hear of every status change of the appeals they filed (one delivery
per active subscription of the filer). The citizen hears, through their channel's endpoint,
of an approved extension (new deadline and why) and of an approved reply (what was done,
and a rating link). Sending is `feedback_service.sender`'s job; nothing here waits on it.
"""

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from feedback_service import notification_store as nstore
from feedback_service.domain import notices
from feedback_service.settings import FeedbackSettings
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
    events.Closed,
)
# What a partner learns of each change: no personal data, no reply text.
_SHOWN = ("department", "round", "decision", "basis", "result", "satisfaction", "reason")
ACTOR = "service:feedback"

# Issues a rating link for the appeal's approved round: (tx, appeal_id, now) -> its URL.
LinkIssuer = Callable[[Tx, UUID, datetime], Awaitable[str]]


def _body(payload: dict[str, Any]) -> str:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


async def status_changed(tx: Tx, fact: events.Event) -> int:
    """One delivery per subscription of the appeal's filer; the count enqueued."""
    if not isinstance(fact, STATUS_CHANGES):
        return 0
    data = fact.model_dump(mode="json", include=set(_SHOWN))
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
    found = await nstore.subscribers(tx, fact.subject)
    for sub in found:
        await nstore.enqueue(
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


async def tell_citizen(
    tx: Tx,
    settings: FeedbackSettings,
    fact: events.Event,
    *,
    issue_link: LinkIssuer | None = None,
) -> bool:
    """A notice to the citizen's channel for an approved extension or an approved reply;
    False when there is none to send (another fact, no endpoint for the channel, or no key
    to sign it with)."""
    if not isinstance(fact, events.ExtensionApproved | events.ReplyReviewed):
        return False
    if isinstance(fact, events.ReplyReviewed) and fact.decision != "approved":
        return False
    appeal = await nstore.appeal(tx, fact.subject)
    url = appeal and settings.citizen_channel_urls.get(appeal["channel"])
    if appeal is None or not url or settings.channel_secret() is None:
        return False
    reply, link = None, None
    if isinstance(fact, events.ReplyReviewed):
        reply = await _reply(tx, fact)
        # Without a link key the notice still goes, only without a link (the citizen is
        # called back instead); a missing key must never stop the review that triggers it.
        if issue_link is not None and settings.rating_link_key() is not None:
            link = await issue_link(tx, fact.subject, fact.time)
    content = notices.notice(
        fact, extension_reason=appeal["extension_reason"], reply=reply, rating_link=link
    )
    body = {
        "type": "citizen.notice",
        "appeal_id": str(fact.subject),
        "event_id": str(fact.id),
        "channel": appeal["channel"],
        "phone": appeal["citizen_phone"],
        **content,
    }
    delivery_id, now = uuid4(), datetime.now(UTC)
    await nstore.enqueue(
        tx,
        id=delivery_id,
        subscription_id=None,
        channel=appeal["channel"],
        appeal_id=fact.subject,
        event_id=fact.id,
        kind=content["kind"],
        url=url,
        body=_body(body),
        created_at=now,
    )
    # The notice is a fact on the appeal's feedback stream too, so audit can show it.
    told = notices.citizen_notified(
        fact,
        content,
        channel=appeal["channel"],
        delivery_id=delivery_id,
        actor=ACTOR,
        event_id=uuid4(),
        now=now,
    )
    stream = await tx.load(fact.subject)
    await tx.append(fact.subject, [told], expected_version=stream[-1].version if stream else 0)
    return True


async def _reply(tx: Tx, reviewed: events.ReplyReviewed) -> events.Handled | None:
    """The reply the review approved (its cause) from the appeal's feedback stream."""
    for recorded in reversed(await tx.load(reviewed.subject)):
        if isinstance(recorded.event, events.Handled) and recorded.event.id == (
            reviewed.causation_id
        ):
            return recorded.event
    return None
