"""audit's responses about its own configuration and upkeep: KPI rule versions, replays
and their switch-overs, the keys its checkpoints are signed with, and who read personal data
(views.py holds the rest)."""

from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from audit_service.domain.rules import RuleDocument
from audit_service.views import Instant
from shared.runtime.pagination import Page


class _View(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class KpiRule(_View):
    """One published version of a KPI rule."""

    name: str
    version: int
    document: RuleDocument
    published_by: str
    published_at: Instant


class KpiRules(Page[KpiRule]):
    """Every version of every rule, by name, then version."""


class PublishedRule(KpiRule):
    published: bool = Field(description="false when the latest version already said this")


class SwitchedRow(_View):
    event_id: UUID
    appeal_id: UUID | None
    change: str = Field(examples=["replaced", "added", "removed"])
    problems: list[str] = Field(description="what was wrong with the live row")


class SwitchOver(_View):
    """A replay's rebuilt projection made live: who, when, which replay, what changed."""

    id: int
    replay_id: int
    switched_by: str
    switched_at: Instant
    replaced: int
    added: int
    removed: int
    report: dict[str, Any] = Field(description="the live and rebuilt digests before and after")
    rows: list[SwitchedRow] = Field(description="the first rows changed (see `replaced`...)")


class SwitchOvers(Page[SwitchOver]):
    """Every switch-over, newest first."""


class PublicKey(_View):
    """A key checkpoints were signed with: PEM (SubjectPublicKeyInfo) and JWK (RFC 8037)."""

    key_id: str
    algorithm: Literal["Ed25519"] = "Ed25519"
    pem: str
    jwk: dict[str, str]


class PublicKeys(_View):
    """The key audit signs with now, and every key it ever signed with (rotation)."""

    current: PublicKey
    keys: list[PublicKey]


class AccessRecord(_View):
    """One read or export that showed personal data unmasked: who, what, when."""

    id: int
    principal: str = Field(description="the token's subject (department:<id> for one)")
    action: str = Field(examples=["appeal history", "export jsonl"])
    appeal_id: UUID | None = Field(description="the appeal read; null for an export of all")
    at: Instant


class ReplayStarted(_View):
    id: int
    status: Literal["running"]
    href: str = Field(description="where to follow the replay")


class BrokenChain(_View):
    appeal_id: UUID
    source: str
    problems: list[str]


class ReplayReport(_View):
    """The live projection against the log, appeal by appeal: checked in place where the
    live store holds the log's facts at their places, else against a projection rebuilt
    from the log."""

    equal: bool
    rebuilt: bool = Field(
        default=True,  # every replay finished before checks in place rebuilt
        description="whether the projection was rebuilt into the replay's schema (only when "
        "the live store differs from the log: then the owner may switch over to it)",
    )
    rows_checked_by: Literal["row seals", "bytes"] | None = Field(
        default=None,  # a rebuilt replay, or one finished before row seals
        description="in a replay checked in place, how each live row was checked: by its row "
        "seal, or (rows recorded before row seals) by reading its claims back from its bytes",
    )
    appeals: int
    live_digest: str
    replay_digest: str
    differing_appeals: int
    differing: list[UUID] = Field(description="the first differing appeals (at most 100)")
    broken_chains: int
    broken: list[BrokenChain] = Field(description="the first broken chains (at most 100)")


class ReplayFailure(_View):
    error: str


class Replay(_View):
    model_config = ConfigDict(populate_by_name=True)

    id: int
    status: Literal["running", "equal", "different", "failed"]
    schema_name: str = Field(
        alias="schema", description="the schema it rebuilds into (left empty when not rebuilt)"
    )
    started_at: Instant
    finished_at: Instant | None
    facts_read: int
    end_offsets: dict[str, int] = Field(description='"topic:partition" → end offset')
    report: ReplayReport | ReplayFailure | None
