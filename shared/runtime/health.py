"""Every service's probes and metrics page: /livez (and /healthz), /readyz, /metrics."""

import asyncio
from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text

from shared.runtime import metrics, migrations
from shared.runtime.running import Runtime, RuntimeDep


async def _kafka_answers(runtime: Runtime[Any]) -> bool | None:
    """A metadata round trip to the broker within a second, through whichever client this
    replica uses; None when it uses none (a standby relay and no consumer: intake accepts
    appeals into its outbox without Kafka, so that replica is ready all the same)."""
    try:
        async with asyncio.timeout(1.0):
            if runtime.relay is not None and runtime.relay.producer is not None:
                await runtime.relay.producer.client.fetch_all_metadata()
            elif runtime.loop is not None:
                if runtime.loop.consumer is None:
                    return False
                await runtime.loop.consumer.topics()
            else:
                return None
        return True
    except Exception:
        return False


def router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/livez")
    @router.get("/healthz")
    async def livez() -> dict[str, str]:
        return {"status": "ok"}  # the event loop answered: liveness checks nothing else

    @router.get("/readyz")
    async def readyz(runtime: RuntimeDep) -> JSONResponse:
        """Ready (200) while the process is not stopping and its database answers with this
        code's migrations applied (at their head, or past it during a rollout whose newer
        release migrated first): that is all the HTTP side needs. Kafka does not decide readiness:
        commands commit to the outbox, which the relay publishes once the broker is back, and
        queries read PostgreSQL. So a broker outage (and a consume loop that cannot run
        meanwhile) shows as `"kafka": "degraded"`, `"consume_loop": false` and
        `"status": "degraded"`, still 200; alerts on outbox age and consumer lag tell it."""
        checks: dict[str, bool | str] = {"not_stopping": not runtime.stopping.is_set()}
        try:
            async with asyncio.timeout(1.0), runtime.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
                checks["database"] = True
                checks["migrations_applied"] = await migrations.applied(
                    conn, runtime.migrations_dir
                )
        except Exception:
            checks.setdefault("database", False)
            checks.setdefault("migrations_applied", False)
        ready = all(checks.values())
        healthy = True
        if runtime.loop is not None:
            checks["consume_loop"] = healthy = runtime.loop.running
        if (kafka_ok := await _kafka_answers(runtime)) is not None:
            checks["kafka"] = "ok" if kafka_ok else "degraded"
            healthy = healthy and kafka_ok
        status = "unready" if not ready else "ready" if healthy else "degraded"
        return JSONResponse({"status": status, "checks": checks}, status_code=200 if ready else 503)

    @router.get("/metrics")
    async def metrics_page() -> Response:
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    return router
