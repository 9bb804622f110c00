from pathlib import Path

from fastapi import APIRouter, FastAPI

from feedback_service import api, handlers, links_api, sender, subscriptions_api, timer
from feedback_service.settings import FeedbackSettings
from shared.runtime import settings, timers
from shared.runtime.app import ServiceSpec, create_service

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app() -> FastAPI:
    config = settings.load(FeedbackSettings)
    router = APIRouter()
    for part in (api.router, links_api.router, subscriptions_api.router):
        router.include_router(part)
    return create_service(
        ServiceSpec(
            settings=config,
            router=router,
            migrations_dir=MIGRATIONS,
            handlers=handlers.handlers_for(config),
            background=[
                lambda runtime: timers.every(
                    runtime,
                    timer.sweep,
                    interval_seconds=config.timer_interval_seconds,
                    batch=timer.SWEEP_LIMIT,
                ),
                lambda runtime: timers.every(
                    runtime,
                    lambda db, now: sender.sweep(db, now, settings=config),
                    interval_seconds=config.webhook_interval_seconds,
                    batch=sender.BATCH,
                ),
            ],
            title="12345 hotline: feedback",
        )
    )
