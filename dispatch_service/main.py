from pathlib import Path

from fastapi import FastAPI

from dispatch_service import api, handlers, timer
from dispatch_service.settings import DispatchSettings
from shared.runtime import settings, timers
from shared.runtime.app import ServiceSpec, create_service

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app() -> FastAPI:
    config = settings.load(DispatchSettings)
    return create_service(
        ServiceSpec(
            settings=config,
            router=api.router,
            migrations_dir=MIGRATIONS,
            handlers=handlers.HANDLERS,
            background=[
                lambda runtime: timers.every(
                    runtime,
                    timer.sweep,
                    interval_seconds=config.timer_interval_seconds,
                    batch=timer.SWEEP_LIMIT,
                )
            ],
            title="12345 hotline: dispatch",
        )
    )
