"""Open311 GeoReport v2 over HTTP, real Kafka and real PostgreSQL: a partner files a request
with its API key, reads it back in both formats, dispatch routes it like any appeal, and
every refusal is Open311's own error document."""

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any
from xml.etree import ElementTree as ET

import httpx
import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from intake_service import catalogue_seed
from intake_service import store as intake_store
from services.cli import DEPARTMENT_SCOPES
from services.processes import ServiceProcess
from shared.runtime.database import Database
from tests.e2e.conftest import Stack, running_stack
from tests.support import infra, polling, processes
from tests.support.processes import OPERATOR, bearer

pytestmark = pytest.mark.e2e
API_KEY = "partner-key-0001"
PARTNER = "wechat-miniapp"
XML = "text/xml; charset=utf-8"
JSON = "application/json; charset=utf-8"


async def seed_catalogue(intake: ServiceProcess) -> None:
    engine = create_async_engine(processes.database_url(intake))
    try:
        async with Database(engine).transaction() as tx:
            await intake_store.publish_catalogue(tx, catalogue_seed.DEMO)
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
async def stack(servers: None) -> AsyncIterator[Stack]:
    """The conftest stack, with a partner's API key for intake and the demo catalogue."""
    keys = {"intake": {"HOTLINE_GEOREPORT_API_KEYS": json.dumps({API_KEY: PARTNER})}}
    async with running_stack(keys, lambda running: seed_catalogue(running.intake)) as running:
        yield running


def _base(stack: Stack) -> str:
    return f"{stack.intake.url}/open311/v2"


FORM = (
    "api_key=partner-key-0001&service_code=water.quality&lat=31.2304&long=121.4737"
    "&description=%E8%87%AA%E6%9D%A5%E6%B0%B4%E5%8F%91%E9%BB%84+call+13800138000"
    "&attribute[symptoms][]=turbid&attribute%5Bsymptoms%5D%5B%5D=smell"
    "&attribute[appeal_type]=complaint&first_name=%E4%B8%89&last_name=%E5%BC%A0"
    "&phone=13800138000&media_url=https%3A%2F%2Fpartner.test%2Fp%2F1.jpg"
)
FORM_TYPE = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}


async def _post(client: httpx.AsyncClient, stack: Stack, fmt: str, body: str) -> httpx.Response:
    return await client.post(f"{_base(stack)}/requests.{fmt}", content=body, headers=FORM_TYPE)


async def test_discovery_services_and_definitions_in_both_formats(stack: Stack) -> None:
    base = _base(stack)
    async with httpx.AsyncClient(timeout=10) as client:
        discovery = await client.get(f"{base}/discovery.json")
        discovery_xml = await client.get(f"{base}/discovery.xml")
        services = await client.get(f"{base}/services.json")
        services_xml = await client.get(f"{base}/services.xml")
        definition = await client.get(f"{base}/services/water.outage.json")
        definition_xml = await client.get(f"{base}/services/water.outage.xml")
        scoped = await client.get(
            f"{base}/services.json", params={"jurisdiction_id": "12345.example.gov.cn"}
        )
        elsewhere = await client.get(f"{base}/services.json", params={"jurisdiction_id": "sf.gov"})
        unknown = await client.get(f"{base}/services/water.nonsense.json")
        plain = await client.get(f"{base}/services/housing.repair.xml")  # metadata=false
        html = await client.get(f"{base}/services.html")
    assert discovery.status_code == 200
    assert discovery.headers["content-type"] == JSON
    endpoint = discovery.json()["endpoints"][0]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"] == f"{base}/discovery.json"
    assert endpoint["formats"] == ["text/xml", "application/json"]
    assert discovery.json()["changeset"].endswith("+08:00")
    assert discovery_xml.headers["content-type"] == XML
    assert discovery_xml.content.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    assert ET.fromstring(discovery_xml.content).findtext("contact")

    listed = {s["service_code"]: s for s in services.json()}
    assert len(listed) == len(catalogue_seed.DEMO.services)
    assert listed["water.outage"]["metadata"] is True
    assert listed["housing.repair"]["metadata"] is False
    assert listed["water.outage"]["type"] == "realtime"
    assert scoped.json() == services.json()
    codes = [s.findtext("service_code") for s in ET.fromstring(services_xml.content)]
    assert codes == list(listed)

    body = definition.json()
    assert body["service_code"] == "water.outage"
    scope = next(a for a in body["attributes"] if a["code"] == "scope")
    assert scope["required"] is True
    assert scope["datatype"] == "singlevaluelist"
    root = ET.fromstring(definition_xml.content)
    assert root.tag == "service_definition"
    assert root.findtext("attributes/attribute/code") == "appeal_type"

    for response, status in ((elsewhere, 404), (unknown, 404), (plain, 404), (html, 404)):
        assert response.status_code == status, response.text
    assert elsewhere.json()[0]["code"] == 404
    assert "jurisdiction" in elsewhere.json()[0]["description"]
    assert ET.fromstring(plain.content).findtext("error/code") == "404"


async def test_a_partner_files_a_request_that_dispatch_routes(stack: Stack) -> None:
    base = _base(stack)
    water = bearer(*DEPARTMENT_SCOPES, department="water")
    async with httpx.AsyncClient(timeout=10) as client:
        created = await _post(client, stack, "json", FORM)
        assert created.status_code == 200, created.text
        assert created.headers["content-type"] == JSON
        [answer] = created.json()
        request_id = answer["service_request_id"]
        assert isinstance(request_id, str)
        assert "token" not in answer

        # dispatch routes it by category, like any appeal
        async def routed() -> dict[str, Any] | None:
            order = await client.get(
                f"{stack.dispatch.url}/v1/work-orders/{request_id}", headers=water
            )
            return dict(order.json()) if order.status_code == 200 else None

        order = await polling.until(routed, what="the work order")
        assert (order["department"], order["stage"]) == ("water", "assigned")

        # it reads back as one request in an array (JSON) or <service_requests> (XML)
        one = await client.get(f"{base}/requests/{request_id}.json")
        assert one.status_code == 200
        assert one.headers["content-type"] == JSON
        [record] = one.json()
        assert record["service_request_id"] == request_id
        assert (record["status"], record["service_code"]) == ("open", "water.quality")
        assert record["service_name"] == "水质问题 Water quality"
        assert record["description"].startswith("自来水发黄 call 138****8000")
        assert "现象 What is wrong: 浑浊 Turbid、异味 Smell" in record["description"]
        assert (record["lat"], record["long"]) == (31.23, 121.474)  # about 100 m
        assert record["media_url"] == "https://partner.test/p/1.jpg"
        assert record["requested_datetime"].endswith("+08:00")
        assert "张" not in json.dumps(record, ensure_ascii=False)
        as_xml = await client.get(f"{base}/requests/{request_id}.xml")
        assert as_xml.headers["content-type"] == XML
        [element] = ET.fromstring(as_xml.content).findall("request")
        assert element.findtext("service_request_id") == request_id
        assert element.findtext("status") == "open"

        # the list finds it by code and status; a service_request_id overrides the rest
        listed = await client.get(
            f"{base}/requests.json", params={"service_code": "water.quality,water.outage"}
        )
        assert request_id in [r["service_request_id"] for r in listed.json()]
        closed = await client.get(f"{base}/requests.json", params={"status": "closed"})
        assert request_id not in [r["service_request_id"] for r in closed.json()]
        by_id = await client.get(
            f"{base}/requests.xml",
            params={"service_request_id": request_id, "service_code": "power.outage"},
        )
        found = ET.fromstring(by_id.content).findall("request/service_request_id")
        assert [e.text for e in found] == [request_id]

        # intake holds it as an ordinary appeal on the open311 channel, filed by the partner
        appeal = await client.get(
            f"{stack.intake.url}/v1/appeals/{request_id}", headers=bearer(*OPERATOR)
        )
        assert (appeal.json()["channel"], appeal.json()["category"]) == ("open311", "water.quality")
        # the front office reads the citizen, opened with their key
        assert (appeal.json()["citizen"]["name"], appeal.json()["citizen"]["phone"]) == (
            "张 三",
            "13800138000",
        )
    [(body,), (forwarded,)] = await infra.query(
        processes.database_url(stack.intake),
        "SELECT body FROM events WHERE stream_id = :s ORDER BY version",
        s=request_id,
    )
    fact = json.loads(body)
    assert (fact["type"], fact["actor"]) == ("appeal.received", f"partner:{PARTNER}")
    # the fact carries the citizen sealed under their key (schema v2), nothing in clear
    assert fact["data"]["citizen"] == {
        "anonymous": False,
        "contact_preference": None,
        "public_consent": None,
    }
    assert set(fact["data"]["personal_data"]) == {"alg", "key_id", "nonce", "ciphertext"}
    assert "张 三" not in body  # (the phone stays in the free text the partner wrote)
    assert json.loads(forwarded)["type"] == "appeal.forwarded"  # on to dispatch at once


async def test_a_closed_appeal_reads_as_closed(stack: Stack) -> None:
    base = _base(stack)
    water = bearer(*DEPARTMENT_SCOPES, department="water")
    operator = bearer(*OPERATOR)
    body = (
        "api_key=partner-key-0001&service_code=water.outage"
        "&address_string=幸福路1号&attribute[scope]=area&first_name=明&last_name=王"
    )
    async with httpx.AsyncClient(timeout=10) as client:
        created = await _post(client, stack, "xml", body)
        assert created.status_code == 200, created.text
        request_id = ET.fromstring(created.content).findtext("request/service_request_id")
        assert request_id

        async def order() -> dict[str, Any] | None:
            got = await client.get(
                f"{stack.dispatch.url}/v1/work-orders/{request_id}", headers=water
            )
            return dict(got.json()) if got.status_code == 200 else None

        found = await polling.until(order, what="the work order")
        signed = await client.post(
            f"{stack.dispatch.url}/v1/work-orders/{request_id}/sign-for",
            json={"person": "李工"},
            headers={**water, "If-Match": f'"{found["version"]}"'},
        )
        assert signed.status_code == 200, signed.text

        async def replied() -> httpx.Response | None:
            reply = await client.post(
                f"{stack.feedback.url}/v1/appeals/{request_id}/replies",
                json={"result": "solved", "reply": "已恢复供水"},
                headers=water,
            )
            return reply if reply.status_code == 201 else None

        await polling.until(replied, what="the reply")
        reviewed = await client.post(
            f"{stack.feedback.url}/v1/appeals/{request_id}/reviews",
            json={"decision": "approved"},
            headers=operator,
        )
        assert reviewed.status_code == 201, reviewed.text
        rated = await client.post(
            f"{stack.feedback.url}/v1/appeals/{request_id}/ratings",
            json={"satisfaction": "satisfied", "solved": True},
            headers=operator,
        )
        assert rated.status_code == 201, rated.text

        async def closed() -> dict[str, Any] | None:
            got = await client.get(f"{base}/requests/{request_id}.json")
            [record] = got.json()
            return dict(record) if record["status"] == "closed" else None

        record = await polling.until(closed, what="status closed")
        assert record["updated_datetime"] >= record["requested_datetime"]
        listed = await client.get(f"{base}/requests.json", params={"status": "closed"})
        assert request_id in [r["service_request_id"] for r in listed.json()]


async def test_a_retried_request_with_its_idempotency_key_files_one_appeal(stack: Stack) -> None:
    url = f"{_base(stack)}/requests.json"
    key = {"Idempotency-Key": f"partner-retry-{uuid.uuid4()}", **FORM_TYPE}
    async with httpx.AsyncClient(timeout=10) as client:
        first, again = [await client.post(url, content=FORM, headers=key) for _ in range(2)]
        other = await client.post(url, content=FORM.replace("=smell", "=turbid"), headers=key)
        unkeyed = await _post(client, stack, "json", FORM)
    assert (first.status_code, again.status_code) == (200, 200), first.text
    assert again.json() == first.json()  # the first answer: one appeal
    assert unkeyed.json()[0]["service_request_id"] != first.json()[0]["service_request_id"]
    assert other.status_code == 422  # the key was given to another request
    assert other.headers["content-type"] == JSON
    assert "Idempotency-Key" in other.json()[0]["description"]
    [(filed,)] = await infra.query(
        processes.database_url(stack.intake),
        "SELECT count(*) FROM appeals WHERE id = :i",
        i=first.json()[0]["service_request_id"],
    )
    assert filed == 1


async def test_refusals_are_open311_errors(stack: Stack) -> None:
    base = _base(stack)
    without_key = FORM.replace("api_key=partner-key-0001&", "")
    async with httpx.AsyncClient(timeout=10) as client:
        missing_key = await _post(client, stack, "json", without_key)
        wrong_key = await _post(client, stack, "xml", without_key + "&api_key=guess")
        unknown = await _post(client, stack, "json", FORM.replace("water.quality", "water.nope"))
        no_code = await _post(client, stack, "json", FORM.replace("service_code=water.quality", ""))
        no_attribute = await _post(
            client,
            stack,
            "json",
            FORM.replace("service_code=water.quality", "service_code=water.outage").replace(
                "&attribute[symptoms][]=turbid&attribute%5Bsymptoms%5D%5B%5D=smell", ""
            ),
        )
        bad_value = await _post(client, stack, "json", FORM.replace("=smell", "=fizzy"))
        nowhere = await _post(client, stack, "json", FORM.replace("&lat=31.2304&long=121.4737", ""))
        elsewhere = await _post(client, stack, "json", FORM + "&jurisdiction_id=sf.gov")
        bad_date = await client.get(
            f"{base}/requests.json", params={"start_date": "2026-01-01T00:00:00"}
        )
        wide = await client.get(
            f"{base}/requests.json",
            params={"start_date": "2025-01-01T00:00:00Z", "end_date": "2026-01-01T00:00:00Z"},
        )
        no_such = await client.get(f"{base}/requests/00000000-0000-0000-0000-000000000000.json")
        not_an_id = await client.get(f"{base}/requests/nonsense.xml")
        nothing_here = await client.get(f"{base}/nothing.json")

    def first(response: httpx.Response) -> dict[str, Any]:
        assert response.headers["content-type"] == JSON, response.text
        return dict(response.json()[0])

    assert missing_key.status_code == 403
    assert first(missing_key) == {"code": 403, "description": "api_key missing or not recognised"}
    assert wrong_key.status_code == 403
    assert wrong_key.headers["content-type"] == XML
    assert wrong_key.content == (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<errors><error><code>403</code>'
        b"<description>api_key missing or not recognised</description></error></errors>"
    )
    assert (unknown.status_code, first(unknown)["code"]) == (404, 404)
    assert "water.nope" in first(unknown)["description"]
    assert (no_code.status_code, first(no_code)["description"]) == (400, "service_code is required")
    assert no_attribute.status_code == 400
    assert "attribute[scope] is required" in first(no_attribute)["description"]
    assert bad_value.status_code == 400
    assert "fizzy" in first(bad_value)["description"]
    assert nowhere.status_code == 400
    assert "location" in first(nowhere)["description"]
    assert elsewhere.status_code == 404
    assert "jurisdiction" in first(elsewhere)["description"]
    assert bad_date.status_code == 400
    assert "offset" in first(bad_date)["description"]
    assert wide.status_code == 400
    assert "90 days" in first(wide)["description"]
    assert no_such.status_code == 404
    assert first(no_such)["code"] == 404
    assert not_an_id.status_code == 404
    assert ET.fromstring(not_an_id.content).findtext("error/code") == "404"
    assert nothing_here.status_code == 404
    assert first(nothing_here)["code"] == 404


async def test_the_catalogue_is_read_and_published_in_versions(stack: Stack) -> None:
    url = f"{stack.intake.url}/v1/catalogue"
    admin = bearer("catalogue:admin", "appeals:read")
    document = catalogue_seed.DEMO.model_dump(mode="json")
    extra = {"code": "pets.stray", "name": "流浪动物 Stray animals", "group": "environment"}
    async with httpx.AsyncClient(timeout=10) as client:
        current = await client.get(url, headers=bearer("appeals:read"))
        same = await client.put(url, json=document, headers=admin)
        grown = {"services": [*document["services"], extra]}
        refused = await client.put(url, json=grown, headers=bearer("appeals:read"))
        invalid = await client.put(url, json={"services": [extra, extra]}, headers=admin)
        published = await client.put(url, json=grown, headers=admin)
        after = await client.get(url, headers=bearer("appeals:read"))
        services = await client.get(f"{_base(stack)}/services.json")
    assert current.status_code == 200
    assert current.json()["version"] == 1
    assert len(current.json()["services"]) == len(document["services"])
    assert same.json() == {"version": 1, "published": False}
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    assert invalid.status_code == 422
    assert invalid.headers["content-type"] == "application/problem+json"
    assert "listed twice" in json.dumps(invalid.json())
    assert published.json() == {"version": 2, "published": True}
    assert after.json()["version"] == 2
    assert "pets.stray" in [s["service_code"] for s in services.json()]


async def test_with_a_catalogue_post_appeals_refuses_unknown_categories(stack: Stack) -> None:
    appeal = {
        "channel": "phone",
        "appeal_type": "complaint",
        "category": "water.outage",
        "content": "小区停水",
        "citizen": {"anonymous": True},
    }
    url = f"{stack.intake.url}/v1/appeals"
    async with httpx.AsyncClient(timeout=10) as client:
        known = await client.post(url, json=appeal, headers=bearer(*OPERATOR))
        unknown = await client.post(
            url,
            json={**appeal, "category": "water.nonsense"},
            headers={**bearer(*OPERATOR), "Idempotency-Key": "unknown-category"},
        )
        fixed = await client.post(
            url,
            json={**appeal, "category": "water.nonsense"},
            headers={**bearer(*OPERATOR), "Idempotency-Key": "unknown-category"},
        )
    assert known.status_code == 201, known.text
    assert unknown.status_code == 422
    assert unknown.headers["content-type"] == "application/problem+json"
    [error] = unknown.json()["errors"]
    assert error["field"] == "body.category"
    assert "water.nonsense" in error["message"]
    assert fixed.status_code == 422  # a refused request leaves no idempotency record behind


async def test_an_xml_request_followed_through_dispatch_in_its_updates(stack: Stack) -> None:
    """One update per fact, whichever service recorded it, with the extended status after
    it: received (intake), assigned and signed for (dispatch), replied (feedback)."""
    base = _base(stack)
    water = bearer(*DEPARTMENT_SCOPES, department="water")
    body = (
        "api_key=partner-key-0001&service_code=water.outage&address_string=幸福路2号"
        "&attribute[scope]=building&description=停水，联系13800138000&phone=13800138000"
    )
    async with httpx.AsyncClient(timeout=10) as client:
        created = await _post(client, stack, "xml", body)
        assert created.status_code == 200, created.text
        [answer] = ET.fromstring(created.content).findall("request")
        request_id = answer.findtext("service_request_id")
        assert request_id
        assert answer.find("token") is None  # realtime: an id, never a token as well

        async def order() -> dict[str, Any] | None:
            got = await client.get(
                f"{stack.dispatch.url}/v1/work-orders/{request_id}", headers=water
            )
            return dict(got.json()) if got.status_code == 200 else None

        found = await polling.until(order, what="the work order")
        signed = await client.post(
            f"{stack.dispatch.url}/v1/work-orders/{request_id}/sign-for",
            json={"person": "李工"},
            headers={**water, "If-Match": f'"{found["version"]}"'},
        )
        assert signed.status_code == 200, signed.text

        async def replied() -> httpx.Response | None:
            reply = await client.post(
                f"{stack.feedback.url}/v1/appeals/{request_id}/replies",
                json={"result": "solved", "reply": "已更换阀门，恢复供水"},
                headers=water,
            )
            return reply if reply.status_code == 201 else None

        await polling.until(replied, what="the reply")

        async def five_updates() -> list[ET.Element] | None:
            feed = await client.get(
                f"{base}/servicerequestupdates.xml", params={"api_key": API_KEY}
            )
            assert feed.status_code == 200, feed.text
            assert feed.headers["content-type"] == XML
            root = ET.fromstring(feed.content)
            assert root.tag == "service_request_updates"
            mine = [
                u
                for u in root.findall("request_update")
                if u.findtext("service_request_id") == request_id
            ]
            return mine if len(mine) >= 5 else None

        updates = await polling.until(five_updates, what="five updates")
        as_json = await client.get(f"{base}/servicerequestupdates.json")
        extended = await client.get(
            f"{base}/requests/{request_id}.xml", params={"extensions": "true"}
        )
        plain = await client.get(f"{base}/requests/{request_id}.xml")

    assert [(u.findtext("external_status_code"), u.findtext("status")) for u in updates] == [
        ("appeal.received", "for_triage"),
        ("appeal.forwarded", "for_triage"),
        ("appeal.assigned", "open"),
        ("appeal.signed_for", "in_progress"),
        ("appeal.handled", "fixed"),
    ]
    times = [u.findtext("updated_datetime") or "" for u in updates]
    assert all(t.endswith("+08:00") for t in times)
    assert times == sorted(times)
    assert "已更换阀门，恢复供水" in (updates[4].findtext("description") or "")
    assert "李工" not in ET.tostring(updates[3], encoding="unicode")
    update_ids = [u.findtext("update_id") for u in updates]
    for update_id, source in zip(
        update_ids,
        (stack.intake, stack.intake, stack.dispatch, stack.dispatch, stack.feedback),
        strict=True,
    ):
        rows = await infra.query(
            processes.database_url(source),
            "SELECT type FROM events WHERE event_id = :e AND stream_id = :s",
            e=update_id,
            s=request_id,
        )
        assert len(rows) == 1, update_id  # update_id is the fact's own id
    json_ids = [u["update_id"] for u in as_json.json() if u["service_request_id"] == request_id]
    assert json_ids == update_ids

    [record] = ET.fromstring(extended.content).findall("request")
    assert record.findtext("status") == "open"
    assert record.findtext("extended_attributes/extended_status") == "fixed"
    assert record.findtext("extended_attributes/channel") == "open311"
    assert record.findtext("agency_responsible") == "water"
    assert (record.findtext("expected_datetime") or "").endswith("+08:00")
    notes = record.findall("notes/note")
    assert [n.findtext("type") for n in notes] == [
        "appeal.received",
        "appeal.forwarded",
        "appeal.assigned",
        "appeal.signed_for",
        "appeal.handled",
    ]
    shown = ET.tostring(record, encoding="unicode")
    assert "13800138000" not in shown
    assert "138****8000" in shown
    assert ET.fromstring(plain.content).find("request/notes") is None
