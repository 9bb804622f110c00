"""An escalation notifies the department's leadership channel: which facts do, what the
notice says (never who the citizen is), the fact its delivery settles into, and that a
leadership channel at a private address is refused where private targets are not allowed."""

from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import httpx

from feedback_service import sender
from feedback_service.domain import leadership
from feedback_service.settings import FeedbackSettings
from feedback_service.store import notifications
from shared import events
from shared.decisions import Context

NOW = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
APPEAL = uuid4()


def supervised(level: str) -> events.Supervised:
    return events.Supervised(
        id=uuid4(),
        subject=APPEAL,
        time=NOW,
        actor="operator:wang",
        correlation_id=APPEAL,
        department="water",
        level=level,
        note="逾期未办结，提级督办",
    )


def escalated() -> events.EscalatedToCentre:
    return events.EscalatedToCentre(
        id=uuid4(),
        subject=APPEAL,
        time=NOW,
        actor="service:dispatch",
        correlation_id=APPEAL,
        department="water",
        round=3,
        redo_rounds=2,
        reason="还是停水",
    )


def test_only_escalations_reach_the_leadership() -> None:
    assert leadership.escalation_of(supervised("reminder")) is None
    assert leadership.escalation_of(supervised("supervision")) is None
    up = supervised("escalation")
    assert leadership.escalation_of(up) is up
    redo = escalated()
    assert leadership.escalation_of(redo) is redo
    # the store's filter and the domain name the same kind
    assert notifications.LEADERSHIP_KIND == leadership.KIND


def test_the_notice_names_the_escalation_and_its_reason() -> None:
    redo = leadership.notice(escalated())
    assert redo["escalation"] == "appeal.escalated_to_centre"
    assert redo["department"] == "water"
    assert "2次重办" in redo["message"]
    assert "还是停水" in redo["message"]
    up = leadership.notice(supervised("escalation"))
    assert (up["escalation"], up["reason"]) == ("appeal.supervised", "逾期未办结，提级督办")


def test_a_settled_delivery_is_a_fact_either_way() -> None:
    cause = supervised("escalation")
    notice, delivery_id = leadership.notice(cause), uuid4()

    def settle(error: str | None) -> events.Event:
        [fact] = leadership.settled(
            APPEAL,
            cause_id=cause.id,
            correlation_id=APPEAL,
            notice=notice,
            delivery_id=delivery_id,
            error=error,
            attempts=3,
            context=Context(actor="service:feedback", now=NOW, new_id=uuid4),
        )
        return fact

    notified = settle(None)
    assert isinstance(notified, events.LeadershipNotified)
    assert (notified.department, notified.delivery_id, notified.causation_id) == (
        "water",
        delivery_id,
        cause.id,
    )
    failed = settle("HTTP 503")
    assert isinstance(failed, events.LeadershipNoticeFailed)
    assert (failed.attempts, failed.error, failed.escalation) == (3, "HTTP 503", cause.type)


def _delivery(url: str) -> dict[str, Any]:
    return {
        "id": uuid4(),
        "subscription_id": None,
        "kind": leadership.KIND,
        "url": url,
        "body": "{}",
    }


async def test_a_leadership_channel_at_a_private_address_is_refused_in_production() -> None:
    production = FeedbackSettings(
        environment="production",
        jwt_jwks_url="https://idp.example/jwks",
    )
    async with httpx.AsyncClient() as client:
        refused = await sender._post(
            client, _delivery("http://10.0.0.7/hook"), "whsec_a2V5", NOW, settings=production
        )
    assert refused == (None, "target refused: not a public address")
