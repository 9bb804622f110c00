"""SLA policy versions over real Kafka and PostgreSQL: a version published to take effect
from a moment governs the appeals received from then on, the one before it those received
earlier, for their whole life; each deadline fact records the versions that computed it."""

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Stack
from tests.e2e.test_happy_path import APPEAL
from tests.e2e.test_work_order import OPERATOR_HEADERS, WorkOrders
from tests.support import polling

pytestmark = pytest.mark.e2e
# How far ahead the new version is scheduled: time enough for the two requests that publish
# it, which refuse a moment already past.
LEAD = timedelta(seconds=4)


async def _file(client: httpx.AsyncClient, stack: Stack) -> WorkOrders:
    created = await client.post(
        f"{stack.intake.url}/v1/appeals", json=APPEAL, headers=OPERATOR_HEADERS
    )
    assert created.status_code == 201, created.text
    orders = WorkOrders(client, stack, created.json()["id"])
    await orders.when(lambda body: body["stage"] == "assigned")
    return orders


async def _assigned_fact(client: httpx.AsyncClient, stack: Stack, appeal_id: str) -> Any:
    url = f"{stack.audit.url}/v1/appeals/{appeal_id}/history"

    async def probe() -> Any:
        response = await client.get(url, headers=OPERATOR_HEADERS)
        if response.status_code != 200:
            return None
        found = [f for f in response.json()["facts"] if f["type"] == "appeal.assigned"]
        return found[0] if found else None

    return await polling.until(probe, what="audit to record the assignment")


async def test_a_policy_takes_effect_from_its_moment_and_pins_the_appeals_after_it(
    stack: Stack,
) -> None:
    base = f"{stack.dispatch.url}/v1"
    async with httpx.AsyncClient(timeout=10) as client:
        seeded = (await client.get(f"{base}/sla-policy", headers=OPERATOR_HEADERS)).json()
        assert seeded["version"] == 1
        # Received before the new version's moment, whatever the time taken to publish it.
        before = await _file(client, stack)
        # water complaints: three working days instead of the complaints' fifteen
        body = {
            key: seeded[key]
            for key in (
                *("warn_share", "timezone", "day_ends_at", "return_window"),
                *("max_extension_days", "max_extension_days_total", "max_redo_rounds"),
            )
        } | {
            "clocks": [
                *seeded["clocks"],
                {
                    "appeal_type": "complaint",
                    "urgency": "*",
                    "category": "water.*",
                    "sign_for": {"amount": 1, "unit": "working_days"},
                    "handling": {"amount": 3, "unit": "working_days"},
                },
            ],
        }
        past = await client.put(
            f"{base}/sla-policy",
            json=body | {"effective_from": "2026-01-01T00:00:00+08:00"},
            headers=OPERATOR_HEADERS,
        )
        assert past.status_code == 422, past.text
        assert "effective_from" in past.text
        effective_from = datetime.now(UTC) + LEAD
        body["effective_from"] = effective_from.isoformat()
        published = await client.put(f"{base}/sla-policy", json=body, headers=OPERATOR_HEADERS)
        assert published.json() == {"version": 2, "published": True}
        again = await client.put(f"{base}/sla-policy", json=body, headers=OPERATOR_HEADERS)
        assert again.json() == {"version": 2, "published": False}

        # scheduled: not in force until its moment, in force from it
        async def in_force(at: datetime | None = None) -> Any:
            params = {"at": at.isoformat()} if at else {}
            found = await client.get(f"{base}/sla-policy", params=params, headers=OPERATOR_HEADERS)
            assert found.status_code == 200, found.text
            return found.json()

        assert (await in_force(effective_from - timedelta(microseconds=1)))["version"] == 1
        then = await in_force(effective_from)
        assert (then["version"], then["effective_from"]) == (
            2,
            effective_from.isoformat().replace("+00:00", "Z"),
        )
        listed = (await client.get(f"{base}/sla-policy/versions", headers=OPERATOR_HEADERS)).json()
        assert [p["version"] for p in listed["items"]] == [1, 2]

        # Once dispatch has it in force, an appeal received is governed by it.
        async def now_in_force() -> bool | None:
            return True if (await in_force())["version"] == 2 else None

        await polling.until(now_in_force, what="version 2 to come into force")
        after = await _file(client, stack)

        old = (await before.get()).json()["deadlines"]
        new = (await after.get()).json()["deadlines"]
        assert (old["policy_version"], new["policy_version"]) == (1, 2)
        assert old["calendar"] == new["calendar"] == seeded["calendar"]
        assert datetime.fromisoformat(new["handle_due"]) < datetime.fromisoformat(old["handle_due"])

        # The appeal received before keeps its version for life: a reassignment now, with
        # version 2 in force, sets fresh clocks under version 1 still.
        reassigned = await before.act(
            "reassignment", {"department": "housing", "reason": "改派"}, OPERATOR_HEADERS
        )
        assert reassigned["deadlines"]["policy_version"] == 1
        handling = datetime.fromisoformat(reassigned["deadlines"]["handle_due"]) - datetime.now(UTC)
        assert handling > timedelta(days=14)  # fifteen working days, not three

        # The facts audit holds record the same versions.
        for orders, version in ((before, 1), (after, 2)):
            fact = await _assigned_fact(client, stack, orders.appeal_id)
            assert fact["data"]["deadlines"]["policy_version"] == version
            assert fact["data"]["deadlines"]["calendar"] == seeded["calendar"]
