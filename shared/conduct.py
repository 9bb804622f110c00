"""Complaints about a department's or its staff's conduct (作风、态度): which categories they
are. Shared by intake (who may learn of them), dispatch (never routed to the department
complained about) and audit (counted against that department)."""

from typing import Final

CONDUCT_PREFIX: Final = "conduct."


def is_conduct(category: str) -> bool:
    """A conduct complaint's category: `conduct.department`, `conduct.staff`, …"""
    return category.startswith(CONDUCT_PREFIX)
