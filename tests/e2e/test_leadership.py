"""An escalation notifies the department's leadership channel, over real Kafka and HTTP: the
centre publishes each department's channel, escalates a water work order, and water's
leadership receiver (a real HTTP server here) gets a signed notice with no personal data,
recorded as `appeal.leadership_notified`; housing's channel keeps failing, and that is the
fact `appeal.leadership_notice_failed`, on the centre's list."""

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from feedback_service.settings import DEV_CHANNEL_SECRET
from services.cli import DEPARTMENT_SCOPES
from tests.e2e.conftest import Stack, running_stack
from tests.e2e.test_happy_path import APPEAL
from tests.e2e.test_notifications import signed_by
from tests.e2e.test_rounds import _one_round
from tests.e2e.test_work_order import OPERATOR_HEADERS, WorkOrders
from tests.support import polling
from tests.support.processes import bearer
from tests.support.webhook_receiver import Received, Receiver, free_port

pytestmark = pytest.mark.e2e
MAX_ATTEMPTS = 2


@pytest.fixture(scope="module")
async def leaders(servers: None) -> AsyncIterator[tuple[Stack, Receiver, Receiver]]:
    water, housing = Receiver(free_port()), Receiver(free_port(), status=503)
    feedback = {
        "HOTLINE_WEBHOOK_BACKOFF_SECONDS": "0.2",
        "HOTLINE_WEBHOOK_INTERVAL_SECONDS": "0.2",
        "HOTLINE_WEBHOOK_MAX_ATTEMPTS": str(MAX_ATTEMPTS),
    }
    await water.start()
    await housing.start()
    try:
        async with running_stack({"feedback": feedback}) as running:
            yield running, water, housing
    finally:
        await water.stop()
        await housing.stop()


async def _history_with(
    client: httpx.AsyncClient, stack: Stack, appeal_id: str, *wanted: tuple[str, str | None]
) -> list[dict[str, Any]]:
    """The appeal's history once audit holds a fact of each wanted (type, level): the
    cause (dispatch's topic) and the notice (feedback's) reach audit in either order."""
    url = f"{stack.audit.url}/v1/appeals/{appeal_id}/history"

    def holds(facts: list[dict[str, Any]], fact_type: str, level: str | None) -> bool:
        return any(
            f["type"] == fact_type and (level is None or f["data"].get("level") == level)
            for f in facts
        )

    async def probe() -> list[dict[str, Any]] | None:
        response = await client.get(url, headers=OPERATOR_HEADERS)
        if response.status_code != 200:
            return None
        facts = list(response.json()["facts"])
        return facts if all(holds(facts, t, level) for t, level in wanted) else None

    return await polling.until(probe, deadline_seconds=90, what=f"audit to record {wanted}")


def _about(received: Received, appeal_id: str) -> bool:
    return bool(json.loads(received.body)["appeal_id"] == appeal_id)


async def _supervise(orders: WorkOrders, level: str, note: str) -> None:
    await orders.act("supervision", {"level": level, "note": note}, OPERATOR_HEADERS)


async def test_an_escalation_reaches_the_leadership_and_a_failure_is_a_fact(
    leaders: tuple[Stack, Receiver, Receiver],
) -> None:
    stack, water_leaders, housing_leaders = leaders
    async with httpx.AsyncClient(timeout=10) as client:
        # The centre publishes each department's channel; a department may not.
        channels = f"{stack.feedback.url}/v1/departments/{{}}/leadership-channel"
        secrets: dict[str, str] = {}
        for department, receiver in (("water", water_leaders), ("housing", housing_leaders)):
            published = await client.put(
                channels.format(department), json={"url": receiver.url}, headers=OPERATOR_HEADERS
            )
            assert published.status_code == 200, published.text
            secrets[department] = published.json()["secret"]  # each channel its own
        assert secrets["water"] != secrets["housing"]
        not_a_url = await client.put(
            channels.format("water"), json={"url": "not a url"}, headers=OPERATOR_HEADERS
        )
        assert not_a_url.status_code == 422
        forbidden = await client.put(
            channels.format("water"),
            json={"url": "https://example.org/hook"},
            headers=bearer(*DEPARTMENT_SCOPES, department="water"),
        )
        assert forbidden.status_code == 403
        listed_channels = await client.get(
            f"{stack.feedback.url}/v1/leadership-channels", headers=OPERATOR_HEADERS
        )
        assert all("secret" not in c for c in listed_channels.json()["items"])  # shown once
        assert [(c["department"], c["url"]) for c in listed_channels.json()["items"]] == [
            ("housing", housing_leaders.url),
            ("water", water_leaders.url),
        ]

        created = await client.post(
            f"{stack.intake.url}/v1/appeals", json=APPEAL, headers=OPERATOR_HEADERS
        )
        assert created.status_code == 201, created.text
        orders = WorkOrders(client, stack, created.json()["id"])
        await orders.when(lambda b: b["stage"] == "assigned" and b["department"] == "water")
        await orders.act(
            "sign-for", {"person": "李工"}, bearer(*DEPARTMENT_SCOPES, department="water")
        )

        # A reminder is no escalation: the leadership hears only of the escalation.
        await _supervise(orders, "reminder", "请尽快办理")
        await _supervise(orders, "escalation", "逾期未办结，提级督办")
        facts = await _history_with(
            client,
            stack,
            orders.appeal_id,
            ("appeal.supervised", "escalation"),
            ("appeal.leadership_notified", None),
        )
        [supervised] = [
            f
            for f in facts
            if f["type"] == "appeal.supervised" and f["data"]["level"] == "escalation"
        ]
        [notified] = [f for f in facts if f["type"] == "appeal.leadership_notified"]
        assert notified["causation_id"] == supervised["event_id"]
        assert notified["data"]["department"] == "water"
        assert notified["data"]["escalation"] == "appeal.supervised"

        # earlier modules' appeals, read again from offset 0, may notify too: this one's only
        [received] = [r for r in water_leaders.unique.values() if _about(r, orders.appeal_id)]
        assert signed_by(received, secrets["water"])
        # not with the citizens' channel secret, nor another department's channel's
        assert not signed_by(received, DEV_CHANNEL_SECRET)
        assert not signed_by(received, secrets["housing"])
        assert (
            received.headers["webhook-id"]
            == f"msg_{notified['data']['delivery_id'].replace('-', '')}"
        )
        notice = json.loads(received.body)
        assert notice["type"] == "department.escalation"
        assert (notice["appeal_id"], notice["department"]) == (orders.appeal_id, "water")
        assert notice["reason"] == "逾期未办结，提级督办"
        # the citizen stays with intake: neither name nor phone reaches the leadership
        assert "张三" not in received.body.decode()
        assert "13800138000" not in received.body.decode()

        # housing's leadership channel answers 503 every time: a failure, for the centre.
        # (housing: a department no other module measures; later modules' audit reads this.)
        await orders.act(
            "reassignment", {"department": "housing", "reason": "改派住建部门"}, OPERATOR_HEADERS
        )
        await _supervise(orders, "escalation", "住建部门逾期，提级督办")
        facts = await _history_with(
            client, stack, orders.appeal_id, ("appeal.leadership_notice_failed", None)
        )
        [failed] = [f for f in facts if f["type"] == "appeal.leadership_notice_failed"]
        assert failed["data"]["department"] == "housing"
        assert (failed["data"]["attempts"], failed["data"]["error"]) == (MAX_ATTEMPTS, "HTTP 503")
        attempts = [r for r in housing_leaders.requests if _about(r, orders.appeal_id)]
        assert len(attempts) == MAX_ATTEMPTS

        listed = await client.get(
            f"{stack.feedback.url}/v1/leadership-notice-failures", headers=OPERATOR_HEADERS
        )
        [listed_failure] = [d for d in listed.json()["items"] if d["appeal_id"] == orders.appeal_id]
        assert (listed_failure["kind"], listed_failure["last_error"]) == (
            "leadership_escalation",
            "HTTP 503",
        )
        # not a citizen to call back: the citizens' list stays clear of it
        citizens = await client.get(
            f"{stack.feedback.url}/v1/notice-failures", headers=OPERATOR_HEADERS
        )
        assert all(d["kind"] != "leadership_escalation" for d in citizens.json()["items"])
        # a department never reads the centre's list
        refused = await client.get(
            f"{stack.feedback.url}/v1/leadership-notice-failures",
            headers=bearer(*DEPARTMENT_SCOPES, department="housing"),
        )
        assert refused.status_code == 403


async def test_an_appeal_escalated_past_its_redo_rounds_reaches_the_leadership(
    leaders: tuple[Stack, Receiver, Receiver],
) -> None:
    stack, water_leaders, _ = leaders
    water = bearer(*DEPARTMENT_SCOPES, department="water")
    base = f"{stack.dispatch.url}/v1"
    async with httpx.AsyncClient(timeout=10) as client:
        published = await client.put(
            f"{stack.feedback.url}/v1/departments/water/leadership-channel",
            json={"url": water_leaders.url},
            headers=OPERATOR_HEADERS,
        )
        assert published.status_code == 200, published.text
        # No redo at all: the first unsolved rating escalates to the centre.
        policy = (await client.get(f"{base}/sla-policy", headers=OPERATOR_HEADERS)).json()
        no_redo = {
            k: v for k, v in policy.items() if k not in ("version", "calendar", "effective_from")
        } | {"max_redo_rounds": 0}
        renewed = await client.put(f"{base}/sla-policy", json=no_redo, headers=OPERATOR_HEADERS)
        assert renewed.status_code == 200, renewed.text

        created = await client.post(
            f"{stack.intake.url}/v1/appeals", json=APPEAL, headers=OPERATOR_HEADERS
        )
        assert created.status_code == 201, created.text
        orders = WorkOrders(client, stack, created.json()["id"])
        await orders.when(lambda b: b["stage"] == "assigned")
        await _one_round(orders, water, 1)
        rated = await client.post(
            f"{stack.feedback.url}/v1/appeals/{orders.appeal_id}/ratings",
            json={"satisfaction": "dissatisfied", "solved": False, "comment": "还是停水"},
            headers=OPERATOR_HEADERS,
        )
        assert rated.status_code == 201, rated.text
        facts = await _history_with(
            client,
            stack,
            orders.appeal_id,
            ("appeal.escalated_to_centre", None),
            ("appeal.leadership_notified", None),
        )
    [escalated] = [f for f in facts if f["type"] == "appeal.escalated_to_centre"]
    [notified] = [f for f in facts if f["type"] == "appeal.leadership_notified"]
    assert notified["causation_id"] == escalated["event_id"]
    assert notified["data"]["escalation"] == "appeal.escalated_to_centre"
    [received] = [r for r in water_leaders.unique.values() if _about(r, orders.appeal_id)]
    # the citizen's comment is sealed under their key: leadership gets dispatch's own reason
    assert json.loads(received.body)["reason"] == "the citizen is still not served after every redo"
