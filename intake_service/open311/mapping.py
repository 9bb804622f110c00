"""The hotline's catalogue and appeals as Open311 documents: services, definitions,
discovery, request records. Pure."""

import re
from collections.abc import Mapping
from typing import Any, Final

from intake_service.catalogue import Attribute, Catalogue, Service
from intake_service.open311.params import format_datetime

SPECIFICATION: Final = "http://wiki.open311.org/GeoReport_v2"

_MOBILE = re.compile(r"(?<!\d)(1\d{2})\d{4}(\d{4})(?!\d)")
_ID_CARD = re.compile(r"(?<![0-9])(\d{6})\d{8}(\d{3}[\dXx])(?![0-9])")


def service_entry(service: Service) -> dict[str, Any]:
    return {
        "service_code": service.code,
        "service_name": service.name,
        "description": service.description,
        "metadata": service.metadata,
        "type": "realtime",
        "keywords": ",".join(service.keywords),
        "group": service.group,
    }


def service_definition(service: Service) -> dict[str, Any]:
    return {
        "service_code": service.code,
        "attributes": [_attribute(a) for a in service.ordered_attributes()],
    }


def _attribute(attribute: Attribute) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "variable": attribute.variable,
        "code": attribute.code,
        "datatype": attribute.datatype,
        "required": attribute.required,
        "datatype_description": attribute.datatype_description,
        "order": attribute.order,
        "description": attribute.description,
    }
    if attribute.values:
        entry["values"] = [{"key": v.key, "name": v.name} for v in attribute.values]
    return entry


STATUS_NOTES: Final = {
    "received": "已受理，待派单 Received, awaiting dispatch",
    "assigned": "已派单，待签收 Dispatched to the responsible department",
    "redo": "重办 Reopened for another round of handling",
    "in_progress": "已签收，办理中 Signed for and being handled",
    "handled": "已答复，待评价 Replied, awaiting the citizen's rating",
    "rated": "已评价 Rated by the citizen",
    "closed": "已办结 Closed",
}


def mask(text: str) -> str:
    """GET needs no key: mask mobile numbers and ID card numbers in public text."""
    text = _ID_CARD.sub(lambda m: f"{m.group(1)}********{m.group(2)}", text)
    return _MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(2)}", text)


def request_record(row: Mapping[str, Any], catalogue: Catalogue | None) -> dict[str, Any]:
    """One appeal (an intake `appeals` row) as an Open311 service request. No personal data:
    no names, no phone numbers."""
    received = row["received"]
    where = received.get("location") or {}
    service = catalogue.find(row["category"]) if catalogue else None
    extras = row.get("extras") or {}
    return {
        "service_request_id": str(row["id"]),
        "status": "closed" if row["status"] == "closed" else "open",
        "status_notes": STATUS_NOTES.get(row["status"], row["status"]),
        "service_name": service.name if service else row["category"],
        "service_code": row["category"],
        "description": mask(received["content"]),
        "agency_responsible": None,
        "service_notice": None,
        "requested_datetime": format_datetime(row["received_at"]),
        "updated_datetime": format_datetime(row["status_at"]),
        "expected_datetime": None,
        "address": mask(where["address"]) if where.get("address") else None,
        "address_id": None,
        "zipcode": None,
        "lat": where.get("lat"),
        "long": where.get("long"),
        "media_url": extras.get("media_url"),
    }


def discovery(
    *, changeset: str, contact: str, key_service: str, url: str, production: bool
) -> dict[str, Any]:
    return {
        "changeset": changeset,
        "contact": contact,
        "key_service": key_service,
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": url,
                "changeset": changeset,
                "type": "production" if production else "test",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }
