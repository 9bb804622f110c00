"""Request latency leaves out reads held by their own `Prefer: wait`: their time is the wait
the client asked for, and the SlowRequests alert would otherwise fire on every one."""

import httpx
from fastapi import FastAPI, Response
from prometheus_client import REGISTRY

from shared.runtime.http import RequestContext

SERVICE = "latency-test"


def _app() -> RequestContext:
    app = FastAPI()

    @app.get("/plain")
    async def plain() -> dict[str, str]:
        return {}

    @app.get("/waited")
    async def waited(response: Response) -> dict[str, str]:
        response.headers["Preference-Applied"] = "wait=20"
        return {}

    return RequestContext(app, service=SERVICE)


def _sample(name: str, route: str, **more: str) -> float | None:
    labels = {"service": SERVICE, "method": "GET", "route": route, **more}
    return REGISTRY.get_sample_value(name, labels)


async def test_a_read_held_by_its_wait_is_counted_but_not_timed() -> None:
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        await client.get("/plain")
        await client.get("/waited")
    assert _sample("hotline_http_request_seconds_count", "/plain") == 1
    assert _sample("hotline_http_request_seconds_count", "/waited") is None
    assert _sample("hotline_http_requests_total", "/waited", status="200") == 1
