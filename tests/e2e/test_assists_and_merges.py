"""Over real Kafka and PostgreSQL: an assisting department is asked by its own deadline, sees
the order in its queue, contributes, and audit measures it apart from the lead; a merged
child's dissatisfied citizen sends the parent's work order back for a redo, the rating counts
for the department that handled the parent, and the child's Open311 status closes with it."""

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import httpx
import pytest

from services.cli import DEPARTMENT_SCOPES
from shared.workdays import HOTLINE_ZONE
from tests.e2e.conftest import Stack, running_stack
from tests.e2e.test_happy_path import APPEAL
from tests.e2e.test_open311 import seed_catalogue
from tests.e2e.test_work_order import OPERATOR_HEADERS, WorkOrders, _new_order
from tests.support import polling
from tests.support.processes import bearer

pytestmark = pytest.mark.e2e
WATER = bearer(*DEPARTMENT_SCOPES, department="water")
# Not departments other modules measure: each module's dispatch re-reads every topic.
HEATING = bearer(*DEPARTMENT_SCOPES, department="heating")
GAS = bearer(*DEPARTMENT_SCOPES, department="gas")


@pytest.fixture(scope="module")
async def stack(servers: None) -> AsyncIterator[Stack]:
    """The conftest stack with the demo catalogue, which Open311 describes requests by."""
    async with running_stack(prepare=lambda running: seed_catalogue(running.intake)) as running:
        yield running


async def _history(client: httpx.AsyncClient, stack: Stack, appeal_id: str) -> list[Any]:
    response = await client.get(
        f"{stack.audit.url}/v1/appeals/{appeal_id}/history", headers=OPERATOR_HEADERS
    )
    return list(response.json().get("facts", [])) if response.status_code == 200 else []


async def _fact(client: httpx.AsyncClient, stack: Stack, appeal_id: str, kind: str) -> Any:
    async def probe() -> Any:
        found = [f for f in await _history(client, stack, appeal_id) if f["type"] == kind]
        return found[-1] if found else None

    return await polling.until(probe, deadline_seconds=60, what=f"{kind} of {appeal_id}")


async def _row(client: httpx.AsyncClient, stack: Stack, department: str, ready: Any) -> Any:
    month = datetime.now(HOTLINE_ZONE).strftime("%Y-%m")

    async def probe() -> Any:
        body = (
            await client.get(
                f"{stack.audit.url}/v1/measures",
                params={"month": month, "evidence": "true", "limit": 200},
                headers=OPERATOR_HEADERS,
            )
        ).json()
        rows = [r for r in body["items"] if r["department"] == department]
        return rows[0] if rows and ready(rows[0]) else None

    return await polling.until(probe, deadline_seconds=60, what=f"{department}'s measures")


async def _queue(
    client: httpx.AsyncClient, stack: Stack, token: dict[str, str], **params: str
) -> set[str]:
    response = await client.get(
        f"{stack.dispatch.url}/v1/work-orders", params={"limit": 200, **params}, headers=token
    )
    assert response.status_code == 200, response.text
    return {item["appeal_id"] for item in response.json()["items"]}


async def test_an_assisting_department_has_its_own_deadline_queue_and_measure(
    stack: Stack,
) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        orders = await _new_order(client, stack)
        moved = await orders.act(
            "reassignment",
            {"department": "heating", "assisting": ["gas"], "reason": "供热管网施工导致停水"},
            OPERATOR_HEADERS,
        )
        [assist] = moved["assists"]
        assert (assist["department"], assist["state"]) == ("gas", "asked")
        assert assist["due"] <= moved["deadlines"]["handle_due"]

        # the ask is a fact with its own deadline and the versions that computed it
        asked = await _fact(client, stack, orders.appeal_id, "appeal.assist_requested")
        redispatched = await _fact(client, stack, orders.appeal_id, "appeal.redispatched")
        assert (asked["data"]["department"], asked["data"]["lead"]) == ("gas", "heating")
        for key in ("policy_version", "calendar"):
            assert asked["data"][key] == redispatched["data"]["deadlines"][key]

        # visible in the assisting department's queue, as assisting, not as lead
        assert orders.appeal_id in await _queue(client, stack, GAS)
        assert orders.appeal_id in await _queue(client, stack, GAS, role="assisting")
        assert orders.appeal_id not in await _queue(client, stack, GAS, role="lead")
        assert orders.appeal_id in await _queue(client, stack, HEATING, role="lead")
        assert orders.appeal_id not in await _queue(client, stack, WATER)

        contributed = await orders.act("assists", {"content": "燃气管线已核查，无泄漏"}, GAS)
        assert [(a["department"], a["state"]) for a in contributed["assists"]] == [
            ("gas", "contributed")
        ]
        fact = await _fact(client, stack, orders.appeal_id, "appeal.assist_contributed")

        # audit's queue as it stood: gas assisting heating, on the ask's own deadline
        queue = await client.get(
            f"{stack.audit.url}/v1/departments/gas/queue",
            params={"at": fact["recorded_at"]},
            headers=OPERATOR_HEADERS,
        )
        assert queue.status_code == 200, queue.text
        [shown] = [i for i in queue.json()["items"] if i["appeal_id"] == orders.appeal_id]
        assert (shown["role"], shown["department"]) == ("assisting", "heating")
        assert (shown["assist"]["state"], shown["assist"]["lead"]) == ("contributed", "heating")
        assert datetime.fromisoformat(shown["assist"]["due"]) == datetime.fromisoformat(
            asked["data"]["due"]
        )

        gas = await _row(
            client, stack, "gas", lambda r: fact["event_id"] in r["evidence"]["assists_on_time"]
        )
        assert asked["event_id"] in gas["evidence"]["assists_asked"]
        assert gas["assist_on_time_rate"] == 1.0
        heating = await _row(client, stack, "heating", lambda r: r["volume"] >= 1)
        assert asked["event_id"] not in heating["evidence"]["assists_asked"]  # the lead's apart


async def _merged_child(client: httpx.AsyncClient, stack: Stack, parent: str) -> str:
    child = await client.post(
        f"{stack.intake.url}/v1/appeals",
        json={
            **APPEAL,
            "citizen": {"name": "李四", "phone": "13800001111", "public_consent": True},
            "hold": True,
        },
        headers=OPERATOR_HEADERS,
    )
    assert child.status_code == 201, child.text
    child_id = child.json()["id"]
    url = f"{stack.intake.url}/v1/appeals/{child_id}"
    shown = await client.get(url, headers=OPERATOR_HEADERS)
    merged = await client.post(
        f"{url}/merge",
        json={"parent": parent, "reason": "同一小区停水"},
        headers={**OPERATOR_HEADERS, "If-Match": shown.headers["ETag"]},
    )
    assert merged.status_code == 200, merged.text
    return str(child_id)


async def _rate(client: httpx.AsyncClient, stack: Stack, appeal_id: str, body: Any) -> None:
    url = f"{stack.feedback.url}/v1/appeals/{appeal_id}/ratings"

    async def rated() -> bool | None:
        # feedback learns the merge from intake's topic and the approval from its own
        response = await client.post(url, json=body, headers=OPERATOR_HEADERS)
        assert response.status_code in (201, 409), response.text
        return True if response.status_code == 201 else None

    await polling.until(rated, deadline_seconds=90, what=f"a rating of {appeal_id}")


async def _round(orders: WorkOrders, round_: int) -> None:
    await orders.act("sign-for", {"person": "李工"}, WATER)
    await orders.feedback_when(lambda b: b["round"] == round_ and b["signed_for"])
    await orders.reply(WATER, f"第{round_}轮：已抢修")
    await orders.review("approved")


async def test_a_merged_childs_dissatisfaction_reaches_the_parent_and_it_closes_with_it(
    stack: Stack,
) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        orders = await _new_order(client, stack)
        child = await _merged_child(client, stack, orders.appeal_id)
        await _round(orders, 1)

        unsolved = {"satisfaction": "dissatisfied", "solved": False, "comment": "我家还是停水"}
        await _rate(client, stack, child, unsolved)
        redone = await orders.when(lambda b: b["round"] == 2 and b["stage"] == "assigned")
        assert redone["department"] == "water"
        redo = await _fact(client, stack, orders.appeal_id, "appeal.redo_ordered")
        # the citizen's words are sealed under their key: the reason is dispatch's own
        assert (
            redo["data"]["reason"]
            == "a merged appeal's caller: the citizen says the problem is not solved"
        )
        rated = await _fact(client, stack, child, "appeal.rated")
        assert (rated["data"]["merged_into"], rated["data"]["handled_by"]) == (
            orders.appeal_id,
            "water",
        )
        assert redo["causation_id"] == rated["event_id"]

        # counted for the department that handled the parent
        await _row(
            client, stack, "water", lambda r: rated["event_id"] in r["evidence"]["rated_by_merged"]
        )

        await _round(orders, 2)
        await _rate(client, stack, orders.appeal_id, {"satisfaction": "satisfied", "solved": True})
        await orders.when(lambda b: b["stage"] == "closed")

        async def closed() -> Any:
            got = await client.get(
                f"{stack.intake.url}/open311/v2/requests/{child}.json",
                params={"extensions": "true"},
            )
            [record] = got.json()
            return record if record["status"] == "closed" else None

        record = await polling.until(closed, deadline_seconds=60, what="the child to close")
        assert record["extended_attributes"]["extended_status"] == "closed"
        assert record["notes"][-1]["type"] == "appeal.closed"
        assert "Closed with request" in record["notes"][-1]["description"]
        shown = await client.get(f"{stack.intake.url}/v1/appeals/{child}", headers=OPERATOR_HEADERS)
        assert shown.json()["status"] == "closed"
