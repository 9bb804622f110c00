"""intake's facts: the appeal as received and the front office's outcome."""

from typing import Annotated, Any, ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.events.base import AppealType, Channel, Code, Event, Text, Urgency, UtcDatetime
from shared.personal_data import PersonalData, Sealed

ContactPreference = Literal["phone", "sms", "wechat", "email", "none"]
# A reference to a file kept elsewhere (object store key or URL), never the file itself.
AttachmentRef = Annotated[str, Field(min_length=1, max_length=500, pattern=r"^\S+$")]
MAX_ATTACHMENTS = 10


class Citizen(BaseModel):
    """The caller as a channel takes them; in the fact, what identifies them is sealed."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str | None = Field(default=None, max_length=100)
    phone: str | None = Field(default=None, pattern=r"^\+?[0-9-]{5,20}$")
    anonymous: bool = False
    # Resident identity card number (18 characters, the last may be X).
    id_number: str | None = Field(default=None, pattern=r"^[0-9]{17}[0-9Xx]$")
    contact_preference: ContactPreference | None = None
    # May the appeal (masked, without the citizen) appear on the public Open311 feeds? None:
    # not asked; intake_service.open311.privacy decides what that means per channel.
    public_consent: bool | None = None


class Location(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    address: str | None = Field(default=None, max_length=500)
    district: Code | None = None
    lat: float | None = Field(default=None, ge=-90, le=90)
    long: float | None = Field(default=None, ge=-180, le=180)


class CitizenTraits(BaseModel):
    """What the fact says of the caller in clear: nothing that identifies them."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    anonymous: bool = False
    contact_preference: ContactPreference | None = None
    # Whether the appeal may appear (masked) on the public feeds: not personal, kept in clear.
    public_consent: bool | None = None


class Place(BaseModel):
    """Where, in clear: the district, and the ~500 m grid cell the point falls in (its
    south-west corner, `shared.personal_data.coarse`) for hot spots; the address and the
    exact coordinates are sealed."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    district: Code | None = None
    lat: float | None = Field(default=None, ge=-90, le=90)
    long: float | None = Field(default=None, ge=-180, le=180)


class AppealReceived(Event):
    """A citizen's appeal was accepted by the hotline. intake → dispatch, feedback, audit.

    v2 seals the name, phone, ID number, address and coordinates under the citizen's data
    key (`personal_data`, see `shared.personal_data`); v1 carried them in clear and reads as
    v2 with `personal_data` in clear (see `shared.upcasting`). v3 seals the content too
    (`sealed_content`, under the same key): a citizen who writes their name or number into
    it is erased with the rest. v1 and v2 facts read as v3 with `content` in clear.
    """

    source: ClassVar[str] = "intake"
    schema_version: ClassVar[int] = 3
    type: Literal["appeal.received"] = "appeal.received"
    channel: Channel
    appeal_type: AppealType
    category: Code
    urgency: Urgency = "normal"
    # In clear only in facts recorded as v1 or v2; v3 records `sealed_content` instead.
    content: Text | None = None
    sealed_content: Sealed | None = None
    citizen: CitizenTraits
    location: Place
    # Sealed; in clear only in facts recorded as v1; None: nothing personal was given.
    personal_data: Sealed | PersonalData | None = None
    attachments: tuple[AttachmentRef, ...] = Field(default=(), max_length=MAX_ATTACHMENTS)
    # A conduct complaint (category conduct.*) names the department it is about: routed to
    # the body that supervises it, never to it (shared/conduct.py).
    about_department: Code | None = None

    @model_validator(mode="after")
    def _content_once(self) -> "AppealReceived":
        if (self.content is None) == (self.sealed_content is None):
            raise ValueError("an appeal has its content either in clear (v1, v2) or sealed")
        return self


class _IntakeEvent(Event):
    source: ClassVar[str] = "intake"


class AppealClassified(_IntakeEvent):
    """An operator set the appeal's category, type or urgency, overriding what the keyword and
    urgency rules (or the caller) chose. intake → audit; dispatch reads the result from
    `appeal.forwarded`."""

    type: Literal["appeal.classified"] = "appeal.classified"
    category: Code
    appeal_type: AppealType
    urgency: Urgency
    catalogue_version: int | None = Field(default=None, ge=1)
    previous_category: Code
    reason: Text


class AppealForwarded(_IntakeEvent):
    """The front office sent the appeal on to dispatch, with the classification to route by.
    intake → dispatch, feedback, audit."""

    type: Literal["appeal.forwarded"] = "appeal.forwarded"
    category: Code
    appeal_type: AppealType
    urgency: Urgency
    district: Code | None = None
    received_at: UtcDatetime  # dispatch's clock runs from receipt, not from forwarding
    # The department a conduct complaint is about: never to be given the appeal.
    about_department: Code | None = None


class AnsweredDirectly(_IntakeEvent):
    """Settled at the front office from the knowledge base (the article's version is kept,
    since articles change) or in a three-party call; no work order. intake → audit."""

    type: Literal["appeal.answered"] = "appeal.answered"
    article_id: str | None = Field(default=None, min_length=1, max_length=64)
    article_version: int | None = Field(default=None, ge=1)
    answer: Text


EmergencyLine = Literal["110", "119", "120", "122"]


class TransferredToEmergency(_IntakeEvent):
    """Handed to an emergency line; closed on the hotline's side. intake → audit."""

    type: Literal["appeal.transferred"] = "appeal.transferred"
    line: EmergencyLine
    mode: Literal["one_click", "three_party_call"]
    external_reference: str = Field(min_length=1, max_length=100)


LegalRoute = Literal[
    "litigation",
    "arbitration",
    "discipline_inspection",
    "administrative_reconsideration",
    "information_disclosure",
    "petition",
    "police",
    "none",
]


class AppealRejected(_IntakeEvent):
    """Declined at intake as out of scope, with the legal route the citizen was told.
    intake → audit."""

    type: Literal["appeal.rejected"] = "appeal.rejected"
    reason: Text
    legal_route: LegalRoute
    explanation: Text


class MergedInto(_IntakeEvent):
    """A repeat appeal joined an open one; it keeps its own caller, notices and callback.
    intake → feedback, audit."""

    type: Literal["appeal.merged"] = "appeal.merged"
    parent: UUID
    reason: Text


class Unmerged(_IntakeEvent):
    """A wrong merge undone; the appeal stands on its own again. intake → feedback, audit."""

    type: Literal["appeal.unmerged"] = "appeal.unmerged"
    parent: UUID
    reason: Text


FrontOfficeOutcome = Literal["answered", "transferred", "rejected", "merged"]


class WithdrawalRequested(_IntakeEvent):
    """The front office settled an appeal it had already forwarded (answered, transferred,
    rejected or merged) and asks dispatch to withdraw the work order. The outcome is only
    pending here: it takes effect, as the outcome's own fact, when dispatch confirms with
    `appeal.withdrawn`; `appeal.withdrawal_refused` (the department signed for it meanwhile)
    leaves the appeal with its department. intake → dispatch, audit."""

    type: Literal["appeal.withdrawal_requested"] = "appeal.withdrawal_requested"
    outcome: FrontOfficeOutcome
    reason: Text
    # The outcome fact's own fields (as `appeal.answered`, `appeal.transferred`,
    # `appeal.rejected` or `appeal.merged` carry them), recorded once dispatch confirms.
    details: dict[str, Any]


class OutcomeAbandoned(_IntakeEvent):
    """A pending front-office outcome did not take effect: dispatch refused to withdraw the
    work order (its department had signed for it). The appeal stays with its department.
    intake → audit."""

    type: Literal["appeal.outcome_abandoned"] = "appeal.outcome_abandoned"
    outcome: FrontOfficeOutcome
    reason: Text  # dispatch's


ErasureBasis = Literal[
    "citizen_request",  # the citizen asked (PIPL art. 47)
    "consent_withdrawn",
    "purpose_fulfilled",
    "retention_expired",
    "unlawful_processing",
]


class PersonalDataErased(_IntakeEvent):
    """The citizen's data key was destroyed: this appeal's personal data can no longer be
    read anywhere, and every service blanks what it kept of it. Names the erasure, its
    legal basis and the key, never the erased data. intake → feedback, audit."""

    type: Literal["appeal.personal_data_erased"] = "appeal.personal_data_erased"
    erasure_id: UUID
    key_id: UUID | None = None  # None: the appeal was recorded before sealing (v1)
    basis: ErasureBasis
    reference: str | None = Field(default=None, min_length=1, max_length=200)


INTAKE_EVENTS: tuple[type[Event], ...] = (
    AppealReceived,
    AppealClassified,
    AppealForwarded,
    AnsweredDirectly,
    TransferredToEmergency,
    AppealRejected,
    MergedInto,
    Unmerged,
    WithdrawalRequested,
    OutcomeAbandoned,
    PersonalDataErased,
)
