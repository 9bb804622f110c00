"""A month's standings from the department measures (`kpis`): the departments best first,
and the red and black lists a rule allows. Pure."""

from typing import Any

from audit_service.domain.kpis import Rule, Table


def order_key(row: dict[str, Any]) -> tuple[Any, ...]:
    """The ranking's order, best first, and its tie-breaks, in this order: on-time completion,
    satisfaction, timely sign-for, on-time contribution as an assisting department (each
    higher first; a missing rate after every present
    one, so 0.0 is not confused with "nothing was due"), then the larger volume, then the
    department id alphabetically. The last key is unique, so no two rows ever tie."""

    def higher_first(rate: float | None) -> tuple[bool, float]:
        return (rate is None, -(rate or 0.0))

    return (
        higher_first(row["on_time_completion_rate"]),
        higher_first(row["satisfaction_rate"]),
        higher_first(row["timely_sign_for_rate"]),
        higher_first(row["assist_on_time_rate"]),
        -row["volume"],
        row["department"],
    )


def ranking(table: Table, month: str, *, rule: Rule | None = None) -> dict[str, Any]:
    """The month's departments, best first (`order_key`). Only departments with at least
    `rule.list_min_volume` holdings and an on-time completion rate (something fell due)
    can be listed; of those the red list names the best, the black list the worst (worst
    first), each at most `rule.listed` and at most half of them, so that no department is
    ever on both lists (with an odd number, the middle one is on neither)."""
    rule = rule or Rule()
    rows = [
        {"department": department, **figures.summary()}
        for (department, row_month), figures in sorted(table.items())
        if row_month == month
    ]
    rows.sort(key=order_key)
    listable = [
        row["department"]
        for row in rows
        if row["volume"] >= rule.list_min_volume and row["on_time_completion_rate"] is not None
    ]
    named = min(rule.listed, len(listable) // 2)
    return {
        "month": month,
        "rows": rows,
        "red_list": listable[:named],
        "black_list": list(reversed(listable))[:named],
    }
