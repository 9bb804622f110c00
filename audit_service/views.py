"""What audit's REST API answers: one pydantic model per response, so `/openapi.json` is a
contract a partner can generate a client from. Times are RFC 3339 with their offset, as
`datetime.isoformat()` writes them."""

from datetime import datetime
from typing import Annotated, Any, Final, Literal
from uuid import UUID

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
)

from audit_service.domain import proofs
from audit_service.domain.findings import Kind
from shared.runtime.pagination import Page

READ: Final = "audit:read"
REPLAY: Final = "audit:replay"
RULES: Final = "audit:rules"  # publish KPI rule versions
# Unmasked, and sealed personal data opened: citizens' names, numbers, ID cards, addresses,
# coordinates; staff names.
PERSONAL_DATA: Final = "audit:personal-data"

Instant = Annotated[
    AwareDatetime,
    PlainSerializer(datetime.isoformat, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


class _View(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Position(_View):
    """Where a record was read: topic, partition and offset."""

    topic: str
    partition: int
    offset: int


class Finding(_View):
    """Something audit saw on ingest that a true history cannot contain (see findings.py)."""

    id: int
    kind: Kind
    appeal_id: UUID | None
    event_id: UUID | None
    source: str | None
    type: str | None
    version: int | None
    position: Position
    detail: str
    found_at: Instant

    @classmethod
    def of(cls, row: dict[str, Any]) -> "Finding":
        return cls(**row, position=Position(**row))


class Chain(_View):
    source: str
    length: int
    verified: bool
    problems: list[str]


class RecordedFact(_View):
    position: int = Field(description="1-based place in the appeal's causal order")
    event_id: UUID
    type: str
    source: str
    version: int
    schema_version: int = Field(description="the version of its type's schema it was written in")
    actor: str
    time: Instant = Field(description="when it happened, as its service says")
    recorded_at: Instant = Field(description="when audit recorded it")
    causation_id: UUID | None
    hash: str
    prev_hash: str
    data: dict[str, Any] = Field(description="personal data masked without audit:personal-data")


class BuckPassing(_View):
    departments: list[str] = Field(description="every lead department, in the order it held")
    returns_requested: int
    returns_approved: int
    returns_denied: int = Field(description="returns the hotline overruled")
    redispatches: int
    ping_pong: bool = Field(description="a department got it back after it had moved on")
    ownerless_seconds: float
    flagged: bool
    facts: list[str] = Field(description="ids of the facts behind these figures")


class NearDeadline(_View):
    department: str
    fact: str
    share_used: float = Field(description="share of the handling window gone (1.0 = due)")
    reopened_by: str | None = None


class RepeatedCallback(_View):
    round: int
    dissatisfied: str
    satisfied: str


class Gaming(_View):
    close_then_reopen: list[NearDeadline]
    extensions_at_deadline: list[NearDeadline]
    callbacks_until_satisfied: list[RepeatedCallback]
    flagged: bool
    facts: list[str]


class Closure(_View):
    """The centre closed the work order outside the loop (an operator's closure) with no
    approved reply, or no callback attempted, in the round it ended."""

    closed_by_operator: bool
    approved_reply: bool
    called_back: bool
    flagged: bool
    facts: list[str] = Field(description="the closure, and the approval and callback found")


class History(_View):
    """Every fact about an appeal in causal order, each service's chain verified."""

    appeal_id: UUID
    verified: bool = Field(description="every chain verified and no finding about the appeal")
    findings: list[Finding]
    buck_passing: BuckPassing
    gaming: Gaming
    digest: str = Field(description="SHA-256 over the facts' hashes in timeline order")
    chains: list[Chain]
    facts: list[RecordedFact]


# The proof documents are the domain's own models (domain/proofs.py): what the API answers is
# exactly what `hotline audit verify` reads back.
SignedCheckpoint = proofs.SignedCheckpoint
InclusionProof = proofs.InclusionProof
ConsistencyProof = proofs.ConsistencyProof


class DepartmentMeasures(_View):
    """One department's figures for the month; rates are null when nothing was due."""

    rank: int = Field(
        description="1 = best on-time completion, then satisfaction, sign-for, on-time "
        "assists, volume, id"
    )
    department: str
    volume: int
    timely_sign_for_rate: float | None
    on_time_completion_rate: float | None
    return_rate: float | None
    returns_overruled: int
    redo_rate: float | None
    satisfaction_rate: float | None
    mean_handling_workdays: float | None
    assist_volume: int = Field(default=0, description="asks to contribute as assisting department")
    assist_on_time_rate: float | None = Field(
        default=None, description="asks answered by their own deadline ÷ asks answered or due"
    )
    attitude_rated: int = Field(default=0, description="ratings that gave the attitude")
    poor_attitude: int = Field(default=0, description="ratings of its attitude as poor")
    poor_attitude_share: float | None = Field(default=None, description="poor ÷ rated")
    conduct_complaints: int = Field(default=0, description="conduct complaints about it")
    evidence: dict[str, list[str]] | None = Field(
        default=None, description="with evidence=true: the ids of the facts behind each figure"
    )


class GamingShares(_View):
    replies: int
    close_then_reopen_share: float | None
    extensions: int
    extensions_at_deadline_share: float | None
    rounds_called_back: int
    callbacks_until_satisfied_share: float | None


class MeasuresRule(_View):
    """The stored rule version that produced the figures (GET /v1/kpi-rules/{name}), and
    the document applied: `adjusted` when the query's own parameters changed it."""

    name: str
    version: int
    adjusted: bool
    basically_satisfied_counts: bool
    excluded_categories: list[str]
    handling_limits: dict[str, Any] | None
    gaming_last_share_of_window: float
    list_min_volume: int = Field(description="fewer holdings in the month: on neither list")
    listed: int = Field(description="each list names at most this many")


class Measures(Page[DepartmentMeasures]):
    """A month's departments, best first, under the rule the query names."""

    month: str
    rule: MeasuresRule
    as_of: Instant
    red_list: list[str] = Field(
        description="the best departments, best first; never one the black list names"
    )
    black_list: list[str] = Field(
        description="the worst departments, worst first; never one the red list names"
    )
    gaming: dict[str, GamingShares] = Field(description="each department's gaming shares")
    gaming_evidence: dict[str, dict[str, list[str]]] | None = None


class FlaggedAppeal(BuckPassing):
    appeal_id: UUID
    kinds: list[Literal["buck_passing", "gaming", "closure"]]
    gaming: Gaming
    closure: Closure


class Flags(Page[FlaggedAppeal]):
    total: int = Field(description="how many appeals are flagged in all")


class AssistingPart(_View):
    """The queue's department's ask to assist the holder (协办), as it stood."""

    department: str = Field(description="the assisting department (the queue's)")
    lead: str
    asked_at: Instant
    due: Instant = Field(description="its own deadline (as recomputed, if it was provisional)")
    state: Literal["asked", "contributed", "overdue"]
    facts: list[str] = Field(description="the ask and every later fact about it")


class HeldAppeal(_View):
    appeal_id: UUID
    role: Literal["lead", "assisting"] = Field(
        description="whether the queue's department held it or was asked to assist the holder"
    )
    assist: AssistingPart | None = Field(description="the ask, when assisting; else null")
    department: str = Field(description="the holder (the lead)")
    stage: str = Field(examples=["assigned", "redo", "signed_for", "replied", "rated"])
    since: Instant
    sign_for_due: Instant
    handle_due: Instant
    signed: bool
    replied: bool
    extension_pending: bool
    sign_for_overdue: bool
    handling_overdue: bool
    facts: list[str]


class DepartmentQueue(Page[HeldAppeal]):
    department: str
    at: Instant = Field(description="the moment the queue is shown as of")
