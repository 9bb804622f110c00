"""Event contracts: every fact the services exchange, as frozen pydantic models, one module
per owning service.

The deciding code builds these; the event store adds the stream `version` and `prev_hash`
and `shared.envelope` puts them on the wire with CloudEvents attribute names.
"""

from shared.events.base import (
    AppealType,
    Channel,
    Code,
    Event,
    HandlingResult,
    Satisfaction,
    Text,
    Urgency,
    UtcDatetime,
)
from shared.events.dispatch import (
    DISPATCH_EVENTS,
    Assigned,
    AssistContributed,
    Clock,
    Closed,
    DeadlineMissed,
    Deadlines,
    DeadlineWarned,
    ExtensionApproved,
    ExtensionDenied,
    ExtensionRequested,
    Redispatched,
    RedoOrdered,
    ReturnApproved,
    ReturnDenied,
    ReturnRequested,
    SignedFor,
    Supervised,
)
from shared.events.feedback import Handled, NotRated, Rated
from shared.events.intake import AppealReceived, Citizen, Location

__all__ = [
    "EVENT_TYPES",
    "AppealReceived",
    "AppealType",
    "Assigned",
    "AssistContributed",
    "Channel",
    "Citizen",
    "Clock",
    "Closed",
    "Code",
    "DeadlineMissed",
    "DeadlineWarned",
    "Deadlines",
    "Event",
    "ExtensionApproved",
    "ExtensionDenied",
    "ExtensionRequested",
    "Handled",
    "HandlingResult",
    "Location",
    "NotRated",
    "Rated",
    "Redispatched",
    "RedoOrdered",
    "ReturnApproved",
    "ReturnDenied",
    "ReturnRequested",
    "Satisfaction",
    "SignedFor",
    "Supervised",
    "Text",
    "Urgency",
    "UtcDatetime",
]

_ALL: tuple[type[Event], ...] = (AppealReceived, *DISPATCH_EVENTS, Handled, NotRated, Rated)
EVENT_TYPES: dict[str, type[Event]] = {model.model_fields["type"].default: model for model in _ALL}
