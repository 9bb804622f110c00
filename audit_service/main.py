from pathlib import Path

from fastapi import FastAPI

from audit_service import api, handlers
from audit_service.settings import AuditSettings
from shared import topics
from shared.runtime import settings
from shared.runtime.app import ServiceSpec, create_service

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app() -> FastAPI:
    return create_service(
        ServiceSpec(
            settings=settings.load(AuditSettings),
            router=api.router,
            migrations_dir=MIGRATIONS,
            on_fact=handlers.ingest,
            subscribe=topics.ALL,
            title="12345 hotline: audit",
        )
    )
