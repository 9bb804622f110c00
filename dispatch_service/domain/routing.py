"""The routing catalogue: category and district to a lead department. Pure."""

from dataclasses import dataclass

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


def route(table: RoutingTable, *, category: str, district: str | None) -> RoutingRule:
    """The rule for the category in this district, else a city-wide one, else the
    district's catch-all (category `*`: the district government takes what no rule places),
    else the city-level fallback, last."""
    candidates = [
        r for r in table.rules if r.category == category and r.district in (district, None)
    ]
    candidates.sort(key=lambda r: (r.district is None, r.rule_id))
    if candidates:
        return candidates[0]
    catch_all = sorted(
        (r for r in table.rules if r.category == ANY_CATEGORY and r.district is not None),
        key=lambda r: r.rule_id,
    )
    for rule in catch_all:
        if rule.district == district:
            return rule
    return RoutingRule(FALLBACK_RULE, category, district, table.fallback_department)
