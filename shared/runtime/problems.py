"""RFC 9457 problem+json for every error a service returns."""

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.errors import DomainError
from shared.runtime.commands import StaleStreamError
from shared.runtime.eventstore import ConcurrencyError

MEDIA_TYPE = "application/problem+json"
log = logging.getLogger("hotline.problems")


class Problem(Exception):
    """Raise from a route or domain adapter to answer with problem+json."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.headers = headers
        self.extensions = extensions


# A stable, machine-readable `code` per kind of problem (RFC 9457 lets a title change
# wording; clients branch on this). A problem may name a narrower one as an extension.
CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    412: "precondition_failed",
    413: "content_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    428: "precondition_required",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
}


def problem_response(
    request: Request,
    status: int,
    title: str,
    detail: str,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    body = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        "code": CODES.get(status, f"http_{status}"),
        **extensions,
    }
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


async def _on_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Problem)
    return problem_response(
        request, exc.status, exc.title, exc.detail, headers=exc.headers, **exc.extensions
    )


class ProblemDetails(BaseModel):
    """RFC 9457 problem details, as every error of every service is answered."""

    model_config = ConfigDict(extra="allow")
    type: str = Field(default="about:blank", examples=["about:blank"])
    title: str
    status: int
    detail: str
    instance: str
    code: str = Field(examples=["not_found"], description="stable, for clients to branch on")


class FieldError(BaseModel):
    """One invalid field: RFC 9457's `detail` with a `pointer` into the body (JSON Pointer,
    RFC 6901, as a URI fragment) or the `parameter` or `header` it concerns; `field`,
    `message` and `type` say the same as before, for clients that read them."""

    detail: str
    pointer: str | None = Field(default=None, examples=["#/category"])
    parameter: str | None = Field(default=None, examples=["limit"])
    header: str | None = Field(default=None, examples=["Idempotency-Key"])
    field: str = Field(examples=["body.category"])
    message: str
    type: str


def field_error(field: str | Sequence[str | int], message: str, kind: str) -> dict[str, Any]:
    """A FieldError for `field`: where it is (`body`, `query`, `path`, `header`, or a bare
    parameter name) and the path within, dotted or as pydantic's `loc`."""
    parts = [str(p) for p in (field.split(".") if isinstance(field, str) else field)]
    error: dict[str, Any] = {
        "detail": message, "field": ".".join(parts), "message": message, "type": kind,
    }  # fmt: skip
    where, path = parts[0], parts[1:]
    if where == "body" and kind == "json_invalid":
        error["pointer"] = "#"  # the body is no JSON (pydantic's loc then holds a byte offset)
    elif where == "body":
        error["pointer"] = "#" + "".join(
            "/" + p.replace("~", "~0").replace("/", "~1") for p in path
        )
    elif where == "header" and path:
        error["header"] = path[0]
    elif where in ("query", "path", "cookie") and path:
        error["parameter"] = path[0]
    elif where != "request" and not path:
        error["parameter"] = where  # a query parameter named bare, as the routes do
    return error


class ValidationProblem(ProblemDetails):
    """A 422: the request was understood but fields are invalid; `errors` names each one."""

    errors: list[FieldError]


def not_found(what: str, ident: object) -> Problem:
    """The one 404 every service answers for a resource that does not exist, or that the
    caller may not see (the two are indistinguishable on purpose)."""
    return Problem(404, "Not Found", f"no {what} {ident}")


def invalid_field(field: str, message: str, kind: str = "value_error") -> Problem:
    """A 422 naming one field, shaped as FastAPI's own validation errors are answered: for
    rules a model alone cannot check (a code not in the catalogue, fields that go together)."""
    return Problem(
        422,
        "Invalid request",
        f"invalid fields: {field}",
        errors=[field_error(field, message, kind)],
    )


async def _on_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    title = {
        401: "Unauthorized",
        403: "Forbidden",
        404: "Not Found",
        405: "Method Not Allowed",
        413: "Content Too Large",
    }.get(exc.status_code, "HTTP error")
    return problem_response(
        request, exc.status_code, title, str(exc.detail), headers=dict(exc.headers or {})
    )


async def _on_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [field_error(err["loc"], err["msg"], err["type"]) for err in exc.errors()]
    fields = ", ".join(e["field"] for e in errors)
    return problem_response(
        request, 422, "Invalid request", f"invalid fields: {fields}", errors=errors
    )


async def _on_domain(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    return problem_response(request, exc.status, exc.title, str(exc))


async def _on_conflict(request: Request, exc: Exception) -> JSONResponse:
    return problem_response(request, 409, "Conflict", str(exc))


async def _on_stale(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StaleStreamError)
    extensions: dict[str, Any] = {} if exc.current is None else {"current_version": exc.current}
    return problem_response(request, 412, "Precondition Failed", str(exc), None, **extensions)


# PostgreSQL's data exceptions (SQLSTATE class 22) are values it cannot store or compare that
# validation let through: a NUL in text or a \u0000 escape in jsonb, a number past its
# column's range. The transaction rolled back, so nothing was accepted: the request is invalid.
_DATA_EXCEPTION_CLASS = "22"


def _unstorable(exc: Exception) -> str | None:
    orig = getattr(exc, "orig", None)
    sqlstate = getattr(orig, "sqlstate", None) or getattr(
        getattr(orig, "__cause__", None), "sqlstate", None
    )
    return "value" if str(sqlstate or "").startswith(_DATA_EXCEPTION_CLASS) else None


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    # Starlette answers this outside the middleware that sets and echoes the request id
    # (http.RequestContext), so both come from the request's state here; the trace id is
    # still current (the tracing middleware is outside this one).
    rid = getattr(request.state, "request_id", None)
    headers = {"X-Request-Id": rid} if rid else None
    if (kind := _unstorable(exc)) is not None:
        return problem_response(
            request,
            422,
            "Invalid request",
            f"a {kind} in the request cannot be stored (a NUL character, or out of range)",
            headers=headers,
            errors=[field_error("request", f"unstorable {kind}", "unstorable")],
        )
    log.exception("unhandled error", exc_info=exc, extra={"request_id": rid})
    return problem_response(
        request,
        500,
        "Internal Server Error",
        "the request failed; nothing was changed",
        headers=headers,
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(Problem, _on_problem)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(DomainError, _on_domain)
    app.add_exception_handler(ConcurrencyError, _on_conflict)
    app.add_exception_handler(StaleStreamError, _on_stale)
    app.add_exception_handler(Exception, _on_unexpected)
