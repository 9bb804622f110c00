"""What intake's routes are given: the typed runtime, the caller by scope, and who may read
which appeal."""

from typing import Annotated, Any, Final
from uuid import UUID

from fastapi import Depends

from intake_service.settings import IntakeSettings
from shared.runtime.auth import Principal, require
from shared.runtime.problems import not_found
from shared.runtime.running import Runtime, get_runtime

READ: Final = "appeals:read"
WRITE: Final = "appeals:write"
FRONT_OFFICE: Final = "appeals:frontoffice"
KNOWLEDGE_ADMIN: Final = "knowledge:admin"
CATALOGUE_ADMIN: Final = "catalogue:admin"

IntakeRuntime = Annotated[Runtime[IntakeSettings], Depends(get_runtime)]
Reader = Annotated[Principal, require(READ)]
# The front office files (partners too), decides and administers: never a department.
Writer = Annotated[Principal, require(WRITE, centre=True)]
Operator = Annotated[Principal, require(FRONT_OFFICE, centre=True)]
KnowledgeAdmin = Annotated[Principal, require(KNOWLEDGE_ADMIN, centre=True)]
CatalogueAdmin = Annotated[Principal, require(CATALOGUE_ADMIN, centre=True)]


def front_office(caller: Principal) -> bool:
    """The hotline's own front office: sees the citizen and other citizens' appeals."""
    return FRONT_OFFICE in caller.scopes and caller.department is None


def visible(row: dict[str, Any] | None, caller: Principal, appeal_id: UUID) -> dict[str, Any]:
    """The row if this caller may read it; a department gets 404 for another's appeal, the
    same answer as for one that does not exist."""
    if row is None or (caller.department is not None and row["department"] != caller.department):
        raise not_found("appeal", appeal_id)
    return row
