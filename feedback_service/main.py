"""feedback's app: its routers joined, its handlers, and its two timers (rating windows,
webhook deliveries)."""

from pathlib import Path

from fastapi import FastAPI

from feedback_service import handlers, sender, settings, timer
from feedback_service.routes import (
    calendar,
    feedback,
    feedback_view,
    leadership,
    links,
    subscriptions,
)
from feedback_service.settings import FeedbackSettings
from shared.runtime import positions, timers
from shared.runtime.app import ServiceSpec, create_service
from shared.runtime.settings import load

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app() -> FastAPI:
    config = load(FeedbackSettings)
    settings.use(config)  # for the handlers and the projection, which get a transaction only
    return create_service(
        ServiceSpec(
            settings=config,
            router=[
                feedback.router,
                feedback_view.router,
                links.router,
                subscriptions.router,
                leadership.router,
                calendar.router,
            ],
            migrations_dir=MIGRATIONS,
            handlers=handlers.HANDLERS,
            on_fact=positions.record,  # read your own writes: X-Work-Order-Version
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
                    name="feedback_service.sender",
                ),
            ],
            title="12345 hotline: feedback",
        )
    )
