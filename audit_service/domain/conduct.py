"""When the department is the problem: attitude ratings and conduct complaints, per department
and month, read from one appeal's timeline at a time. Pure, like kpis.py.

- Attitude: each rating (`appeal.rated`) that records the citizen's view of the department's
  attitude counts for the department holding the appeal when it was rated, in the month
  that holding started (the same cohort as kpis.py, so it sits beside the satisfaction rate
  of the same row). "poor" is the share watched. Only ratings count, not every callback: a
  counted callback's rating is its `appeal.rated`, so nothing is counted twice.
- Conduct complaints: an appeal whose category (as received, or as an operator reclassified
  it) is a conduct category and that names the department complained about
  (`about_department` on `appeal.received`) counts against that department, in the month it
  was received (Beijing time). One without a named department is left out here: there is
  nobody to attribute it to (the supervision office reads it in its own queue).
"""

import json
from dataclasses import dataclass, field
from typing import Any

from audit_service.domain.facts import Fact
from shared.conduct import is_conduct
from shared.workdays import HOTLINE_ZONE

STARTS = ("appeal.assigned", "appeal.redispatched", "appeal.redo_ordered")


@dataclass
class Conduct:
    """One department's month: the ids of the facts behind each count."""

    attitude_rated: list[str] = field(default_factory=list)  # ratings with an attitude
    attitude_poor: list[str] = field(default_factory=list)
    complaints: list[str] = field(default_factory=list)  # the complaints' `appeal.received`
    appeals: list[str] = field(default_factory=list)  # the appeals behind the two above

    def summary(self) -> dict[str, Any]:
        rated = len(self.attitude_rated)
        return {
            "attitude_rated": rated,
            "poor_attitude": len(self.attitude_poor),
            "poor_attitude_share": round(len(self.attitude_poor) / rated, 4) if rated else None,
            "conduct_complaints": len(self.complaints),
        }

    def evidence(self) -> dict[str, list[str]]:
        return {
            "attitude_rated": self.attitude_rated,
            "attitude_poor": self.attitude_poor,
            "conduct_complaints": self.complaints,
        }

    @property
    def of_concern(self) -> bool:
        """A poor attitude rating or a conduct complaint: audit lists the department."""
        return bool(self.attitude_poor or self.complaints)


Table = dict[tuple[str, str], Conduct]  # (department, "YYYY-MM") → counts


def _data(fact: Fact) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(fact.body)["data"]
    return data


def _month(fact: Fact) -> str:
    return fact.time.astimezone(HOTLINE_ZONE).strftime("%Y-%m")


def accumulate(table: Table, timeline: list[Fact]) -> None:
    """Add one appeal's attitude ratings and conduct complaint to the table."""
    holder: tuple[str, str] | None = None  # (department, month its holding started)
    received: Fact | None = None
    category: str | None = None
    for fact in timeline:
        data = _data(fact)
        match fact.type:
            case "appeal.received":
                received, category = fact, data.get("category")
            case "appeal.classified":
                category = data.get("category")
            case kind if kind in STARTS:
                holder = (data["department"], _month(fact))
            case "appeal.rated" if data.get("attitude") and (
                data.get("merged_into") or holder is not None
            ):
                # a merged child's caller rates the parent's department (`handled_by`)
                rater = (
                    (data["handled_by"], _month(fact))
                    if data.get("merged_into") and data.get("handled_by")
                    else holder
                )
                if rater is None:
                    continue
                row = table.setdefault(rater, Conduct())
                row.attitude_rated.append(str(fact.event_id))
                if data["attitude"] == "poor":
                    row.attitude_poor.append(str(fact.event_id))
                    _note(row, fact)
    if received is None or category is None or not is_conduct(category):
        return
    about = _data(received).get("about_department")
    if about:
        row = table.setdefault((about, _month(received)), Conduct())
        row.complaints.append(str(received.event_id))
        _note(row, received)


def _note(row: Conduct, fact: Fact) -> None:
    if str(fact.subject) not in row.appeals:
        row.appeals.append(str(fact.subject))


def of_concern(table: Table, month: str) -> list[tuple[str, Conduct]]:
    """The month's departments with a conduct complaint or a poor attitude rating: most
    complaints and poor ratings together first, then by department id (a stable order)."""
    found = [(d, c) for (d, m), c in table.items() if m == month and c.of_concern]
    found.sort(key=lambda dc: (-(len(dc[1].complaints) + len(dc[1].attitude_poor)), dc[0]))
    return found
