"""The ranking as its page shows it: each column a figure with what it measures, each cell a
link to the facts behind it (the department's drill-down, at that figure's list)."""

from dataclasses import dataclass
from typing import Any

from audit_service.domain import kpis
from audit_service.pages.catalogue import Catalogue
from audit_service.pages.timeline import percent


@dataclass(frozen=True, slots=True)
class Column:
    key: str  # the figure, as kpis.Figures.summary() and gaming.Shares.summary() name it
    evidence: str  # the list of facts that decides it, as kpis.Figures / gaming.Shares name it
    rate: bool = True


COLUMNS = (
    Column("volume", "volume", rate=False),
    Column("timely_sign_for_rate", "signed_in_time"),
    Column("on_time_completion_rate", "completed_on_time"),
    Column("return_rate", "returns"),
    Column("returns_overruled", "returns_overruled", rate=False),
    Column("redo_rate", "redos"),
    Column("satisfaction_rate", "satisfied"),
    Column("mean_handling_workdays", "completed", rate=False),
    Column("assist_on_time_rate", "assists_on_time"),
)
GAMING_COLUMNS = (
    Column("close_then_reopen_share", "replies_near_deadline_reopened"),
    Column("extensions_at_deadline_share", "extensions_at_deadline"),
    Column("callbacks_until_satisfied_share", "rounds_called_until_satisfied"),
)


@dataclass(frozen=True, slots=True)
class Evidence:
    name: str
    label: str
    facts: list[tuple[str, str]]  # (fact id, appeal id)


def shown(value: Any, column: Column) -> str:
    if value is None:
        return "-"
    return percent(value) if column.rate else str(value)


def rule_text(catalogue: Catalogue, rule: kpis.Rule) -> str:
    said = catalogue.messages
    excluded = ", ".join(sorted(rule.excluded_categories)) or said.no_exclusions
    satisfied = said.satisfied_grades if rule.basically_satisfied_counts else said.satisfied_only
    named = f"{rule.name} v{rule.version}: "  # the stored rule version behind every figure
    return named + said.figure_rule.format(satisfied=satisfied, excluded=excluded)


def evidence(
    catalogue: Catalogue, behind: dict[str, list[str]], appeals: dict[str, str]
) -> list[Evidence]:
    """Each of the department's lists of facts, labelled, each fact with its appeal."""
    return [
        Evidence(name, catalogue.evidence.get(name, name), [(i, appeals.get(i, "")) for i in ids])
        for name, ids in behind.items()
    ]
