from pathlib import Path

from fastapi import FastAPI

from intake_service import handlers
from intake_service.open311 import api as open311
from intake_service.open311 import feeds as open311_feeds
from intake_service.open311 import views as open311_views
from intake_service.routes import (
    access,
    appeals,
    catalogue,
    emergency,
    erasures,
    front_office,
    knowledge,
)
from intake_service.settings import IntakeSettings
from shared.runtime import positions, settings
from shared.runtime.app import ServiceSpec, create_service

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app() -> FastAPI:
    # Open311's catch-all 404 (in `open311`) goes last, after every route it would shadow.
    joined = (appeals, front_office, emergency, catalogue, knowledge, erasures, access)
    app = create_service(
        ServiceSpec(
            settings=settings.load(IntakeSettings),
            router=[routes.router for routes in (*joined, open311_feeds, open311)],
            migrations_dir=MIGRATIONS,
            handlers=handlers.HANDLERS,
            on_fact=positions.record,  # read your own writes: X-Work-Order-Version
            title="12345 hotline: intake",
            body_limits={"/v1/catalogue": 1024 * 1024},  # the whole catalogue in one document
        )
    )
    open311_views.own_errors(app)
    return app
