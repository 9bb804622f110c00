"""KPI rules over the API: the seeded standard rule, a new version published, and the
same month's measures under each version, naming the version and the facts behind them."""

from datetime import datetime

import httpx
import pytest

from shared.workdays import HOTLINE_ZONE
from tests.e2e.conftest import Stack
from tests.e2e.test_happy_path import APPEAL
from tests.support import polling
from tests.support.processes import OPERATOR, bearer

pytestmark = pytest.mark.e2e
HEADERS = bearer(*OPERATOR)
LOOSE = {"handling_limits": {"working_days": {"*": 30}, "calendar": "weekdays"}}


async def test_rule_versions_and_the_measures_under_each(stack: Stack) -> None:
    audit = stack.audit.url
    async with httpx.AsyncClient(timeout=10) as client:
        created = await client.post(f"{stack.intake.url}/v1/appeals", json=APPEAL, headers=HEADERS)
        appeal_id = created.json()["id"]

        async def assigned() -> str | None:
            body = (
                await client.get(f"{audit}/v1/appeals/{appeal_id}/history", headers=HEADERS)
            ).json()
            ids = [f["event_id"] for f in body.get("facts", []) if f["type"] == "appeal.assigned"]
            return ids[0] if ids else None

        assignment = await polling.until(assigned, what="audit to record the assignment")

        listed = (await client.get(f"{audit}/v1/kpi-rules", headers=HEADERS)).json()
        assert [(r["name"], r["version"]) for r in listed["items"]] == [("standard", 1)]
        assert listed["items"][0]["document"]["handling_limits"] is None

        url = f"{audit}/v1/kpi-rules/standard"
        refused = await client.put(url, json=LOOSE, headers=bearer("audit:read"))
        assert refused.status_code == 403
        bad = await client.put(
            url, json={"handling_limits": {"working_days": {"*": 0}}}, headers=HEADERS
        )
        assert bad.status_code == 422
        published = await client.put(url, json=LOOSE, headers=HEADERS)
        assert published.status_code == 200, published.text
        assert (published.json()["version"], published.json()["published"]) == (2, True)
        again = (await client.put(url, json=LOOSE, headers=HEADERS)).json()
        assert (again["version"], again["published"]) == (2, False)
        first = (await client.get(url, params={"version": 1}, headers=HEADERS)).json()
        assert first["document"]["handling_limits"] is None
        assert (await client.get(f"{url}?version=9", headers=HEADERS)).status_code == 404

        month = datetime.now(HOTLINE_ZONE).strftime("%Y-%m")
        figures = {}
        for version in (1, 2):
            response = await client.get(
                f"{audit}/v1/measures",
                params={
                    "month": month,
                    "rule": "standard",
                    "rule_version": version,
                    "evidence": "true",
                },
                headers=HEADERS,
            )
            assert response.status_code == 200, response.text
            body = response.json()
            assert (body["rule"]["name"], body["rule"]["version"]) == ("standard", version)
            assert body["rule"]["adjusted"] is False
            [row] = [r for r in body["items"] if assignment in r["evidence"]["volume"]]
            figures[version] = row
        assert figures[2]["evidence"]["volume"] == figures[1]["evidence"]["volume"]
        measures = f"{audit}/v1/measures"
        latest = (await client.get(measures, params={"month": month}, headers=HEADERS)).json()
        assert latest["rule"]["version"] == 2
        assert latest["rule"]["handling_limits"]["working_days"] == {"*": 30}
        unknown = await client.get(
            measures, params={"month": month, "rule": "nope"}, headers=HEADERS
        )
        assert unknown.status_code == 422

        # A stored version fixes the red and black lists too (under its own name, so the
        # other tests' "standard" keeps the default list rule); the query may still adjust.
        lists = {**LOOSE, "list_min_volume": 1, "listed": 1}
        put = await client.put(f"{audit}/v1/kpi-rules/lists", json=lists, headers=HEADERS)
        assert (put.status_code, put.json()["version"]) == (200, 1), put.text
        stored = (
            await client.get(measures, params={"month": month, "rule": "lists"}, headers=HEADERS)
        ).json()
        assert (stored["rule"]["list_min_volume"], stored["rule"]["listed"]) == (1, 1)
        assert stored["rule"]["adjusted"] is False
        assert len(stored["red_list"]) <= 1
        assert len(stored["black_list"]) <= 1
        assert (latest["rule"]["list_min_volume"], latest["rule"]["listed"]) == (5, 5)
        adjusted = (
            await client.get(
                measures, params={"month": month, "rule": "lists", "listed": 3}, headers=HEADERS
            )
        ).json()
        assert (adjusted["rule"]["list_min_volume"], adjusted["rule"]["listed"]) == (1, 3)
        assert adjusted["rule"]["adjusted"] is True
