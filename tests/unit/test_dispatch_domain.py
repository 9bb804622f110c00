from uuid import uuid4

from dispatch_service import domain
from shared import events
from tests.unit import factories

TABLE = domain.RoutingTable(
    version=7,
    fallback_department="gov-city",
    rules=(
        domain.RoutingRule("city:noise", "environment.noise", None, "environment"),
        domain.RoutingRule("east:noise", "environment.noise", "east", "urban-east"),
        domain.RoutingRule("city:water", "water.outage", None, "water"),
    ),
)


def test_a_district_rule_beats_a_city_wide_one() -> None:
    assert domain.route(TABLE, category="environment.noise", district="east") == (
        "urban-east",
        "east:noise",
    )
    assert domain.route(TABLE, category="environment.noise", district="west") == (
        "environment",
        "city:noise",
    )


def test_what_no_rule_covers_falls_to_the_fallback_owner() -> None:
    assert domain.route(TABLE, category="unknown.thing", district="east") == (
        "gov-city",
        domain.FALLBACK_RULE,
    )


def test_assignment_records_the_rule_and_routing_version_that_chose_it() -> None:
    received = factories.received(category="water.outage")
    [fact] = domain.assign(received, TABLE, event_id=uuid4(), now=factories.T0)
    assert isinstance(fact, events.Assigned)
    assert (fact.department, fact.routing_rule, fact.routing_version) == ("water", "city:water", 7)
    assert fact.causation_id == received.id
    assert fact.correlation_id == received.correlation_id


def test_a_satisfied_rating_closes_the_work_order() -> None:
    r, a, _h, s, _ = factories.full_history()
    order = domain.evolve(None, a)
    [fact] = domain.on_rated(order, s, event_id=uuid4(), now=factories.T0)
    assert isinstance(fact, events.Closed)
    assert fact.causation_id == s.id
    assert domain.evolve(order, fact) == domain.WorkOrder(r.subject, "water", "closed")


def test_a_dissatisfied_rating_leaves_the_work_order_open() -> None:
    a = factories.assigned(factories.received())
    dissatisfied = factories.rated(factories.handled(a), "dissatisfied")
    assert (
        domain.on_rated(domain.evolve(None, a), dissatisfied, event_id=uuid4(), now=factories.T0)
        == []
    )


def test_a_rating_for_an_unknown_or_closed_work_order_changes_nothing() -> None:
    _r, a, _h, s, c = factories.full_history()
    closed = domain.evolve(domain.evolve(None, a), c)
    assert domain.on_rated(None, s, event_id=uuid4(), now=factories.T0) == []
    assert domain.on_rated(closed, s, event_id=uuid4(), now=factories.T0) == []
