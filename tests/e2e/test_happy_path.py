"""The whole loop over HTTP, real Kafka and real PostgreSQL: intake → dispatch → feedback →
audit, with the department boundary and idempotency enforced on the way."""

import json
from typing import Any

import httpx
import pytest

from services.cli import DEPARTMENT_SCOPES
from tests.e2e.conftest import Stack
from tests.support import infra, polling, processes
from tests.support.processes import OPERATOR, bearer

pytestmark = pytest.mark.e2e
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

APPEAL = {
    "channel": "phone",
    "appeal_type": "complaint",
    "category": "water.outage",
    "content": "幸福小区3号楼停水两天，无人处理",
    "urgency": "normal",
    "citizen": {"name": "张三", "phone": "13800138000"},
    "location": {"address": "东城区幸福路1号", "district": "east"},
}


async def _get_when(
    client: httpx.AsyncClient, url: str, headers: dict[str, str], ready: Any = None
) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        response = await client.get(url, headers=headers)
        if response.status_code != 200:
            return None
        body = response.json()
        return dict(body) if ready is None or ready(body) else None

    return await polling.until(probe, what=url)


async def test_an_appeal_travels_the_whole_loop(stack: Stack) -> None:
    operator = bearer(*OPERATOR)
    water = bearer(*DEPARTMENT_SCOPES, department="water")
    power = bearer(*DEPARTMENT_SCOPES, department="power")
    async with httpx.AsyncClient(timeout=10) as client:
        # 1. intake stores the appeal and forwards it: appeal.received, appeal.forwarded
        created = await client.post(
            f"{stack.intake.url}/v1/appeals",
            json=APPEAL,
            headers={**operator, "Idempotency-Key": "happy-1", "traceparent": TRACEPARENT},
        )
        assert created.status_code == 201, created.text
        appeal_id = created.json()["id"]
        assert created.headers["location"] == f"/v1/appeals/{appeal_id}"

        # 2. dispatch routes it by category to the water authority
        order = await _get_when(client, f"{stack.dispatch.url}/v1/work-orders/{appeal_id}", water)
        assert (order["department"], order["stage"]) == ("water", "assigned")
        hidden = await client.get(f"{stack.dispatch.url}/v1/work-orders/{appeal_id}", headers=power)
        assert hidden.status_code == 404  # another department does not see it

        # 3. the holding department signs for it and replies; another department is refused
        signed = await client.post(
            f"{stack.dispatch.url}/v1/work-orders/{appeal_id}/sign-for",
            json={"person": "李工"},
            headers={**water, "If-Match": f'"{order["version"]}"'},
        )
        assert signed.status_code == 200, signed.text
        await _get_when(
            client,
            f"{stack.feedback.url}/v1/appeals/{appeal_id}/feedback",
            operator,
            ready=lambda body: body["holder"] == "water" and body["signed_for"],
        )
        reply = {"result": "solved", "reply": "已更换破损供水管道，恢复供水"}
        refused = await client.post(
            f"{stack.feedback.url}/v1/appeals/{appeal_id}/replies", json=reply, headers=power
        )
        assert refused.status_code == 404  # not power's to see, let alone answer
        assert refused.headers["content-type"] == "application/problem+json"
        handled = await client.post(
            f"{stack.feedback.url}/v1/appeals/{appeal_id}/replies", json=reply, headers=water
        )
        assert handled.status_code == 201, handled.text

        # 4. the hotline centre approves the reply; then the citizen's rating
        reviewed = await client.post(
            f"{stack.feedback.url}/v1/appeals/{appeal_id}/reviews",
            json={"decision": "approved"},
            headers=operator,
        )
        assert reviewed.status_code == 201, reviewed.text
        rated = await client.post(
            f"{stack.feedback.url}/v1/appeals/{appeal_id}/ratings",
            json={"satisfaction": "satisfied", "solved": True},
            headers=operator,
        )
        assert rated.status_code == 201, rated.text

        # 5. audit shows every fact in causal order, with actors, times and verified chains
        history = await _get_when(
            client,
            f"{stack.audit.url}/v1/appeals/{appeal_id}/history",
            operator,
            ready=lambda body: len(body["facts"]) == 8,
        )
        assert [f["type"] for f in history["facts"]] == [
            "appeal.received",
            "appeal.forwarded",
            "appeal.assigned",
            "appeal.signed_for",
            "appeal.handled",
            "appeal.reply_reviewed",
            "appeal.rated",
            "appeal.closed",
        ]
        assert [f["actor"] for f in history["facts"]] == [
            "operator:test",
            "operator:test",
            "service:dispatch",
            "department:water",
            "department:water",
            "operator:test",
            "operator:test",
            "service:dispatch",
        ]
        assert all(f["time"] and f["recorded_at"] for f in history["facts"])
        assert history["verified"] is True
        # the citizen's phone is sealed in the fact: without audit:personal-data it stays so
        assert history["facts"][0]["data"]["citizen"].get("phone") is None
        assert "13800138000" not in json.dumps(history, ensure_ascii=False)
        auditor = bearer("audit:read", "audit:personal-data")
        unmasked = await client.get(
            f"{stack.audit.url}/v1/appeals/{appeal_id}/history", headers=auditor
        )
        opened = unmasked.json()["facts"][0]["data"]["personal_data"]
        assert (opened["phone"], opened["state"]) == ("13800138000", "shown")
        assert {c["source"]: c["length"] for c in history["chains"]} == {
            "intake": 2,
            "dispatch": 3,
            "feedback": 3,
        }

        # intake projects the status from the other services' facts
        appeal = await _get_when(
            client,
            f"{stack.intake.url}/v1/appeals/{appeal_id}",
            operator,
            ready=lambda body: body["status"] == "closed",
        )
        assert appeal["content"] == APPEAL["content"]

    # One trace id follows the appeal from the HTTP request through dispatch's reaction.
    [(traceparent,)] = await infra.query(
        processes.database_url(stack.dispatch),
        "SELECT traceparent FROM events WHERE type = 'appeal.assigned' AND stream_id = :s",
        s=appeal_id,
    )
    assert isinstance(traceparent, str)
    assert traceparent.split("-")[1] == TRACEPARENT.split("-")[1]


async def test_an_idempotency_key_returns_the_first_response_or_422(stack: Stack) -> None:
    headers = {**bearer(*OPERATOR), "Idempotency-Key": "retry-me"}
    async with httpx.AsyncClient(timeout=10) as client:
        first = await client.post(f"{stack.intake.url}/v1/appeals", json=APPEAL, headers=headers)
        again = await client.post(f"{stack.intake.url}/v1/appeals", json=APPEAL, headers=headers)
        changed = await client.post(
            f"{stack.intake.url}/v1/appeals",
            json={**APPEAL, "content": "另一件事"},
            headers=headers,
        )
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert changed.status_code == 422
    assert "Idempotency-Key" in changed.json()["detail"]


async def test_bad_input_gets_a_problem_naming_the_field(stack: Stack) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.post(
            f"{stack.intake.url}/v1/appeals",
            headers=bearer(*OPERATOR),
            json={**APPEAL, "appeal_type": "gossip", "citizen": {"phone": "call me"}},
        )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"body.appeal_type", "body.citizen.phone"}


async def test_requests_without_a_valid_token_are_refused(stack: Stack) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        missing = await client.post(f"{stack.intake.url}/v1/appeals", json=APPEAL)
        wrong_scope = await client.post(
            f"{stack.intake.url}/v1/appeals", json=APPEAL, headers=bearer("appeals:read")
        )
        forged = await client.post(
            f"{stack.intake.url}/v1/appeals",
            json=APPEAL,
            headers={"Authorization": "Bearer not.a.jwt"},
        )
    assert (missing.status_code, wrong_scope.status_code, forged.status_code) == (401, 403, 401)
    assert missing.headers["www-authenticate"] == "Bearer"


async def test_health_and_metrics(stack: Stack) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        for service in stack.all:
            assert (await client.get(f"{service.url}/livez")).status_code == 200
            ready = await client.get(f"{service.url}/readyz")
            assert ready.status_code == 200, ready.text
            assert ready.json()["checks"]["migrations_applied"] is True
        metrics = await client.get(f"{stack.intake.url}/metrics")
    assert "hotline_outbox_published_total" in metrics.text
