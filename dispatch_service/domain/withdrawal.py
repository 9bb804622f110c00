"""The front office settled an appeal it had forwarded: the work order is withdrawn if its
department has not signed for it, or the withdrawal is refused with the reason. Pure."""

from dispatch_service.domain.state import WorkOrder, fact
from shared import events
from shared.decisions import Context
from shared.errors import NotFoundError


def withdraw(
    order: WorkOrder | None, requested: events.WithdrawalRequested, *, context: Context
) -> list[events.Event]:
    """Withdrawn while nobody owns it yet: assigned and not signed for (a return asked for
    before signing still counts as unsigned), in its first round: a redo is assigned again,
    but its department signed for it and replied before. Once signed for, the department
    owns the appeal and the front office's outcome is refused, never imposed on it."""
    if order is None:
        raise NotFoundError("no work order for this appeal")
    unsigned = order.round == 1 and (
        order.stage == "assigned"
        or (order.stage == "return_requested" and order.stage_before_return == "assigned")
    )
    if unsigned:
        return [
            fact(
                events.Withdrawn,
                order,
                context=context,
                department=order.department,
                outcome=requested.outcome,
                reason=requested.reason,
            )
        ]
    if not order.is_open:
        why = f"the work order is already {order.stage}"
    elif order.round > 1:
        why = f"{order.department} is redoing it (round {order.round})"
    else:
        why = f"{order.department} signed for it"
    return [
        fact(
            events.WithdrawalRefused,
            order,
            context=context,
            department=order.department,
            reason=f"{why}: it stays with the department",
        )
    ]
