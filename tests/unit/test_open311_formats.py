"""Open311 documents in XML and in JSON (the XML mapped mechanically)."""

import json
from xml.etree import ElementTree as ET

from intake_service.open311 import formats, mapping

REQUESTS = [
    {"service_request_id": "a1", "status": "open", "lat": 31.2, "address_id": None},
    {"service_request_id": "b2", "status": "closed", "lat": None, "address_id": None},
]


def test_json_drops_the_root_and_keeps_ids_as_strings() -> None:
    body = json.loads(formats.render("json", "service_requests", REQUESTS))
    assert body == REQUESTS
    assert isinstance(body[0]["service_request_id"], str)


def test_xml_starts_with_the_declaration_and_wraps_repeated_elements() -> None:
    body = formats.render("xml", "service_requests", REQUESTS)
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<service_requests>')
    root = ET.fromstring(body)
    assert [r.findtext("service_request_id") for r in root.findall("request")] == ["a1", "b2"]
    assert root.find("request/address_id") is not None  # empty, still present
    assert root.findtext("request/lat") == "31.2"


def test_xml_lists_nest_by_their_item_names_and_booleans_are_words() -> None:
    document = mapping.discovery(
        changeset="2026-03-03T17:00:00+08:00",
        contact="c",
        key_service="k",
        url="http://h/open311/v2/discovery.xml",
        production=False,
    )
    root = ET.fromstring(formats.render("xml", "discovery", document))
    assert [f.text for f in root.findall("endpoints/endpoint/formats/format")] == [
        "text/xml",
        "application/json",
    ]
    assert root.findtext("endpoints/endpoint/specification") == mapping.SPECIFICATION
    assert root.findtext("endpoints/endpoint/type") == "test"
    definition = {
        "service_code": "x",
        "attributes": [{"variable": True, "values": [{"key": "k", "name": "名"}]}],
    }
    root = ET.fromstring(formats.render("xml", "service_definition", definition))
    assert root.findtext("attributes/attribute/variable") == "true"
    assert root.findtext("attributes/attribute/values/value/name") == "名"


def test_errors_and_formats() -> None:
    errors = [{"code": 403, "description": "api_key missing or not recognised"}]
    assert formats.render("xml", "errors", errors) == (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<errors><error><code>403</code>'
        b"<description>api_key missing or not recognised</description></error></errors>"
    )
    assert json.loads(formats.render("json", "errors", errors)) == errors
    assert (formats.fmt_of("json"), formats.fmt_of("xml"), formats.fmt_of("html")) == (
        "json",
        "xml",
        None,
    )


def test_the_update_feed_and_notes_in_xml() -> None:
    feed = [{"update_id": "u1", "service_request_id": "a1", "status": "open", "media_url": None}]
    root = ET.fromstring(formats.render("xml", "service_request_updates", feed))
    assert root.tag == "service_request_updates"
    assert [u.findtext("update_id") for u in root.findall("request_update")] == ["u1"]
    assert root.find("request_update/media_url") is not None
    record = [{"service_request_id": "a1", "notes": [{"type": "appeal.received"}] * 2}]
    root = ET.fromstring(formats.render("xml", "service_requests", record))
    assert len(root.findall("request/notes/note")) == 2
