"""Feedback in full over HTTP, real Kafka and PostgreSQL: a reply reviewed and sent back,
replied again and approved; callbacks that fail, then reach a dissatisfied citizen; the
redo through dispatch; a second reply rated satisfied; and audit holding every attempt."""

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest

from feedback_service.domain import links
from feedback_service.settings import FeedbackSettings
from services.cli import DEPARTMENT_SCOPES
from tests.e2e.conftest import Stack
from tests.e2e.test_work_order import OPERATOR_HEADERS, WorkOrders, _new_order
from tests.support import polling
from tests.support.processes import bearer

pytestmark = pytest.mark.e2e

# The history of the test below, in causal order, less the uncounted third call.
STEPS = [
    "received",
    "forwarded",
    "assigned",
    "signed_for",
    "handled",
    "reply_reviewed",
    "handled",
    "reply_reviewed",
    "callback_made",
    "callback_made",
    "rated",
    "redo_ordered",
    "signed_for",
    "handled",
    "reply_reviewed",
    "rated",
    "closed",
]
FACTS = len(STEPS) + 1


async def _queue(orders: WorkOrders) -> dict[str, Any] | None:
    """The appeal's row in the operators' callback queue, if it is there."""
    response = await orders.client.get(
        f"{orders.stack.feedback.url}/v1/callbacks", headers=OPERATOR_HEADERS
    )
    assert response.status_code == 200, response.text
    mine = [i for i in response.json()["items"] if i["appeal_id"] == orders.appeal_id]
    return mine[0] if mine else None


async def _intake_status(
    client: httpx.AsyncClient, stack: Stack, appeal_id: str, status: str
) -> None:
    async def reached() -> bool | None:
        url = f"{stack.intake.url}/v1/appeals/{appeal_id}"
        body = (await client.get(url, headers=OPERATOR_HEADERS)).json()
        return True if body["status"] == status else None

    await polling.until(reached, what=f"intake to show {status}")


async def test_sent_back_approved_called_back_redone_and_rated(stack: Stack) -> None:
    water = bearer(*DEPARTMENT_SCOPES, department="water")
    power = bearer(*DEPARTMENT_SCOPES, department="power")
    async with httpx.AsyncClient(timeout=10) as client:
        orders = await _new_order(client, stack)
        await orders.act("sign-for", {"person": "李工"}, water)
        await orders.feedback_when(lambda b: b["signed_for"])
        replies = f"{stack.feedback.url}/v1/appeals/{orders.appeal_id}/replies"
        wrong = await client.post(
            replies, json={"result": "solved", "reply": "已处理"}, headers=power
        )
        assert wrong.status_code == 404, wrong.text  # not power's: as good as absent to it
        before = await orders.get()
        await orders.reply(water, "已处理")
        await orders.when(lambda b: b["handled_this_round"])
        # No fact of dispatch's records the reply it learnt, yet the work order shows it:
        # its ETag changes with it, so a conditional GET holding the old one is answered.
        after = await orders.get()
        assert after.json()["version"] == before.json()["version"]
        assert after.headers["ETag"] != before.headers["ETag"]
        revalidated = await orders.get(
            {**OPERATOR_HEADERS, "If-None-Match": before.headers["ETag"]}
        )
        assert revalidated.status_code == 200

        # Review: a department may not review; sending back needs a reason.
        refused = await client.post(
            f"{stack.feedback.url}/v1/appeals/{orders.appeal_id}/reviews",
            json={"decision": "approved"},
            headers=water,
        )
        assert refused.status_code == 403
        no_reason = await orders.review("sent_back", status=422)
        assert [e["field"] for e in no_reason["errors"]] == ["body.reason"]
        await orders.callback({"reached": False}, status=409)  # nothing approved yet
        await orders.review("sent_back", "答复过于简单，未说明是否恢复供水")
        await orders.review("approved", status=409)  # awaiting the department's new reply

        # dispatch learns of it: the handling clock runs again until the new reply; the
        # appeal's status at intake goes back from "handled" to "in_progress".
        resumed = await orders.when(lambda b: not b["handled_this_round"])
        assert resumed["running_clock"]["clock"] == "handling"
        await _intake_status(client, stack, orders.appeal_id, "in_progress")
        await orders.reply(water, "已更换破损管道，于今日14时恢复供水，现场照片见附件")
        await orders.when(lambda b: b["handled_this_round"])
        approval = await orders.review("approved")
        assert approval["callback_due"] > approval["time"]
        await _intake_status(client, stack, orders.appeal_id, "reviewed")

        # Callbacks: the queue lists the round; an unreached call moves its due time.
        queued = await polling.until(lambda: _queue(orders), what="the callback queue")
        assert (queued["round"], queued["attempts"], queued["department"]) == (1, 0, "water")
        assert queued["due_at"] == approval["callback_due"]
        bad = await orders.callback({"reached": True}, status=422)
        assert {e["field"] for e in bad["errors"]} == {"body.satisfaction"}
        missed = await orders.callback({"reached": False})
        assert (missed["attempt"], missed["counted"]) == (1, False)
        retried = await _queue(orders)
        assert retried is not None
        assert (retried["attempts"], retried["due_at"]) == (1, missed["next_attempt_due"])
        reached = await orders.callback(
            {"reached": True, "satisfaction": "dissatisfied", "solved": False, "comment": "仍停水"}
        )
        assert (reached["attempt"], reached["counted"]) == (2, True)
        assert [f["type"] for f in reached["facts"]] == ["appeal.callback_made", "appeal.rated"]
        assert await _queue(orders) is None
        # Calling again until "satisfied" is recorded, and counts for nothing.
        pressed = await orders.callback(
            {"reached": True, "satisfaction": "satisfied", "solved": True}
        )
        assert (pressed["attempt"], pressed["counted"]) == (3, False)

        # The dissatisfied verdict orders a redo through dispatch: round 2, same department.
        redo = await orders.when(lambda b: b["round"] == 2)
        assert (redo["department"], redo["stage"]) == ("water", "assigned")
        await orders.feedback_when(lambda b: b["round"] == 2)
        early = await client.post(
            replies, json={"result": "solved", "reply": "再次处理"}, headers=water
        )
        assert early.status_code == 409, early.text  # not signed for in round 2
        await orders.act("sign-for", {"person": "李工"}, water)
        await orders.feedback_when(lambda b: b["round"] == 2 and b["signed_for"])
        await orders.reply(water, "已彻底更换小区供水主管并复核水压")
        await orders.review("approved")
        await orders.rate("satisfied")
        closed = await orders.when(lambda b: b["stage"] == "closed")
        assert closed["round"] == 2

        history_url = f"{stack.audit.url}/v1/appeals/{orders.appeal_id}/history"

        async def audited() -> dict[str, Any] | None:
            # Every fact, not only the closure: a fetch cut at its record limit may hold
            # dispatch's closure but not yet feedback's facts that caused it.
            body = (await client.get(history_url, headers=OPERATOR_HEADERS)).json()
            return dict(body) if len(body.get("facts", [])) == FACTS else None

        history = await polling.until(audited, what="audit to see every fact")
    steps = [f["type"].removeprefix("appeal.") for f in history["facts"]]
    # The uncounted third call and dispatch's redo are causally unordered: both follow the
    # rating, in whichever order they happened.
    pressed_at = max(i for i, step in enumerate(steps) if step == "callback_made")
    assert pressed_at > steps.index("rated")
    del steps[pressed_at]
    assert steps == STEPS
    calls = [f["data"] for f in history["facts"] if f["type"] == "appeal.callback_made"]
    assert [(c["attempt"], c["reached"], c["satisfaction"], c["counted"]) for c in calls] == [
        (1, False, None, False),
        (2, True, "dissatisfied", True),
        (3, True, "satisfied", False),
    ]
    assert history["verified"] is True


async def _approved_order(client: httpx.AsyncClient, stack: Stack) -> WorkOrders:
    water = bearer(*DEPARTMENT_SCOPES, department="water")
    orders = await _new_order(client, stack)
    await orders.act("sign-for", {"person": "李工"}, water)
    await orders.feedback_when(lambda b: b["signed_for"])
    await orders.reply(water, "已恢复供水")
    await orders.review("approved")
    return orders


async def test_a_rating_link_is_signed_expires_and_is_used_once(stack: Stack) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        orders = await _approved_order(client, stack)
        issued = await client.post(
            f"{stack.feedback.url}/v1/appeals/{orders.appeal_id}/rating-links",
            headers=OPERATOR_HEADERS,
        )
        assert issued.status_code == 201, issued.text
        link = issued.json()
        assert link["url"].endswith(link["token"])
        url = f"{stack.feedback.url}/v1/rating-links/{link['token']}"

        seen = await client.get(url)  # the citizen needs no token
        assert (seen.status_code, seen.json()["round"]) == (200, 1)

        # The nonce is bound on the server to its appeal, round and expiry: the same nonce
        # re-signed for another round or a later expiry (a leaked key) rates nothing.
        secret = FeedbackSettings().rating_link_key()
        assert secret is not None  # the development key the stack signs with
        claims = links.verify(secret, link["token"], now=datetime.now(UTC))
        for other in (
            dataclasses.replace(claims, round=2),
            dataclasses.replace(claims, expires_at=claims.expires_at + timedelta(days=30)),
        ):
            rebound = await client.post(
                f"{stack.feedback.url}/v1/rating-links/{links.sign(secret, other)}",
                json={"satisfaction": "satisfied", "solved": True},
            )
            assert (rebound.status_code, rebound.json()["detail"]) == (
                403,
                "this rating link was issued for another round",
            )
        used = await client.post(url, json={"satisfaction": "satisfied", "solved": True})
        assert used.status_code == 201, used.text
        again = await client.post(url, json={"satisfaction": "dissatisfied", "solved": False})
        assert (again.status_code, again.json()["title"]) == (409, "Rating link already used")
        assert again.headers["content-type"] == "application/problem+json"

        payload, signature = link["token"].split(".")
        forged = await client.post(
            f"{stack.feedback.url}/v1/rating-links/{payload}.{signature[::-1]}",
            json={"satisfaction": "satisfied", "solved": True},
        )
        assert (forged.status_code, forged.json()["title"]) == (403, "Invalid rating link")

        # A link signed with the service's key whose time is up.
        stale = links.sign(
            secret,
            links.LinkClaims(
                UUID(orders.appeal_id), 1, datetime.now(UTC) - timedelta(minutes=1), "old"
            ),
        )
        expired = await client.post(
            f"{stack.feedback.url}/v1/rating-links/{stale}",
            json={"satisfaction": "satisfied", "solved": True},
        )
        assert (expired.status_code, expired.json()["title"]) == (410, "Rating link expired")

        closed = await orders.when(lambda b: b["stage"] == "closed")
        assert closed["round"] == 1
        no_more = await client.post(
            f"{stack.feedback.url}/v1/appeals/{orders.appeal_id}/rating-links",
            headers=OPERATOR_HEADERS,
        )
        assert no_more.status_code == 409  # the round is rated: nothing left to rate
