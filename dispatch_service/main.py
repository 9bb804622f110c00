from pathlib import Path

from fastapi import FastAPI

from dispatch_service import api, handlers
from dispatch_service.settings import DispatchSettings
from shared.runtime import settings
from shared.runtime.app import ServiceSpec, create_service

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app() -> FastAPI:
    return create_service(
        ServiceSpec(
            settings=settings.load(DispatchSettings),
            router=api.router,
            migrations_dir=MIGRATIONS,
            handlers=handlers.HANDLERS,
            title="12345 hotline: dispatch",
        )
    )
