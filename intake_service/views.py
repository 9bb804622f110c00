"""intake's response models, and how an appeal row is shown to whom. Front-office callers
(scope `appeals:frontoffice`, no department) see the citizen, the classification and the
possible repeats; a department sees only appeals dispatched to it, without the citizen; the
citizen's own progress check shows status and stage times only. Fields a caller may not see
are absent, not null (routes answer with `response_model_exclude_unset`)."""

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field

from intake_service.articles import ArticleContent
from intake_service.catalogue import Catalogue
from intake_service.routes.deps import front_office
from shared import events
from shared.runtime.auth import Principal

ETAG = {
    "ETag": {
        "description": "the appeal's version: send it as If-Match with a front-office command",
        "schema": {"type": "string", "example": '"3"'},
    }
}
LOCATION = {
    "Location": {"description": "the created resource", "schema": {"type": "string"}},
}


class Receipt(BaseModel):
    """What proves the appeal was accepted: keep `fact_hash`; once audit's next signed
    checkpoint covers it, `proof_url` answers its inclusion proof, checkable offline
    (docs/receipts.md)."""

    fact_hash: str = Field(description="SHA-256 of the appeal.received fact, lowercase hex")
    proof_url: str = Field(description="audit's public receipt; 404 until a checkpoint")


def receipt(audit_public_url: str, fact_hash: str) -> Receipt:
    return Receipt(
        fact_hash=fact_hash, proof_url=f"{audit_public_url.rstrip('/')}/v1/receipts/{fact_hash}"
    )


class AppealCreated(BaseModel):
    id: UUID
    status: str
    received_at: datetime
    event_id: UUID = Field(description="the appeal.received fact's id")
    category: str
    urgency: events.Urgency
    classification: dict[str, Any] | None = Field(default=None, description="front office only")
    repeat_candidates: list[UUID] | None = Field(default=None, description="front office only")
    receipt: Receipt | None = None


class AppealView(BaseModel):
    id: UUID
    status: str = Field(description="see GET /v1/appeals?status= for the values")
    status_at: datetime
    received_at: datetime
    stages: dict[str, datetime] = Field(description="status → when the appeal last reached it")
    appeal_type: events.AppealType
    category: str
    urgency: events.Urgency
    channel: events.Channel
    content: str | None = Field(
        description="the citizen's text, sealed under their key: null once erased"
    )
    location: events.Location
    attachments: list[events.AttachmentRef]
    department: str | None
    merged_into: UUID | None
    outcome: dict[str, Any] | None = Field(description="the front office's closing fact")
    citizen: events.Citizen | None = Field(default=None, description="front office only")
    personal_data: Literal["shown", "erased", "none"] = Field(
        description="the citizen's name, phone, ID number, address and coordinates: shown "
        "(to whom they may be), erased (POST /v1/erasures: those fields are null) or none given"
    )
    classification: dict[str, Any] | None = Field(default=None, description="front office only")
    repeat_candidates: list[UUID] | None = Field(default=None, description="front office only")
    merged_children: list[UUID] | None = Field(default=None, description="GET of one appeal")
    parent_status: str | None = Field(default=None, description="a merged appeal's parent's")


class ProgressView(BaseModel):
    id: UUID
    status: str
    received_at: datetime
    stages: dict[str, datetime]
    handled_with: "ProgressView | None" = Field(
        default=None, description="the appeal it was merged into, when it was"
    )
    receipt: Receipt | None = Field(default=None, description="proof the appeal was accepted")


class CatalogueView(Catalogue):
    version: int
    published_at: datetime


class CataloguePublished(BaseModel):
    version: int = Field(description="the version in force after the request")
    published: bool = Field(description="whether this request published a new version")


class ArticlePublished(BaseModel):
    id: str
    version: int
    published: bool = Field(description="whether this request published a new version")


class ArticleView(ArticleContent):
    id: str
    version: int
    published_by: str
    published_at: datetime


class ArticleVersion(BaseModel):
    version: int
    published_by: str
    published_at: datetime


class ArticleVersions(BaseModel):
    id: str
    versions: list[ArticleVersion]


class ArticleHit(ArticleContent):
    id: str
    version: int
    score: int = Field(description="shared terms, title terms counted thrice")


def appeal(row: dict[str, Any], caller: Principal) -> AppealView:
    """The view of an appeals row whose `received` `intake_service.personal` revealed."""
    received = row["received"]
    shown: dict[str, Any] = {
        "id": row["id"],
        "status": row["status"],
        "status_at": row["status_at"],
        "received_at": row["received_at"],
        "stages": row["stages"] or {},
        "appeal_type": row["appeal_type"],
        "category": row["category"],
        "urgency": row["urgency"] or received["urgency"],
        "channel": received["channel"],
        "content": received["content"],
        "location": _location(received.get("location") or {}, caller),
        "attachments": received.get("attachments") or [],
        "department": row["department"],
        "merged_into": row["merged_into"],
        "outcome": row["outcome"],
        "personal_data": received["personal_data"],
    }
    if front_office(caller):
        shown["citizen"] = received["citizen"]
        shown["classification"] = row["classification"]
        shown["repeat_candidates"] = row["repeat_candidates"] or []
    return AppealView.model_validate(shown)


def _location(location: dict[str, Any], caller: Principal) -> dict[str, Any]:
    """The front office sees where in full; anyone else (a department) the district only: the
    address and the exact point are the citizen's personal data (docs/privacy.md), and the
    text says where the problem is."""
    return location if front_office(caller) else {"district": location.get("district")}


def progress(row: dict[str, Any]) -> ProgressView:
    return ProgressView(
        id=row["id"],
        status=row["status"],
        received_at=row["received_at"],
        stages=row["stages"] or {},
    )


class ErasureView(BaseModel):
    """An erasure of a citizen's personal data: ids only, never the erased data."""

    id: UUID
    status: Literal["pending", "done"] = Field(
        description="done once the citizen's key is destroyed, intake's read model blanked "
        "and every appeal's appeal.personal_data_erased fact published to the other services"
    )
    requested_by: str
    requested_at: datetime
    basis: events.ErasureBasis
    reference: str | None
    appeals: list[UUID] = Field(description="the appeals whose personal data was erased")
    keys_destroyed: int
    recorded_in_clear: list[UUID] = Field(
        description="those appeals whose appeal.received fact was recorded before sealing "
        "(schema v1: the citizen's data in clear; v2: the content in clear). Views show them "
        "erased, but the fact's own bytes, hashed and copied to Kafka and audit, still hold "
        "that plaintext until it is purged by hand (docs/privacy.md)"
    )


class CitizenKey(BaseModel):
    """A citizen's data key, for a service that must open their sealed personal data."""

    key_id: UUID
    state: Literal["living", "erased"]
    key: str | None = Field(description="the AES-256 key, base64; null once erased")


def erasure(record: dict[str, Any], *, pending: int, in_clear: list[UUID]) -> ErasureView:
    return ErasureView(
        id=record["id"],
        status="pending" if pending else "done",
        requested_by=record["requested_by"],
        requested_at=record["requested_at"],
        basis=record["basis"],
        reference=record["reference"],
        appeals=record["appeal_ids"],
        keys_destroyed=len(record["key_ids"]),
        recorded_in_clear=in_clear,
    )
