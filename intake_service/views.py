"""How an appeal row is shown, and to whom. Front-office callers (scope
`appeals:frontoffice`) see the citizen; a department sees only appeals dispatched to it,
without the citizen; the citizen's own progress check shows status and stage times only."""

from typing import Any, Final
from uuid import UUID

from shared.runtime.auth import Principal
from shared.runtime.problems import Problem

READ: Final = "appeals:read"
WRITE: Final = "appeals:write"
FRONT_OFFICE: Final = "appeals:frontoffice"
KNOWLEDGE_ADMIN: Final = "knowledge:admin"

_FIELDS: Final = ("channel", "content", "location", "attachments")


def _iso(value: Any) -> Any:
    return value.isoformat() if value is not None else None


def appeal(row: dict[str, Any], caller: Principal) -> dict[str, Any]:
    received = row["received"]
    shown: dict[str, Any] = {
        "id": str(row["id"]),
        "status": row["status"],
        "status_at": _iso(row["status_at"]),
        "received_at": _iso(row["received_at"]),
        "stages": row["stages"] or {},
        "appeal_type": row["appeal_type"],
        "category": row["category"],
        "urgency": row["urgency"] or received["urgency"],
        **{k: received.get(k, []) for k in _FIELDS},
        "department": row["department"],
        "merged_into": None if row["merged_into"] is None else str(row["merged_into"]),
        "outcome": row["outcome"],
    }
    if FRONT_OFFICE in caller.scopes and caller.department is None:
        shown["citizen"] = received["citizen"]
        shown["classification"] = row["classification"]
        shown["repeat_candidates"] = row["repeat_candidates"] or []
    return shown


def visible(row: dict[str, Any] | None, caller: Principal, appeal_id: UUID) -> dict[str, Any]:
    """The row if this caller may read it; a department gets 404 for another's appeal, the
    same answer as for one that does not exist."""
    if row is None or (caller.department is not None and row["department"] != caller.department):
        raise Problem(404, "Not Found", f"no appeal {appeal_id}")
    return row


def progress(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "status": row["status"],
        "received_at": _iso(row["received_at"]),
        "stages": row["stages"] or {},
    }
