"""A round nobody rates is recorded as "not rated" when its window closes, and the work
order closes on that basis: never a silent "satisfied"."""

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from services.cli import DEPARTMENT_SCOPES
from tests.e2e.conftest import Stack, running_stack
from tests.e2e.test_happy_path import APPEAL
from tests.e2e.test_work_order import OPERATOR_HEADERS, WorkOrders
from tests.support import polling
from tests.support.processes import bearer

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
async def quick_window(servers: None) -> AsyncIterator[Stack]:
    """The loop with a two-second rating window, a callback due within it (the window never
    closes before the callback is due) and a fast feedback timer."""
    fast = {
        "HOTLINE_RATING_WINDOW_HOURS": str(2 / 3600),
        "HOTLINE_CALLBACK_DUE_HOURS": str(1 / 3600),
        "HOTLINE_TIMER_INTERVAL_SECONDS": "0.2",
    }
    async with running_stack({"feedback": fast}) as running:
        yield running


async def test_an_unrated_reply_closes_the_work_order_as_not_rated(quick_window: Stack) -> None:
    water = bearer(*DEPARTMENT_SCOPES, department="water")
    async with httpx.AsyncClient(timeout=10) as client:
        created = await client.post(
            f"{quick_window.intake.url}/v1/appeals", json=APPEAL, headers=OPERATOR_HEADERS
        )
        orders = WorkOrders(client, quick_window, created.json()["id"])
        await orders.when(lambda body: body["stage"] == "assigned")
        await orders.act("sign-for", {"person": "李工"}, water)
        await orders.feedback_when(lambda b: b["signed_for"])
        await orders.reply(water, "已修复")
        await orders.review("approved")  # the window opens at approval

        closed = await orders.when(lambda body: body["stage"] == "closed")
        assert closed["round"] == 1
        late = await client.post(
            f"{quick_window.feedback.url}/v1/appeals/{orders.appeal_id}/ratings",
            json={"satisfaction": "satisfied", "solved": True},
            headers=OPERATOR_HEADERS,
        )
        assert late.status_code == 409
        assert "rating window closed" in late.json()["detail"]
        history_url = f"{quick_window.audit.url}/v1/appeals/{orders.appeal_id}/history"

        async def audited() -> dict[str, Any] | None:
            # The closure and the fact that caused it: a fetch cut at its record limit may
            # hold dispatch's closure but not yet feedback's not_rated.
            body = (await client.get(history_url, headers=OPERATOR_HEADERS)).json()
            types = {f["type"] for f in body.get("facts", [])}
            return dict(body) if {"appeal.not_rated", "appeal.closed"} <= types else None

        history = await polling.until(audited, what="audit to see the closure and its cause")
    types = [f["type"] for f in history["facts"]]
    assert types[-2:] == ["appeal.not_rated", "appeal.closed"]
    assert history["facts"][-1]["data"]["basis"] == "not_rated"
