"""Every front-office transition and every refused one, and the status projection, on the
pure domain."""

from collections.abc import Callable, Sequence
from datetime import timedelta
from uuid import uuid4

import pytest

from intake_service import domain
from shared import events
from shared.decisions import Context
from shared.errors import InvalidTransitionError, NotFoundError
from tests.unit import factories

NOW = factories.T0 + timedelta(minutes=10)
APPEAL = domain.NewAppeal(
    channel="web",
    appeal_type="help",
    category="housing.repair",
    content="楼道灯坏了",
    citizen=events.Citizen(anonymous=True),
)


def context() -> Context:
    return Context(actor="operator:li", now=NOW, new_id=uuid4)


def fold(history: Sequence[events.Event]) -> domain.Appeal | None:
    state = None
    for event in history:
        state = domain.evolve(state, event)
    return state


def filed(hold: bool = True) -> tuple[list[events.Event], domain.Appeal]:
    history = domain.receive(
        APPEAL,
        category="housing.repair",
        urgency="normal",
        hold=hold,
        appeal_id=uuid4(),
        personal_data=None,
        content=factories.sealed_text(APPEAL.content),
        context=Context(actor="operator:li", now=factories.T0, new_id=uuid4),
    )
    state = fold(history)
    assert state is not None
    return history, state


def then(history: list[events.Event], new: list[events.Event]) -> domain.Appeal:
    history.extend(new)
    state = fold(history)
    assert state is not None
    return state


def test_filing_records_the_appeal_and_forwards_it_in_the_same_decision() -> None:
    history, state = filed(hold=False)
    received, forwarded = history
    assert isinstance(received, events.AppealReceived)
    assert isinstance(forwarded, events.AppealForwarded)
    assert (received.subject, received.correlation_id) == (state.appeal_id, state.appeal_id)
    assert (received.actor, received.time, received.category) == (
        "operator:li",
        factories.T0,
        "housing.repair",
    )
    assert forwarded.causation_id == received.id
    assert (forwarded.category, forwarded.appeal_type, forwarded.urgency) == (
        "housing.repair",
        "help",
        "normal",
    )
    assert forwarded.received_at == received.time
    assert state.stage == "forwarded"


def test_a_held_appeal_stays_at_the_front_office() -> None:
    history, state = filed(hold=True)
    assert [type(e) for e in history] == [events.AppealReceived]
    assert state.stage == "held"


def test_filing_takes_the_category_and_urgency_the_rules_chose() -> None:
    [received] = domain.receive(
        APPEAL,
        category="gas.supply",
        urgency="urgent",
        hold=True,
        appeal_id=uuid4(),
        personal_data=None,
        content=factories.sealed_text(APPEAL.content),
        context=context(),
    )
    assert isinstance(received, events.AppealReceived)
    assert (received.category, received.urgency) == ("gas.supply", "urgent")


def test_forwarding_a_held_appeal_carries_its_current_classification() -> None:
    history, state = filed()
    state = then(
        history,
        domain.classify(
            state,
            category="power.outage",
            appeal_type="complaint",
            urgency="urgent",
            reason="来电人补充：整栋楼停电",
            catalogue_version=3,
            context=context(),
        ),
    )
    classified = history[-1]
    assert isinstance(classified, events.AppealClassified)
    assert (classified.previous_category, classified.catalogue_version) == ("housing.repair", 3)
    [forwarded] = domain.forward(state, context())
    assert isinstance(forwarded, events.AppealForwarded)
    assert (forwarded.category, forwarded.appeal_type, forwarded.urgency) == (
        "power.outage",
        "complaint",
        "urgent",
    )
    assert forwarded.received_at == factories.T0  # dispatch's clock runs from receipt
    assert then(history, [forwarded]).stage == "forwarded"


def test_a_classification_that_changes_nothing_records_nothing() -> None:
    _, state = filed()
    unchanged = domain.classify(
        state,
        category="housing.repair",
        appeal_type="help",
        urgency="normal",
        reason="复核",
        catalogue_version=None,
        context=context(),
    )
    assert unchanged == []


def test_answered_from_the_knowledge_base_closes_with_the_article_version() -> None:
    history, state = filed()
    state = then(
        history,
        domain.answer(
            state,
            article=("water.bill-payment", 3),
            text="可在营业厅缴纳",
            has_children=False,
            context=context(),
        ),
    )
    answered = history[-1]
    assert isinstance(answered, events.AnsweredDirectly)
    assert (answered.article_id, answered.article_version) == ("water.bill-payment", 3)
    assert state.stage == "answered"


def test_answered_in_a_three_party_call_cites_no_article() -> None:
    _, state = filed()
    [answered] = domain.answer(
        state, article=None, text="三方通话已解答", has_children=False, context=context()
    )
    assert isinstance(answered, events.AnsweredDirectly)
    assert (answered.article_id, answered.article_version) == (None, None)


def test_transferred_to_an_emergency_line_keeps_the_other_platforms_reference() -> None:
    history, state = filed()
    state = then(
        history,
        domain.transfer(
            state,
            line="119",
            mode="one_click",
            external_reference="119-0042",
            has_children=False,
            context=context(),
        ),
    )
    transferred = history[-1]
    assert isinstance(transferred, events.TransferredToEmergency)
    assert (transferred.line, transferred.external_reference) == ("119", "119-0042")
    assert state.stage == "transferred"


def test_rejected_with_the_legal_route() -> None:
    history, state = filed()
    state = then(
        history,
        domain.reject(
            state,
            reason="已进入诉讼程序",
            legal_route="litigation",
            explanation="请向人民法院提起诉讼",
            has_children=False,
            context=context(),
        ),
    )
    assert isinstance(history[-1], events.AppealRejected)
    assert state.stage == "rejected"


def _outcomes() -> dict[str, Callable[[domain.Appeal | None], list[events.Event]]]:
    return {
        "classify": lambda s: domain.classify(
            s,
            category="power.outage",
            appeal_type="help",
            urgency="normal",
            reason="x",
            catalogue_version=None,
            context=context(),
        ),
        "forward": lambda s: domain.forward(s, context()),
        "answer": lambda s: domain.answer(
            s, article=None, text="x", has_children=False, context=context()
        ),
        "transfer": lambda s: domain.transfer(
            s,
            line="110",
            mode="three_party_call",
            external_reference="110-1",
            has_children=False,
            context=context(),
        ),
        "reject": lambda s: domain.reject(
            s,
            reason="x",
            legal_route="petition",
            explanation="x",
            has_children=False,
            context=context(),
        ),
    }


@pytest.mark.parametrize("command", list(_outcomes()))
@pytest.mark.parametrize("earlier", ["forward", "answer", "transfer", "reject"])
def test_once_decided_the_front_office_decides_no_more(command: str, earlier: str) -> None:
    history, state = filed()
    state = then(history, _outcomes()[earlier](state))
    if earlier == "forward" and command in ("answer", "transfer", "reject"):
        # still settleable: dispatch withdraws the work order unless it was signed for
        [requested] = _outcomes()[command](state)
        assert isinstance(requested, events.WithdrawalRequested)
        state = then(history, [requested])
    with pytest.raises(InvalidTransitionError, match="already"):
        _outcomes()[command](state)


@pytest.mark.parametrize("command", list(_outcomes()))
def test_nothing_is_decided_about_an_unknown_appeal(command: str) -> None:
    with pytest.raises(NotFoundError):
        _outcomes()[command](None)


@pytest.mark.parametrize("command", list(_outcomes()))
def test_a_merged_appeal_follows_its_parent_until_unmerged(command: str) -> None:
    history, child = filed()
    _, parent = filed()
    child = then(
        history,
        domain.merge(child, parent, child_has_children=False, reason="重复", context=context()),
    )
    with pytest.raises(InvalidTransitionError, match="unmerge it first"):
        _outcomes()[command](child)


def test_merge_and_unmerge_are_facts_and_the_child_keeps_its_identity() -> None:
    history, child = filed()
    _, parent = filed(hold=False)
    child = then(
        history,
        domain.merge(
            child, parent, child_has_children=False, reason="同一来电人", context=context()
        ),
    )
    merged = history[-1]
    assert isinstance(merged, events.MergedInto)
    assert (merged.subject, merged.parent) == (child.appeal_id, parent.appeal_id)
    assert child.merged_into == parent.appeal_id
    child = then(history, domain.unmerge(child, reason="并单有误", context=context()))
    unmerged = history[-1]
    assert isinstance(unmerged, events.Unmerged)
    assert unmerged.parent == parent.appeal_id
    assert (child.merged_into, child.stage) == (None, "held")
    assert domain.forward(child, context())  # back at the front office: any decision again


def test_refused_merges() -> None:
    history, child = filed()
    _, parent = filed()
    ok = {"child_has_children": False, "reason": "x", "context": context()}
    with pytest.raises(NotFoundError, match="parent"):
        domain.merge(child, None, **ok)  # type: ignore[arg-type]
    with pytest.raises(InvalidTransitionError, match="itself"):
        domain.merge(child, child, **ok)  # type: ignore[arg-type]
    with pytest.raises(InvalidTransitionError, match="unmerge them first"):
        domain.merge(child, parent, child_has_children=True, reason="x", context=context())
    grand_history, grand = filed()
    merged_parent = then(
        grand_history,
        domain.merge(grand, parent, child_has_children=False, reason="x", context=context()),
    )
    with pytest.raises(InvalidTransitionError, match="itself merged"):
        domain.merge(child, merged_parent, **ok)  # type: ignore[arg-type]
    closed_history, closed = filed()
    closed = then(
        closed_history,
        domain.answer(closed, article=None, text="x", has_children=False, context=context()),
    )
    with pytest.raises(InvalidTransitionError, match="closed"):
        domain.merge(child, closed, **ok)  # type: ignore[arg-type]
    forwarded_history, forwarded = filed(hold=False)
    forwarded = then(forwarded_history, domain.merge(forwarded, parent, **ok))  # type: ignore[arg-type]
    with pytest.raises(InvalidTransitionError, match="already pending"):
        domain.merge(forwarded, parent, **ok)  # type: ignore[arg-type]
    with pytest.raises(InvalidTransitionError, match="unmerge it first"):
        domain.merge(then(history, domain.merge(child, parent, **ok)), parent, **ok)  # type: ignore[arg-type]
    # a parent whose own merge (or other outcome) waits on its work order's withdrawal: a
    # child joining it now would be left one level down once that merge took effect
    with pytest.raises(InvalidTransitionError, match="own outcome is pending"):
        domain.merge(child, forwarded, **ok)  # type: ignore[arg-type]


def test_an_appeal_others_joined_is_not_settled_without_them() -> None:
    _, parent = filed()
    with pytest.raises(InvalidTransitionError, match="unmerge them first"):
        domain.answer(parent, article=None, text="x", has_children=True, context=context())
    with pytest.raises(InvalidTransitionError, match="unmerge them first"):
        domain.reject(
            parent, reason="x", legal_route="none", explanation="y", has_children=True,
            context=context(),
        )  # fmt: skip


def test_a_long_reason_is_kept_whole_in_the_outcome_and_summed_up_in_the_request() -> None:
    _, forwarded = filed(hold=False)
    reason = "诉" * 3995  # as long as the route allows, less the prefix
    [requested] = domain.reject(
        forwarded, reason=reason, legal_route="litigation", explanation="y",
        has_children=False, context=context(),
    )  # fmt: skip
    assert isinstance(requested, events.WithdrawalRequested)
    assert len(requested.reason) == 4000
    assert requested.reason.startswith("rejected: 诉")
    assert requested.reason.endswith("…")
    assert requested.details["reason"] == reason


def test_refused_unmerges() -> None:
    _, state = filed()
    with pytest.raises(NotFoundError):
        domain.unmerge(None, reason="x", context=context())
    with pytest.raises(InvalidTransitionError, match="not merged"):
        domain.unmerge(state, reason="x", context=context())


# --- status ----------------------------------------------------------------------------------


def test_progress_follows_every_services_facts() -> None:
    r, a, h, s, c = factories.full_history()
    assert domain.progress_after(r, 1) is None
    assert [domain.progress_after(e, 1) for e in (factories.forwarded(r), a, h, s, c)] == [
        (1, "forwarded"),
        (1, "assigned"),
        (1, "handled"),
        (1, "rated"),
        (1, "closed"),
    ]
    answered, transferred, rejected = factories.intake_facts(r)[2:5]
    assert {domain.progress_after(e, 1) for e in (answered, transferred, rejected)} == {
        (1, "closed")
    }


def test_a_reviewed_reply_is_reviewed_or_back_in_progress() -> None:
    _, a, h, _, _ = factories.full_history()
    approved = factories.feedback_facts(h)[1]
    assert isinstance(approved, events.ReplyReviewed)
    sent_back = approved.model_copy(update={"decision": "sent_back", "reason": "答非所问"})
    assert domain.progress_after(approved, 1) == (1, "reviewed")
    assert domain.progress_after(sent_back, 1) == (1, "in_progress")
    assert domain.applies(approved, (1, "handled"), new=(1, "reviewed"))
    assert domain.applies(sent_back, (1, "handled"), new=(1, "in_progress"))  # back, by exception
    # ... but only from the reply it sends back: never over a later stage or round
    assert not domain.applies(sent_back, (1, "rated"), new=(1, "in_progress"))
    assert not domain.applies(sent_back, (2, "handled"), new=(1, "in_progress"))
    assert not domain.applies(a, (1, "handled"), new=(1, "assigned"))


def test_a_redispatch_shows_the_appeal_assigned_again_until_the_new_holder_signs() -> None:
    _, a, _, _, _ = factories.full_history()
    redispatched = factories.dispatch_facts(a)[0]
    assert isinstance(redispatched, events.Redispatched)
    assert domain.progress_after(redispatched, 1) == (1, "assigned")
    assert domain.applies(redispatched, (1, "in_progress"), new=(1, "assigned"))
    assert not domain.applies(redispatched, (1, "handled"), new=(1, "assigned"))  # reply shown
    assert not domain.applies(redispatched, (2, "in_progress"), new=(1, "assigned"))


@pytest.mark.parametrize(
    ("current", "new", "moves"),
    [
        ((1, "received"), (1, "forwarded"), True),
        ((1, "forwarded"), (1, "assigned"), True),
        ((1, "assigned"), (1, "forwarded"), False),
        ((1, "received"), (1, "assigned"), True),
        ((1, "received"), (1, "closed"), True),  # answered, transferred or rejected
        ((1, "handled"), (1, "assigned"), False),
        ((1, "rated"), (1, "closed"), True),
        ((1, "closed"), (1, "rated"), False),
        ((1, "rated"), (2, "redo"), True),  # a redo starts the next round
        ((2, "redo"), (1, "rated"), False),  # a late fact of the previous round
        ((2, "redo"), (2, "in_progress"), True),
    ],
)
def test_progress_only_moves_forward_whatever_the_arrival_order(
    current: tuple[int, str], new: tuple[int, str], moves: bool
) -> None:
    assert domain.advances(current, new) is moves


# --- settling a forwarded appeal: the work order's withdrawal -------------------------------


def test_answering_a_forwarded_appeal_asks_dispatch_to_withdraw_it_first() -> None:
    history, state = filed(hold=False)
    new = domain.answer(
        state, article=("kb-water", 2), text="营业厅缴纳", has_children=False, context=context()
    )
    [requested] = new
    assert isinstance(requested, events.WithdrawalRequested)
    assert (requested.outcome, requested.details["article_id"]) == ("answered", "kb-water")
    state = then(history, new)
    # The outcome is pending: the appeal is still forwarded (its work order still open).
    assert (state.stage, state.withdrawal) == ("forwarded", requested)
    with pytest.raises(InvalidTransitionError, match="already pending"):
        domain.reject(
            state,
            reason="x",
            legal_route="none",
            explanation="y",
            has_children=False,
            context=context(),
        )

    confirmed = domain.confirm(state, context=context())
    [answered] = confirmed
    assert isinstance(answered, events.AnsweredDirectly)
    assert (answered.article_id, answered.article_version, answered.answer) == (
        "kb-water",
        2,
        "营业厅缴纳",
    )
    assert answered.actor == "operator:li"  # the operator's outcome, now in effect
    state = then(history, confirmed)
    assert (state.stage, state.withdrawal, state.withdrawn) == ("answered", None, True)
    assert domain.confirm(state, context=context()) == []  # a redelivery records nothing


@pytest.mark.parametrize(
    "decide",
    [
        lambda s, c: domain.transfer(
            s,
            line="119",
            mode="one_click",
            external_reference="119-1",
            has_children=False,
            context=c,
        ),
        lambda s, c: domain.reject(
            s,
            reason="诉讼中",
            legal_route="litigation",
            explanation="向法院起诉",
            has_children=False,
            context=c,
        ),
    ],
    ids=["transfer", "reject"],
)
def test_a_transfer_or_rejection_after_forwarding_waits_for_the_withdrawal(
    decide: Callable[[domain.Appeal, Context], list[events.Event]],
) -> None:
    history, state = filed(hold=False)
    [requested] = decide(state, context())
    assert isinstance(requested, events.WithdrawalRequested)
    state = then(history, [requested])
    [outcome] = domain.confirm(state, context=context())
    assert domain.OUTCOME_FACTS[requested.outcome] is type(outcome)
    assert then(history, [outcome]).stage in domain.CLOSING_STAGES


def test_a_refused_withdrawal_leaves_the_appeal_with_its_department() -> None:
    history, state = filed(hold=False)
    state = then(
        history,
        domain.answer(
            state, article=None, text="已电话答复", has_children=False, context=context()
        ),
    )
    [abandoned] = domain.abandon(state, reason="water signed for it", context=context())
    assert isinstance(abandoned, events.OutcomeAbandoned)
    assert (abandoned.outcome, abandoned.reason) == ("answered", "water signed for it")
    state = then(history, [abandoned])
    assert (state.stage, state.withdrawal) == ("forwarded", None)
    assert domain.abandon(state, reason="again", context=context()) == []


def test_merging_a_forwarded_appeal_waits_for_the_withdrawal_and_holds_it_merged() -> None:
    _, parent = filed(hold=False)
    history, child = filed(hold=False)
    [requested] = domain.merge(
        child, parent, child_has_children=False, reason="同一地址", context=context()
    )
    assert isinstance(requested, events.WithdrawalRequested)
    assert requested.details["parent"] == str(parent.appeal_id)
    child = then(history, [requested])
    [merged] = domain.confirm(child, context=context())
    assert isinstance(merged, events.MergedInto)
    assert merged.parent == parent.appeal_id
    child = then(history, [merged])
    assert (child.merged_into, child.stage, child.withdrawn) == (parent.appeal_id, "held", True)
    # Undone, it is back at the front office, but dispatch assigns an appeal once.
    child = then(history, domain.unmerge(child, reason="并单有误", context=context()))
    with pytest.raises(InvalidTransitionError, match="withdrawn"):
        domain.forward(child, context())
    assert domain.answer(
        child, article=None, text="电话答复", has_children=False, context=context()
    )
