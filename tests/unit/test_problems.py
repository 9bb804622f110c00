"""Every error is RFC 9457 problem+json with a stable `code`, and a validation error names
each field as the conventions ask: `detail` with a `pointer` into the body, or the
`parameter` or `header` it concerns."""

import httpx
from fastapi import FastAPI
from pydantic import BaseModel

from shared.runtime import problems


class Filing(BaseModel):
    category: str
    location: dict[str, float]


def _app() -> FastAPI:
    app = FastAPI()
    problems.install(app)

    @app.post("/things")
    async def post(filing: Filing, limit: int = 10) -> dict[str, str]:
        return {}

    @app.get("/gone")
    async def gone() -> None:
        raise problems.not_found("thing", 7)

    @app.get("/checked")
    async def checked() -> None:
        raise problems.invalid_field("header.Idempotency-Key", "reused", "reused")

    return app


async def test_problems_carry_a_stable_code_and_validation_names_where() -> None:
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        gone = await client.get("/gone")
        assert gone.headers["content-type"] == problems.MEDIA_TYPE
        assert (gone.status_code, gone.json()["code"]) == (404, "not_found")
        assert (await client.delete("/gone")).json()["code"] == "method_not_allowed"

        invalid = await client.post(
            "/things", params={"limit": "many"}, json={"location": {"lat": "north"}}
        )
        body = invalid.json()
        assert (invalid.status_code, body["code"]) == (422, "invalid_request")
        where = {(e.get("pointer"), e.get("parameter")) for e in body["errors"]}
        assert where == {("#/category", None), ("#/location/lat", None), (None, "limit")}
        assert all(e["detail"] == e["message"] for e in body["errors"])

        # no body at all: the pointer is the document's root; a body that is no JSON, too
        [missing] = (await client.post("/things")).json()["errors"]
        assert missing["pointer"] == "#"
        garbled = await client.post(
            "/things", content=b'{"category": ', headers={"Content-Type": "application/json"}
        )
        assert [e["pointer"] for e in garbled.json()["errors"]] == ["#"]

        [header] = (await client.get("/checked")).json()["errors"]
        assert (header["header"], header["detail"]) == ("Idempotency-Key", "reused")
