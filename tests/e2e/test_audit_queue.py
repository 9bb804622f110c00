"""A department's queue as audit can rebuild it for any past moment, over real services."""

from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from services.cli import DEPARTMENT_SCOPES
from shared.workdays import HOTLINE_ZONE
from tests.e2e.conftest import Stack
from tests.e2e.test_happy_path import APPEAL
from tests.support import polling
from tests.support.processes import OPERATOR, bearer

pytestmark = pytest.mark.e2e
HEADERS = bearer(*OPERATOR)
GAS = {**APPEAL, "category": "gas.supply", "content": "小区燃气停供三天，无人处理"}  # to gas


async def test_a_departments_queue_then_and_now(stack: Stack) -> None:
    water = bearer(*DEPARTMENT_SCOPES, department="water")
    async with httpx.AsyncClient(timeout=10) as client:
        created = await client.post(f"{stack.intake.url}/v1/appeals", json=APPEAL, headers=HEADERS)
        appeal_id = created.json()["id"]
        history_url = f"{stack.audit.url}/v1/appeals/{appeal_id}/history"

        async def recorded(types: set[str]) -> dict[str, Any] | None:
            body = (await client.get(history_url, headers=HEADERS)).json()
            return dict(body) if types <= {f["type"] for f in body.get("facts", [])} else None

        assigned = await polling.until(
            lambda: recorded({"appeal.assigned"}), what="audit to record the assignment"
        )
        order_url = f"{stack.dispatch.url}/v1/work-orders/{appeal_id}"
        order = await client.get(order_url, headers=water)
        signed = await client.post(
            f"{order_url}/sign-for",
            json={"person": "李工"},
            headers={**water, "If-Match": order.headers["etag"]},
        )
        assert signed.status_code == 200, signed.text
        await polling.until(
            lambda: recorded({"appeal.signed_for"}), what="audit to record the sign-for"
        )

        queue_url = f"{stack.audit.url}/v1/departments/water/queue"

        async def queue(at: str | None) -> dict[str, Any]:
            params = {"at": at} if at else {}
            response = await client.get(queue_url, params=params, headers=HEADERS)
            assert response.status_code == 200, response.text
            return {a["appeal_id"]: a for a in response.json()["items"]}

        given = next(f for f in assigned["facts"] if f["type"] == "appeal.assigned")
        then = await queue(given["recorded_at"])
        assert then[appeal_id]["stage"] == "assigned"
        assert then[appeal_id]["facts"] == [given["event_id"]]
        assert (
            then[appeal_id]["handle_due"]
            == datetime.fromisoformat(given["data"]["deadlines"]["handle_due"]).isoformat()
        )
        now = await queue(None)
        assert (now[appeal_id]["stage"], now[appeal_id]["signed"]) == ("signed_for", True)
        before = datetime.fromisoformat(given["recorded_at"]) - timedelta(microseconds=1)
        assert appeal_id not in await queue(before.isoformat())
        assert (
            appeal_id
            not in (
                (
                    await client.get(
                        f"{stack.audit.url}/v1/departments/power/queue", headers=HEADERS
                    )
                ).json()["items"]
            )
        )

        bad = await client.get(f"{stack.audit.url}/v1/departments/Water!/queue", headers=HEADERS)
        assert bad.status_code == 422
        naive = await client.get(queue_url, params={"at": "2026-10-09T08:00:00"}, headers=HEADERS)
        assert naive.status_code == 422
        assert "at" in naive.text
        gaming = await client.get(
            f"{stack.audit.url}/v1/flags", params={"kind": "gaming"}, headers=HEADERS
        )
        assert appeal_id not in {f["appeal_id"] for f in gaming.json()["items"]}
        wrong = await client.get(
            f"{stack.audit.url}/v1/flags", params={"kind": "x"}, headers=HEADERS
        )
        assert wrong.status_code == 422
        forged = await client.get(
            f"{stack.audit.url}/v1/flags", params={"cursor": "WzEsICJ4Il0"}, headers=HEADERS
        )
        assert forged.status_code == 400, forged.text


async def test_the_months_measures_are_paged_by_rank(stack: Stack) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        # Two departments measured this month, so that a page of one must link on.
        for appeal in (APPEAL, GAS):
            created = await client.post(
                f"{stack.intake.url}/v1/appeals", json=appeal, headers=HEADERS
            )
            assert created.status_code == 201, created.text
        month = datetime.now(HOTLINE_ZONE).strftime("%Y-%m")
        url = f"{stack.audit.url}/v1/measures"
        params: dict[str, str | int] = {
            "month": month,
            "evidence": "true",
            "limit": 1,
            "list_min_volume": 1,
        }

        async def measured() -> dict[str, Any] | None:
            response = await client.get(url, params={"month": month}, headers=HEADERS)
            assert response.status_code == 200, response.text
            departments = {row["department"] for row in response.json()["items"]}
            return {"departments": departments} if {"water", "gas"} <= departments else None

        await polling.until(measured, what="audit to measure both departments' month")
        response = await client.get(url, params=params, headers=HEADERS)
        assert response.status_code == 200, response.text
        first = response.json()
        [row] = first["items"]
        assert row["rank"] == 1
        assert row["volume"] == len(row["evidence"]["volume"])
        # Rank 1 heads the red list whenever anyone is listed; no department is on both.
        assert first["red_list"][:1] in ([], [row["department"]])
        assert not set(first["red_list"]) & set(first["black_list"])
        assert (first["rule"]["list_min_volume"], first["rule"]["listed"]) == (1, 5)
        assert first["rule"]["adjusted"] is True  # the stored rule says 5; the query, 1
        assert first["next"] is not None  # a full page links on
        more = await client.get(
            url, params={"month": month, "cursor": first["next"]}, headers=HEADERS
        )
        assert more.status_code == 200, more.text
        second = more.json()["items"]
        assert second, more.text
        assert second[0]["rank"] == 2
        assert second[0]["department"] != row["department"]
