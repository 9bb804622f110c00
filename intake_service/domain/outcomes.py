"""The front office's closing outcomes: answered from the knowledge base, transferred to an
emergency line, rejected with the legal route. A held appeal closes at once; a forwarded one
(every Open311 or partner filing is forwarded on filing) asks dispatch to withdraw its work
order, and the outcome waits for dispatch's answer (`withdrawal`). Pure."""

from typing import Final, Literal

from intake_service.domain.appeal import Appeal, fact, held
from shared import events
from shared.decisions import Context
from shared.errors import InvalidTransitionError


def settleable(appeal: Appeal | None, *, has_children: bool) -> Appeal:
    """The appeal, if the front office may still settle it: held, or forwarded with no
    withdrawal pending (whether its department signed for it meanwhile is dispatch's to say),
    and no other appeal merged (or being merged) into it: they follow its handling, which
    settling it here would end without them."""
    if has_children:
        raise InvalidTransitionError("other appeals are merged into this one: unmerge them first")
    if appeal is not None and appeal.stage == "forwarded" and appeal.merged_into is None:
        if appeal.withdrawal is not None:
            raise InvalidTransitionError(
                f"a withdrawal is already pending (to be {appeal.withdrawal.outcome})"
            )
        return appeal
    return held(appeal)


TEXT_LIMIT: Final = 4000  # events.Text's max_length

OUTCOMES: dict[type[events.Event], events.FrontOfficeOutcome] = {
    events.AnsweredDirectly: "answered",
    events.TransferredToEmergency: "transferred",
    events.AppealRejected: "rejected",
    events.MergedInto: "merged",
}


def settle(
    appeal: Appeal, outcome: events.Event, *, why: str, context: Context
) -> list[events.Event]:
    """A held appeal's outcome as it is; a forwarded one's as a request to withdraw its
    work order, carrying the outcome to record once dispatch confirms."""
    if appeal.stage == "held":
        return [outcome]
    details = outcome.model_dump(mode="json", exclude=set(events.Event.model_fields))
    # `why` prefixes the operator's reason, which may already be as long as a text can be;
    # the reason itself is kept whole in `details`
    summary = why if len(why) <= TEXT_LIMIT else why[: TEXT_LIMIT - 1] + "…"
    return [
        fact(
            events.WithdrawalRequested,
            appeal,
            context=context,
            outcome=OUTCOMES[type(outcome)],
            reason=summary,
            details=details,
        )
    ]


def answer(
    appeal: Appeal | None,
    *,
    article: tuple[str, int] | None,
    text: str,
    has_children: bool,
    context: Context,
) -> list[events.Event]:
    """Settled from a knowledge-base article (its version kept) or in a three-party call."""
    appeal = settleable(appeal, has_children=has_children)
    article_id, version = article if article is not None else (None, None)
    answered = fact(
        events.AnsweredDirectly,
        appeal,
        context=context,
        article_id=article_id,
        article_version=version,
        answer=text,
    )
    why = f"answered from article {article_id}" if article_id else "answered in a call"
    return settle(appeal, answered, why=why, context=context)


def transfer(
    appeal: Appeal | None,
    *,
    line: events.EmergencyLine,
    mode: Literal["one_click", "three_party_call"],
    external_reference: str,
    has_children: bool,
    context: Context,
) -> list[events.Event]:
    appeal = settleable(appeal, has_children=has_children)
    transferred = fact(
        events.TransferredToEmergency,
        appeal,
        context=context,
        line=line,
        mode=mode,
        external_reference=external_reference,
    )
    return settle(appeal, transferred, why=f"transferred to {line}", context=context)


def reject(
    appeal: Appeal | None,
    *,
    reason: str,
    legal_route: events.LegalRoute,
    explanation: str,
    has_children: bool,
    context: Context,
) -> list[events.Event]:
    appeal = settleable(appeal, has_children=has_children)
    rejected = fact(
        events.AppealRejected,
        appeal,
        context=context,
        reason=reason,
        legal_route=legal_route,
        explanation=explanation,
    )
    return settle(appeal, rejected, why=f"rejected: {reason}", context=context)
