from pathlib import Path

from fastapi import FastAPI

from feedback_service import api, handlers
from feedback_service.settings import FeedbackSettings
from shared.runtime import settings
from shared.runtime.app import ServiceSpec, create_service

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app() -> FastAPI:
    return create_service(
        ServiceSpec(
            settings=settings.load(FeedbackSettings),
            router=api.router,
            migrations_dir=MIGRATIONS,
            handlers=handlers.HANDLERS,
            title="12345 hotline: feedback",
        )
    )
