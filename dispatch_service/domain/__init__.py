"""The work order: every decision dispatch makes, and how its facts fold into state.

Pure: no I/O, no clock. Each decision takes the current state and a `Meta` (who, when,
which fact caused it, fresh ids) and returns the new facts, or raises a domain error that
says why the transition is impossible.
"""

from dispatch_service.domain.assignment import assign, reassign
from dispatch_service.domain.centre import (
    approve_extension,
    approve_return,
    close,
    deny_extension,
    deny_return,
    on_not_rated,
    on_rated,
    supervise,
)
from dispatch_service.domain.clocks import (
    due_signals,
    handled_round_after_review,
    next_signal_at,
)
from dispatch_service.domain.department import (
    contribute,
    request_extension,
    request_return,
    sign_for,
)
from dispatch_service.domain.state import OPEN_STAGES, Meta, Stage, WorkOrder, evolve

__all__ = [
    "OPEN_STAGES",
    "Meta",
    "Stage",
    "WorkOrder",
    "approve_extension",
    "approve_return",
    "assign",
    "close",
    "contribute",
    "deny_extension",
    "deny_return",
    "due_signals",
    "evolve",
    "handled_round_after_review",
    "next_signal_at",
    "on_not_rated",
    "on_rated",
    "reassign",
    "request_extension",
    "request_return",
    "sign_for",
    "supervise",
]
