"""What audit's routes are given: the running service, its settings typed."""

from typing import Annotated

from fastapi import Depends

from audit_service.settings import AuditSettings
from shared.runtime.running import Runtime, get_runtime

AuditRuntime = Annotated[Runtime[AuditSettings], Depends(get_runtime)]
