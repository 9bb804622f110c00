"""Notifications over real Kafka and HTTP: a partner subscribed to the appeals it files is
told of every status change, signed per Standard Webhooks, even though its receiver was
down while the appeal moved on; the citizen's channel is told of the approved extension and
of the approved reply, with a rating link the citizen then uses."""

import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from feedback_service.settings import DEV_CHANNEL_SECRET
from services.catalog import SERVICES
from services.cli import DEPARTMENT_SCOPES
from shared.runtime import auth
from tests.e2e.conftest import Stack, running_stack
from tests.e2e.test_happy_path import APPEAL
from tests.e2e.test_work_order import OPERATOR_HEADERS, WorkOrders
from tests.support import polling
from tests.support.processes import bearer
from tests.support.webhook_receiver import Received, Receiver, free_port

pytestmark = pytest.mark.e2e


def _partner_token() -> dict[str, str]:
    settings = SERVICES["intake"].settings(database_url="postgresql+asyncpg://x/y")
    token = auth.mint(
        settings,
        subject="partner:demo",
        scopes=["appeals:write", "appeals:read", "subscriptions:write"],
    )
    return {"Authorization": f"Bearer {token}"}


def signed_by(received: Received, secret: str) -> bool:
    """The receiver's own check, from the Standard Webhooks spec."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    h = received.headers
    content = f"{h['webhook-id']}.{h['webhook-timestamp']}.".encode() + received.body
    digest = base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()
    return f"v1,{digest}" in h["webhook-signature"].split()


@pytest.fixture(scope="module")
async def notifying(servers: None) -> AsyncIterator[tuple[Stack, Receiver, Receiver]]:
    partner, citizen = Receiver(free_port()), Receiver(free_port())
    fast = {
        "HOTLINE_CITIZEN_CHANNEL_URLS": json.dumps({"app": citizen.url}),
        "HOTLINE_WEBHOOK_BACKOFF_SECONDS": "0.5",
        "HOTLINE_WEBHOOK_INTERVAL_SECONDS": "0.2",
        "HOTLINE_WEBHOOK_MAX_ATTEMPTS": "20",
    }
    await citizen.start()
    try:
        async with running_stack({"feedback": fast}) as running:
            yield running, partner, citizen
    finally:
        await partner.stop()
        await citizen.stop()


async def test_partners_and_citizens_are_notified_and_a_down_receiver_blocks_nothing(
    notifying: tuple[Stack, Receiver, Receiver],
) -> None:
    stack, partner, citizen = notifying
    partner_headers = _partner_token()
    water = bearer(*DEPARTMENT_SCOPES, department="water")
    async with httpx.AsyncClient(timeout=10) as client:
        subscribed = await client.post(
            f"{stack.feedback.url}/v1/subscriptions",
            json={"url": partner.url},
            headers=partner_headers,
        )
        assert subscribed.status_code == 201, subscribed.text
        subscription = subscribed.json()
        assert subscription["secret"].startswith("whsec_")
        listed = await client.get(f"{stack.feedback.url}/v1/subscriptions", headers=partner_headers)
        assert [s["id"] for s in listed.json()["items"]] == [subscription["id"]]
        assert "secret" not in listed.json()["items"][0]
        # The list is paged: a full page names the next one, in the body and a Link header;
        # a cursor the API did not issue is a 400 problem.
        first = await client.get(
            f"{stack.feedback.url}/v1/subscriptions", params={"limit": 1}, headers=partner_headers
        )
        assert first.json()["next"] is not None
        assert first.headers["link"].endswith('rel="next"')
        rest = await client.get(
            f"{stack.feedback.url}/v1/subscriptions",
            params={"limit": 1, "cursor": first.json()["next"]},
            headers=partner_headers,
        )
        assert rest.json() == {"items": [], "next": None}
        forged = await client.get(
            f"{stack.feedback.url}/v1/subscriptions",
            params={"cursor": "WzEsICJ4Il0"},
            headers=partner_headers,
        )
        assert forged.status_code == 400, forged.text

        # The partner files an appeal from its app; its receiver is down all along.
        created = await client.post(
            f"{stack.intake.url}/v1/appeals",
            json={**APPEAL, "channel": "app"},
            headers=partner_headers,
        )
        assert created.status_code == 201, created.text
        orders = WorkOrders(client, stack, created.json()["id"])
        await orders.when(lambda b: b["stage"] == "assigned")
        await orders.act("sign-for", {"person": "李工"}, water)
        await orders.act(
            "extensions",
            {"working_days": 3, "reason": "需更换主管道", "legal_basis": "《办理规定》第十条"},
            water,
        )
        await orders.act(
            "extensions/decision", {"approve": True, "reasoning": "理由充分"}, OPERATOR_HEADERS
        )
        await orders.feedback_when(lambda b: b["signed_for"])
        await orders.reply(water, "已更换主管道，恢复供水")
        await orders.review("approved")

        # The citizen's channel hears of the extension and of the reply, with a rating link.
        async def notices() -> dict[str, Any] | None:
            kinds = {json.loads(r.body)["kind"]: json.loads(r.body) for r in citizen.requests}
            return kinds if {"extension_approved", "reply_approved"} <= set(kinds) else None

        told = await polling.until(notices, what="the citizen's notices")
        citizen_secret = DEV_CHANNEL_SECRET  # the stack's: no HOTLINE_CITIZEN_CHANNEL_SECRET
        assert all(signed_by(r, citizen_secret) for r in citizen.requests)
        assert "需更换主管道" in told["extension_approved"]["message"]
        reply_notice = told["reply_approved"]
        assert (reply_notice["reply"], reply_notice["phone"]) == (
            "已更换主管道，恢复供水",
            "13800138000",
        )
        token = reply_notice["rating_link"].rsplit("/", 1)[1]
        rated = await client.post(
            f"{stack.feedback.url}/v1/rating-links/{token}",
            json={"satisfaction": "satisfied", "solved": True},
        )
        assert rated.status_code == 201, rated.text
        await orders.when(lambda b: b["stage"] == "closed")  # the down receiver held nothing up

        # Up again, the partner receives every status change, each signed with its secret.
        deliveries_url = f"{stack.feedback.url}/v1/subscriptions/{subscription['id']}/deliveries"
        pending = (await client.get(deliveries_url, headers=partner_headers)).json()["items"]
        assert pending
        assert {d["status"] for d in pending} == {"pending"}
        assert any(d["attempts"] >= 1 for d in pending)
        # The partner learns pending, delivered or failed: never what its URL answered.
        assert {(d["last_status_code"], d["last_error"]) for d in pending} == {(None, None)}
        await partner.start()

        async def all_delivered() -> list[dict[str, Any]] | None:
            items = (await client.get(deliveries_url, headers=partner_headers)).json()["items"]
            facts = {d["status"] for d in items}
            closed = any(json.loads(r.body)["fact"] == "appeal.closed" for r in partner.requests)
            return list(items) if closed and facts == {"delivered"} else None

        delivered = await polling.until(all_delivered, deadline_seconds=60, what="deliveries")
        shown = await client.get(
            f"{stack.feedback.url}/v1/appeals/{orders.appeal_id}/notifications",
            headers=OPERATOR_HEADERS,
        )
        assert {n["kind"] for n in shown.json()["items"]} >= {
            "status",
            "extension_approved",
            "reply_approved",
        }
        history_url = f"{stack.audit.url}/v1/appeals/{orders.appeal_id}/history"

        async def audited() -> list[dict[str, Any]] | None:
            body = (await client.get(history_url, headers=OPERATOR_HEADERS)).json()
            facts = body.get("facts", [])
            told = [f for f in facts if f["type"] == "appeal.citizen_notified"]
            return told if len(told) == 2 else None

        notified = await polling.until(audited, what="audit to hold both notices")
    # In the order feedback learned of them: the extension may reach it after the reply.
    by_kind = {n["data"]["kind"]: n["data"] for n in notified}
    assert set(by_kind) == {"extension_approved", "reply_approved"}
    assert by_kind["reply_approved"]["message"] == reply_notice["message"]
    assert by_kind["extension_approved"]["message"] == told["extension_approved"]["message"]
    assert all(signed_by(r, subscription["secret"]) for r in partner.requests)
    facts = [json.loads(r.body)["fact"] for r in partner.unique.values()]
    # appeal.assigned too, unless dispatch's fact reached feedback before intake's did
    assert set(facts) >= {
        "appeal.signed_for",
        "appeal.extension_approved",
        "appeal.handled",
        "appeal.reply_reviewed",
        "appeal.rated",
        "appeal.closed",
    }
    assert len(partner.unique) == len(delivered)
    assert {d["webhook_id"] for d in delivered} == set(partner.unique)
