"""Services for the tests: fresh databases, own consumer groups, development tokens."""

import uuid

from services.catalog import SERVICES
from services.cli import OPERATOR_SCOPES
from services.processes import ROOT, ServiceProcess
from shared.runtime import auth
from tests.support import infra

LOGS = ROOT / ".cache" / "test-logs"
OPERATOR = OPERATOR_SCOPES


async def make(name: str) -> ServiceProcess:
    """A service with a fresh migrated database and a consumer group of its own."""
    service = SERVICES[name]
    url = await infra.fresh_database(f"t_{name}", service.migrations)
    group = f"{name}-{uuid.uuid4().hex[:8]}"
    return ServiceProcess(
        service,
        LOGS,
        env={
            "HOTLINE_DATABASE_URL": url,
            "HOTLINE_KAFKA_BOOTSTRAP": infra.KAFKA,
            "HOTLINE_CONSUMER_GROUP": group,
            "HOTLINE_CONSUMER_INSTANCE_ID": group,
            "HOTLINE_ENVIRONMENT": "test",
        },
    )


def database_url(process: ServiceProcess) -> str:
    return process.env["HOTLINE_DATABASE_URL"]


def group(process: ServiceProcess) -> str:
    return process.env["HOTLINE_CONSUMER_GROUP"]


def token(*scopes: str, department: str | None = None) -> str:
    settings = SERVICES["intake"].settings(database_url="postgresql+asyncpg://unused/x")
    subject = f"department:{department}" if department else "operator:test"
    return auth.mint(settings, subject=subject, scopes=list(scopes), department=department)


def bearer(*scopes: str, department: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(*scopes, department=department)}"}
