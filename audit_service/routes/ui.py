"""The auditor's pages, rendered here as plain HTML: an appeal's timeline and the department
ranking. No script runs on them; everything shown is escaped (see pages.py).

A browser cannot add a bearer header to a link, so /ui/login takes the same JWT the REST API
takes, checks it, and keeps it in an HttpOnly, SameSite=Strict cookie scoped to /ui: page
scripts cannot read it, other sites cannot make the browser send it, and the /v1 API never
accepts it (its routes still require the Authorization header).
"""

from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import parse_qs, quote
from uuid import UUID

import jwt
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import AwareDatetime

from audit_service import store, views
from audit_service.domain import kpis
from audit_service.routes import history, measures, pages
from audit_service.routes.deps import AuditRuntime
from shared.runtime.auth import Principal, TokenVerifier
from shared.runtime.problems import Problem
from shared.workdays import HOTLINE_ZONE

router = APIRouter(prefix="/ui", include_in_schema=False)
COOKIE = "hotline_audit_token"
SCOPE = views.READ


def _html(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status, headers=pages.HEADERS)


def _safe_next(target: str | None) -> str:
    """Only a path on these pages: never another host (no open redirect)."""
    if target and target.startswith("/ui/") and not target.startswith("//"):
        return target
    return "/ui/ranking"


def _verify(request: Request, token: str) -> Principal | None:
    verifier: TokenVerifier = request.app.state.token_verifier
    try:
        return verifier.verify(token)
    except jwt.PyJWTError:
        return None


async def auditor(request: Request) -> Principal | None:
    """The caller of a page: the token in the cookie, or None when there is none that holds
    (the page then sends the browser to the login form and back)."""
    token = request.cookies.get(COOKIE)
    principal = _verify(request, token) if token else None
    if principal is not None and SCOPE not in principal.scopes:
        raise Problem(403, "Forbidden", f"the token lacks the scope {SCOPE!r}")
    return principal


Auditor = Annotated[Principal | None, Depends(auditor)]


def _to_login(request: Request) -> Response:
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/ui/login?next={quote(path)}", status_code=303)


@router.get("/login")
async def login_form(next: str | None = None) -> HTMLResponse:
    return _html(pages.login(_safe_next(next)))


@router.post("/login")
async def login(request: Request) -> Response:
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    token = (form.get("token") or [""])[0].strip()
    target = _safe_next((form.get("next") or [""])[0])
    principal = _verify(request, token) if token else None
    if principal is None or SCOPE not in principal.scopes:
        why = "invalid or expired token" if principal is None else f"the token lacks {SCOPE}"
        return _html(pages.login(target, error=why), 401)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/ui",
    )
    return response


@router.post("/logout")
async def logout() -> Response:
    response = RedirectResponse("/ui/login", status_code=303)
    response.delete_cookie(COOKIE, path="/ui", httponly=True, samesite="strict")
    return response


@router.get("/appeals/{appeal_id}")
async def appeal_page(
    appeal_id: UUID,
    request: Request,
    runtime: AuditRuntime,
    caller: Auditor,
    known_at: AwareDatetime | None = None,
    happened_by: AwareDatetime | None = None,
) -> Response:
    if caller is None:
        return _to_login(request)
    try:
        found = await history.appeal_history(
            runtime, appeal_id, caller, known_at=known_at, happened_by=happened_by
        )
    except Problem as problem:
        if problem.status != 404:
            raise
        return _html(pages.not_found(caller, f"No facts about appeal {appeal_id}."), 404)
    return _html(pages.timeline(caller, found.model_dump(mode="json", by_alias=True)))


@router.get("/ranking")
async def ranking_page(
    request: Request,
    runtime: AuditRuntime,
    caller: Auditor,
    month: Annotated[str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")] = None,
    department: Annotated[str | None, Query(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")] = None,
) -> Response:
    """The month's ranking; with `department`, the facts behind each of its figures, each
    linked to its appeal's timeline."""
    if caller is None:
        return _to_login(request)
    now = datetime.now(UTC)
    chosen = month or now.astimezone(HOTLINE_ZONE).strftime("%Y-%m")
    table, shares = await measures.month_measures(runtime, kpis.Rule(), now=now, month=chosen)
    ranked: dict[str, Any] = kpis.ranking(table, chosen)
    gamed = {d: s.summary() for (d, m), s in sorted(shares.items()) if m == chosen}
    evidence: dict[str, list[tuple[str, str]]] | None = None
    figures = table.get((department or "", chosen))
    if figures is not None:
        behind = figures.evidence()
        async with runtime.engine.connect() as conn:
            appeals = await store.appeals_of(
                conn, [UUID(i) for ids in behind.values() for i in ids]
            )
        evidence = {
            name: [(i, str(appeals.get(UUID(i), ""))) for i in ids] for name, ids in behind.items()
        }
    return _html(pages.ranking(caller, ranked, gamed, now, department, evidence))
