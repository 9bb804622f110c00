from pathlib import Path

from fastapi import APIRouter, FastAPI

from audit_service import handlers, publication, sealing, verification
from audit_service.routes import (
    access,
    history,
    integrity,
    measures,
    proofs,
    replays,
    rules,
    ui,
    watch,
)
from audit_service.settings import AuditSettings
from shared import topics
from shared.runtime import settings, timers
from shared.runtime.app import ServiceSpec, create_service

MIGRATIONS = Path(__file__).parent / "migrations"


def _routes() -> list[APIRouter]:
    """The one place audit's routers are joined, in this order."""
    return [
        history.router,
        proofs.router,  # before integrity: /checkpoints/public-key
        access.router,
        integrity.router,
        replays.router,
        measures.router,
        rules.router,
        watch.router,  # conduct and hot spots
        ui.router,  # the auditor's pages, with their own cookie sign-in
    ]


def create_app() -> FastAPI:
    config = settings.load(AuditSettings)
    sweep = publication.sweeper(
        config.signing_key(),  # a missing or wrong key stops the start here
        publication.publisher(config.kafka_bootstrap),
    )
    sealing.key()  # production without a seal key stops here, before recording anything
    fact_check = verification.FactCheck()
    return create_service(
        ServiceSpec(
            settings=config,
            router=_routes(),
            migrations_dir=MIGRATIONS,
            handlers=handlers.HANDLERS,
            on_fact=handlers.on_fact,
            on_park=handlers.on_park,
            on_duplicate=handlers.on_duplicate,
            subscribe=topics.ALL,
            background=[
                lambda runtime: timers.every(
                    runtime,
                    sweep,
                    interval_seconds=config.checkpoint_interval_seconds,
                    batch=2,  # one checkpoint per sweep: never loop
                    exclusive="checkpoints",  # one replica takes them, not one per replica
                    name="audit_service.checkpoints",  # the label docs/operations.md names
                ),
                lambda runtime: fact_check.run(runtime, config.chain_check_interval_seconds),
            ],
            title="12345 hotline: audit",
        )
    )
