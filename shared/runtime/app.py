"""create_service(): the one FastAPI app factory all four services use.

It owns the resources a service needs (engine, producer, relay, consume loop), opens them in
the lifespan and closes them in reverse; services supply a router, their handlers and their
migrations. Nothing is created at import time.
"""

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Generic

from fastapi import APIRouter, FastAPI
from fastapi_offline import FastAPIOffline
from sqlalchemy.ext import asyncio as sa_asyncio

from shared import topics
from shared.runtime import (
    auth,
    bodylimit,
    faults,
    health,
    http,
    idempotency,
    kafka,
    logs,
    openapi,
    poolmetrics,
    problems,
    ratelimit,
    selfcheck,
    timers,
    trace_provider,
    tracing,
)
from shared.runtime.batch import BatchRead
from shared.runtime.changes import ChangeFeed
from shared.runtime.commit_groups import CommitGroups
from shared.runtime.consumer import ConsumeLoop, FactHook, Handlers, ParkHook, subscriptions
from shared.runtime.database import Database
from shared.runtime.outbox import OutboxRelay
from shared.runtime.running import Runtime, SettingsT

YOUNG_COLLECTION_THRESHOLD = 10_000  # net allocations between young collections (default 700)
IDEMPOTENCY_SWEEP_BATCH = 5_000
BackgroundTask = Callable[[Runtime[SettingsT]], Coroutine[Any, Any, None]]


@dataclass(frozen=True)
class ServiceSpec(Generic[SettingsT]):
    settings: SettingsT
    # A service's routers in order, each included in the app itself: FastAPI matches a
    # request once per level of included routers and again to handle it, so a router that
    # only joins others costs every request a second pass.
    router: APIRouter | Sequence[APIRouter]
    migrations_dir: Path
    handlers: Handlers = field(default_factory=dict)
    on_fact: FactHook | None = None  # sees every fact read (audit); handlers see their types
    on_park: ParkHook | None = None  # sees every record parked, with the reason (audit)
    on_duplicate: FactHook | None = None  # sees every redelivered fact id (audit)
    # what the handlers read once per transaction, in a consume batch's first statement
    batch_read: BatchRead | None = None
    subscribe: Sequence[str] | None = None  # default: the topics of the handled types
    # e.g. dispatch's timer; stopped with the rest
    background: Sequence[BackgroundTask[SettingsT]] = ()
    title: str = "hotline service"
    # Routes (exact paths) whose bodies may be larger than bodylimit.DEFAULT_LIMIT.
    body_limits: Mapping[str, int] = field(default_factory=dict)


def create_service(spec: ServiceSpec[SettingsT]) -> FastAPI:
    settings = spec.settings
    logs.configure(settings.service_name, settings.log_level)
    trace_provider.configure(settings.service_name, trace_file=settings.trace_file)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = await _start(spec)
        app.state.runtime = runtime
        # What start-up built lives as long as the process: out of the collector's sight,
        # a full collection under load walks only what requests allocate.
        gc.freeze()
        # A request frees almost all it allocates by reference counting, yet at the default
        # threshold (700 net allocations) a filing paid about 4% of its CPU to collections
        # that found little (intake in process, gc.callbacks timed): collect young objects
        # less often. The older generations keep their defaults.
        gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, *gc.get_threshold()[1:])
        try:
            yield
        finally:
            await _stop(runtime)

    # The docs page serves Swagger UI's assets from the package, never from a CDN.
    app = FastAPIOffline(
        title=spec.title,
        lifespan=lifespan,
        version="1.0.0",
        # The request's span wraps everything the app does, error handlers included.
        telemetry=tracing.app_telemetry(),
    )
    app.state.token_verifier = auth.TokenVerifier(settings)
    app.state.rate_limiter = ratelimit.RateLimiter()
    problems.install(app)
    openapi.install(app, token_url=settings.oauth2_token_url)
    app.include_router(health.router())
    if settings.process_role != "worker":  # a worker answers health and metrics only
        for router in [spec.router] if isinstance(spec.router, APIRouter) else spec.router:
            app.include_router(router)
    # Outermost last: the request context sees (and logs) a 413 the limit answers.
    app.add_middleware(bodylimit.BodyLimit, larger=spec.body_limits)
    app.add_middleware(http.RequestContext, service=settings.service_name)
    return app


async def _start(spec: ServiceSpec[SettingsT]) -> Runtime[SettingsT]:
    settings = spec.settings
    # Through the module: SQLAlchemy's tracing instrumentation wraps the function there.
    engine = sa_asyncio.create_async_engine(
        settings.database_url.get_secret_value(),
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
        # A failed statement's error names no values: they may be a citizen's name or phone.
        hide_parameters=True,
        # No pre-ping: it costs a round trip per transaction. A connection that died is
        # invalidated on first use; that request fails (500) and the consume loop retries.
    )
    # Half the pool at most stays with the Database between transactions: the rest is there
    # for what takes the engine's connections directly (locks, health checks, audit's reports).
    database = Database(engine, keep=settings.database_pool_size // 2)
    runtime = Runtime(settings, engine, database, spec.migrations_dir)
    if settings.commit_group_size > 1:
        runtime.commits = CommitGroups(
            database,
            most=settings.commit_group_size,
            at_once=settings.commit_groups_open,
            service=settings.service_name,
        )
    runtime.changes = ChangeFeed(
        engine.url.set(drivername="postgresql").render_as_string(hide_password=False),
        max_waiters=settings.max_waiting_requests,
    )
    poolmetrics.POOLS.track(settings.service_name, database)
    if settings.process_role == "web":
        return runtime  # HTTP only: the worker process runs the relay, consumer and timers
    crash = faults.CrashPoints(settings.crash_at)
    topic = topics.BY_SOURCE.get(settings.service_name)
    # Nothing here waits for PostgreSQL or Kafka: the relay and the consume loop connect (and
    # reconnect) in the background, so the service answers /livez at once and /readyz tells
    # when its dependencies are there.
    if topic is not None and settings.relay_enabled:
        runtime.relay = OutboxRelay(
            engine,
            lambda: kafka.producer(settings.kafka_bootstrap, client_id=settings.service_name),
            service=settings.service_name,
            topic=topic,
            crash=crash,
            linger_seconds=settings.relay_linger_ms / 1000,
            busy_linger_seconds=settings.relay_busy_linger_ms / 1000,
        )
        runtime.tasks.append(asyncio.create_task(runtime.relay.run(runtime.stopping)))
    if spec.handlers or spec.on_fact is not None:
        group = settings.consumer_group or settings.service_name
        wanted = spec.subscribe or subscriptions(spec.handlers)
        runtime.loop = ConsumeLoop(
            runtime.db,
            lambda: kafka.consumer(
                settings.kafka_bootstrap,
                group=group,
                instance_id=settings.consumer_instance_id,
                subscribe=wanted,
                linger_ms=settings.consumer_linger_ms,
            ),
            group=group,
            service=settings.service_name,
            handlers=spec.handlers,
            on_fact=spec.on_fact,
            on_park=spec.on_park,
            on_duplicate=spec.on_duplicate,
            crash=crash,
            linger_seconds=settings.consumer_linger_ms / 1000,
            batch_read=spec.batch_read,
        )
        runtime.tasks.append(asyncio.create_task(runtime.loop.run(runtime.stopping)))
    runtime.tasks.extend(asyncio.create_task(task(runtime)) for task in spec.background)
    runtime.tasks.append(asyncio.create_task(_forget_idempotency_keys(runtime)))
    check = selfcheck.SelfCheck(settings.service_name)
    runtime.tasks.append(
        asyncio.create_task(check.run(runtime, settings.chain_check_interval_seconds))
    )
    return runtime


async def _forget_idempotency_keys(runtime: Runtime[Any]) -> None:
    retention = timedelta(hours=runtime.settings.idempotency_retention_hours)

    async def sweep(db: Database, now: datetime) -> int:
        return await idempotency.sweep_expired(
            db, now, retention=retention, batch=IDEMPOTENCY_SWEEP_BATCH
        )

    await timers.every(
        runtime, sweep, interval_seconds=300, batch=IDEMPOTENCY_SWEEP_BATCH, name="idempotency"
    )


async def _stop(runtime: Runtime[Any]) -> None:
    # Stop fetching and publishing; the batch in hand commits with its offset, and each task
    # closes its own Kafka client on the way out.
    runtime.stopping.set()
    _, late = await asyncio.wait(runtime.tasks, timeout=20) if runtime.tasks else (set(), set())
    for task in late:
        task.cancel()
    if runtime.changes is not None:
        await runtime.changes.close()
    poolmetrics.POOLS.forget(runtime.settings.service_name, runtime.db)
    await runtime.db.close()
    await runtime.engine.dispose()
