"""The routing catalogue: category and district to a lead department. Pure."""

from dataclasses import dataclass, replace

FALLBACK_RULE = "fallback"
ANY_CATEGORY = "*"  # with a district: that district's catch-all, its government (兜底)
OPERATOR_RULE = "operator"


@dataclass(frozen=True, slots=True)
class RoutingRule:
    rule_id: str
    category: str
    district: str | None  # None: any district
    department: str
    assisting: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RoutingTable:
    version: int
    rules: tuple[RoutingRule, ...]
    fallback_department: str  # the government takes what nobody else owns (兜底)


def route(
    table: RoutingTable, *, category: str, district: str | None, avoid: str | None = None
) -> RoutingRule:
    """The rule for the category in this district, else a city-wide one, else the
    district's catch-all (category `*`: the district government takes what no rule places),
    else the city-level fallback, last.

    `avoid`: the department a conduct complaint is about. It is never chosen, as lead or
    assisting: a rule that would give it the appeal is passed over (the next rule, then the
    fallback), so a complaint about the supervision office itself goes to the government."""
    candidates = [
        r
        for r in table.rules
        if r.category == category and r.district in (district, None) and r.department != avoid
    ]
    candidates.sort(key=lambda r: (r.district is None, r.rule_id))
    if candidates:
        rule = candidates[0]
        return replace(rule, assisting=tuple(a for a in rule.assisting if a != avoid))
    catch_all = sorted(
        (
            r
            for r in table.rules
            if r.category == ANY_CATEGORY and r.district is not None and r.department != avoid
        ),
        key=lambda r: r.rule_id,
    )
    for rule in catch_all:
        if rule.district == district:
            return replace(rule, assisting=tuple(a for a in rule.assisting if a != avoid))
    return RoutingRule(FALLBACK_RULE, category, district, table.fallback_department)
