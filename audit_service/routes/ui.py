"""The auditor's pages: an appeal's timeline and the department ranking, rendered from the
templates by audit_service.pages, in Chinese or English (`?lang=`, else Accept-Language). No
script runs on them; everything shown is escaped (see audit_service/pages/render.py).

A browser cannot add a bearer header to a link, so /ui/login takes the same JWT the REST API
takes, checks it, and keeps it in an HttpOnly, SameSite=Strict cookie scoped to /ui: page
scripts cannot read it, other sites cannot make the browser send it, and the /v1 API never
accepts it (its routes still require the Authorization header).
"""

from datetime import UTC, datetime, timedelta
from typing import Annotated
from urllib.parse import parse_qs
from uuid import UUID

import jwt
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from audit_service import store, views
from audit_service.domain import gaming, rules, standings
from audit_service.pages import ranking, render, timeline
from audit_service.pages.language import Language, language
from audit_service.routes import history, measures, watch
from audit_service.routes.deps import AuditRuntime
from shared import events
from shared.runtime.auth import Principal, TokenVerifier
from shared.runtime.problems import Problem
from shared.workdays import HOTLINE_ZONE

router = APIRouter(prefix="/ui", include_in_schema=False)
COOKIE = "hotline_audit_token"
SCOPE = views.READ
Lang = Annotated[Language, Depends(language)]


def _safe_next(target: str | None) -> str:
    """Only a path on these pages: never another host (no open redirect)."""
    if target and target.startswith("/ui/") and not target.startswith("//"):
        return target
    return "/ui/ranking"


async def _verify(request: Request, token: str) -> Principal | None:
    verifier: TokenVerifier = request.app.state.token_verifier
    try:
        return await verifier.verify_async(token)
    except jwt.PyJWTError:
        return None


async def auditor(request: Request) -> Principal | None:
    """The caller of a page: the token in the cookie, or None when there is none that holds
    (the page then sends the browser to the login form and back)."""
    token = request.cookies.get(COOKIE)
    principal = await _verify(request, token) if token else None
    if principal is not None and SCOPE not in principal.scopes:
        raise Problem(403, "Forbidden", f"the token lacks the scope {SCOPE!r}")
    return principal


Auditor = Annotated[Principal | None, Depends(auditor)]


def _to_login(request: Request, lang: Language) -> Response:
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(lang.link("/ui/login", next=path), status_code=303)


def _login_page(lang: Language, next_path: str, error: str | None = None) -> HTMLResponse:
    said = lang.catalogue.messages
    return render.page(
        "login.html",
        lang,
        status=200 if error is None else 401,
        title=said.sign_in_title,
        caller=None,
        next_path=next_path,
        error=error,
    )


@router.get("/login")
async def login_form(lang: Lang, next: str | None = None) -> HTMLResponse:
    return _login_page(lang, _safe_next(next))


@router.post("/login")
async def login(request: Request, lang: Lang, runtime: AuditRuntime) -> Response:
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    token = (form.get("token") or [""])[0].strip()
    target = _safe_next((form.get("next") or [""])[0])
    principal = await _verify(request, token) if token else None
    if principal is None or SCOPE not in principal.scopes:
        said = lang.catalogue.messages
        why = said.invalid_token if principal is None else said.missing_scope.format(scope=SCOPE)
        return _login_page(lang, target, error=why)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE,
        token,
        httponly=True,
        samesite="strict",
        # In production the browser reaches us over TLS, ended at the ingress: the scheme
        # seen here is http, yet the token must never travel without TLS.
        secure=request.url.scheme == "https" or runtime.settings.environment == "production",
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
    lang: Lang,
    known_at: events.UtcDatetime | None = None,
    happened_by: events.UtcDatetime | None = None,
) -> Response:
    if caller is None:
        return _to_login(request, lang)
    said = lang.catalogue.messages
    try:
        found = await history.appeal_history(
            runtime, appeal_id, caller, known_at=known_at, happened_by=happened_by
        )
    except Problem as problem:
        if problem.status != 404:
            raise
        message = said.no_facts.format(appeal_id=appeal_id)
        return render.page(
            "not_found.html",
            lang,
            status=404,
            title=said.not_found_title,
            caller=caller,
            message=message,
        )
    rules = timeline.Rules()
    return render.page(
        "timeline.html",
        lang,
        title=said.appeal_title.format(appeal_id=appeal_id),
        caller=caller,
        history=found,
        entries=timeline.entries(lang.catalogue, found),
        rules=rules,
        hot_spots=await _hot_spots(runtime, lang, found, rules, appeal_id),
    )


async def _hot_spots(
    runtime: AuditRuntime,
    lang: Language,
    found: views.History,
    rules: timeline.Rules,
    appeal_id: UUID,
) -> list[timeline.HotSpotLine]:
    """The surges the appeal was part of: detected as they stood one window after its
    receipt (or now, if sooner), so the appeals that followed it count too."""
    received = next((f for f in found.facts if f.type == "appeal.received"), None)
    if received is None:
        return []
    window = timedelta(hours=rules.hot_spot.window_hours)
    moment = min(received.time + window, datetime.now(UTC))
    spots = await watch.detect_at(runtime, moment, rule=rules.hot_spot)
    return timeline.hot_spot_lines(
        lang.catalogue, spots, appeal_id, hours=rules.hot_spot.window_hours
    )


@router.get("/ranking")
async def ranking_page(
    request: Request,
    runtime: AuditRuntime,
    caller: Auditor,
    lang: Lang,
    month: Annotated[str | None, Query(pattern=measures.MONTH_PATTERN)] = None,
    department: Annotated[str | None, Query(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")] = None,
) -> Response:
    """The month's ranking; with `department`, the facts behind each of its figures, each
    linked to its appeal's timeline."""
    if caller is None:
        return _to_login(request, lang)
    now = datetime.now(UTC)
    chosen = month or now.astimezone(HOTLINE_ZONE).strftime("%Y-%m")
    # the stored rule's latest version, as /v1/measures scores by default
    rule = rules.to_rule(
        rules.DEFAULT_NAME, *await measures.stored_rule(runtime, rules.DEFAULT_NAME, None)
    )
    table, shares = await measures.month_measures(runtime, rule, now=now, month=chosen)
    in_month = {d: s for (d, m), s in sorted(shares.items()) if m == chosen}
    evidence: list[ranking.Evidence] | None = None
    figures = table.get((department or "", chosen))
    if department is not None and (figures is not None or department in in_month):
        behind = {
            **(figures.evidence() if figures is not None else {}),
            **(vars(in_month[department]) if department in in_month else {}),
        }
        async with runtime.engine.connect() as conn:
            appeals = await store.appeals_of(
                conn, [UUID(i) for ids in behind.values() for i in ids]
            )
        named = {str(fact): str(appeal) for fact, appeal in appeals.items()}
        evidence = ranking.evidence(lang.catalogue, behind, named)
    return render.page(
        "ranking.html",
        lang,
        title=lang.catalogue.messages.ranking_title.format(month=chosen),
        caller=caller,
        month=chosen,
        now=now,
        rule=ranking.rule_text(lang.catalogue, rule),
        ranked=standings.ranking(table, chosen, rule=rule),
        gamed={d: s.summary() for d, s in in_month.items()},
        columns=ranking.COLUMNS,
        gaming_columns=ranking.GAMING_COLUMNS,
        last_share=gaming.LAST_SHARE,
        shown=ranking.shown,
        drill=lambda name: lang.link("/ui/ranking", month=chosen, department=name),
        department=department,
        evidence=evidence,
    )
