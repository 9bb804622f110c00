"""dispatch's app: the only place its routers are joined, with its handlers and its timer."""

from pathlib import Path

from fastapi import APIRouter, FastAPI

from dispatch_service import handlers, timer
from dispatch_service.routes import calendar, catalogue, centre, department, work_orders
from dispatch_service.settings import DispatchSettings
from shared.runtime import settings, timers
from shared.runtime.app import ServiceSpec, create_service

MIGRATIONS = Path(__file__).parent / "migrations"


def routers() -> list[APIRouter]:
    return [routes.router for routes in (work_orders, department, centre, catalogue, calendar)]


def create_app() -> FastAPI:
    config = settings.load(DispatchSettings)
    return create_service(
        ServiceSpec(
            settings=config,
            router=routers(),
            migrations_dir=MIGRATIONS,
            handlers=handlers.HANDLERS,
            batch_read=handlers.BATCH_READ,
            background=[
                lambda runtime: timers.every(
                    runtime,
                    timer.sweep,
                    interval_seconds=config.timer_interval_seconds,
                    batch=timer.SWEEP_LIMIT,
                )
            ],
            title="12345 hotline: dispatch",
            # Whole documents: the routing table and the SLA policy.
            body_limits={"/v1/routing": 1024 * 1024, "/v1/sla-policy": 1024 * 1024},
        )
    )
