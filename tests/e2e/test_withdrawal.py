"""The front office after forwarding, and reading one's own writes, over HTTP, real Kafka
and real PostgreSQL: an appeal forwarded on filing (as every partner and Open311 filing is)
is answered and its unsigned work order withdrawn; one signed for meanwhile stays with its
department; a department that has just signed for an appeal replies at once, naming the
work order's version; intake's status is never older than the version a caller saw."""

import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from services.cli import DEPARTMENT_SCOPES
from shared.runtime import positions
from tests.e2e.conftest import Stack, running_stack
from tests.e2e.test_front_office import OPERATOR_HEADERS, PARTNER_HEADERS, _command, _file, appeal
from tests.e2e.test_open311 import seed_catalogue
from tests.e2e.test_work_order import WorkOrders
from tests.support import polling
from tests.support.processes import bearer

pytestmark = pytest.mark.e2e
# Routed to market (market.price), away from the departments other modules measure.
MARKET = bearer(*DEPARTMENT_SCOPES, department="market")


@pytest.fixture(scope="module")
async def stack(servers: None) -> AsyncIterator[Stack]:
    async def prepare(running: Stack) -> None:
        await seed_catalogue(running.intake)

    async with running_stack(prepare=prepare) as running:
        yield running


def _price(**changes: Any) -> dict[str, Any]:
    fields = {"category": "market.price", "appeal_type": "complaint", "content": "超市价格欺诈"}
    return appeal(**{**fields, **changes})


async def _appeal_when(
    client: httpx.AsyncClient, stack: Stack, appeal_id: str, ready: Any
) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        r = await client.get(f"{stack.intake.url}/v1/appeals/{appeal_id}", headers=OPERATOR_HEADERS)
        return dict(r.json()) if r.status_code == 200 and ready(r.json()) else None

    return await polling.until(probe, what=f"appeal {appeal_id} in intake")


async def _history(client: httpx.AsyncClient, stack: Stack, appeal_id: str, last: str) -> list[str]:
    async def probe() -> list[str] | None:
        r = await client.get(
            f"{stack.audit.url}/v1/appeals/{appeal_id}/history", headers=OPERATOR_HEADERS
        )
        types = [f["type"] for f in r.json().get("facts", [])] if r.status_code == 200 else []
        return types if last in types else None

    return await polling.until(probe, what=f"{last} of {appeal_id} in audit")


async def test_a_forwarded_unsigned_appeal_is_answered_and_its_work_order_withdrawn(
    stack: Stack,
) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        filed = await _file(client, stack, _price())
        assert filed["status"] == "forwarded"  # forwarded on filing, as partners' are
        orders = WorkOrders(client, stack, filed["id"])
        await orders.when(lambda b: b["stage"] == "assigned")

        base = f"{stack.intake.url}/v1/appeals/{filed['id']}"
        answered = await _command(
            client,
            f"{base}/answer",
            json={"answer": "已电话解释价格政策"},
            headers=OPERATOR_HEADERS,
        )
        assert answered.status_code == 200, answered.text
        # Pending: the status stays the work order's until dispatch withdraws it.
        assert answered.json()["status"] in ("forwarded", "assigned")
        assert answered.json()["outcome"]["withdrawal"] == "pending"

        closed = await _appeal_when(client, stack, filed["id"], lambda b: b["status"] == "closed")
        assert closed["outcome"]["type"] == "appeal.answered"
        assert closed["outcome"]["answer"] == "已电话解释价格政策"
        order = await orders.when(lambda b: b["stage"] == "closed")
        assert order["department"] == "market"
        late = await client.post(
            f"{orders.url}/sign-for",
            json={"person": "钱工"},
            headers={**MARKET, "If-Match": f'"{order["version"]}"'},
        )
        assert late.status_code == 409  # nobody signs for a withdrawn work order
        # intake's answer and dispatch's withdrawal reach audit on different topics
        await _history(client, stack, filed["id"], "appeal.withdrawn")
        types = await _history(client, stack, filed["id"], "appeal.answered")
        assert types.index("appeal.withdrawal_requested") < types.index("appeal.withdrawn")
        assert types.index("appeal.withdrawn") < types.index("appeal.answered")


async def test_merges_wait_for_a_pending_merge_and_never_strand_a_child(stack: Stack) -> None:
    """P, forwarded, is being merged into Q (its work order's withdrawal pending): nothing
    joins P meanwhile, P cannot be answered with a child joining it, and once the merge
    takes effect P's outcome says merged, no longer pending."""
    async with httpx.AsyncClient(timeout=10) as client:
        q = await _file(client, stack, _price(hold=True))
        p = await _file(client, stack, _price())
        c = await _file(client, stack, _price(hold=True))
        await WorkOrders(client, stack, p["id"]).when(lambda b: b["stage"] == "assigned")
        base = f"{stack.intake.url}/v1/appeals"
        merging = await _command(
            client, f"{base}/{p['id']}/merge", json={"parent": q["id"], "reason": "同一超市"},
            headers=OPERATOR_HEADERS,
        )  # fmt: skip
        assert merging.status_code == 200, merging.text
        assert merging.json()["outcome"]["withdrawal"] == "pending"
        joining = await _command(
            client, f"{base}/{c['id']}/merge", json={"parent": p["id"], "reason": "同一超市"},
            headers=OPERATOR_HEADERS,
        )  # fmt: skip
        assert joining.status_code == 409, joining.text
        assert "own outcome is pending" in joining.json()["detail"]

        merged = await _appeal_when(client, stack, p["id"], lambda b: b["merged_into"])
        assert merged["merged_into"] == q["id"]
        assert merged["outcome"]["type"] == "appeal.merged"  # no longer "pending"
        # Q, which P joined, is not settled at the front office without it
        answered = await _command(
            client, f"{base}/{q['id']}/answer", json={"answer": "已答复"},
            headers=OPERATOR_HEADERS,
        )  # fmt: skip
        assert answered.status_code == 409, answered.text
        assert "unmerge them first" in answered.json()["detail"]


async def test_a_signed_for_appeal_stays_with_its_department(stack: Stack) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        filed = await _file(client, stack, _price())
        orders = WorkOrders(client, stack, filed["id"])
        await orders.when(lambda b: b["stage"] == "assigned")
        await orders.act("sign-for", {"person": "钱工"}, MARKET)

        base = f"{stack.intake.url}/v1/appeals/{filed['id']}"
        rejected = await _command(
            client,
            f"{base}/rejection",
            json={"reason": "已诉讼", "legal_route": "litigation", "explanation": "向法院起诉"},
            headers=OPERATOR_HEADERS,
        )
        assert rejected.status_code == 200, rejected.text
        refused = await _appeal_when(
            client,
            stack,
            filed["id"],
            lambda b: (b["outcome"] or {}).get("withdrawal") == "refused",
        )
        assert "market signed for it" in refused["outcome"]["reason"]
        assert refused["status"] == "in_progress"  # never "closed" while the order is open
        assert (await orders.get()).json()["stage"] == "signed_for"
        await _history(client, stack, filed["id"], "appeal.withdrawal_refused")  # dispatch's
        types = await _history(client, stack, filed["id"], "appeal.outcome_abandoned")
        assert "appeal.withdrawal_refused" in types
        assert "appeal.rejected" not in types


async def test_a_department_that_just_signed_for_replies_at_once(stack: Stack) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        filed = await _file(client, stack, _price())
        orders = WorkOrders(client, stack, filed["id"])
        version = (await orders.when(lambda b: b["stage"] == "assigned"))["version"]
        signed = await client.post(
            f"{orders.url}/sign-for",
            json={"person": "钱工"},
            headers={**MARKET, "If-Match": f'"{version}"'},
        )
        assert signed.status_code == 200, signed.text
        seen = str(signed.json()["version"])

        # At once, naming the version seen: feedback waits for its view to catch up.
        replied = await client.post(
            f"{stack.feedback.url}/v1/appeals/{filed['id']}/replies",
            json={"result": "solved", "reply": "已责令商家退还差价"},
            headers={**MARKET, "X-Work-Order-Version": seen},
        )
        assert replied.status_code == 201, replied.text

        status = await client.get(
            f"{stack.intake.url}/v1/appeals/{filed['id']}",
            headers={**OPERATOR_HEADERS, "X-Work-Order-Version": seen},
        )
        assert status.status_code == 200
        assert status.json()["status"] in ("in_progress", "handled")  # never "assigned"

        # A version dispatch never reached: a wait of its bound, then 409 with Retry-After.
        started = time.monotonic()
        ahead = await client.post(
            f"{stack.feedback.url}/v1/appeals/{filed['id']}/replies",
            json={"result": "solved", "reply": "x"},
            headers={**MARKET, "X-Work-Order-Version": "999"},
        )
        assert ahead.status_code == 409, ahead.text
        assert ahead.headers["Retry-After"] == "1"
        assert ahead.json()["seen_version"] == 999
        assert time.monotonic() - started >= positions.WAIT_SECONDS


async def test_danger_words_put_a_partners_appeal_on_the_emergency_queue(stack: Stack) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        calm = await _file(client, stack, _price(channel="partner"))
        fire = await client.post(
            f"{stack.intake.url}/v1/appeals",
            json=_price(channel="partner", content="商场二楼起火了，有人被困"),
            headers=PARTNER_HEADERS,
        )
        assert fire.status_code == 201, fire.text
        fire_id = fire.json()["id"]
        queue_url = f"{stack.intake.url}/v1/emergency-queue"

        queue = await client.get(queue_url, headers=OPERATOR_HEADERS)
        assert queue.status_code == 200
        queued = {a["id"]: a for a in queue.json()["items"]}
        assert fire_id in queued
        assert calm["id"] not in queued
        assert queued[fire_id]["urgency"] == "urgent"
        assert "起火" in queued[fire_id]["classification"]["danger_keywords"]
        assert (await client.get(queue_url, headers=PARTNER_HEADERS)).status_code == 403

        # Transferred to 119 (its work order withdrawn), it leaves the queue.
        await WorkOrders(client, stack, fire_id).when(lambda b: b["stage"] == "assigned")
        base = f"{stack.intake.url}/v1/appeals/{fire_id}"
        transfer = {"line": "119", "mode": "one_click", "external_reference": "119-0001"}
        moved = await _command(client, f"{base}/transfer", json=transfer, headers=OPERATOR_HEADERS)
        assert moved.status_code == 200, moved.text
        await _appeal_when(client, stack, fire_id, lambda b: b["status"] == "closed")
        queue = await client.get(queue_url, headers=OPERATOR_HEADERS)
        assert fire_id not in {a["id"] for a in queue.json()["items"]}
