"""Rounds and limits over real Kafka: a rating recorded by feedback decides dispatch's redo
on what the citizen said, and past the policy's redo rounds the appeal escalates to the
centre as a fact audit records."""

from typing import Any

import httpx
import pytest

from services.cli import DEPARTMENT_SCOPES
from tests.e2e.conftest import Stack
from tests.e2e.test_work_order import OPERATOR_HEADERS, WorkOrders, _new_order
from tests.support import polling
from tests.support.processes import bearer

pytestmark = pytest.mark.e2e


async def _one_round(orders: WorkOrders, water: dict[str, str], round_: int) -> None:
    await orders.act("sign-for", {"person": "李工"}, water)
    await orders.feedback_when(lambda b: b["round"] == round_ and b["signed_for"])
    await orders.reply(water, f"第{round_}轮：已派人检修")
    await orders.review("approved")


async def test_redo_is_bounded_and_then_escalates_to_the_centre(stack: Stack) -> None:
    water = bearer(*DEPARTMENT_SCOPES, department="water")
    base = f"{stack.dispatch.url}/v1"
    async with httpx.AsyncClient(timeout=10) as client:
        policy = (await client.get(f"{base}/sla-policy", headers=OPERATOR_HEADERS)).json()
        one_redo = {
            key: policy[key]
            for key in (
                "clocks",
                "warn_share",
                "timezone",
                "day_ends_at",
                "return_window",
                "max_extension_days",
                "max_extension_days_total",
            )
        } | {"max_redo_rounds": 1}
        renewed = await client.put(f"{base}/sla-policy", json=one_redo, headers=OPERATOR_HEADERS)
        assert renewed.status_code == 200, renewed.text
        assert (await client.get(f"{base}/sla-policy", headers=OPERATOR_HEADERS)).json()[
            "max_redo_rounds"
        ] == 1

        orders = await _new_order(client, stack)
        await _one_round(orders, water, 1)
        unsolved = {"satisfaction": "dissatisfied", "solved": False, "comment": "还是停水"}
        rated = await client.post(
            f"{stack.feedback.url}/v1/appeals/{orders.appeal_id}/ratings",
            json=unsolved,
            headers=OPERATOR_HEADERS,
        )
        assert rated.status_code == 201, rated.text
        await orders.when(lambda b: b["round"] == 2 and b["stage"] == "assigned")

        await _one_round(orders, water, 2)
        at_fault = {
            "satisfaction": "dissatisfied",
            "solved": True,
            "department_at_fault": True,
            "comment": "工作人员态度恶劣",
        }
        rated = await client.post(
            f"{stack.feedback.url}/v1/appeals/{orders.appeal_id}/ratings",
            json=at_fault,
            headers=OPERATOR_HEADERS,
        )
        assert rated.status_code == 201, rated.text
        escalated = await orders.when(lambda b: b["stage"] == "escalated")
        assert (escalated["round"], escalated["department"]) == (2, "water")
        assert escalated["running_clock"] is None

        history_url = f"{stack.audit.url}/v1/appeals/{orders.appeal_id}/history"

        async def audited() -> list[dict[str, Any]] | None:
            response = await client.get(history_url, headers=OPERATOR_HEADERS)
            if response.status_code != 200:  # 404 until audit holds the appeal's facts
                return None
            facts = response.json()["facts"]
            # dispatch's escalation and feedback's two ratings come on different topics:
            # wait until audit holds all three, whichever arrived first
            escalated = any(f["type"] == "appeal.escalated_to_centre" for f in facts)
            rated = sum(f["type"] == "appeal.rated" for f in facts)
            return list(facts) if escalated and rated == 2 else None

        facts = await polling.until(audited, what="audit to record the escalation")
        # the centre's own queue lists it
        queue = await client.get(
            f"{base}/work-orders",
            params={"stage": "escalated", "limit": 200},
            headers=OPERATOR_HEADERS,
        )
        assert queue.status_code == 200, queue.text
        assert orders.appeal_id in [o["appeal_id"] for o in queue.json()["items"]]
        # the centre gives it to the city government: a round of its own, in which the new
        # lead signs for it and replies, though water replied in round 2
        moved = await orders.act(
            "reassignment",
            {"department": "gov-city", "reason": "提级由市政府协调办理"},
            OPERATOR_HEADERS,
        )
        assert (moved["department"], moved["round"], moved["stage"]) == ("gov-city", 3, "assigned")
        city = bearer(*DEPARTMENT_SCOPES, department="gov-city")
        await orders.act("sign-for", {"person": "周主任"}, city)
        await orders.feedback_when(
            lambda b: b["signed_for"] and (b["holder"], b["round"]) == ("gov-city", 3)
        )
        await orders.reply(city, "已协调水务集团恢复供水")
        replied = await orders.when(lambda b: b["handled_this_round"])
        assert replied["running_clock"] is None  # its reply stopped its clock
        # the centre decides what comes next: here it closes the appeal
        closed = await orders.act("closure", {"note": "中心提级研判后办结"}, OPERATOR_HEADERS)
        assert closed["stage"] == "closed"
    [escalation] = [f for f in facts if f["type"] == "appeal.escalated_to_centre"]
    assert escalation["data"]["redo_rounds"] == 1
    # the citizen's comment is sealed under their key: dispatch cannot copy it into its fact
    assert escalation["data"]["reason"] == "the citizen is still not served after every redo"
    ratings = [f for f in facts if f["type"] == "appeal.rated"]
    assert [r["data"]["department_at_fault"] for r in ratings] == [None, True]
    assert ratings[-1]["data"]["comment"] == "工作人员态度恶劣"  # audit opens it
    assert ratings[-1]["data"]["sealed_comment"] == {"state": "shown"}
    assert escalation["causation_id"] == ratings[-1]["event_id"]


async def test_the_centre_closing_with_no_approved_reply_is_flagged(stack: Stack) -> None:
    water = bearer(*DEPARTMENT_SCOPES, department="water")
    async with httpx.AsyncClient(timeout=10) as client:
        orders = await _new_order(client, stack)
        await orders.act("sign-for", {"person": "李工"}, water)
        await orders.feedback_when(lambda b: b["signed_for"])
        await orders.reply(water, "已处理")  # never reviewed
        await orders.act("closure", {"note": "直接办结"}, OPERATOR_HEADERS)

        async def flagged() -> dict[str, Any] | None:
            page = (
                await client.get(
                    f"{stack.audit.url}/v1/flags",
                    params={"kind": "closure", "limit": 200},
                    headers=OPERATOR_HEADERS,
                )
            ).json()
            found = [f for f in page["items"] if f["appeal_id"] == orders.appeal_id]
            return found[0] if found else None

        found = await polling.until(flagged, what="audit to flag the closure")
    assert found["kinds"] == ["closure"]
    assert (found["closure"]["approved_reply"], found["closure"]["called_back"]) == (False, False)
