"""Escalations notify the department's leadership channel (提级 reaches the unit's leaders).

Each department's channel is published by the hotline centre
(`PUT /v1/departments/{department}/leadership-channel`, routes/leadership.py) and kept here,
in feedback, next to the sender: a webhook URL often carries its own access token, so it is
never put on a fact, a topic, or an API a department reads. The notice is a delivery row
written in the escalation's own transaction and sent by `sender` to the channel as it is
when sent, signed with the channel's own secret; a private address is refused unless
private targets are allowed (development and test only, by default). Its fate is a fact on
the appeal's stream:
`appeal.leadership_notified` or `appeal.leadership_notice_failed`.
"""

import json
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

from feedback_service import commands
from feedback_service.domain import leadership
from feedback_service.store import leadership as store
from feedback_service.store import notifications
from shared import events
from shared.decisions import Context
from shared.runtime.commands import execute
from shared.runtime.eventstore import Tx

KIND = leadership.KIND


async def enqueue(tx: Tx, fact: events.Event) -> bool:
    """Queue the leadership's notice of an escalation; False when the fact is none, or the
    department has no channel published."""
    escalation = leadership.escalation_of(fact)
    if escalation is None:
        return False
    url = await store.channel_url(tx, escalation.department)
    if url is None:
        return False
    body = {
        "type": "department.escalation",
        "appeal_id": str(escalation.subject),
        "event_id": str(escalation.id),
        "time": escalation.time.isoformat(),
        **leadership.notice(escalation),
    }
    await notifications.enqueue(
        tx,
        id=uuid4(),
        subscription_id=None,
        channel="leadership",
        appeal_id=escalation.subject,
        event_id=escalation.id,
        kind=KIND,
        url=url,
        body=json.dumps(body, ensure_ascii=False, separators=(",", ":"), sort_keys=True),
        created_at=datetime.now(UTC),
    )
    return True


async def settled(
    tx: Tx, delivery: dict[str, Any], *, error: str | None, attempts: int, now: datetime
) -> None:
    """The notice's delivery settled: its fact on the appeal's feedback stream."""
    appeal_id = delivery["appeal_id"]
    history = await tx.load(appeal_id)
    correlation = history[0].event.correlation_id if history else appeal_id
    await execute(
        tx,
        commands.FEEDBACK,
        appeal_id,
        lambda _, ctx: leadership.settled(
            appeal_id,
            cause_id=delivery["event_id"],
            correlation_id=correlation,
            notice=json.loads(delivery["body"]),
            delivery_id=delivery["id"],
            error=error,
            attempts=attempts,
            context=ctx,
        ),
        context=Context(commands.ACTOR, now, causation_id=delivery["event_id"]),
    )
