"""The four services, for the tools that start, migrate or address them all."""

from dataclasses import dataclass
from pathlib import Path

from audit_service.main import MIGRATIONS as AUDIT_MIGRATIONS
from audit_service.settings import AuditSettings
from dispatch_service.main import MIGRATIONS as DISPATCH_MIGRATIONS
from dispatch_service.settings import DispatchSettings
from feedback_service.main import MIGRATIONS as FEEDBACK_MIGRATIONS
from feedback_service.settings import FeedbackSettings
from intake_service.main import MIGRATIONS as INTAKE_MIGRATIONS
from intake_service.settings import IntakeSettings
from shared.runtime.settings import ServiceSettings


@dataclass(frozen=True)
class Service:
    name: str
    settings: type[ServiceSettings]
    migrations: Path
    app: str  # uvicorn factory path

    @property
    def default_port(self) -> int:
        return int(self.settings.model_fields["port"].default)


SERVICES = {
    s.name: s
    for s in (
        Service("intake", IntakeSettings, INTAKE_MIGRATIONS, "intake_service.main:create_app"),
        Service(
            "dispatch", DispatchSettings, DISPATCH_MIGRATIONS, "dispatch_service.main:create_app"
        ),
        Service(
            "feedback", FeedbackSettings, FEEDBACK_MIGRATIONS, "feedback_service.main:create_app"
        ),
        Service("audit", AuditSettings, AUDIT_MIGRATIONS, "audit_service.main:create_app"),
    )
}
