"""Valid events of every type, for contract and domain tests."""

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID, uuid4

from audit_service import domain
from shared import envelope, events, personal_data

T0 = datetime(2026, 10, 9, 8, 30, tzinfo=UTC)
# The data key the factories seal citizens' personal data under.
CITIZEN_KEY_ID = UUID("00000000-0000-4000-8000-000000000001")
CITIZEN_KEY = bytes(range(32))
CITIZEN = personal_data.PersonalData(
    name="张三", phone="13800138000", address="幸福路1号", lat=39.90123, long=116.40456
)
E = TypeVar("E", bound=events.Event)
CALENDAR_STREAM = UUID("5e1d1c2a-0000-4000-8000-00000000ca1e")


def received(
    appeal_id: UUID | None = None,
    *,
    category: str = "water.outage",
    district: str | None = "east",
    at: datetime = T0,
) -> events.AppealReceived:
    appeal_id = appeal_id or uuid4()
    return events.AppealReceived(
        id=uuid4(),
        subject=appeal_id,
        time=at,
        actor="operator:li",
        correlation_id=appeal_id,
        channel="phone",
        appeal_type="complaint",
        category=category,
        content="小区停水三天了",
        citizen=events.CitizenTraits(),
        location=events.Place(district=district, lat=39.9, long=116.4),
        personal_data=personal_data.seal(CITIZEN_KEY, CITIZEN_KEY_ID, CITIZEN),
    )


def sealed_text(text: str) -> personal_data.Sealed:
    """Free text sealed under the test citizen's key, as filing seals an appeal's content."""
    return personal_data.seal_text(CITIZEN_KEY, CITIZEN_KEY_ID, text)


def forwarded(cause: events.AppealReceived) -> events.AppealForwarded:
    """The front office forwarded the appeal as received, in the same decision."""
    return events.AppealForwarded(
        id=uuid4(),
        subject=cause.subject,
        time=cause.time,
        actor=cause.actor,
        causation_id=cause.id,
        correlation_id=cause.correlation_id,
        category=cause.category,
        appeal_type=cause.appeal_type,
        urgency=cause.urgency,
        district=cause.location.district,
        received_at=cause.time,
    )


DEADLINES = events.Deadlines(
    sign_for_due=T0 + timedelta(days=1),
    handle_due=T0 + timedelta(days=15),
    sign_for_warn_at=T0 + timedelta(hours=19),
    handle_warn_at=T0 + timedelta(days=12),
    policy_version=1,
    calendar="chinese-calendar-1.11.0",
)


def assigned(cause: events.AppealReceived, department: str = "water") -> events.Assigned:
    return events.Assigned(
        id=uuid4(),
        subject=cause.subject,
        time=cause.time + timedelta(seconds=1),
        actor="service:dispatch",
        causation_id=cause.id,
        correlation_id=cause.correlation_id,
        department=department,
        routing_rule="city:water.outage",
        routing_version=1,
        category=cause.category,
        district=cause.location.district,
        appeal_type=cause.appeal_type,
        urgency=cause.urgency,
        deadlines=DEADLINES,
    )


def _dispatch_fact(cls: type[E], cause: events.Event, **fields: Any) -> E:
    return cls(
        id=uuid4(),
        subject=cause.subject,
        time=cause.time + timedelta(minutes=5),
        actor="operator:wang",
        causation_id=cause.id,
        correlation_id=cause.correlation_id,
        **fields,
    )


def dispatch_facts(cause: events.Assigned) -> list[events.Event]:
    """One of each dispatch fact but Assigned and Closed (which have factories of their own)."""
    return [
        _dispatch_fact(
            events.Redispatched,
            cause,
            department="power",
            previous_department="water",
            routing_rule="operator",
            routing_version=1,
            reason="供电问题",
            deadlines=DEADLINES,
        ),
        _dispatch_fact(events.SignedFor, cause, department="water", person="李工"),
        _dispatch_fact(
            events.ReturnRequested,
            cause,
            department="water",
            reason_code="not-our-duty",
            legal_basis="《城镇供水条例》第二条",
        ),
        _dispatch_fact(events.ReturnApproved, cause, department="water", reasoning="属实"),
        _dispatch_fact(events.ReturnDenied, cause, department="water", reasoning="属于职责"),
        _dispatch_fact(
            events.ExtensionRequested,
            cause,
            department="water",
            working_days=5,
            reason="需更换主管道",
            legal_basis="《办理规定》第十条",
        ),
        _dispatch_fact(
            events.ExtensionApproved,
            cause,
            department="water",
            working_days=5,
            previous_handle_due=DEADLINES.handle_due,
            deadlines=DEADLINES,
        ),
        _dispatch_fact(events.ExtensionDenied, cause, department="water", reasoning="不符合"),
        _dispatch_fact(
            events.AssistContributed, cause, department="urban-east", content="已协助封路"
        ),
        _dispatch_fact(
            events.Supervised, cause, department="water", level="reminder", note="请尽快签收"
        ),
        _dispatch_fact(
            events.Withdrawn, cause, department="water", outcome="answered", reason="已直接答复"
        ),
        _dispatch_fact(
            events.WithdrawalRefused, cause, department="water", reason="water signed for it"
        ),
        _dispatch_fact(
            events.DeadlineWarned,
            cause,
            department="water",
            clock="sign_for",
            due=DEADLINES.sign_for_due,
        ),
        _dispatch_fact(
            events.DeadlineMissed,
            cause,
            department="water",
            clock="handling",
            due=DEADLINES.handle_due,
        ),
        _dispatch_fact(
            events.RedoOrdered,
            cause,
            department="water",
            round=2,
            reason="仍未恢复供水",
            deadlines=DEADLINES,
        ),
        _dispatch_fact(
            events.DeadlinesRecomputed,
            cause,
            department="water",
            years=(2027,),
            previous=DEADLINES.model_copy(update={"provisional_years": (2027,)}),
            deadlines=DEADLINES,
        ),
        _dispatch_fact(
            events.EscalatedToCentre,
            cause,
            department="water",
            round=3,
            redo_rounds=2,
            reason="两次重办后仍未解决",
        ),
        events.CalendarPublished(
            id=uuid4(),
            subject=CALENDAR_STREAM,
            time=cause.time,
            actor="operator:admin",
            correlation_id=CALENDAR_STREAM,
            number=1,
            calendar="chinese-calendar-1.11.0+published.1",
            year=2027,
            holidays=(date(2027, 1, 1),),
            workdays=(date(2027, 1, 31),),
            note="国办发明电〔2026〕N号",
        ),
        # added last, so the positions other tests pick facts by stay
        _dispatch_fact(
            events.AssistRequested,
            cause,
            department="urban-east",
            lead="water",
            due=cause.time + timedelta(days=3),
            policy_version=1,
            calendar="chinese-calendar-1.11.0",
        ),
        _dispatch_fact(
            events.AssistOverdue, cause, department="urban-east", due=cause.time + timedelta(days=3)
        ),
        _dispatch_fact(
            events.AssistWarned, cause, department="urban-east", due=cause.time + timedelta(days=3)
        ),
        _dispatch_fact(
            events.AssistDeadlineRecomputed,
            cause,
            department="urban-east",
            years=(2027,),
            previous_due=cause.time + timedelta(days=3),
            due=cause.time + timedelta(days=4),
            policy_version=1,
            calendar="chinese-calendar-1.11.0+published.1",
        ),
    ]


def handled(cause: events.Assigned) -> events.Handled:
    return events.Handled(
        id=uuid4(),
        subject=cause.subject,
        time=cause.time + timedelta(hours=3),
        actor="department:water",
        causation_id=cause.id,
        correlation_id=cause.correlation_id,
        department=cause.department,
        result="solved",
        reply="已抢修供水管道 恢复供水",
    )


def rated(cause: events.Handled, satisfaction: events.Satisfaction = "satisfied") -> events.Rated:
    return events.Rated(
        id=uuid4(),
        subject=cause.subject,
        time=cause.time + timedelta(days=1),
        actor="operator:wang",
        causation_id=cause.id,
        correlation_id=cause.correlation_id,
        satisfaction=satisfaction,
        solved=satisfaction != "dissatisfied",  # a dissatisfied citizen says it is unsolved
        comment="很快",
    )


def closed(cause: events.Rated) -> events.Closed:
    return events.Closed(
        id=uuid4(),
        subject=cause.subject,
        time=cause.time + timedelta(seconds=1),
        actor="service:dispatch",
        causation_id=cause.id,
        correlation_id=cause.correlation_id,
        basis="rated_satisfied",
    )


def full_history() -> tuple[
    events.AppealReceived, events.Assigned, events.Handled, events.Rated, events.Closed
]:
    r = received()
    a = assigned(r)
    h = handled(a)
    s = rated(h)
    return r, a, h, s, closed(s)


def chained(history: Sequence[events.Event]) -> list[envelope.Recorded]:
    """The events as their services publish them: each source's numbered from 1 and
    hash-chained, in the order given."""
    heads: dict[str, tuple[int, str]] = {}
    out = []
    for event in history:
        version, prev = heads.get(event.source, (0, envelope.GENESIS_HASH))
        recorded = envelope.encode(event, version=version + 1, prev_hash=prev)
        heads[event.source] = (version + 1, recorded.hash)
        out.append(recorded)
    return out


def audit_facts(history: Sequence[events.Event]) -> list[domain.Fact]:
    """The facts as audit holds them: each source's numbered and hash-chained in order."""
    return [
        domain.Fact(
            r.event.id,
            r.source,
            r.event.type,
            r.event.subject,
            r.version,
            r.event.time,
            r.event.actor,
            r.event.causation_id,
            r.hash,
            r.prev_hash,
            r.body.decode(),
        )
        for r in chained(history)
    ]


def _follow_up(cls: type[E], cause: events.Event, actor: str, **fields: Any) -> E:
    return cls(
        id=uuid4(),
        subject=cause.subject,
        time=cause.time + timedelta(minutes=2),
        actor=actor,
        causation_id=cause.id,
        correlation_id=cause.correlation_id,
        **fields,
    )


def intake_facts(cause: events.AppealReceived) -> list[events.Event]:
    """One of each intake fact but AppealReceived."""
    return [
        _follow_up(
            events.AppealClassified,
            cause,
            "operator:li",
            category="water.pressure",
            appeal_type="complaint",
            urgency="normal",
            catalogue_version=1,
            previous_category=cause.category,
            reason="来电人补充为水压不足",
        ),
        _follow_up(
            events.AppealForwarded,
            cause,
            "operator:li",
            category=cause.category,
            appeal_type=cause.appeal_type,
            urgency=cause.urgency,
            district=cause.location.district,
            received_at=cause.time,
        ),
        _follow_up(
            events.AnsweredDirectly,
            cause,
            "operator:li",
            article_id="kb-water-bill",
            article_version=3,
            answer="水费可在供水公司营业厅或微信缴纳",
        ),
        _follow_up(
            events.TransferredToEmergency,
            cause,
            "operator:li",
            line="119",
            mode="one_click",
            external_reference="119-20261009-0042",
        ),
        _follow_up(
            events.AppealRejected,
            cause,
            "operator:li",
            reason="已进入诉讼程序",
            legal_route="litigation",
            explanation="请向人民法院提起诉讼",
        ),
        _follow_up(events.MergedInto, cause, "operator:li", parent=uuid4(), reason="同一地址重复"),
        _follow_up(events.Unmerged, cause, "operator:li", parent=uuid4(), reason="并单有误"),
        _follow_up(
            events.WithdrawalRequested,
            cause,
            "operator:li",
            outcome="answered",
            reason="answered from article kb-water-bill",
            details={"article_id": "kb-water-bill", "article_version": 3, "answer": "营业厅缴纳"},
        ),
        _follow_up(
            events.OutcomeAbandoned,
            cause,
            "service:intake",
            outcome="answered",
            reason="water signed for it: it stays with the department",
        ),
        _follow_up(
            events.PersonalDataErased,
            cause,
            "privacy-officer:wang",
            erasure_id=uuid4(),
            key_id=CITIZEN_KEY_ID,
            basis="citizen_request",
            reference="PIPL-2026-0001",
        ),
    ]


def feedback_facts(cause: events.Handled) -> list[events.Event]:
    """One of each feedback fact but Handled and Rated."""
    return [
        _follow_up(
            events.NotRated,
            cause,
            "service:feedback",
            round=1,
            window_closed_at=cause.time + timedelta(days=3),
        ),
        _follow_up(
            events.ReplyReviewed,
            cause,
            "operator:zhao",
            round=1,
            department=cause.department,
            decision="approved",
            callback_due=cause.time + timedelta(days=1),
        ),
        _follow_up(
            events.CallbackMade,
            cause,
            "operator:zhao",
            round=1,
            attempt=1,
            reached=True,
            satisfaction="satisfied",
            solved=True,
            counted=True,
        ),
        _follow_up(
            events.CitizenNotified,
            cause,
            "service:feedback",
            kind="reply_approved",
            channel="app",
            delivery_id=uuid4(),
            message="您的诉求已办结答复，请对办理结果进行评价。",
        ),
        _follow_up(
            events.CitizenNoticeFailed,
            cause,
            "service:feedback",
            kind="reply_approved",
            channel="app",
            delivery_id=uuid4(),
            message="您的诉求已办结答复，请对办理结果进行评价。",
            attempts=5,
            error="HTTP 503",
        ),
        _follow_up(
            events.LeadershipNotified,
            cause,
            "service:feedback",
            department=cause.department,
            escalation="appeal.supervised",
            delivery_id=uuid4(),
            message="热线中心已对贵单位承办的诉求提级督办。意见：逾期未办结",
        ),
        _follow_up(
            events.LeadershipNoticeFailed,
            cause,
            "service:feedback",
            department=cause.department,
            escalation="appeal.escalated_to_centre",
            delivery_id=uuid4(),
            message="贵单位承办的诉求经2次重办仍未解决，已提级至热线中心。原因：还是停水",
            attempts=8,
            error="HTTP 503",
        ),
    ]
