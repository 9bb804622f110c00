"""The front office over HTTP, real Kafka and real PostgreSQL: an inquiry answered from the
knowledge base never reaches dispatch; a repeat appeal is flagged, merged and unmerged;
classification by keywords and by an operator; transfers and rejections; who may do what."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from services.cli import DEPARTMENT_SCOPES
from shared import topics
from tests.e2e.conftest import Stack, running_stack
from tests.e2e.test_open311 import seed_catalogue
from tests.e2e.test_work_order import WorkOrders
from tests.support import infra, polling, processes
from tests.support.processes import OPERATOR, bearer

pytestmark = pytest.mark.e2e
OPERATOR_HEADERS = bearer(*OPERATOR)
PARTNER_HEADERS = bearer("appeals:write")
WATER = bearer(*DEPARTMENT_SCOPES, department="water")
# Every later module's dispatch routes this module's appeals again (fresh database, topics
# read from offset 0): routed to traffic, they stay out of the departments others measure.
TRAFFIC = bearer(*DEPARTMENT_SCOPES, department="traffic")
BODY = "水费可在自来水公司营业厅、微信或支付宝生活缴费、银行代扣缴纳。"
ARTICLE = {
    "title": "水费缴纳方式",
    "body": BODY,
    "categories": ["water.outage"],
    "keywords": ["交水费"],
}


def appeal(**changes: Any) -> dict[str, Any]:
    return {
        "channel": "phone",
        "appeal_type": "consultation",
        "category": "water.outage",
        "content": "想问一下水费怎么交",
        "citizen": {"name": "王五", "phone": "13900001234", "contact_preference": "sms"},
        "location": {"address": "西城区和平路8号", "district": "west"},
        **changes,
    }


async def _command(
    client: httpx.AsyncClient, url: str, *, json: Any = None, headers: dict[str, str]
) -> httpx.Response:
    """A front-office command on the appeal as the operator last saw it (its ETag)."""
    appeal_url = url.rsplit("/", 1)[0]
    shown = await client.get(appeal_url, headers=OPERATOR_HEADERS)
    if_match = {"If-Match": shown.headers["ETag"]} if "ETag" in shown.headers else {}
    return await client.post(url, json=json, headers={**headers, **if_match})


@pytest.fixture(scope="module")
async def stack(servers: None) -> AsyncIterator[Stack]:
    async def prepare(running: Stack) -> None:
        await seed_catalogue(running.intake)

    async with running_stack(prepare=prepare) as running:
        yield running


async def _file(client: httpx.AsyncClient, stack: Stack, body: dict[str, Any]) -> dict[str, Any]:
    created = await client.post(
        f"{stack.intake.url}/v1/appeals", json=body, headers=OPERATOR_HEADERS
    )
    assert created.status_code == 201, created.text
    return dict(created.json())


async def _history_types(client: httpx.AsyncClient, stack: Stack, appeal_id: str) -> list[str]:
    response = await client.get(
        f"{stack.audit.url}/v1/appeals/{appeal_id}/history", headers=OPERATOR_HEADERS
    )
    return [f["type"] for f in response.json().get("facts", [])]


async def _until_history_has(
    client: httpx.AsyncClient, stack: Stack, appeal_id: str, fact_type: str
) -> list[str]:
    async def probe() -> list[str] | None:
        found = await _history_types(client, stack, appeal_id)
        return found if fact_type in found else None

    return await polling.until(probe, what=f"{fact_type} of {appeal_id} in audit")


async def _dispatch_caught_up(stack: Stack) -> bool | None:
    """dispatch has consumed everything intake published so far."""
    ends = await infra.end_offsets([topics.BY_SOURCE["intake"]])
    committed = await infra.committed_offsets(processes.group(stack.dispatch))
    behind = [tp for tp, end in ends.items() if end > 0 and committed.get(tp, -1) < end]
    return None if behind else True


async def _work_order(client: httpx.AsyncClient, stack: Stack, appeal_id: str) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        response = await client.get(
            f"{stack.dispatch.url}/v1/work-orders/{appeal_id}", headers=OPERATOR_HEADERS
        )
        return dict(response.json()) if response.status_code == 200 else None

    return await polling.until(probe, what=f"the work order of {appeal_id}")


async def test_an_inquiry_answered_from_the_knowledge_base_never_reaches_dispatch(
    stack: Stack,
) -> None:
    kb = f"{stack.intake.url}/v1/knowledge"
    async with httpx.AsyncClient(timeout=10) as client:
        url = f"{kb}/articles/water.bill-payment"
        first = await client.put(url, json=ARTICLE, headers=OPERATOR_HEADERS)
        assert (first.status_code, first.json()["version"]) == (201, 1), first.text
        same = await client.put(url, json=ARTICLE, headers=OPERATOR_HEADERS)
        assert (same.status_code, same.json()) == (
            200,
            {"id": "water.bill-payment", "version": 1, "published": False},
        )
        changed = {**ARTICLE, "body": BODY + "逾期按日加收滞纳金。"}
        second = await client.put(url, json=changed, headers=OPERATOR_HEADERS)
        assert (second.status_code, second.json()["version"]) == (200, 2)
        found = await client.get(f"{kb}/search", params={"q": "水费怎么交"}, headers=WATER)
        assert found.status_code == 200, found.text
        [best, *_] = found.json()["items"]
        assert (best["id"], best["version"], best["title"]) == (
            "water.bill-payment",
            2,
            "水费缴纳方式",
        )
        v1 = await client.get(url, params={"version": 1}, headers=OPERATOR_HEADERS)
        assert v1.json()["body"] == ARTICLE["body"]
        versions = await client.get(f"{url}/versions", headers=OPERATOR_HEADERS)
        assert [v["version"] for v in versions.json()["versions"]] == [1, 2]

        held = await _file(client, stack, {**appeal(), "hold": True})
        assert held["status"] == "received"
        answered = await _command(
            client,
            f"{stack.intake.url}/v1/appeals/{held['id']}/answer",
            json={"article_id": "water.bill-payment"},
            headers=OPERATOR_HEADERS,
        )
        assert answered.status_code == 200, answered.text
        shown = answered.json()
        assert shown["status"] == "closed"
        assert (shown["outcome"]["type"], shown["outcome"]["article_version"]) == (
            "appeal.answered",
            2,
        )
        assert shown["outcome"]["answer"] == changed["body"]
        again = await _command(
            client,
            f"{stack.intake.url}/v1/appeals/{held['id']}/answer",
            json={"answer": "再答一次"},
            headers=OPERATOR_HEADERS,
        )
        assert again.status_code == 409
        assert again.headers["content-type"] == "application/problem+json"

        types = await _until_history_has(client, stack, held["id"], "appeal.answered")
        assert types == ["appeal.received", "appeal.answered"]
        await polling.until(lambda: _dispatch_caught_up(stack), what="dispatch to catch up")
        order = await client.get(
            f"{stack.dispatch.url}/v1/work-orders/{held['id']}", headers=OPERATOR_HEADERS
        )
        assert order.status_code == 404  # dispatch never had it

        # The citizen checks progress with the id and the phone's last four digits only.
        progress = f"{stack.intake.url}/v1/progress/{held['id']}"
        mine = await client.get(progress, params={"phone_last4": "1234"})
        assert mine.status_code == 200, mine.text
        # Status, stage times and the receipt (a hash and a link: no personal data).
        assert set(mine.json()) == {"id", "status", "received_at", "stages", "receipt"}
        assert set(mine.json()["receipt"]) == {"fact_hash", "proof_url"}
        assert mine.json()["status"] == "closed"
        assert set(mine.json()["stages"]) == {"received", "closed"}
        wrong = await client.get(progress, params={"phone_last4": "9999"})
        unknown = await client.get(
            f"{stack.intake.url}/v1/progress/00000000-0000-4000-8000-000000000000",
            params={"phone_last4": "1234"},
        )
        assert wrong.status_code == unknown.status_code == 404
        assert wrong.json()["detail"] == unknown.json()["detail"]
        malformed = await client.get(progress, params={"phone_last4": "12a4"})
        assert malformed.status_code == 422
        assert malformed.json()["errors"][0]["field"] == "query.phone_last4"


async def test_a_repeat_appeal_is_flagged_merged_and_unmerged(stack: Stack) -> None:
    phone = {"name": "赵六", "phone": "13700007777"}
    repeat = {"appeal_type": "complaint", "content": "小区停水", "citizen": phone}
    async with httpx.AsyncClient(timeout=10) as client:
        parent = await _file(client, stack, appeal(**repeat))
        assert parent["status"] == "forwarded"
        child = await _file(client, stack, {**appeal(**repeat), "hold": True})
        assert parent["id"] in child["repeat_candidates"]
        base = f"{stack.intake.url}/v1/appeals/{child['id']}"

        merged = await _command(
            client,
            f"{base}/merge",
            json={"parent": parent["id"], "reason": "同一来电人重复反映"},
            headers=OPERATOR_HEADERS,
        )
        assert merged.status_code == 200, merged.text
        assert (merged.json()["status"], merged.json()["merged_into"]) == ("merged", parent["id"])
        shown = await client.get(
            f"{stack.intake.url}/v1/appeals/{parent['id']}", headers=OPERATOR_HEADERS
        )
        assert shown.json()["merged_children"] == [child["id"]]
        follows = await client.get(base, headers=OPERATOR_HEADERS)
        assert follows.json()["parent_status"] in ("forwarded", "assigned")
        progress = await client.get(
            f"{stack.intake.url}/v1/progress/{child['id']}", params={"phone_last4": "7777"}
        )
        assert progress.json()["status"] == "merged"
        assert progress.json()["handled_with"]["id"] == parent["id"]
        refused = await _command(client, f"{base}/forwarding", headers=OPERATOR_HEADERS)
        assert refused.status_code == 409
        assert "unmerge" in refused.json()["detail"]
        into_child = await _command(
            client,
            f"{stack.intake.url}/v1/appeals/{parent['id']}/merge",
            json={"parent": child["id"], "reason": "x"},
            headers=OPERATOR_HEADERS,
        )
        assert into_child.status_code == 409  # the target is itself merged (into this one)

        unmerged = await _command(
            client,
            f"{base}/unmerge",
            json={"reason": "并单有误，不同楼栋"},
            headers=OPERATOR_HEADERS,
        )
        assert unmerged.status_code == 200, unmerged.text
        assert (unmerged.json()["status"], unmerged.json()["merged_into"]) == ("received", None)
        again = await _command(
            client, f"{base}/unmerge", json={"reason": "x"}, headers=OPERATOR_HEADERS
        )
        assert again.status_code == 409
        shown = await client.get(
            f"{stack.intake.url}/v1/appeals/{parent['id']}", headers=OPERATOR_HEADERS
        )
        assert shown.json()["merged_children"] == []

        # Unmerged, the child stands on its own: forwarded, it gets its own work order.
        forwarded = await _command(client, f"{base}/forwarding", headers=OPERATOR_HEADERS)
        assert forwarded.json()["status"] == "forwarded"
        order = await _work_order(client, stack, child["id"])
        assert order["department"] == "water"
        types = await _until_history_has(client, stack, child["id"], "appeal.assigned")
        assert types == [
            "appeal.received",
            "appeal.merged",
            "appeal.unmerged",
            "appeal.forwarded",
            "appeal.assigned",
        ]


async def test_a_command_names_the_version_it_was_decided_on(stack: Stack) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        held = await _file(client, stack, appeal(category="traffic.bus", hold=True))
        base = f"{stack.intake.url}/v1/appeals/{held['id']}"
        shown = await client.get(base, headers=OPERATOR_HEADERS)
        assert shown.headers["ETag"] == '"1"'
        classify = {"category": "traffic.bus", "urgency": "urgent", "reason": "高峰时段"}
        missing = await client.post(
            f"{base}/classification", json=classify, headers=OPERATOR_HEADERS
        )
        assert missing.status_code == 428
        assert missing.headers["content-type"] == "application/problem+json"
        classified = await client.post(
            f"{base}/classification", json=classify, headers={**OPERATOR_HEADERS, "If-Match": '"1"'}
        )
        assert classified.status_code == 200, classified.text
        assert classified.headers["ETag"] == '"2"'
        # A second operator still looking at version 1 is told it moved on; nothing recorded.
        stale = await client.post(
            f"{base}/forwarding", headers={**OPERATOR_HEADERS, "If-Match": '"1"'}
        )
        assert stale.status_code == 412
        assert stale.json()["current_version"] == 2
        assert (await client.get(base, headers=OPERATOR_HEADERS)).json()["status"] == "received"
        forwarded = await client.post(
            f"{base}/forwarding", headers={**OPERATOR_HEADERS, "If-Match": '"2"'}
        )
        assert (forwarded.status_code, forwarded.headers["ETag"]) == (200, '"3"')


async def test_keywords_classify_an_operator_overrides_then_forwards(stack: Stack) -> None:
    body = appeal(appeal_type="help", content="楼道里闻到燃气泄漏的味道", hold=True)
    del body["category"]
    async with httpx.AsyncClient(timeout=10) as client:
        held = await _file(client, stack, body)
        assert (held["category"], held["urgency"]) == ("gas.supply", "urgent")
        rules = held["classification"]
        assert (rules["category_source"], rules["urgency_source"]) == (
            "keywords",
            "danger_keywords",
        )
        assert "燃气泄漏" in rules["danger_keywords"]
        base = f"{stack.intake.url}/v1/appeals/{held['id']}"

        unknown = await _command(
            client,
            f"{base}/classification",
            json={"category": "no.such-code", "reason": "x"},
            headers=OPERATOR_HEADERS,
        )
        assert unknown.status_code == 422
        assert unknown.json()["errors"][0]["field"] == "body.category"
        classified = await _command(
            client,
            f"{base}/classification",
            json={"category": "traffic.bus", "reason": "来电人所述为公交站燃气管道"},
            headers=OPERATOR_HEADERS,
        )
        assert classified.status_code == 200, classified.text
        shown = classified.json()
        assert (shown["category"], shown["urgency"]) == ("traffic.bus", "urgent")
        assert shown["classification"]["override"]["previous_category"] == "gas.supply"
        forwarded = await _command(client, f"{base}/forwarding", headers=OPERATOR_HEADERS)
        assert forwarded.status_code == 200
        order = await _work_order(client, stack, held["id"])
        assert order["department"] == "traffic"  # routed on the operator's classification
        late = await _command(
            client,
            f"{base}/classification",
            json={"category": "water.outage", "reason": "x"},
            headers=OPERATOR_HEADERS,
        )
        assert late.status_code == 409  # dispatch routed it: reassign there instead

        # Only the department it was dispatched to reads it, without the citizen.
        async def traffic_reads() -> dict[str, Any] | None:
            r = await client.get(base, headers=TRAFFIC)
            return dict(r.json()) if r.status_code == 200 else None

        seen = await polling.until(traffic_reads, what="intake to learn the department")
        assert seen["department"] == "traffic"
        assert "citizen" not in seen
        # nor the citizen's address or exact point: the district only
        assert {k: v for k, v in seen["location"].items() if v is not None} == {"district": "west"}
        assert (await client.get(base, headers=WATER)).status_code == 404
        listed = await client.get(f"{stack.intake.url}/v1/appeals", headers=WATER)
        assert held["id"] not in [a["id"] for a in listed.json()["items"]]
        assert all(a["department"] == "water" for a in listed.json()["items"])

        nothing = appeal(content="你好，我想咨询一件事")
        del nothing["category"]
        refused = await client.post(
            f"{stack.intake.url}/v1/appeals", json=nothing, headers=OPERATOR_HEADERS
        )
        assert refused.status_code == 422
        assert refused.json()["errors"][0]["field"] == "body.category"


async def test_transfer_and_rejection_close_at_the_front_office(stack: Stack) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        fire = await _file(client, stack, appeal(content="对面楼起火了", hold=True))
        transferred = await _command(
            client,
            f"{stack.intake.url}/v1/appeals/{fire['id']}/transfer",
            json={"line": "119", "mode": "one_click", "external_reference": "119-20261129-0042"},
            headers=OPERATOR_HEADERS,
        )
        assert transferred.status_code == 200, transferred.text
        assert transferred.json()["status"] == "closed"
        assert transferred.json()["outcome"]["external_reference"] == "119-20261129-0042"
        bad_line = await _command(
            client,
            f"{stack.intake.url}/v1/appeals/{fire['id']}/transfer",
            json={"line": "999", "external_reference": "x"},
            headers=OPERATOR_HEADERS,
        )
        assert bad_line.status_code == 422
        assert bad_line.json()["errors"][0]["field"] == "body.line"

        lawsuit = await _file(client, stack, appeal(content="法院判决不公", hold=True))
        rejected = await _command(
            client,
            f"{stack.intake.url}/v1/appeals/{lawsuit['id']}/rejection",
            json={
                "reason": "已进入诉讼程序",
                "legal_route": "litigation",
                "explanation": "请依法向上一级人民法院提起上诉",
            },
            headers=OPERATOR_HEADERS,
        )
        assert rejected.status_code == 200, rejected.text
        assert rejected.json()["outcome"]["legal_route"] == "litigation"
        missing = await _command(
            client,
            f"{stack.intake.url}/v1/appeals/00000000-0000-4000-8000-000000000000/rejection",
            json={"reason": "x", "legal_route": "petition", "explanation": "x"},
            headers=OPERATOR_HEADERS,
        )
        assert missing.status_code == 404


async def test_who_may_do_what(stack: Stack) -> None:
    intake = stack.intake.url
    async with httpx.AsyncClient(timeout=10) as client:
        partner = await client.post(f"{intake}/v1/appeals", json=appeal(), headers=PARTNER_HEADERS)
        assert (partner.status_code, partner.json()["status"]) == (201, "forwarded")
        # the same phone filed before: other appeals are the front office's to see, not a
        # partner's
        assert {"repeat_candidates", "classification"}.isdisjoint(partner.json())
        held = await client.post(
            f"{intake}/v1/appeals", json={**appeal(), "hold": True}, headers=PARTNER_HEADERS
        )
        assert held.status_code == 403  # only the front office holds
        appeal_id = (await _file(client, stack, {**appeal(), "hold": True}))["id"]
        for command, body in (
            ("forwarding", None),
            ("answer", {"answer": "x"}),
            ("transfer", {"line": "110", "external_reference": "x"}),
            ("rejection", {"reason": "x", "legal_route": "none", "explanation": "x"}),
            ("merge", {"parent": appeal_id, "reason": "x"}),
            ("unmerge", {"reason": "x"}),
            ("classification", {"category": "water.outage", "reason": "x"}),
        ):
            url = f"{intake}/v1/appeals/{appeal_id}/{command}"
            for headers in (PARTNER_HEADERS, WATER):
                refused = await _command(client, url, json=body, headers=headers)
                assert refused.status_code == 403, (command, refused.text)
        article = f"{intake}/v1/knowledge/articles/x.y"
        assert (await client.put(article, json=ARTICLE, headers=WATER)).status_code == 403
        assert (await client.put(article, json=ARTICLE)).status_code == 401
        assert (await client.get(f"{intake}/v1/appeals/{appeal_id}")).status_code == 401
        shown = await client.get(f"{intake}/v1/appeals/{appeal_id}", headers=OPERATOR_HEADERS)
        assert shown.json()["citizen"]["phone"] == "13900001234"


async def test_list_and_search_with_filters_and_a_cursor(stack: Stack) -> None:
    intake = stack.intake.url
    async with httpx.AsyncClient(timeout=10) as client:
        ids = [
            (await _file(client, stack, appeal(channel="wechat", location={"district": "east"})))[
                "id"
            ]
            for _ in range(3)
        ]
        query: dict[str, str | int] = {"channel": "wechat", "district": "east", "limit": 2}
        first = await client.get(f"{intake}/v1/appeals", params=query, headers=OPERATOR_HEADERS)
        assert first.status_code == 200, first.text
        page = first.json()
        assert [a["id"] for a in page["items"]] == ids[::-1][:2]  # newest first
        assert page["next"]
        rest = await client.get(
            f"{intake}/v1/appeals",
            params={**query, "cursor": page["next"]},
            headers=OPERATOR_HEADERS,
        )
        assert [a["id"] for a in rest.json()["items"]] == ids[:1]
        assert rest.json()["next"] is None
        filtered = await client.get(
            f"{intake}/v1/appeals",
            params={"channel": "wechat", "status": "closed", "appeal_type": "consultation"},
            headers=OPERATOR_HEADERS,
        )
        assert filtered.json()["items"] == []
        since = page["items"][0]["received_at"]
        recent = await client.get(
            f"{intake}/v1/appeals",
            params={"since": since, "channel": "wechat"},
            headers=OPERATOR_HEADERS,
        )
        assert [a["id"] for a in recent.json()["items"]] == [ids[-1]]

        bad_cursor = await client.get(
            f"{intake}/v1/appeals", params={"cursor": "bm90LWEtY3Vyc29y"}, headers=OPERATOR_HEADERS
        )
        assert bad_cursor.status_code == 400
        assert bad_cursor.headers["content-type"] == "application/problem+json"
        naive = await client.get(
            f"{intake}/v1/appeals",
            params={"since": "2026-01-01T00:00:00"},
            headers=OPERATOR_HEADERS,
        )
        assert naive.status_code == 422
        assert naive.json()["errors"][0]["field"] == "query.since"
        bad_status = await client.get(
            f"{intake}/v1/appeals", params={"status": "lost"}, headers=OPERATOR_HEADERS
        )
        assert bad_status.json()["errors"][0]["field"] == "query.status"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"content": "长" * 4001}, "body.content"),
        ({"content": ""}, "body.content"),
        ({"attachments": [f"s3://appeals/{n}.jpg" for n in range(11)]}, "body.attachments"),
        ({"attachments": ["has space"]}, "body.attachments.0"),
        ({"citizen": {"phone": "call me"}}, "body.citizen.phone"),
        ({"citizen": {"id_number": "12345"}}, "body.citizen.id_number"),
        ({"citizen": {"contact_preference": "pigeon"}}, "body.citizen.contact_preference"),
        ({"location": {"lat": 91}}, "body.location.lat"),
        ({"location": {"address": "路" * 501}}, "body.location.address"),
        ({"channel": "fax"}, "body.channel"),
        ({"urgency": "panic"}, "body.urgency"),
        ({"category": "no.such-code"}, "body.category"),
        ({"surprise": 1}, "body.surprise"),
    ],
)
async def test_bad_input_names_the_field_and_stores_nothing(
    stack: Stack, change: dict[str, Any], field: str
) -> None:
    body = appeal(**{"channel": "partner", **change})
    async with httpx.AsyncClient(timeout=10) as client:
        refused = await client.post(
            f"{stack.intake.url}/v1/appeals", json=body, headers=OPERATOR_HEADERS
        )
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert field in [e["field"] for e in refused.json()["errors"]]
    [(stored,)] = await infra.query(
        processes.database_url(stack.intake),
        "SELECT count(*) FROM appeals WHERE channel = 'partner'",
    )
    assert stored == 0


async def test_racing_merges_never_make_a_chain(stack: Stack) -> None:
    """ "A into B" and "B into C" at once: one wins, the other finds the merge it would
    chain onto, whichever commits first."""
    async with httpx.AsyncClient(timeout=10) as client:
        a, b, c = [
            await _file(client, stack, appeal(category="traffic.bus", hold=True, citizen={}))
            for _ in range(3)
        ]
        url = f"{stack.intake.url}/v1/appeals"
        answers = await asyncio.gather(
            _command(
                client,
                f"{url}/{a['id']}/merge",
                json={"parent": b["id"], "reason": "同一路口"},
                headers=OPERATOR_HEADERS,
            ),
            _command(
                client,
                f"{url}/{b['id']}/merge",
                json={"parent": c["id"], "reason": "同一路口"},
                headers=OPERATOR_HEADERS,
            ),
        )
        assert sorted(r.status_code for r in answers) == [200, 409], [r.text for r in answers]
        shown = {
            x["id"]: (await client.get(f"{url}/{x['id']}", headers=OPERATOR_HEADERS)).json()
            for x in (a, b)
        }
    merged = [appeal_id for appeal_id, body in shown.items() if body["status"] == "merged"]
    assert len(merged) == 1  # never A → B → C


async def test_a_merged_child_is_called_back_on_its_parents_reply(stack: Stack) -> None:
    """并单: the child follows the parent's handling and keeps its own callback and rating."""
    every = {"limit": 500}
    async with httpx.AsyncClient(timeout=10) as client:
        parent = await _file(client, stack, appeal(category="traffic.bus", citizen={}))
        child = await _file(
            client,
            stack,
            appeal(category="traffic.bus", citizen={"phone": "13600006666"}, hold=True),
        )
        merged = await _command(
            client,
            f"{stack.intake.url}/v1/appeals/{child['id']}/merge",
            json={"parent": parent["id"], "reason": "同一公交站"},
            headers=OPERATOR_HEADERS,
        )
        assert merged.status_code == 200, merged.text
        orders = WorkOrders(client, stack, parent["id"])
        await orders.when(lambda b: b["department"] == "traffic")
        await orders.act("sign-for", {"person": "周工"}, TRAFFIC)
        await orders.feedback_when(lambda b: b["signed_for"])
        await orders.reply(TRAFFIC, "已调整公交站台照明")
        await orders.when(lambda b: b["handled_this_round"])
        await orders.review("approved")

        feedback = f"{stack.feedback.url}/v1/appeals"

        async def both_due() -> set[str] | None:
            queue = await client.get(
                f"{stack.feedback.url}/v1/callbacks", params=every, headers=OPERATOR_HEADERS
            )
            due = {c["appeal_id"] for c in queue.json()["items"]}
            return due if {parent["id"], child["id"]} <= due else None

        await polling.until(both_due, what="both citizens' callbacks to fall due")
        # the reply and its review are the parent's; the child's citizen is called back
        review = await client.post(
            f"{feedback}/{child['id']}/reviews",
            json={"decision": "approved"},
            headers=OPERATOR_HEADERS,
        )
        assert review.status_code == 409, review.text
        called = await client.post(
            f"{feedback}/{child['id']}/callbacks",
            json={"reached": True, "satisfaction": "satisfied", "solved": True},
            headers=OPERATOR_HEADERS,
        )
        assert called.status_code == 201, called.text
        assert (called.json()["counted"], [f["type"] for f in called.json()["facts"]]) == (
            True,
            ["appeal.callback_made", "appeal.rated"],
        )
        due = await both_due()
        assert due is None  # the child is settled; the parent's citizen still awaits a call
        queue = await client.get(
            f"{stack.feedback.url}/v1/callbacks", params=every, headers=OPERATOR_HEADERS
        )
        assert parent["id"] in {c["appeal_id"] for c in queue.json()["items"]}
        still = await orders.get()
        assert still.json()["stage"] != "closed"  # the child's rating closes nothing of the parent


async def test_the_longest_phone_number_the_contract_accepts_is_filed(stack: Stack) -> None:
    longest = "+" + "8613800138000" + "1234567"  # "+" and 20 digits
    body = appeal(category="traffic.bus", citizen={"phone": longest}, hold=True)
    async with httpx.AsyncClient(timeout=10) as client:
        created = await client.post(
            f"{stack.intake.url}/v1/appeals", json=body, headers=OPERATOR_HEADERS
        )
    assert created.status_code == 201, created.text


async def test_answers_cite_articles_that_exist(stack: Stack) -> None:
    intake = stack.intake.url
    async with httpx.AsyncClient(timeout=10) as client:
        retired = {**ARTICLE, "title": "旧版收费标准", "active": False}
        put = await client.put(
            f"{intake}/v1/knowledge/articles/old.fees", json=retired, headers=OPERATOR_HEADERS
        )
        assert put.status_code == 201, put.text
        searched = await client.get(
            f"{intake}/v1/knowledge/search", params={"q": "旧版收费"}, headers=OPERATOR_HEADERS
        )
        assert "old.fees" not in [a["id"] for a in searched.json()["items"]]
        missing = await client.get(
            f"{intake}/v1/knowledge/articles/no.such", headers=OPERATOR_HEADERS
        )
        assert missing.status_code == 404
        no_versions = await client.get(
            f"{intake}/v1/knowledge/articles/no.such/versions", headers=OPERATOR_HEADERS
        )
        assert no_versions.status_code == 404
        bad_id = await client.put(
            f"{intake}/v1/knowledge/articles/Not%20An%20Id", json=ARTICLE, headers=OPERATOR_HEADERS
        )
        assert bad_id.status_code == 422
        bad_body = await client.put(
            f"{intake}/v1/knowledge/articles/x.y",
            json={**ARTICLE, "title": ""},
            headers=OPERATOR_HEADERS,
        )
        assert bad_body.json()["errors"][0]["field"] == "body.title"

        appeal_id = (await _file(client, stack, {**appeal(), "hold": True}))["id"]
        url = f"{intake}/v1/appeals/{appeal_id}/answer"
        for body, field in (
            ({"article_id": "no.such"}, "body.article_id"),
            ({"article_id": "old.fees"}, "body.article_id"),  # retired
            ({"article_id": "old.fees", "article_version": 9}, "body.article_version"),
            ({"article_version": 1}, "body.article_id"),
            ({}, "body.answer"),
        ):
            refused = await _command(client, url, json=body, headers=OPERATOR_HEADERS)
            assert refused.status_code == 422, (body, refused.text)
            assert refused.json()["errors"][0]["field"] == field
        shown = await client.get(f"{intake}/v1/appeals/{appeal_id}", headers=OPERATOR_HEADERS)
        assert shown.json()["status"] == "received"  # nothing was recorded
        call = await _command(
            client, url, json={"answer": "三方通话：供水公司当场答复"}, headers=OPERATOR_HEADERS
        )
        assert call.status_code == 200, call.text
        assert call.json()["outcome"]["article_id"] is None
