"""A work order's whole life over HTTP and real Kafka: bounced, arbitrated, redispatched,
extended, handled, redone and closed, with audit showing every step."""

import asyncio
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from services.cli import DEPARTMENT_SCOPES
from tests.e2e.conftest import Stack
from tests.e2e.test_happy_path import APPEAL
from tests.support import polling
from tests.support.processes import OPERATOR, bearer

pytestmark = pytest.mark.e2e
OPERATOR_HEADERS = bearer(*OPERATOR)


class WorkOrders:
    def __init__(self, client: httpx.AsyncClient, stack: Stack, appeal_id: str) -> None:
        self.client, self.stack, self.appeal_id = client, stack, appeal_id
        self.url = f"{stack.dispatch.url}/v1/work-orders/{appeal_id}"

    async def get(self, headers: dict[str, str] = OPERATOR_HEADERS) -> httpx.Response:
        return await self.client.get(self.url, headers=headers)

    async def when(self, ready: Any) -> dict[str, Any]:
        async def probe() -> dict[str, Any] | None:
            response = await self.get()
            body = response.json() if response.status_code == 200 else None
            return dict(body) if body is not None and ready(body) else None

        return await polling.until(probe, what=f"work order {self.appeal_id}")

    async def act(
        self,
        path: str,
        body: dict[str, Any],
        headers: dict[str, str],
        version: int | None = None,
        status: int = 200,
    ) -> dict[str, Any]:
        if version is None:
            version = (await self.get()).json()["version"]
        response = await self.client.post(
            f"{self.url}/{path}", json=body, headers={**headers, "If-Match": f'"{version}"'}
        )
        assert response.status_code == status, response.text
        return dict(response.json())

    async def feedback_when(self, ready: Any) -> dict[str, Any]:
        url = f"{self.stack.feedback.url}/v1/appeals/{self.appeal_id}/feedback"

        async def probe() -> dict[str, Any] | None:
            body = (await self.client.get(url, headers=OPERATOR_HEADERS)).json()
            return dict(body) if ready(body) else None

        # feedback learns holders from dispatch's topic: slower than 30 s on a loaded box
        return await polling.until(probe, deadline_seconds=90, what="feedback to learn the holder")

    async def reply(self, department: dict[str, str], text: str) -> None:
        response = await self.client.post(
            f"{self.stack.feedback.url}/v1/appeals/{self.appeal_id}/replies",
            json={"result": "solved", "reply": text},
            headers=department,
        )
        assert response.status_code == 201, response.text

    async def review(
        self, decision: str, reason: str | None = None, status: int = 201
    ) -> dict[str, Any]:
        """The hotline centre approves the round's reply, or sends it back with a reason."""
        response = await self.client.post(
            f"{self.stack.feedback.url}/v1/appeals/{self.appeal_id}/reviews",
            json={"decision": decision, "reason": reason},
            headers=OPERATOR_HEADERS,
        )
        assert response.status_code == status, response.text
        return dict(response.json())

    async def callback(self, body: dict[str, Any], status: int = 201) -> dict[str, Any]:
        response = await self.client.post(
            f"{self.stack.feedback.url}/v1/appeals/{self.appeal_id}/callbacks",
            json=body,
            headers=OPERATOR_HEADERS,
        )
        assert response.status_code == status, response.text
        return dict(response.json())

    async def rate(self, satisfaction: str) -> None:
        response = await self.client.post(
            f"{self.stack.feedback.url}/v1/appeals/{self.appeal_id}/ratings",
            json={"satisfaction": satisfaction, "solved": satisfaction != "dissatisfied"},
            headers=OPERATOR_HEADERS,
        )
        assert response.status_code == 201, response.text


async def _new_order(client: httpx.AsyncClient, stack: Stack) -> WorkOrders:
    created = await client.post(
        f"{stack.intake.url}/v1/appeals", json=APPEAL, headers=OPERATOR_HEADERS
    )
    assert created.status_code == 201, created.text
    orders = WorkOrders(client, stack, created.json()["id"])
    await orders.when(lambda body: body["stage"] == "assigned")
    return orders


async def test_returned_redispatched_extended_redone_and_closed(stack: Stack) -> None:
    water = bearer(*DEPARTMENT_SCOPES, department="water")
    power = bearer(*DEPARTMENT_SCOPES, department="power")
    async with httpx.AsyncClient(timeout=10) as client:
        orders = await _new_order(client, stack)

        returned = await orders.act(
            "returns",
            {
                "reason_code": "not-our-duty",
                "legal_basis": "《城镇供水条例》第二条",
                "explanation": "小区停水系供电故障导致水泵停运",
            },
            water,
        )
        assert returned["stage"] == "return_requested"
        redispatched = await orders.act(
            "returns/decision",
            {"approve": True, "department": "power", "reasoning": "经核实为供电故障"},
            OPERATOR_HEADERS,
        )
        assert (redispatched["department"], redispatched["stage"]) == ("power", "assigned")
        assert (await orders.get(water)).status_code == 404  # water no longer sees it

        await orders.act("sign-for", {"person": "赵工"}, power)
        await orders.act(
            "extensions",
            {"working_days": 3, "reason": "需更换变压器", "legal_basis": "《办理规定》第十条"},
            power,
        )
        extended = await orders.act(
            "extensions/decision", {"approve": True, "reasoning": "理由充分"}, OPERATOR_HEADERS
        )
        assert extended["pending_extension_days"] is None

        await orders.feedback_when(lambda b: b["holder"] == "power" and b["signed_for"])
        await orders.reply(power, "已抢修变压器，恢复供电供水")
        await orders.review("approved")
        await orders.rate("dissatisfied")

        redo = await orders.when(lambda body: body["round"] == 2)
        assert (redo["department"], redo["stage"]) == ("power", "assigned")
        await orders.act("sign-for", {"person": "赵工"}, power)
        await orders.feedback_when(lambda b: b["round"] == 2 and b["signed_for"])
        await orders.reply(power, "已更换水泵电源线路并回访确认")
        await orders.review("approved")
        await orders.rate("satisfied")
        closed = await orders.when(lambda body: body["stage"] == "closed")
        assert closed["round"] == 2

        history_url = f"{stack.audit.url}/v1/appeals/{orders.appeal_id}/history"

        async def full_history() -> dict[str, Any] | None:
            body = (await client.get(history_url, headers=OPERATOR_HEADERS)).json()
            return dict(body) if len(body.get("facts", [])) == 18 else None

        history = await polling.until(full_history, what="audit to hold all 18 facts")
    assert [f["type"].removeprefix("appeal.") for f in history["facts"]] == [
        "received",
        "forwarded",
        "assigned",
        "return_requested",
        "return_approved",
        "redispatched",
        "signed_for",
        "extension_requested",
        "extension_approved",
        "handled",
        "reply_reviewed",
        "rated",
        "redo_ordered",
        "signed_for",
        "handled",
        "reply_reviewed",
        "rated",
        "closed",
    ]
    assert history["verified"] is True
    bounced = history["buck_passing"]
    assert (bounced["departments"], bounced["returns_approved"]) == (["water", "power"], 1)
    assert bounced["ownerless_seconds"] > 0
    assert [f["actor"] for f in history["facts"]][3:7] == [
        "department:water",
        "operator:test",
        "operator:test",
        "department:power",
    ]

    # The month's measures, from facts alone: power's one order was redone once.
    month = datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
    async with httpx.AsyncClient(timeout=10) as client:
        measured = (
            await client.get(
                f"{stack.audit.url}/v1/measures",
                headers=OPERATOR_HEADERS,
                params={"month": month, "evidence": "true"},
            )
        ).json()
    row = next(row for row in measured["items"] if row["department"] == "power")
    assert (row["volume"], row["redo_rate"], row["satisfaction_rate"]) == (1, 0.5, 0.5)
    assert row["on_time_completion_rate"] == 1.0
    assert len(row["evidence"]["redos"]) == 1


async def test_commands_check_the_version_they_expect(stack: Stack) -> None:
    water = bearer(*DEPARTMENT_SCOPES, department="water")
    async with httpx.AsyncClient(timeout=10) as client:
        orders = await _new_order(client, stack)
        missing = await client.post(
            f"{orders.url}/sign-for", json={"person": "李工"}, headers=water
        )
        assert missing.status_code == 428
        await orders.act("sign-for", {"person": "李工"}, water, version=99, status=412)
        await orders.act("sign-for", {"person": "李工"}, water)
        again = await orders.act("sign-for", {"person": "李工"}, water, status=409)
        assert "not awaiting sign-for" in again["detail"]
        etag = (await orders.get()).headers["etag"]
        assert etag == '"2.0"'  # version 2; no reply learnt yet


async def test_two_operators_redispatching_at_once_one_wins_one_gets_412(stack: Stack) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        orders = await _new_order(client, stack)
        version = (await orders.get()).json()["version"]
        outcomes = await asyncio.gather(
            *(
                client.post(
                    f"{orders.url}/reassignment",
                    json={"department": department, "reason": "人工改派"},
                    headers={**OPERATOR_HEADERS, "If-Match": f'"{version}"'},
                )
                for department in ("housing", "power")
            )
        )
    assert sorted(r.status_code for r in outcomes) == [200, 412]


async def test_a_department_queue_lists_its_own_open_orders(stack: Stack) -> None:
    water = bearer(*DEPARTMENT_SCOPES, department="water")
    async with httpx.AsyncClient(timeout=10) as client:
        mine = await _new_order(client, stack)
        also_mine = await _new_order(client, stack)  # two open orders: a page of one links on
        first = await client.get(
            f"{stack.dispatch.url}/v1/work-orders", params={"limit": 1}, headers=water
        )
        assert first.status_code == 200
        assert first.json()["next"] is not None
        assert first.headers["link"].endswith('; rel="next"')
        seen, page = [], first.json()
        while True:
            seen.extend(page["items"])
            if page["next"] is None:
                break
            page = (
                await client.get(
                    f"{stack.dispatch.url}/v1/work-orders",
                    params={"limit": 1, "cursor": page["next"]},
                    headers=water,
                )
            ).json()
        assert {item["department"] for item in seen} == {"water"}
        assert {mine.appeal_id, also_mine.appeal_id} <= {item["appeal_id"] for item in seen}
        assert all(item["stage"] != "closed" for item in seen)
        clock = next(i for i in seen if i["appeal_id"] == mine.appeal_id)["running_clock"]
        assert clock["clock"] == "sign_for"
        assert clock["remaining_seconds"] > 0
        assert 0 <= clock["used_share"] < 1
        clock = next(i for i in seen if i["appeal_id"] == mine.appeal_id)["running_clock"]
        assert clock["clock"] == "sign_for"
        assert clock["remaining_seconds"] > 0
        assert 0 <= clock["used_share"] < 1
        for cursor in ("not-ours", "WzEsICJ4Il0"):  # the second decodes, to [1, "x"]
            bad = await client.get(
                f"{stack.dispatch.url}/v1/work-orders", params={"cursor": cursor}, headers=water
            )
            assert bad.status_code == 400, bad.text


async def test_the_catalogue_is_read_and_republished_as_new_versions(stack: Stack) -> None:
    base = f"{stack.dispatch.url}/v1"
    async with httpx.AsyncClient(timeout=10) as client:
        routing = (await client.get(f"{base}/routing", headers=OPERATOR_HEADERS)).json()
        listed = await client.get(f"{base}/departments", headers=OPERATOR_HEADERS)
        departments = listed.json()["items"]
        assert len(departments) >= 12
        assert {d["district"] for d in departments} >= {"east", "west"}
        policy = (await client.get(f"{base}/sla-policy", headers=OPERATOR_HEADERS)).json()

        body = {
            "departments": departments,
            "fallback_department": "gov-city",
            "rules": [
                *routing["rules"],
                {"rule_id": "city:gas", "category": "gas.leak", "department": "public-security"},
            ],
        }
        published = await client.put(f"{base}/routing", json=body, headers=OPERATOR_HEADERS)
        assert published.json() == {"version": routing["version"] + 1, "published": True}
        same = await client.put(f"{base}/routing", json=body, headers=OPERATOR_HEADERS)
        assert same.json() == {"version": routing["version"] + 1, "published": False}
        unknown = await client.put(
            f"{base}/routing",
            headers=OPERATOR_HEADERS,
            json={**body, "fallback_department": "nobody"},
        )
        assert unknown.status_code == 422

        stricter = {key: policy[key] for key in ("warn_share", "timezone", "max_extension_days")}
        stricter |= {
            "day_ends_at": "17:30",
            "return_window": {"amount": 1, "unit": "working_days"},
            "clocks": [
                {
                    "appeal_type": "*",
                    "urgency": "*",
                    "sign_for": {"amount": 4, "unit": "hours"},
                    "handling": {"amount": 5, "unit": "working_days"},
                }
            ],
        }
        renewed = await client.put(f"{base}/sla-policy", json=stricter, headers=OPERATOR_HEADERS)
        assert renewed.json() == {"version": policy["version"] + 1, "published": True}
        department = await client.put(
            f"{base}/sla-policy",
            json=stricter,
            headers=bearer(*DEPARTMENT_SCOPES, department="water"),
        )
        assert department.status_code == 403


async def test_an_appeal_bounced_back_and_forth_is_flagged(stack: Stack) -> None:
    water = bearer(*DEPARTMENT_SCOPES, department="water")
    power = bearer(*DEPARTMENT_SCOPES, department="power")
    async with httpx.AsyncClient(timeout=10) as client:
        orders = await _new_order(client, stack)
        for holder, to in ((water, "power"), (power, "water")):
            await orders.act("returns", {"reason_code": "not-ours", "legal_basis": "三定"}, holder)
            await orders.act(
                "returns/decision",
                {"approve": True, "department": to, "reasoning": "改派"},
                OPERATOR_HEADERS,
            )

        async def flagged() -> dict[str, Any] | None:
            found = (
                await client.get(f"{stack.audit.url}/v1/flags", headers=OPERATOR_HEADERS)
            ).json()["items"]
            mine = [f for f in found if f["appeal_id"] == orders.appeal_id]
            return mine[0] if mine and len(mine[0]["departments"]) == 3 else None

        flag = await polling.until(flagged, what="audit to flag the ping-pong")
    assert flag["departments"] == ["water", "power", "water"]
    assert flag["ping_pong"] is True
    assert flag["returns_requested"] == 2
