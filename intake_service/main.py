from pathlib import Path

from fastapi import FastAPI

from intake_service import api, handlers
from intake_service.settings import IntakeSettings
from shared.runtime import settings
from shared.runtime.app import ServiceSpec, create_service

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app() -> FastAPI:
    return create_service(
        ServiceSpec(
            settings=settings.load(IntakeSettings),
            router=api.router,
            migrations_dir=MIGRATIONS,
            handlers=handlers.HANDLERS,
            title="12345 hotline: intake",
        )
    )
