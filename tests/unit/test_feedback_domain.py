"""Every feedback transition, and every refused one, on the pure domain: replies, review,
callbacks, ratings and "not rated"."""

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest

from feedback_service import domain
from shared import events
from shared.decisions import Context
from shared.errors import InvalidTransitionError, NotFoundError, NotPermittedError
from shared.workdays import SEED, WorkdayCalendar
from tests.unit import factories

REPLY = domain.Reply(result="solved", reply="已修复", attachments=("photo-1.jpg",), person="李工")
RATING = domain.Rating(satisfaction="basically_satisfied", solved=True)
APPROVE = domain.ReviewDecision(decision="approved")
SEND_BACK = domain.ReviewDecision(decision="sent_back", reason="答复未说明是否恢复供水")
REACHED_DISSATISFIED = domain.Callback(reached=True, satisfaction="dissatisfied", solved=False)
REACHED_SATISFIED = domain.Callback(reached=True, satisfaction="satisfied", solved=True)
UNREACHED = domain.Callback(reached=False)
ASSIGNED = factories.assigned(factories.received())
APPEAL = ASSIGNED.subject
RETRY = timedelta(hours=4)


def at(actor: str) -> Context:
    return Context(actor, factories.T0)


def _holder(
    assigned: events.Assigned, *, signed_for: bool = True, round_: int = 1
) -> domain.Holder:
    return domain.Holder(
        assigned.department, assigned.id, assigned.correlation_id, round_, signed_for
    )


def _handle(
    state: domain.Feedback, holder: domain.Holder | None, department: str | None
) -> list[events.Event]:
    return domain.handle(
        state,
        REPLY,
        appeal_id=APPEAL,
        holder=holder,
        department=department,
        context=at(f"department:{department}"),
    )


def fold(history: Sequence[events.Event]) -> domain.Feedback:
    state = domain.Feedback()
    for event in history:
        state = domain.evolve(state, event)
    return state


def _review(state: domain.Feedback, decision: domain.ReviewDecision) -> list[events.Event]:
    return domain.review(
        state,
        decision,
        appeal_id=APPEAL,
        holder=None,
        callback_due=factories.T0 + timedelta(days=1),
        calendar=SEED.version,
        rating_window=timedelta(hours=72),
        context=at("operator:zhao"),
    )


def _rate(state: domain.Feedback) -> list[events.Event]:
    return domain.rate(state, RATING, appeal_id=APPEAL, context=at("operator:wang"))


def _call(
    state: domain.Feedback, call: domain.Callback, *, max_attempts: int = 3
) -> list[events.Event]:
    return domain.call_back(
        state,
        call,
        appeal_id=APPEAL,
        max_attempts=max_attempts,
        retry_after=RETRY,
        context=at("operator:zhao"),
    )


def replied(round_: int = 1) -> list[events.Event]:
    return _handle(domain.Feedback(), _holder(ASSIGNED, round_=round_), "water")


def approved() -> list[events.Event]:
    history = replied()
    history += _review(fold(history), APPROVE)
    return history


# --- replies ------------------------------------------------------------------------------


def test_the_holding_department_replies_after_signing_for() -> None:
    [fact] = _handle(domain.Feedback(), _holder(ASSIGNED), "water")
    assert isinstance(fact, events.Handled)
    assert (fact.department, fact.causation_id, fact.result, fact.round) == (
        "water",
        ASSIGNED.id,
        "solved",
        1,
    )
    assert (fact.attachments, fact.person) == (("photo-1.jpg",), "李工")


def test_no_reply_before_sign_for() -> None:
    with pytest.raises(InvalidTransitionError, match="must sign for"):
        _handle(domain.Feedback(), _holder(ASSIGNED, signed_for=False), "water")


def test_an_operator_may_not_reply() -> None:
    with pytest.raises(NotPermittedError, match="held by water"):
        _handle(domain.Feedback(), _holder(ASSIGNED), None)


def test_to_another_department_an_appeal_it_does_not_hold_is_as_good_as_absent() -> None:
    # held by another, or by nobody yet (or no such appeal): the same answer
    for holder in (_holder(ASSIGNED), None):
        with pytest.raises(NotFoundError, match=f"no appeal {APPEAL}$"):
            _handle(domain.Feedback(), holder, "power")


def test_no_reply_before_assignment() -> None:
    with pytest.raises(InvalidTransitionError, match="not been assigned"):
        _handle(domain.Feedback(), None, None)


def test_one_reply_per_round_and_a_redo_opens_the_next() -> None:
    state = fold(replied())
    with pytest.raises(InvalidTransitionError, match="already has a reply in round 1"):
        _handle(state, _holder(ASSIGNED), "water")
    approved_state = fold(approved())
    with pytest.raises(InvalidTransitionError, match="already has a reply in round 1"):
        _handle(approved_state, _holder(ASSIGNED), "water")
    [again] = _handle(state, _holder(ASSIGNED, round_=2), "water")
    assert isinstance(again, events.Handled)
    assert again.round == 2


def test_a_lead_given_the_order_before_dispatch_heard_the_reply_replies_in_the_same_round() -> None:
    # water replied; the centre gave the order to heating before dispatch heard of it, so
    # heating holds round 1 too. water's reply awaits review, or was sent back: heating replies.
    heating = replace(_holder(ASSIGNED), department="heating")
    for history in (replied(), [*replied(), *_review(fold(replied()), SEND_BACK)]):
        [reply] = _handle(fold(history), heating, "heating")
        assert isinstance(reply, events.Handled)
        assert (reply.department, reply.round) == ("heating", 1)
        with pytest.raises(InvalidTransitionError, match="already has a reply in round 1"):
            _handle(fold([*history, reply]), heating, "heating")
    # water's reply is not reviewed: heating holds the order
    with pytest.raises(InvalidTransitionError, match="superseded: heating holds it in round 1"):
        domain.review(
            fold(replied()), APPROVE, appeal_id=APPEAL, holder=heating,
            callback_due=factories.T0, calendar=SEED.version,
            rating_window=timedelta(hours=72), context=at("operator:zhao"),
        )  # fmt: skip
    # an approved reply stands: the citizen is asked about it, not about a second one
    with pytest.raises(InvalidTransitionError, match="approved reply in round 1, by water"):
        _handle(fold(approved()), heating, "heating")


# --- review -------------------------------------------------------------------------------


def test_an_approved_reply_falls_due_for_a_callback() -> None:
    history = replied()
    [fact] = _review(fold(history), APPROVE)
    assert isinstance(fact, events.ReplyReviewed)
    assert (fact.decision, fact.round, fact.department, fact.causation_id) == (
        "approved",
        1,
        "water",
        history[0].id,
    )
    assert fact.callback_due == factories.T0 + timedelta(days=1)
    state = fold([*history, fact])
    assert (state.review, state.approved, state.callback_due) == (
        "approved",
        True,
        fact.callback_due,
    )


def test_a_reply_sent_back_is_answered_again_and_reviewed_again() -> None:
    history = replied()
    [sent_back] = _review(fold(history), SEND_BACK)
    assert isinstance(sent_back, events.ReplyReviewed)
    assert (sent_back.decision, sent_back.reason, sent_back.callback_due) == (
        "sent_back",
        SEND_BACK.reason,
        None,
    )
    history.append(sent_back)
    state = fold(history)
    with pytest.raises(InvalidTransitionError, match="not replied again"):
        _review(state, APPROVE)
    with pytest.raises(InvalidTransitionError, match="not been approved"):
        _rate(state)
    with pytest.raises(InvalidTransitionError, match="not been approved"):
        _call(state, REACHED_SATISFIED)
    [again] = _handle(state, _holder(ASSIGNED), "water")
    assert isinstance(again, events.Handled)
    assert again.round == 1
    history.append(again)
    [approval] = _review(fold(history), APPROVE)
    assert isinstance(approval, events.ReplyReviewed)
    assert approval.causation_id == again.id


def test_no_review_without_a_reply_and_none_twice() -> None:
    with pytest.raises(InvalidTransitionError, match="no reply to review"):
        _review(domain.Feedback(), APPROVE)
    with pytest.raises(InvalidTransitionError, match="already approved"):
        _review(fold(approved()), SEND_BACK)


def test_a_callback_is_due_by_close_of_business_on_the_next_working_day() -> None:
    calendar = WorkdayCalendar()
    beijing = ZoneInfo("Asia/Shanghai")
    # Tuesday 30 September 2025, 15:00: the National Day holiday runs to 8 October.
    before_holiday = datetime(2025, 9, 30, 15, 0, tzinfo=beijing).astimezone(UTC)
    due = domain.callback_due(before_holiday, calendar, working_days=1, hours=None)
    assert due.astimezone(beijing) == datetime(2025, 10, 9, 18, 0, tzinfo=beijing)
    assert due.tzinfo == UTC
    # Friday 9 October 2026: Saturday the 10th is a make-up working day.
    friday = datetime(2026, 10, 9, 20, 0, tzinfo=beijing)
    assert domain.callback_due(friday, calendar, working_days=1, hours=None) == datetime(
        2026, 10, 10, 18, 0, tzinfo=beijing
    )
    assert domain.callback_due(friday, calendar, working_days=0, hours=None).date() == friday.date()


# --- ratings ------------------------------------------------------------------------------


def test_an_approved_round_is_rated_once() -> None:
    history = approved()
    [fact] = _rate(fold(history))
    assert isinstance(fact, events.Rated)
    assert (fact.causation_id, fact.satisfaction, fact.round, fact.via) == (
        history[0].id,
        "basically_satisfied",
        1,
        "api",
    )
    rated = fold([*history, fact])
    with pytest.raises(InvalidTransitionError, match="already rated in round 1"):
        _rate(rated)


def test_nothing_to_rate_before_a_reply_or_before_its_approval() -> None:
    with pytest.raises(InvalidTransitionError, match="no reply"):
        _rate(domain.Feedback())
    with pytest.raises(InvalidTransitionError, match="not been approved"):
        _rate(fold(replied()))


def test_a_redo_round_needs_its_own_approval_before_a_rating() -> None:
    history = approved()
    history += _rate(fold(history))
    history += _handle(fold(history), _holder(ASSIGNED, round_=2), "water")
    with pytest.raises(InvalidTransitionError, match=r"round 2 .* not been approved"):
        _rate(fold(history))
    history += _review(fold(history), APPROVE)
    [second] = _rate(fold(history))
    assert isinstance(second, events.Rated)
    assert second.round == 2


# --- callbacks ----------------------------------------------------------------------------


def test_no_callback_before_the_reply_is_approved() -> None:
    with pytest.raises(InvalidTransitionError, match="no reply"):
        _call(domain.Feedback(), UNREACHED)
    with pytest.raises(InvalidTransitionError, match="not been approved"):
        _call(fold(replied()), UNREACHED)


def test_an_unreached_callback_is_recorded_and_retried_later() -> None:
    history = approved()
    [made] = _call(fold(history), UNREACHED)
    assert isinstance(made, events.CallbackMade)
    assert (made.attempt, made.reached, made.counted, made.satisfaction) == (1, False, False, None)
    assert made.next_attempt_due == factories.T0 + RETRY
    assert made.causation_id == history[-1].id  # the approval
    state = fold([*history, made])
    assert (state.callbacks, state.failed_callbacks, state.callback_due) == (
        1,
        1,
        made.next_attempt_due,
    )
    assert not state.settled


def test_the_first_callback_that_reaches_the_citizen_sets_the_rating() -> None:
    history = approved()
    history += _call(fold(history), UNREACHED)
    made, rated = _call(fold(history), REACHED_DISSATISFIED)
    assert isinstance(made, events.CallbackMade)
    assert isinstance(rated, events.Rated)
    assert (made.attempt, made.counted, made.next_attempt_due) == (2, True, None)
    assert (rated.satisfaction, rated.solved, rated.round, rated.via) == (
        "dissatisfied",
        False,
        1,
        "callback",
    )
    assert rated.causation_id == made.id
    state = fold([*history, made, rated])
    assert state.settled
    assert state.callback_due is None


def test_later_callbacks_in_a_settled_round_are_kept_but_not_counted() -> None:
    """Calling again until "satisfied" leaves a trace audit can see, and changes nothing."""
    history = approved()
    history += _call(fold(history), REACHED_DISSATISFIED)
    [again] = _call(fold(history), REACHED_SATISFIED)
    assert isinstance(again, events.CallbackMade)
    assert (again.attempt, again.counted, again.satisfaction) == (2, False, "satisfied")
    history.append(again)
    [unreached] = _call(fold(history), UNREACHED, max_attempts=1)
    assert isinstance(unreached, events.CallbackMade)
    assert (unreached.attempt, unreached.counted, unreached.next_attempt_due) == (3, False, None)
    with pytest.raises(InvalidTransitionError, match="already rated"):
        _rate(fold(history))


def test_the_last_allowed_unreached_callback_records_not_rated() -> None:
    history = approved()
    history += _call(fold(history), UNREACHED, max_attempts=2)
    made, not_rated = _call(fold(history), UNREACHED, max_attempts=2)
    assert isinstance(made, events.CallbackMade)
    assert isinstance(not_rated, events.NotRated)
    assert (made.attempt, made.next_attempt_due) == (2, None)
    assert (not_rated.round, not_rated.reason, not_rated.causation_id) == (
        1,
        "unreachable",
        made.id,
    )
    assert fold([*history, made, not_rated]).settled


def test_a_rating_link_or_operator_rating_first_makes_a_callback_uncounted() -> None:
    history = approved()
    history += _rate(fold(history))
    [made] = _call(fold(history), REACHED_DISSATISFIED)
    assert isinstance(made, events.CallbackMade)
    assert made.counted is False


# --- "not rated" --------------------------------------------------------------------------


def _expire(state: domain.Feedback, round_: int) -> list[events.Event]:
    # two days on: past the callback's due time (a day after approval, see `_review`)
    later = factories.T0 + timedelta(days=2)
    return domain.expire_rating(
        state,
        round_=round_,
        window_closed_at=later,
        appeal_id=APPEAL,
        context=Context("service:feedback", later),
    )


def test_a_closed_rating_window_is_recorded_as_not_rated_and_settles_the_round() -> None:
    history = approved()
    [fact] = _expire(fold(history), 1)
    assert isinstance(fact, events.NotRated)
    assert (fact.round, fact.causation_id, fact.reason) == (1, history[0].id, "window_expired")
    settled = fold([*history, fact])
    with pytest.raises(InvalidTransitionError, match="rating window closed"):
        _rate(settled)
    assert _expire(settled, 1) == []


def test_a_rated_or_superseded_round_is_not_marked_not_rated() -> None:
    history = approved()
    rated = fold([*history, *_rate(fold(history))])
    assert _expire(rated, 1) == []
    assert _expire(fold(history), 2) == []  # a window for a round that has no reply yet


# --- what the citizen is told -------------------------------------------------------------


def test_the_citizen_is_told_the_new_deadline_and_why() -> None:
    [*_, extended] = [
        f for f in factories.dispatch_facts(ASSIGNED) if isinstance(f, events.ExtensionApproved)
    ]
    assert isinstance(extended, events.ExtensionApproved)
    content = domain.notice(extended, extension_reason="需更换变压器", reply=None, rating_link=None)
    local = extended.deadlines.handle_due.astimezone(ZoneInfo("Asia/Shanghai"))
    assert content["kind"] == "extension_approved"
    assert f"延长{extended.working_days}个工作日" in content["message"]
    assert local.strftime("%Y-%m-%d %H:%M") in content["message"]
    assert "原因：需更换变压器" in content["message"]
    delivery_id = uuid4()
    sent = {"kind": content["kind"], "message": content["message"], "channel": "app"}
    settled = {
        "cause_id": extended.id,
        "correlation_id": extended.correlation_id,
        "notice": sent,
        "delivery_id": delivery_id,
        "attempts": 1,
        "context": at("service:feedback"),
    }
    # Recorded when the channel took it, not when it was queued ...
    [told] = domain.delivery_settled(extended.subject, error=None, **settled)  # type: ignore[arg-type]
    assert isinstance(told, events.CitizenNotified)
    assert (told.kind, told.causation_id, told.message, told.delivery_id) == (
        "extension_approved",
        extended.id,
        content["message"],
        delivery_id,
    )
    # ... and a notice that never got through is a fact too, with why.
    settled["attempts"] = 5
    [failed] = domain.delivery_settled(extended.subject, error="HTTP 503", **settled)  # type: ignore[arg-type]
    assert isinstance(failed, events.CitizenNoticeFailed)
    assert (failed.attempts, failed.error, failed.delivery_id) == (5, "HTTP 503", delivery_id)
    assert fold([failed]) == domain.Feedback()
    assert fold([told]) == domain.Feedback()  # a notice changes no round


def test_the_citizen_is_told_the_approved_reply_with_a_rating_link() -> None:
    history = approved()
    reviewed = history[-1]
    assert isinstance(reviewed, events.ReplyReviewed)
    reply = history[0]
    assert isinstance(reply, events.Handled)
    content = domain.notice(
        reviewed, extension_reason=None, reply=reply, rating_link="https://x/v1/rating-links/t"
    )
    assert (content["kind"], content["reply"], content["result"], content["rating_link"]) == (
        "reply_approved",
        "已修复",
        "solved",
        "https://x/v1/rating-links/t",
    )


# --- merged children (并单) -----------------------------------------------------------------


def test_a_merged_child_is_called_back_on_its_parents_approved_reply() -> None:
    parent = fold(approved())
    child = domain.as_merged_child(parent, domain.Feedback())
    assert child.approved
    assert not child.settled
    made, rated = _call(child, REACHED_SATISFIED)
    assert isinstance(made, events.CallbackMade)
    assert (made.attempt, made.counted, made.round) == (1, True, 1)
    assert isinstance(rated, events.Rated)
    # the child's own rating settles the child, not the parent
    own = fold([made, rated])
    assert domain.as_merged_child(parent, own).settled
    assert not parent.settled


def test_a_merged_child_counts_its_own_attempts_and_starts_afresh_each_round() -> None:
    parent = fold(approved())
    missed = _call(domain.as_merged_child(parent, domain.Feedback()), UNREACHED)
    own = fold(missed)
    again = domain.as_merged_child(parent, own)
    assert (again.callbacks, again.failed_callbacks) == (1, 1)
    next_round = replace(parent, handled_round=2, approved_round=2)
    assert domain.as_merged_child(next_round, own).callbacks == 0
    # its first call of round 2 counts as the first unreached one of round 2, not the second
    missed_again = _call(domain.as_merged_child(next_round, own), UNREACHED)
    [made] = missed_again
    assert isinstance(made, events.CallbackMade)
    assert (made.round, made.attempt, made.next_attempt_due is not None) == (2, 1, True)
    later = domain.as_merged_child(next_round, fold([*missed, *missed_again]))
    assert (later.callbacks, later.failed_callbacks) == (1, 1)


def test_a_child_unmerged_and_merged_into_another_parent_is_rated_on_that_parents_round() -> None:
    first = fold(approved())
    missed = _call(domain.as_merged_child(first, domain.Feedback()), UNREACHED)
    made, rated = _call(domain.as_merged_child(first, fold(missed)), REACHED_SATISFIED)
    history = [*missed, made, rated]
    own = fold(history)
    assert domain.as_merged_child(first, own).settled
    # unmerged, then merged into another appeal whose round 1 was approved: not rated there
    other = replace(first, correlation_id=uuid4())
    child = domain.as_merged_child(other, own)
    assert not child.settled
    assert (child.callbacks, child.failed_callbacks) == (0, 0)
    [made_there, rated_there] = _call(child, REACHED_SATISFIED)
    assert isinstance(made_there, events.CallbackMade)
    assert (made_there.attempt, made_there.counted) == (1, True)
    assert isinstance(rated_there, events.Rated)
    assert rated_there.correlation_id == other.correlation_id
    assert domain.as_merged_child(other, fold([*history, made_there, rated_there])).settled


def test_a_merged_child_waits_for_its_parents_approval() -> None:
    child = domain.as_merged_child(fold(replied()), domain.Feedback())
    with pytest.raises(InvalidTransitionError, match="not been approved"):
        _call(child, REACHED_SATISFIED)


def test_a_rating_link_rates_only_its_own_round() -> None:
    history = approved()
    with pytest.raises(InvalidTransitionError, match="round 2, which has been superseded"):
        domain.rate(
            fold(history), RATING, appeal_id=APPEAL, context=at("citizen"), via="link", for_round=2
        )
    [rated] = domain.rate(
        fold(history), RATING, appeal_id=APPEAL, context=at("citizen"), via="link", for_round=1
    )
    assert isinstance(rated, events.Rated)
    assert (rated.via, rated.actor, rated.time) == ("link", "citizen", factories.T0)


def test_a_merged_childs_reply_and_review_are_its_parents() -> None:
    parent, child = uuid4(), uuid4()
    with pytest.raises(InvalidTransitionError, match="are the parent's"):
        domain.childs_own(replied(), child=child, parent=parent)
    calls = _call(domain.as_merged_child(fold(approved()), domain.Feedback()), UNREACHED)
    assert domain.childs_own(calls, child=child, parent=parent) == calls
