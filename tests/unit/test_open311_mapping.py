"""Open311 ⇄ appeal conversions: form parsing, attributes, location, queries, records."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest

from intake_service import catalogue_seed
from intake_service.catalogue import Service
from intake_service.open311 import filing, mapping, params
from intake_service.open311.errors import Open311Error
from intake_service.open311.statuses import Update

NOW = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)


def _service(code: str) -> Service:
    found = catalogue_seed.DEMO.find(code)
    assert found is not None
    return found


WATER = _service("water.outage")
QUALITY = _service("water.quality")
NOISE = _service("environment.noise")


def _descriptions(error: pytest.ExceptionInfo[Open311Error]) -> list[str]:
    return [f.description for f in error.value.failures]


def test_form_brackets_raw_or_percent_encoded_and_empty_values_dropped() -> None:
    raw = b"api_key=K&attribute[TAGS][]=night&attribute%5BTAGS%5D%5B%5D=road&email="
    form = params.parse_form(raw)
    assert form == {"api_key": ["K"], "attribute[TAGS][]": ["night", "road"]}
    assert filing.attributes_in(form) == {"TAGS": ["night", "road"]}
    assert params.parse_form("description=停水+三天".encode()) == {"description": ["停水 三天"]}


@pytest.mark.parametrize(
    "value", ["2026-03-03T08:00:00Z", "2026-03-03T08:00:00+08:00", "2026-03-03T08:00-05:00"]
)
def test_datetimes_with_an_offset_are_accepted(value: str) -> None:
    assert params.parse_datetime(value, "start_date").utcoffset() is not None


@pytest.mark.parametrize(
    "value", ["2026-03-03T08:00:00", "2026-03-03", "yesterday", "2026-13-03T08:00Z"]
)
def test_datetimes_without_an_offset_or_invalid_are_refused(value: str) -> None:
    with pytest.raises(Open311Error) as error:
        params.parse_datetime(value, "start_date")
    assert error.value.status == 400
    assert "start_date" in _descriptions(error)[0]


def test_output_datetimes_are_local_with_offset() -> None:
    assert params.format_datetime(NOW) == "2026-03-03T17:00:00+08:00"


def test_attributes_are_typed_and_checked_all_at_once() -> None:
    typed = filing.check_attributes(
        WATER,
        {"scope": ["building"], "since": ["2026-03-01T08:00:00+08:00"], "urgency": ["urgent"]},
    )
    assert typed == {"urgency": "urgent", "since": "2026-03-01T08:00:00+08:00", "scope": "building"}
    with pytest.raises(Open311Error) as error:
        filing.check_attributes(WATER, {"since": ["yesterday"], "colour": ["red"]})
    described = _descriptions(error)
    assert error.value.status == 400
    assert len(described) == 3
    assert any("attribute[scope] is required" in d for d in described)
    assert any("attribute[since]" in d and "offset" in d for d in described)
    assert any("attribute[colour] is not an attribute" in d for d in described)


def test_list_values_are_checked_against_their_keys() -> None:
    assert filing.check_attributes(QUALITY, {"symptoms": ["smell", "turbid", "smell"]}) == {
        "symptoms": ["smell", "turbid"]
    }
    with pytest.raises(Open311Error, match="unknown keys fizzy"):
        filing.check_attributes(QUALITY, {"symptoms": ["smell", "fizzy"]})
    with pytest.raises(Open311Error, match="unknown key all"):
        filing.check_attributes(WATER, {"scope": ["all"]})
    with pytest.raises(Open311Error, match="takes one value"):
        filing.check_attributes(WATER, {"scope": ["building", "area"]})


def test_numbers_and_strings() -> None:
    heating, bus = _service("heating.insufficient"), _service("traffic.bus")
    assert filing.check_attributes(heating, {"room_temperature": ["14"]}) == {
        "room_temperature": 14
    }
    assert filing.check_attributes(heating, {"room_temperature": ["14.5"]}) == {
        "room_temperature": 14.5
    }
    for bad in ("warm", "nan"):
        with pytest.raises(Open311Error, match="number"):
            filing.check_attributes(heating, {"room_temperature": [bad]})
    with pytest.raises(Open311Error, match="one line"):
        filing.check_attributes(bus, {"line": ["3\n路"]})


FORM: dict[str, list[str]] = {
    "service_code": ["water.outage"],
    "lat": ["31.2304"],
    "long": ["121.4737"],
    "description": ["3号楼停水"],
    "attribute[scope]": ["building"],
    "attribute[appeal_type]": ["help"],
}


def test_a_request_becomes_an_appeal_on_the_open311_channel() -> None:
    appeal, extras = filing.new_appeal(WATER, {**FORM, "media_url": ["https://x.test/1.jpg"]})
    assert (appeal.channel, appeal.category, appeal.appeal_type, appeal.urgency) == (
        "open311",
        "water.outage",
        "help",
        "normal",
    )
    assert appeal.content == "3号楼停水\n影响范围 How many are affected: 整栋 Building"
    assert (appeal.location.lat, appeal.location.long) == (31.2304, 121.4737)
    assert appeal.citizen.anonymous is True
    assert extras == {
        "attributes": {"scope": "building", "appeal_type": "help"},
        "media_url": "https://x.test/1.jpg",
    }


def test_what_the_citizen_typed_into_an_attribute_is_only_in_the_sealed_content() -> None:
    bus = _service("traffic.bus")
    form = {
        "service_code": ["traffic.bus"],
        "lat": ["31.2304"],
        "long": ["121.4737"],
        "attribute[line]": ["3路 张三 13800138000"],
    }
    appeal, extras = filing.new_appeal(bus, form)
    assert "13800138000" in appeal.content  # sealed on filing, erased with the citizen
    assert "13800138000" not in str(extras)  # the row keeps only coded answers


def test_the_district_attribute_places_the_appeal_and_names_make_a_citizen() -> None:
    form = {
        "service_code": ["environment.noise"],
        "address_string": ["东城区幸福路1号"],
        "attribute[district]": ["east"],
        "first_name": ["三"],
        "last_name": ["张"],
        "phone": ["13800138000"],
    }
    appeal, _ = filing.new_appeal(NOISE, form)
    assert (appeal.location.address, appeal.location.district) == ("东城区幸福路1号", "east")
    assert (appeal.citizen.name, appeal.citizen.phone, appeal.citizen.anonymous) == (
        "张 三",
        "13800138000",
        False,
    )
    assert appeal.content == NOISE.name  # no description: the service's name


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"lat": [], "long": []}, "a location is required"),
        ({"long": []}, "lat and long go together"),
        ({"lat": ["95"]}, "lat must be"),
        ({"lat": [], "long": [], "address_id": ["A-1"]}, "address_id is not supported"),
        ({"phone": ["call me"]}, "phone"),
        ({"description": ["x" * 4001]}, "longer than 4000"),
    ],
)
def test_a_bad_request_is_refused_with_400(change: dict[str, list[str]], message: str) -> None:
    with pytest.raises(Open311Error, match=message) as error:
        filing.new_appeal(WATER, {**FORM, **change})
    assert error.value.status == 400


def test_query_defaults_to_the_last_90_days() -> None:
    query = params.query({}, NOW)
    assert (query.since, query.until, query.closed, query.ids) == (
        NOW - timedelta(days=90),
        NOW,
        None,
        None,
    )
    start = params.query({"start_date": "2026-01-01T00:00:00Z"}, NOW)
    assert start.until == NOW
    assert start.since == datetime(2026, 1, 1, tzinfo=UTC)
    end = params.query({"end_date": "2026-01-01T00:00:00Z"}, NOW)
    assert end.since == datetime(2026, 1, 1, tzinfo=UTC) - timedelta(days=90)


def test_query_filters() -> None:
    query = params.query({"service_code": "water.outage,power.outage", "status": "closed"}, NOW)
    assert (query.codes, query.closed) == (("water.outage", "power.outage"), True)
    assert params.query({"status": "open"}, NOW).closed is False
    assert params.query({"status": "open,closed"}, NOW).closed is None
    wanted = uuid4()
    by_id = params.query({"service_request_id": f"{wanted},nonsense", "status": "bad"}, NOW)
    assert by_id.ids == (wanted,)
    assert by_id.since is None


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"start_date": "2025-01-01T00:00:00Z", "end_date": "2026-01-01T00:00:00Z"}, "90 days"),
        ({"start_date": "2026-02-01T00:00:00Z", "end_date": "2026-01-01T00:00:00Z"}, "after"),
        ({"start_date": "2026-02-01"}, "offset"),
        ({"status": "pending"}, "status"),
    ],
)
def test_query_refusals(given: dict[str, str], message: str) -> None:
    with pytest.raises(Open311Error, match=message) as error:
        params.query(given, NOW)
    assert error.value.status == 400


def _row(**change: Any) -> dict[str, Any]:
    return {
        "id": uuid4(),
        "category": "water.outage",
        "status": "in_progress",
        "received_at": NOW,
        "status_at": NOW + timedelta(hours=1),
        "received": {
            "content": "联系我13800138000，身份证110101199003071234",
            "citizen": {"name": "张三", "phone": "13800138000"},
            "location": {"address": "幸福路1号", "lat": 31.2, "long": 121.4},
        },
        "extras": None,
        **change,
    }


def test_a_record_has_no_personal_data_and_a_core_status() -> None:
    row = _row()
    record = mapping.request_record(row, catalogue_seed.DEMO)
    assert record["service_request_id"] == str(row["id"])
    assert (record["status"], record["service_name"]) == ("open", "停水 Water outage")
    assert record["description"] == "联系我138****8000，身份证110101********1234"
    assert "张三" not in str(record)
    assert "13800138000" not in str(record)
    assert record["requested_datetime"] == "2026-03-03T17:00:00+08:00"
    assert record["updated_datetime"] == "2026-03-03T18:00:00+08:00"
    assert (record["address"], record["lat"], record["long"]) == ("幸福路", 31.2, 121.4)
    closed = mapping.request_record(_row(status="closed", category="gone.away"), None)
    assert (closed["status"], closed["service_name"]) == ("closed", "gone.away")


def test_service_entries_and_definitions() -> None:
    entry = mapping.service_entry(WATER)
    assert entry["metadata"] is True
    assert entry["type"] == "realtime"
    assert entry["keywords"] == "停水,没水,water,outage"
    definition = mapping.service_definition(WATER)
    assert [a["order"] for a in definition["attributes"]] == [1, 2, 4, 5]
    scope = definition["attributes"][-1]
    assert scope["required"] is True
    assert scope["values"][0] == {
        "key": "household",
        "name": "本户 One household",
    }
    assert "values" not in definition["attributes"][2]


def test_extensions_is_true_or_false_and_rides_on_every_query() -> None:
    assert params.query({"extensions": "true"}, NOW).extensions is True
    assert params.query({"service_request_id": str(uuid4()), "extensions": "TRUE"}, NOW).extensions
    assert params.query({"extensions": ""}, NOW).extensions is False
    with pytest.raises(Open311Error, match="extensions is true or false") as error:
        params.query({"extensions": "yes"}, NOW)
    assert error.value.status == 400


def _update(status: str, minutes: int, fact_type: str = "appeal.assigned") -> Update:
    return Update(
        uuid4(), uuid4(), fact_type, status, f"{status} 说明", NOW + timedelta(minutes=minutes)
    )


def test_an_update_entry_has_string_ids_and_a_local_time_with_offset() -> None:
    update = _update("open", 0)
    assert mapping.update_entry(update) == {
        "update_id": str(update.update_id),
        "service_request_id": str(update.appeal_id),
        "status": "open",
        "updated_datetime": "2026-03-03T17:00:00+08:00",
        "description": "open 说明",
        "media_url": None,
        "external_status_code": "appeal.assigned",
    }


def test_extensions_add_the_extended_status_and_the_notes() -> None:
    row = {**_row(), "channel": "open311"}
    record = mapping.request_record(row, catalogue_seed.DEMO)
    history = [_update("for_triage", 0, "appeal.received"), _update("in_progress", 5)]
    extended = mapping.with_extensions(record, row, history)
    assert extended["status"] == "open"  # core v2 keeps open/closed
    assert extended["extended_attributes"] == {
        "channel": "open311",
        "extended_status": "in_progress",
    }
    assert extended["notes"] == [
        {
            "datetime": "2026-03-03T17:00:00+08:00",
            "description": "for_triage 说明",
            "type": "appeal.received",
        },
        {
            "datetime": "2026-03-03T17:05:00+08:00",
            "description": "in_progress 说明",
            "type": "appeal.assigned",
        },
    ]
    bare = mapping.with_extensions(record, {**row, "status": "closed"}, [])
    assert (bare["extended_attributes"]["extended_status"], bare["notes"]) == ("closed", [])


def test_the_lead_unit_and_the_deadline_come_from_the_latest_update_that_set_them() -> None:
    assigned = replace(_update("open", 0), department="water", due=NOW + timedelta(days=5))
    extended = replace(_update("in_progress", 10), due=NOW + timedelta(days=10))
    moved = replace(_update("internal_referral", 20), department="power")
    record = mapping.request_record(_row(), catalogue_seed.DEMO, [assigned, extended, moved])
    assert record["agency_responsible"] == "power"
    assert record["expected_datetime"] == "2026-03-13T17:00:00+08:00"
    bare = mapping.request_record(_row(), catalogue_seed.DEMO)
    assert (bare["agency_responsible"], bare["expected_datetime"]) == (None, None)


def test_the_record_was_updated_when_its_latest_fact_happened() -> None:
    """An approved extension moves the deadline, not the status: a client syncing by
    updated_datetime must still see that something changed."""
    row = _row()  # its status changed an hour in
    extended = replace(_update("in_progress", 24 * 60), due=NOW + timedelta(days=10))
    record = mapping.request_record(row, catalogue_seed.DEMO, [_update("open", 5), extended])
    assert record["updated_datetime"] == "2026-03-04T17:00:00+08:00"  # the extension's day
    assert mapping.request_record(row, catalogue_seed.DEMO)["updated_datetime"] == (
        "2026-03-03T18:00:00+08:00"  # no update: the status change
    )
