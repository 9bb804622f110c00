"""A forwarded appeal's pending outcome, settled by dispatch's answer: recorded when the work
order was withdrawn, abandoned when its department had signed for it. Pure."""

from dataclasses import replace
from typing import Final

from intake_service.domain.appeal import Appeal, fact
from shared import events
from shared.decisions import Context

OUTCOME_FACTS: Final[dict[events.FrontOfficeOutcome, type[events.Event]]] = {
    "answered": events.AnsweredDirectly,
    "transferred": events.TransferredToEmergency,
    "rejected": events.AppealRejected,
    "merged": events.MergedInto,
}


def confirm(appeal: Appeal | None, *, context: Context) -> list[events.Event]:
    """dispatch withdrew the work order: the pending outcome takes effect now, as its own
    fact (caused by `appeal.withdrawn`). Nothing pending, nothing to record."""
    if appeal is None or appeal.withdrawal is None:
        return []
    pending = appeal.withdrawal
    decided_by = replace(context, actor=pending.actor)  # the operator's outcome, now in effect
    return [fact(OUTCOME_FACTS[pending.outcome], appeal, context=decided_by, **pending.details)]


def abandon(appeal: Appeal | None, *, reason: str, context: Context) -> list[events.Event]:
    """dispatch refused: the outcome lapses and the appeal stays with its department."""
    if appeal is None or appeal.withdrawal is None:
        return []
    return [
        fact(
            events.OutcomeAbandoned,
            appeal,
            context=context,
            outcome=appeal.withdrawal.outcome,
            reason=reason,
        )
    ]
