"""The appeal at the front office: what a caller files, how intake's own facts fold into
the appeal's state, and every decision the front office makes. Pure: no I/O, no clock."""

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal, TypeVar
from uuid import UUID

from shared import events
from shared.conduct import is_conduct
from shared.decisions import Context
from shared.errors import InvalidTransitionError, NotFoundError
from shared.personal_data import Sealed, coarse

E = TypeVar("E", bound=events.Event)
Stage = Literal["held", "forwarded", "answered", "transferred", "rejected"]
CLOSING_STAGES: frozenset[Stage] = frozenset({"answered", "transferred", "rejected"})


@dataclass(frozen=True, slots=True, kw_only=True)
class NewAppeal:
    """What a caller files, as checked by the channel that took it (the REST request model,
    Open311's form); the envelope fields are the hotline's to set. Without a category, the
    catalogue's keyword rules choose one. What identifies the citizen reaches the fact only
    sealed (`receive`'s `personal_data`)."""

    channel: events.Channel
    appeal_type: events.AppealType
    category: str | None = None
    urgency: events.Urgency = "normal"
    content: str
    citizen: events.Citizen
    location: events.Location = field(default_factory=events.Location)
    attachments: tuple[events.AttachmentRef, ...] = ()
    about_department: str | None = None  # a conduct complaint's department complained about


@dataclass(frozen=True, slots=True)
class Appeal:
    appeal_id: UUID
    correlation_id: UUID
    category: str
    appeal_type: events.AppealType
    urgency: events.Urgency
    district: str | None
    received_at: datetime
    stage: Stage = "held"
    merged_into: UUID | None = None
    about_department: str | None = None
    # A forwarded appeal's outcome awaiting dispatch's withdrawal of the work order.
    withdrawal: events.WithdrawalRequested | None = None
    withdrawn: bool = False  # its work order was withdrawn: dispatch assigns an appeal once


def evolve(state: Appeal | None, event: events.Event) -> Appeal | None:
    if isinstance(event, events.AppealReceived):
        return Appeal(
            appeal_id=event.subject,
            correlation_id=event.correlation_id,
            category=event.category,
            appeal_type=event.appeal_type,
            urgency=event.urgency,
            district=event.location.district,
            received_at=event.time,
            about_department=event.about_department,
        )
    if state is None:
        return None
    match event:
        case events.AppealClassified():
            return replace(
                state,
                category=event.category,
                appeal_type=event.appeal_type,
                urgency=event.urgency,
            )
        case events.AppealForwarded():
            return replace(state, stage="forwarded")
        case events.AnsweredDirectly():
            return replace(state, stage="answered", **_settled(state))
        case events.TransferredToEmergency():
            return replace(state, stage="transferred", **_settled(state))
        case events.AppealRejected():
            return replace(state, stage="rejected", **_settled(state))
        case events.MergedInto():
            # a forwarded appeal merged once its work order was withdrawn is held again
            stage: Stage = "held" if state.withdrawal is not None else state.stage
            return replace(state, merged_into=event.parent, stage=stage, **_settled(state))
        case events.WithdrawalRequested():
            return replace(state, withdrawal=event)
        case events.OutcomeAbandoned():
            return replace(state, withdrawal=None)
        case events.Unmerged():
            return replace(state, merged_into=None)
    return state


def _settled(state: Appeal) -> dict[str, Any]:
    """An outcome recorded on a pending withdrawal: the work order was withdrawn."""
    if state.withdrawal is None:
        return {}
    return {"withdrawal": None, "withdrawn": True}


def fact(cls: type[E], appeal: Appeal, *, context: Context, **fields: Any) -> E:
    return cls(
        id=context.new_id(),
        subject=appeal.appeal_id,
        time=context.now,
        actor=context.actor,
        correlation_id=appeal.correlation_id,
        causation_id=context.causation_id,
        **fields,
    )


def receive(
    appeal: NewAppeal,
    *,
    category: str,
    urgency: events.Urgency,
    hold: bool,
    appeal_id: UUID,
    personal_data: Sealed | None,
    content: Sealed,
    context: Context,
) -> list[events.Event]:
    """The appeal as received, with the citizen's name, phone, ID number, address and
    coordinates only as `personal_data` sealed them, its text only as `content` sealed it
    and, unless the operator holds it at the
    front office, forwarded to dispatch at once, in the same decision."""
    received = events.AppealReceived(
        id=context.new_id(),
        subject=appeal_id,
        time=context.now,
        actor=context.actor,
        correlation_id=appeal_id,
        causation_id=context.causation_id,
        channel=appeal.channel,
        appeal_type=appeal.appeal_type,
        category=category,
        urgency=urgency,
        sealed_content=content,
        citizen=events.CitizenTraits(
            anonymous=appeal.citizen.anonymous,
            contact_preference=appeal.citizen.contact_preference,
            public_consent=appeal.citizen.public_consent,
        ),
        location=events.Place(
            district=appeal.location.district,
            lat=coarse(appeal.location.lat),
            long=coarse(appeal.location.long),
        ),
        personal_data=personal_data,
        attachments=appeal.attachments,
        about_department=appeal.about_department,
    )
    if hold:
        return [received]
    state = evolve(None, received)
    assert state is not None
    return [received, _forwarded(state, context=context.caused_by(received.id))]


def _forwarded(appeal: Appeal, *, context: Context) -> events.AppealForwarded:
    return fact(
        events.AppealForwarded,
        appeal,
        context=context,
        category=appeal.category,
        appeal_type=appeal.appeal_type,
        urgency=appeal.urgency,
        district=appeal.district,
        received_at=appeal.received_at,
        # Named only on a conduct complaint: dispatch must then keep the appeal away from it.
        about_department=appeal.about_department if is_conduct(appeal.category) else None,
    )


def held(appeal: Appeal | None) -> Appeal:
    """The appeal, if it is still at the front office for a decision."""
    if appeal is None:
        raise NotFoundError("no such appeal")
    if appeal.merged_into is not None:
        raise InvalidTransitionError(
            f"the appeal is merged into {appeal.merged_into}: unmerge it first"
        )
    if appeal.stage != "held":
        raise InvalidTransitionError(f"the appeal was already {appeal.stage}")
    return appeal


def classify(
    appeal: Appeal | None,
    *,
    category: str,
    appeal_type: events.AppealType,
    urgency: events.Urgency,
    reason: str,
    catalogue_version: int | None,
    context: Context,
) -> list[events.Event]:
    """An operator's override of the classification, only while the appeal is held: once
    forwarded, dispatch has routed on it (reassignment there is the remedy)."""
    appeal = held(appeal)
    if (category, appeal_type, urgency) == (appeal.category, appeal.appeal_type, appeal.urgency):
        return []
    return [
        fact(
            events.AppealClassified,
            appeal,
            context=context,
            category=category,
            appeal_type=appeal_type,
            urgency=urgency,
            catalogue_version=catalogue_version,
            previous_category=appeal.category,
            reason=reason,
        )
    ]


def forward(appeal: Appeal | None, context: Context) -> list[events.Event]:
    appeal = held(appeal)
    if appeal.withdrawn:
        raise InvalidTransitionError(
            "its work order was withdrawn, and dispatch assigns an appeal once: "
            "answer, transfer, reject or merge it"
        )
    return [_forwarded(appeal, context=context)]
