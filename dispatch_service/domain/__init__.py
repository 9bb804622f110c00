"""The work order: every decision dispatch makes, and how its facts fold into state.

Pure: no I/O, no clock. Each decision takes the current state and a `Context` (who, when,
which fact caused it, fresh ids) and returns the new facts, or raises a domain error that
says why the transition is impossible. The routing catalogue (`routing`) and the SLA
policies (`sla`) it decides by are pure too.
"""

from dispatch_service.domain import routing, sla
from dispatch_service.domain.assignment import assign, reassign
from dispatch_service.domain.centre import (
    approve_extension,
    approve_return,
    close,
    close_or_redo,
    close_unrated,
    deny_extension,
    deny_return,
    redo_for_merged_child,
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
from dispatch_service.domain.state import OPEN_STAGES, Stage, WorkOrder, evolve
from dispatch_service.domain.withdrawal import withdraw

__all__ = [
    "OPEN_STAGES",
    "Stage",
    "WorkOrder",
    "approve_extension",
    "approve_return",
    "assign",
    "close",
    "close_or_redo",
    "close_unrated",
    "contribute",
    "deny_extension",
    "deny_return",
    "due_signals",
    "evolve",
    "handled_round_after_review",
    "next_signal_at",
    "reassign",
    "redo_for_merged_child",
    "request_extension",
    "request_return",
    "routing",
    "sign_for",
    "sla",
    "supervise",
    "withdraw",
]
