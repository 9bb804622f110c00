"""When the department is the problem, and hot spots, over real Kafka and PostgreSQL: a
complaint about water's staff goes to the supervision office and water never sees it; a
poor attitude on a callback and the complaint both reach audit's conduct list; a burst of
appeals in one place reaches audit's hot spots."""

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any
from uuid import uuid4

import httpx
import pytest

from services.cli import DEPARTMENT_SCOPES
from shared.workdays import HOTLINE_ZONE
from tests.e2e.conftest import Stack, running_stack
from tests.e2e.test_happy_path import APPEAL
from tests.e2e.test_open311 import seed_catalogue
from tests.support import polling
from tests.support.processes import OPERATOR, bearer

pytestmark = pytest.mark.e2e
HEADERS = bearer(*OPERATOR)
COMPLAINT = {
    "channel": "phone",
    "appeal_type": "complaint",
    "category": "conduct.staff",
    "about_department": "water",
    "content": "打电话问停水的事，水务局工作人员训斥我不该打12345",
    "citizen": {"name": "李四", "phone": "13900139000"},
    "location": {"address": "东城区幸福路2号", "district": "east"},
}


@pytest.fixture(scope="module")
async def stack(servers: None) -> AsyncIterator[Stack]:
    """The conftest stack with the demo catalogue, whose conduct categories Open311 hides."""
    async with running_stack(prepare=lambda running: seed_catalogue(running.intake)) as running:
        yield running


async def _until_ok(client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> Any:
    async def probe() -> Any:
        response = await client.get(url, headers=headers)
        return response.json() if response.status_code == 200 else None

    return await polling.until(probe, what=url)


async def _poor_attitude_callback(client: httpx.AsyncClient, stack: Stack) -> str:
    """A water outage handled by water, whose citizen says on the callback: solved,
    satisfied with the result, but the staff's attitude was poor. Its appeal id."""
    water = bearer(*DEPARTMENT_SCOPES, department="water")
    created = await client.post(f"{stack.intake.url}/v1/appeals", json=APPEAL, headers=HEADERS)
    assert created.status_code == 201, created.text
    appeal_id: str = created.json()["id"]
    order_url = f"{stack.dispatch.url}/v1/work-orders/{appeal_id}"
    order = await _until_ok(client, order_url, water)
    signed = await client.post(
        f"{order_url}/sign-for",
        json={"person": "王某"},
        headers={**water, "If-Match": f'"{order["version"]}"'},
    )
    assert signed.status_code == 200, signed.text
    feedback_url = f"{stack.feedback.url}/v1/appeals/{appeal_id}"

    async def signed_for() -> bool | None:
        body = (await client.get(f"{feedback_url}/feedback", headers=HEADERS)).json()
        return True if body.get("signed_for") else None

    await polling.until(signed_for, what="feedback to learn of the sign-for")
    reply = {"result": "solved", "reply": "已恢复供水"}
    replied = await client.post(f"{feedback_url}/replies", json=reply, headers=water)
    assert replied.status_code == 201, replied.text
    approved = await client.post(
        f"{feedback_url}/reviews", json={"decision": "approved"}, headers=HEADERS
    )
    assert approved.status_code == 201, approved.text
    lost = {"reached": False, "attitude": "poor"}
    refused = await client.post(f"{feedback_url}/callbacks", json=lost, headers=HEADERS)
    assert refused.status_code == 422, refused.text  # nobody reached, nobody's view
    call = {"reached": True, "satisfaction": "satisfied", "solved": True, "attitude": "poor"}
    called = await client.post(f"{feedback_url}/callbacks", json=call, headers=HEADERS)
    assert called.status_code == 201, called.text
    return appeal_id


async def test_a_conduct_complaint_goes_past_the_department_and_audit_lists_it(
    stack: Stack,
) -> None:
    water = bearer(*DEPARTMENT_SCOPES, department="water")
    supervision = bearer(*DEPARTMENT_SCOPES, department="supervision")
    async with httpx.AsyncClient(timeout=10) as client:
        wrong = {**COMPLAINT, "category": "water.outage"}
        refused = await client.post(f"{stack.intake.url}/v1/appeals", json=wrong, headers=HEADERS)
        assert refused.status_code == 422, refused.text
        # nor left to the keyword rules, which would give water the complaint about it
        unsaid = {k: v for k, v in COMPLAINT.items() if k != "category"}
        refused = await client.post(f"{stack.intake.url}/v1/appeals", json=unsaid, headers=HEADERS)
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0]["field"] == "body.about_department"

        created = await client.post(
            f"{stack.intake.url}/v1/appeals", json=COMPLAINT, headers=HEADERS
        )
        assert created.status_code == 201, created.text
        appeal_id = created.json()["id"]
        order_url = f"{stack.dispatch.url}/v1/work-orders/{appeal_id}"
        order = await _until_ok(client, order_url, supervision)
        assert order["department"] == "supervision"
        assert "water" not in order.get("assisting", [])

        # water sees nothing of it: not the work order, not its queue, not the appeal, not
        # its feedback (so not who complained).
        assert (await client.get(order_url, headers=water)).status_code == 404
        queue = await client.get(f"{stack.dispatch.url}/v1/work-orders", headers=water)
        assert appeal_id not in {o["appeal_id"] for o in queue.json()["items"]}
        appeal_url = f"{stack.intake.url}/v1/appeals/{appeal_id}"
        assert (await client.get(appeal_url, headers=water)).status_code == 404
        seen = await client.get(
            f"{stack.feedback.url}/v1/appeals/{appeal_id}/feedback", headers=water
        )
        assert "李四" not in seen.text
        assert "13900139000" not in seen.text
        # Nor does the public feed show it (its text and place could tell who complained).
        open311 = f"{stack.intake.url}/open311/v2"
        public = await client.get(f"{open311}/requests/{appeal_id}.json")
        assert public.status_code == 404, public.text
        listed_publicly = await client.get(
            f"{open311}/requests.json", params={"service_code": "conduct.staff"}
        )
        assert listed_publicly.status_code == 200, listed_publicly.text
        assert listed_publicly.json() == []
        updates = await client.get(f"{open311}/servicerequestupdates.json")
        assert appeal_id not in {u["service_request_id"] for u in updates.json()}
        # …and nobody can hand it to water, as lead or assisting.
        for body in (
            {"department": "water", "reason": "请被投诉单位自查"},
            {"department": "gov-east", "assisting": ["water"], "reason": "协同"},
        ):
            moved = await client.post(
                f"{order_url}/reassignment",
                json=body,
                headers={**HEADERS, "If-Match": f'"{order["version"]}"'},
            )
            assert moved.status_code == 409, moved.text

        rated_appeal = await _poor_attitude_callback(client, stack)
        month = datetime.now(HOTLINE_ZONE).strftime("%Y-%m")

        async def listed() -> dict[str, Any] | None:
            response = await client.get(
                f"{stack.audit.url}/v1/conduct", params={"month": month}, headers=HEADERS
            )
            assert response.status_code == 200, response.text
            entries = {e["department"]: e for e in response.json()["items"]}
            entry = entries.get("water")
            if entry and {appeal_id, rated_appeal} <= set(entry["appeals"]):
                return dict(entry)
            return None

        entry = await polling.until(listed, what="audit to list water's conduct")
        assert entry["conduct_complaints"] >= 1
        assert entry["poor_attitude"] >= 1
        assert "supervision" not in {
            e["department"]
            for e in (
                await client.get(
                    f"{stack.audit.url}/v1/conduct", params={"month": month}, headers=HEADERS
                )
            ).json()["items"]
        }
        history = (
            await client.get(f"{stack.audit.url}/v1/appeals/{appeal_id}/history", headers=HEADERS)
        ).json()
        received = next(f for f in history["facts"] if f["type"] == "appeal.received")
        assert received["event_id"] in entry["complaint_facts"]
        rated = (
            await client.get(
                f"{stack.audit.url}/v1/appeals/{rated_appeal}/history", headers=HEADERS
            )
        ).json()
        [rating] = [f for f in rated["facts"] if f["type"] == "appeal.rated"]
        assert rating["data"]["attitude"] == "poor"
        assert rating["event_id"] in entry["poor_attitude_facts"]

        measures = await client.get(
            f"{stack.audit.url}/v1/measures",
            params={"month": month, "evidence": "true", "limit": 200},
            headers=HEADERS,
        )
        row = next(r for r in measures.json()["items"] if r["department"] == "water")
        assert row["poor_attitude"] >= 1
        assert rating["event_id"] in row["evidence"]["attitude_poor"]
        whole = [r["department"] for r in measures.json()["items"]]
        # one row a page: every page ranks the facts and clocks of the first page's moment
        paged: list[str] = []
        moments: set[str] = set()
        params: dict[str, Any] = {"month": month, "limit": 1}
        while True:
            one = await client.get(f"{stack.audit.url}/v1/measures", params=params, headers=HEADERS)
            assert one.status_code == 200, one.text
            paged += [r["department"] for r in one.json()["items"]]
            moments.add(one.json()["as_of"])
            if one.json()["next"] is None:
                break
            params = {"month": month, "limit": 1, "cursor": one.json()["next"]}
        assert paged == whole  # none skipped, none repeated
        assert len(moments) == 1


async def test_a_burst_of_appeals_in_one_place_is_a_hot_spot(stack: Stack) -> None:
    district = f"d{uuid4().hex[:8]}"  # a place nobody else's test files in: a quiet baseline
    burst = {
        **APPEAL,
        "category": "urban.littering",
        "content": "小区门口垃圾堆积发臭",
        "location": {"district": district, "lat": 39.9012, "long": 116.4011},
    }
    async with httpx.AsyncClient(timeout=10) as client:
        filed, received_at = set(), []
        for n in range(5):
            created = await client.post(
                f"{stack.intake.url}/v1/appeals",
                json={**burst, "citizen": {"name": f"居民{n}", "phone": f"1380000000{n}"}},
                headers=HEADERS,
            )
            assert created.status_code == 201, created.text
            filed.add(created.json()["id"])
            received_at.append(datetime.fromisoformat(created.json()["received_at"]))

        async def spotted() -> list[dict[str, Any]] | None:
            response = await client.get(f"{stack.audit.url}/v1/hot-spots", headers=HEADERS)
            assert response.status_code == 200, response.text
            mine = [s for s in response.json()["items"] if s["district"] == district]
            return mine if len(mine) == 2 and mine[0]["count"] == 5 else None

        spots = await polling.until(spotted, what="audit to spot the burst")
        assert {s["cell"] for s in spots} == {None, "39.900,116.400"}
        for spot in spots:
            assert (spot["category"], spot["baseline_count"]) == ("urban.littering", 0)
            assert set(spot["appeals"]) == filed
            assert spot["p_value"] <= 0.001

        # Fewer than `min_count` list nobody; nor does the moment just before the fifth.
        strict = await client.get(
            f"{stack.audit.url}/v1/hot-spots", params={"min_count": 6}, headers=HEADERS
        )
        assert district not in {s["district"] for s in strict.json()["items"]}

        async def at(moment: datetime) -> set[str]:
            response = await client.get(
                f"{stack.audit.url}/v1/hot-spots",
                params={"at": moment.isoformat()},
                headers=HEADERS,
            )
            assert response.status_code == 200, response.text
            return {s["district"] for s in response.json()["items"]}

        last = max(received_at)
        assert district not in await at(last)  # the window ends before `at`: four in it
        assert district in await at(last + timedelta(milliseconds=1))
