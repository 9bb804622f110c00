"""What the public Open311 feeds show to anyone without a key, on the real stack: a report
(whistle-blowing) never appears, numbers however written are masked, coordinates are
rounded; and no service's log carries a citizen's name or number."""

import json
import re
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from services.cli import DEPARTMENT_SCOPES
from tests.e2e.conftest import Stack, running_stack
from tests.e2e.test_open311 import FORM_TYPE, seed_catalogue
from tests.support import polling
from tests.support.processes import bearer

pytestmark = pytest.mark.e2e
API_KEY = "privacy-key-0001"
BURST_KEY = "burst-key-0001"  # its own partner: its POSTs are counted apart
LIMITS = {
    "HOTLINE_RATE_LIMIT_ANONYMOUS": "5/minute",
    "HOTLINE_RATE_LIMIT_OPEN311_POST": "6/minute",
    "HOTLINE_RATE_LIMIT_TOKEN_FAILURES": "5/minute",
}
# The same mobile number in four ways, and a landline: none of their digits may show.
NUMBERS = ("13800138000", "138 0013 8000", "+86-138-0013-8000", "１３８００１３８０００")
LANDLINE = "(010) 8765 4321"
MARKER_NAME = "欧阳标记"
MARKER_PHONE = "13912345678"


@pytest.fixture(scope="module")
async def stack(servers: None) -> AsyncIterator[Stack]:
    partners = {API_KEY: "privacy-partner", BURST_KEY: "burst-partner"}
    intake = {"HOTLINE_GEOREPORT_API_KEYS": json.dumps(partners)}
    # DEBUG everywhere: whatever a service could log about a request is in the files.
    debug = {"HOTLINE_LOG_LEVEL": "DEBUG", **LIMITS}
    env = {name: dict(debug) for name in ("intake", "dispatch", "feedback", "audit")}
    env["intake"].update(intake)
    async with running_stack(env, lambda running: seed_catalogue(running.intake)) as running:
        yield running


def _form(**fields: str) -> str:
    return urlencode({"api_key": API_KEY, "service_code": "water.outage", **fields})


async def _file(client: httpx.AsyncClient, stack: Stack, body: str) -> str:
    created = await client.post(
        f"{stack.intake.url}/open311/v2/requests.json", content=body, headers=FORM_TYPE
    )
    assert created.status_code == 200, created.text
    return str(created.json()[0]["service_request_id"])


async def _reply(client: httpx.AsyncClient, stack: Stack, appeal_id: str, text: str) -> None:
    water = bearer(*DEPARTMENT_SCOPES, department="water")

    async def order() -> dict[str, Any] | None:
        got = await client.get(f"{stack.dispatch.url}/v1/work-orders/{appeal_id}", headers=water)
        return dict(got.json()) if got.status_code == 200 else None

    found = await polling.until(order, what="the work order")
    signed = await client.post(
        f"{stack.dispatch.url}/v1/work-orders/{appeal_id}/sign-for",
        json={"person": "李工"},
        headers={**water, "If-Match": f'"{found["version"]}"'},
    )
    assert signed.status_code == 200, signed.text

    async def replied() -> httpx.Response | None:
        reply = await client.post(
            f"{stack.feedback.url}/v1/appeals/{appeal_id}/replies",
            json={"result": "solved", "reply": text},
            headers=water,
        )
        return reply if reply.status_code == 201 else None

    await polling.until(replied, what="the reply")


_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _leaks(text: str) -> list[str]:
    # Masks keep a number's last four digits (138****8000, 010-****4321), never its middle.
    # Ids are left out: a random request or update id holds "0013" about once in a hundred
    # runs, and is no phone number.
    digits = ["0013", "8765", "１３８"]
    text = _UUID.sub("", text)
    return [d for d in digits if d in text]


async def test_the_public_feeds_hide_reports_mask_numbers_and_round_coordinates(
    stack: Stack,
) -> None:
    base = f"{stack.intake.url}/open311/v2"
    text = "停水，请回电 " + "、".join(NUMBERS) + f"，座机 {LANDLINE}，王小明"
    async with httpx.AsyncClient(timeout=10) as client:
        report = await _file(
            client,
            stack,
            _form(
                description="举报：有人偷接水管",
                address_string="幸福路9号",
                first_name="举报",
                last_name="人",
                phone="13700137000",
                **{"attribute[appeal_type]": "report", "attribute[scope]": "building"},
            ),
        )
        public = await _file(
            client,
            stack,
            _form(
                description=text,
                lat="31.2304567",
                long="121.4737123",
                first_name="小明",
                last_name="王",
                phone="13800138000",
                **{"attribute[scope]": "building"},
            ),
        )
        await _reply(client, stack, public, f"已恢复供水，如有问题请拨打 {NUMBERS[2]}")
        await _reply(client, stack, report, "已查处")

        async def replied_in_feed() -> list[dict[str, Any]] | None:
            got = await client.get(f"{base}/servicerequestupdates.json")  # no key at all
            assert got.status_code == 200, got.text
            mine = [u for u in got.json() if u["service_request_id"] == public]
            return mine if any(u["status"] == "fixed" for u in mine) else None

        updates = await polling.until(replied_in_feed, what="the reply in the update feed")
        feed = (await client.get(f"{base}/servicerequestupdates.json")).json()
        feed_xml = (await client.get(f"{base}/servicerequestupdates.xml")).text
        listed = (await client.get(f"{base}/requests.json")).json()
        listed_xml = (await client.get(f"{base}/requests.xml")).text
        one = await client.get(f"{base}/requests/{public}.json", params={"extensions": "true"})
        hidden = await client.get(f"{base}/requests/{report}.json")

    # the report is nowhere: not listed, not readable by id, not in the updates
    assert report not in [r["service_request_id"] for r in listed]
    assert report not in [u["service_request_id"] for u in feed]
    assert report not in listed_xml + feed_xml
    assert hidden.status_code == 404
    # the numbers are masked in the request, its notes and the updates, in both formats
    [record] = [r for r in listed if r["service_request_id"] == public]
    assert one.status_code == 200
    shown = json.dumps([record, one.json(), updates], ensure_ascii=False) + feed_xml + listed_xml
    assert _leaks(shown) == []
    assert "138****8000" in record["description"]
    assert "小明" not in shown  # the citizen's own name
    assert "已恢复供水" in json.dumps(updates, ensure_ascii=False)
    # coordinates rounded to 3 decimals (about 110 m)
    assert (record["lat"], record["long"]) == (31.23, 121.474)


async def test_no_log_carries_a_citizens_name_or_number(stack: Stack) -> None:
    appeal = {
        "channel": "phone",
        "appeal_type": "complaint",
        "category": "water.outage",
        "content": f"停水，我是{MARKER_NAME}，电话 {MARKER_PHONE}",
        "citizen": {"name": MARKER_NAME, "phone": MARKER_PHONE, "id_number": "11010119900307123X"},
        "location": {"address": "幸福路10号", "lat": 31.2, "long": 121.4},
    }
    async with httpx.AsyncClient(timeout=10) as client:
        filed = await client.post(
            f"{stack.intake.url}/v1/appeals", json=appeal, headers=bearer("appeals:write")
        )
        assert filed.status_code == 201, filed.text
        # A body that fails validation still carries the number: it must not reach a log.
        bad = {**appeal, "urgency": f"call {MARKER_PHONE}"}
        refused = await client.post(
            f"{stack.intake.url}/v1/appeals", json=bad, headers=bearer("appeals:write")
        )
        assert refused.status_code == 422
        await _reply(client, stack, filed.json()["id"], f"已联系{MARKER_NAME} {MARKER_PHONE}")
    for service in stack.all:
        log = service.log_file.read_text(encoding="utf-8")
        assert log, f"{service.service.name} logged nothing: the check would be moot"
        for marker in (MARKER_NAME, MARKER_PHONE, "19900307"):
            assert marker not in log, f"{marker} in {service.log_file}"


async def _statuses(calls: int, send: Any) -> list[httpx.Response]:
    return [await send() for _ in range(calls)]


def _limited(answers: list[httpx.Response], before: int) -> None:
    assert [a.status_code for a in answers[:-1]] == [before] * (len(answers) - 1)
    last = answers[-1]
    assert last.status_code == 429, last.text
    assert int(last.headers["Retry-After"]) >= 1


async def test_what_answers_without_a_token_or_can_be_guessed_is_rate_limited(
    stack: Stack,
) -> None:
    unknown = "00000000-0000-4000-8000-000000000000"
    async with httpx.AsyncClient(timeout=10) as client:
        progress = await _statuses(
            6,
            lambda: client.get(
                f"{stack.intake.url}/v1/progress/{unknown}", params={"phone_last4": "1234"}
            ),
        )
        links = await _statuses(
            6, lambda: client.get(f"{stack.feedback.url}/v1/rating-links/{'x' * 20}.{'y' * 20}")
        )
        forged = {"Authorization": "Bearer not-a-token"}
        tokens = await _statuses(
            6, lambda: client.get(f"{stack.dispatch.url}/v1/work-orders", headers=forged)
        )
        valid = await client.get(
            f"{stack.dispatch.url}/v1/work-orders", headers=bearer("workorders:read")
        )
        guessed = await _statuses(  # a GET that names a key is checked, and counted, too
            6,
            lambda: client.get(
                f"{stack.intake.url}/open311/v2/servicerequestupdates.json",
                params={"api_key": "guess"},
            ),
        )
        posts = await _statuses(
            7,
            lambda: client.post(
                f"{stack.intake.url}/open311/v2/requests.json",
                content=f"api_key={BURST_KEY}",  # no service_code: a 400, counted all the same
                headers=FORM_TYPE,
            ),
        )
    _limited(progress, 404)
    assert progress[-1].headers["content-type"] == "application/problem+json"
    _limited(links, 403)
    _limited(tokens, 401)
    assert valid.status_code == 200  # a valid token is never what failed checks count
    _limited(guessed, 403)
    _limited(posts, 400)
    assert posts[-1].json()[0]["code"] == 429  # Open311's own errors document


async def test_who_read_personal_data_is_in_the_access_log(stack: Stack) -> None:
    appeal = {
        "channel": "phone",
        "appeal_type": "complaint",
        "category": "water.outage",
        "content": "停水",
        "citizen": {"name": "赵六", "phone": "13600136000"},
    }
    audit = stack.audit.url
    with_pd = bearer("audit:read", "audit:personal-data")
    async with httpx.AsyncClient(timeout=10) as client:
        filed = await client.post(
            f"{stack.intake.url}/v1/appeals", json=appeal, headers=bearer("appeals:write")
        )
        appeal_id = filed.json()["id"]
        masked_url = f"{audit}/v1/appeals/{appeal_id}/history"

        async def recorded() -> httpx.Response | None:
            # The fact that carries the name: audit records facts as it reads them, and a
            # fetch cut at its record limit may hold dispatch's assignment but not it.
            got = await client.get(masked_url, headers=bearer("audit:read"))
            facts = got.json().get("facts", []) if got.status_code == 200 else []
            return got if any(f["type"] == "appeal.received" for f in facts) else None

        masked = await polling.until(recorded, what="the appeal's filing in audit")
        assert "赵六" not in masked.text  # masked: no access to record
        shown = await client.get(masked_url, headers=with_pd)
        assert "赵六" in shown.text
        log = await client.get(
            f"{audit}/v1/access-log", params={"appeal_id": appeal_id}, headers=bearer("audit:read")
        )
    assert log.status_code == 200, log.text
    [entry] = log.json()["items"]
    assert (entry["principal"], entry["action"], entry["appeal_id"]) == (
        "operator:test",
        "appeal history",
        appeal_id,
    )
    assert "赵六" not in log.text
    # audit opened the appeal with the citizen's key: intake logged handing that key out
    keys = await _intake_access(stack, appeal_id)
    assert {r["action"] for r in keys} >= {"citizen key"}
    assert all(r["principal"] != "operator:test" for r in keys if r["action"] == "citizen key")


async def _intake_access(stack: Stack, appeal_id: str) -> list[dict[str, object]]:
    async with httpx.AsyncClient(timeout=10) as client:
        log = await client.get(
            f"{stack.intake.url}/v1/access-log",
            params={"appeal_id": appeal_id},
            headers=bearer("audit:read"),
        )
    assert log.status_code == 200, log.text
    return list(log.json()["items"])
