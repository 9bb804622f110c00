"""The working-day calendar across services over real Kafka: a deadline counted into a year
nobody has published is provisional on the work order; an operator publishes the year on
dispatch; dispatch's timer recomputes the deadline as a new fact audit records; feedback
learns the same calendar version and counts the callback (and the rating window) on it."""

from collections.abc import AsyncIterator
from datetime import date, datetime
from typing import Any

import httpx
import pytest

from services.cli import DEPARTMENT_SCOPES
from tests.e2e.conftest import Stack, running_stack
from tests.e2e.test_work_order import OPERATOR_HEADERS, WorkOrders, _new_order
from tests.support import polling
from tests.support.processes import bearer

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
async def quick_timer(servers: None) -> AsyncIterator[Stack]:
    fast = {"HOTLINE_TIMER_INTERVAL_SECONDS": "0.2"}
    async with running_stack({"dispatch": fast}) as running:
        yield running


def _arrangement(year: int) -> dict[str, Any]:
    """A plausible arrangement: New Year's Day off (on a weekday), nothing made up."""
    new_year = date(year, 1, 1)
    return {"holidays": [new_year.isoformat()] if new_year.weekday() < 5 else [], "workdays": []}


async def test_publishing_a_year_settles_provisional_deadlines_everywhere(
    quick_timer: Stack,
) -> None:
    stack = quick_timer
    water = bearer(*DEPARTMENT_SCOPES, department="water")
    async with httpx.AsyncClient(timeout=10) as client:
        orders: WorkOrders = await _new_order(client, stack)
        await orders.act("sign-for", {"person": "李工"}, water)
        # A complaint's 15 working days plus 10 more reach past the last year the packaged
        # calendar knows (2026) from any day this test runs.
        await orders.act(
            "extensions",
            {"working_days": 10, "reason": "需更换主管道", "legal_basis": "《办理规定》第十条"},
            water,
        )
        extended = await orders.act(
            "extensions/decision", {"approve": True, "reasoning": "理由充分"}, OPERATOR_HEADERS
        )
        deadlines = extended["deadlines"]
        assert deadlines["provisional"] is True
        years = deadlines["provisional_years"]
        assert years
        assert all(y > 2026 for y in years)

        for year in years:
            published = await client.put(
                f"{stack.dispatch.url}/v1/calendar/years/{year}",
                json={**_arrangement(year), "note": "国务院办公厅关于节假日安排的通知"},
                headers=OPERATOR_HEADERS,
            )
            assert published.status_code == 200, published.text
            assert published.json()["published"] is True
        calendar = (
            await client.get(f"{stack.dispatch.url}/v1/calendar", headers=OPERATOR_HEADERS)
        ).json()
        assert set(years) <= set(calendar["published_years"])
        versions: list[dict[str, Any]] = []
        cursor: str | None = ""
        while cursor is not None:
            page = (
                await client.get(
                    f"{stack.dispatch.url}/v1/calendar/versions?limit=1{cursor}",
                    headers=OPERATOR_HEADERS,
                )
            ).json()
            versions += page["items"]
            cursor = None if page["next"] is None else f"&cursor={page['next']}"
        assert [v["year"] for v in versions] == years
        assert versions[-1]["calendar"] == calendar["calendar"]

        settled = await orders.when(lambda b: not b["deadlines"]["provisional"])
        assert settled["deadlines"]["calendar"] == calendar["calendar"]
        assert settled["deadlines"]["provisional_years"] == []

        # feedback counts on the same calendar version once it has read the facts
        async def feedback_in_step() -> dict[str, Any] | None:
            body = (
                await client.get(f"{stack.feedback.url}/v1/calendar", headers=OPERATOR_HEADERS)
            ).json()
            return dict(body) if body["calendar"] == calendar["calendar"] else None

        await polling.until(feedback_in_step, what="feedback to learn the calendar")
        await orders.feedback_when(lambda b: b["signed_for"])
        await orders.reply(water, "已更换主管道，恢复供水")
        approval = await orders.review("approved")
        assert approval["calendar"] == calendar["calendar"]
        due = datetime.fromisoformat(approval["callback_due"])
        assert datetime.fromisoformat(approval["rating_closes_at"]) >= due

        history_url = f"{stack.audit.url}/v1/appeals/{orders.appeal_id}/history"

        async def audited() -> list[dict[str, Any]] | None:
            response = await client.get(history_url, headers=OPERATOR_HEADERS)
            if response.status_code in (404, 503):  # audit has not caught up with the appeal yet
                return None
            assert response.status_code == 200, response.text
            facts = response.json()["facts"]
            types = [f["type"] for f in facts]
            done = "appeal.deadlines_recomputed" in types and "appeal.reply_reviewed" in types
            return list(facts) if done else None

        facts = await polling.until(audited, what="audit to record the recomputation")
    [recomputed] = [f for f in facts if f["type"] == "appeal.deadlines_recomputed"]
    assert recomputed["data"]["years"] == years
    assert recomputed["data"]["previous"]["provisional_years"] == years
    assert recomputed["data"]["deadlines"]["provisional_years"] == []
