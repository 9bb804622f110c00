"""The hotline's catalogue and appeals as Open311 documents: services, definitions,
discovery, request records. Pure."""

from collections.abc import Mapping, Sequence
from typing import Any, Final

from intake_service.catalogue import Attribute, Catalogue, Service
from intake_service.open311.params import format_datetime
from intake_service.open311.privacy import coordinate, mask, road
from intake_service.open311.statuses import Update

SPECIFICATION: Final = "http://wiki.open311.org/GeoReport_v2"


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
    "received": "已受理 Received at the front office",
    "forwarded": "已受理，待派单 Received, awaiting dispatch",
    "merged": "已并入同类诉求一并办理 Merged into an earlier appeal and handled with it",
    "assigned": "已派单，待签收 Dispatched to the responsible department",
    "redo": "重办 Reopened for another round of handling",
    "in_progress": "已签收，办理中 Signed for and being handled",
    "handled": "已答复，待评价 Replied, awaiting the citizen's rating",
    "reviewed": "答复已审核，待回访 Reply approved, callback due",
    "rated": "已评价 Rated by the citizen",
    "not_rated": "未评价 Not rated in time",
    "closed": "已办结 Closed",
}


def request_record(
    row: Mapping[str, Any], catalogue: Catalogue | None, updates: Sequence[Update] = ()
) -> dict[str, Any]:
    """One appeal (an intake `appeals` row that may be public: `store.find` gives no other)
    as an Open311 service request. No personal data: text masked (numbers, the citizen's
    name), the address cut to its road, coordinates rounded to about 100 m. Its updates (in
    time order) name the lead unit and the handling deadline, as the latest assignment, redo
    or extension set them."""
    received = row["received"]
    names = [citizen_name(row)]
    lead = [u.department for u in updates if u.department]
    due = [u.due for u in updates if u.due]
    where = received.get("location") or {}
    service = catalogue.find(row["category"]) if catalogue else None
    extras = row.get("extras") or {}
    return {
        "service_request_id": str(row["id"]),
        "status": "closed" if row["status"] == "closed" else "open",
        "status_notes": STATUS_NOTES.get(row["status"], row["status"]),
        "service_name": service.name if service else row["category"],
        "service_code": row["category"],
        # masked while the citizen's key lives; nothing once it is erased
        "description": mask(received["content"], names=names) if received["content"] else None,
        "agency_responsible": lead[-1] if lead else None,
        "service_notice": None,
        "requested_datetime": format_datetime(row["received_at"]),
        # the latest fact's time, not only the latest status change: an approved extension
        # moves expected_datetime without changing the status
        "updated_datetime": format_datetime(max([row["status_at"], *(u.at for u in updates)])),
        "expected_datetime": format_datetime(due[-1]) if due else None,
        "address": road(where["address"], names=names) if where.get("address") else None,
        "address_id": None,
        "zipcode": None,
        "lat": coordinate(where.get("lat")),
        "long": coordinate(where.get("long")),
        "media_url": extras.get("media_url"),
    }


def citizen_name(row: Mapping[str, Any]) -> str | None:
    name = (row["received"].get("citizen") or {}).get("name")
    return name if isinstance(name, str) else None


def with_extensions(
    record: Mapping[str, Any], row: Mapping[str, Any], updates: Sequence[Update]
) -> dict[str, Any]:
    """`extensions=true`: the record with the extended status and the update history as
    notes (the same items the update feed serves)."""
    core = "closed" if row["status"] == "closed" else "open"
    return {
        **record,
        "extended_attributes": {
            "channel": row["channel"],
            "extended_status": updates[-1].status if updates else core,
        },
        "notes": [
            {
                "datetime": format_datetime(u.at),
                "description": mask(u.description, names=[citizen_name(row)]),
                "type": u.fact_type,
            }
            for u in updates
        ],
    }


def update_entry(update: Update, citizen_name: str | None = None) -> dict[str, Any]:
    """One item of the FixMyStreet-style `servicerequestupdates` feed, masked again with the
    citizen's name (the projection masked numbers, but knew no name)."""
    return {
        "update_id": str(update.update_id),
        "service_request_id": str(update.appeal_id),
        "status": update.status,
        "updated_datetime": format_datetime(update.at),
        "description": mask(update.description, names=[citizen_name]),
        "media_url": None,
        "external_status_code": update.fact_type,
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
