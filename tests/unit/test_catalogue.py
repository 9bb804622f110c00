"""The appeal catalogue: what a version may hold, and the demo one `hotline seed` publishes."""

from typing import Any

import pytest
from pydantic import ValidationError

from dispatch_service import seed as dispatch_seed
from intake_service import catalogue, catalogue_seed, settings

SERVICE: dict[str, Any] = {
    "code": "water.outage",
    "name": "停水 Water outage",
    "group": "utilities",
    "attributes": [
        {"code": "since", "datatype": "datetime", "description": "Since when", "order": 1},
    ],
}


def missing_categories(catalogue_: catalogue.Catalogue, needed: set[str]) -> list[str]:
    """The categories in `needed` (e.g. those dispatch routes) the catalogue lacks."""
    return sorted(needed - {s.code for s in catalogue_.services})


def test_the_demo_catalogue_covers_every_category_dispatch_routes() -> None:
    # `*` is a district's catch-all (its government), not a category
    routed = {rule["category"] for rule in dispatch_seed.RULES} - {"*"}
    assert missing_categories(catalogue_seed.DEMO, routed) == []
    assert len(catalogue_seed.DEMO.services) >= 20
    groups = {s.group for s in catalogue_seed.DEMO.services}
    assert {"utilities", "housing", "traffic", "environment"} <= groups
    assert {"market-regulation", "social-security", "public-security"} <= groups


def test_a_document_round_trips_through_json() -> None:
    document = catalogue_seed.DEMO.model_dump(mode="json")
    assert catalogue.Catalogue.model_validate(document) == catalogue_seed.DEMO


def test_missing_categories_names_what_is_absent() -> None:
    one = catalogue.Catalogue.model_validate({"services": [SERVICE]})
    assert missing_categories(one, {"water.outage", "power.outage"}) == ["power.outage"]
    assert one.find("water.outage") is not None
    assert one.find("power.outage") is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"datatype": "singlevaluelist"}, "needs values"),
        ({"values": [{"key": "a", "name": "A"}]}, "only list datatypes"),
        (
            {"datatype": "multivaluelist", "values": [{"key": "a", "name": "A"}] * 2},
            "unique",
        ),
        ({"required": True, "variable": False}, "never required"),
        ({"order": 0}, "greater than or equal to 1"),
        ({"datatype": "date"}, "datatype"),
    ],
)
def test_an_attribute_must_be_consistent(change: dict[str, Any], message: str) -> None:
    attribute = {**SERVICE["attributes"][0], **change}
    with pytest.raises(ValidationError, match=message):
        catalogue.Catalogue.model_validate({"services": [{**SERVICE, "attributes": [attribute]}]})


def test_codes_and_orders_are_unique() -> None:
    twice = [SERVICE["attributes"][0], {**SERVICE["attributes"][0], "code": "other"}]
    with pytest.raises(ValidationError, match="orders must be unique"):
        catalogue.Catalogue.model_validate({"services": [{**SERVICE, "attributes": twice}]})
    with pytest.raises(ValidationError, match=r"listed twice: water\.outage"):
        catalogue.Catalogue.model_validate({"services": [SERVICE, SERVICE]})
    with pytest.raises(ValidationError):
        catalogue.Catalogue.model_validate({"services": [{**SERVICE, "code": "Water Outage"}]})


def test_metadata_means_there_are_attributes() -> None:
    one = catalogue.Catalogue.model_validate(
        {"services": [SERVICE, {**SERVICE, "code": "plain", "attributes": []}]}
    )
    assert [s.metadata for s in one.services] == [True, False]


def test_partner_keys_are_a_json_mapping_of_key_to_name() -> None:
    assert settings.parse_partners('{"k1": "wechat"}') == {"k1": "wechat"}
    for bad in ("not json", '["k1"]', '{"k1": ""}', '{"k1": 3}'):
        with pytest.raises(ValueError, match="HOTLINE_GEOREPORT_API_KEYS"):
            settings.parse_partners(bad)
