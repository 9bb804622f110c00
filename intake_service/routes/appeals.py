"""intake's REST routes for appeals: filing, reading, searching, and the citizen's own
progress check. Thin adapters between HTTP and `commands`; the front office's decisions are
in `front_office`."""

import hmac
from datetime import UTC, datetime, timedelta
from typing import Annotated
from uuid import UUID

import orjson
from fastapi import APIRouter, Query, Request, Response

from intake_service import domain, personal, store, views
from intake_service import filing as appeal_filing
from intake_service.routes import access
from intake_service.routes.deps import IntakeRuntime, Reader, Writer, front_office, visible
from intake_service.routes.requests import AppealFiling
from intake_service.views import AppealCreated, AppealView, ProgressView
from shared import events
from shared.conduct import CONDUCT_PREFIX, is_conduct
from shared.decisions import Context
from shared.runtime import idempotency, openapi, pagination, positions, preconditions, ratelimit
from shared.runtime.eventstore import Tx
from shared.runtime.pagination import CursorQuery, LimitQuery, Page
from shared.runtime.problems import Problem, invalid_field

router = APIRouter(prefix="/v1", tags=["appeals"])


@router.post(
    "/appeals",
    status_code=201,
    response_model=AppealCreated,
    response_model_exclude_unset=True,
    responses={201: {"headers": views.LOCATION}},
)
async def create_appeal(
    filing: AppealFiling,
    runtime: IntakeRuntime,
    caller: Writer,
    idempotency_key: idempotency.KeyHeader = None,
) -> Response:
    """File an appeal. A retried request with the same Idempotency-Key gets the first
    answer; holding it at the front office (`hold`) needs `appeals:frontoffice`."""
    if filing.hold and not front_office(caller):
        raise Problem(403, "Forbidden", "only the front office (appeals:frontoffice) holds")
    if filing.about_department and not (filing.category and is_conduct(filing.category)):
        # also without a category: the keyword rules would pick one, and the department
        # complained about could be given the complaint
        raise invalid_field(
            "body.about_department",
            f"only a conduct complaint ({CONDUCT_PREFIX}*, given as `category`) names the "
            "department it is about",
        )
    window = timedelta(hours=runtime.settings.repeat_window_hours)

    async def accept(tx: Tx) -> idempotency.StoredResponse:
        filed = await appeal_filing.file(
            tx,
            filing.appeal(),
            context=Context(actor=caller.actor, now=datetime.now(UTC)),
            keyring=personal.Keyring.of(runtime.settings),
            hold=filing.hold,
            repeat_window=window,
        )
        received = filed.received  # the answer from what filing knows: no row read back
        created = AppealCreated(
            id=received.subject,
            status=filed.status,
            received_at=received.time,
            event_id=received.id,
            category=received.category,
            urgency=received.urgency,
            receipt=views.receipt(runtime.settings.audit_public_url, filed.received_hash),
        )
        if front_office(caller):  # other citizens' appeals (same phone or address)
            created.classification = filed.description.classification
            created.repeat_candidates = filed.repeat_candidates
        body = created.model_dump(mode="json", exclude_unset=True)
        return idempotency.StoredResponse(201, body)

    answer = await idempotency.run_once(
        runtime.commits,
        scope=f"intake:appeals:{caller.subject}",
        key=idempotency_key,
        request_body=lambda: filing.model_dump(mode="json"),
        action=accept,
    )
    return Response(  # rendered by orjson: JSONResponse's json.dumps costs more
        orjson.dumps(answer.body),
        status_code=answer.status_code,
        media_type="application/json",
        headers={"Location": f"/v1/appeals/{answer.body['id']}"},
    )


@router.get(
    "/appeals/{appeal_id}",
    response_model_exclude_unset=True,
    responses={200: {"headers": views.ETAG}, **openapi.problems(404, 409)},
)
async def get_appeal(
    appeal_id: UUID,
    runtime: IntakeRuntime,
    caller: Reader,
    response: Response,
    seen: positions.SeenVersion = None,
) -> AppealView:
    """The appeal as intake knows it. A caller that has seen the work order at dispatch
    passes its version in X-Work-Order-Version and gets a status at least that recent (409
    with Retry-After if intake has not followed dispatch that far within 2 s)."""
    if seen is not None:
        async with runtime.db.transaction() as tx:  # 404 before any wait
            visible(await store.get(tx, appeal_id), caller, appeal_id)
        await positions.await_seen(runtime.db, "dispatch", appeal_id, seen)
    async with runtime.db.transaction() as tx:
        row = visible(await store.get(tx, appeal_id), caller, appeal_id)
        [row] = await personal.revealed_rows(tx, personal.Keyring.of(runtime.settings), [row])
        await access.record_reads(tx, caller, "appeal view", [row])
        merged = await store.children(tx, appeal_id)
        parent = None if row["merged_into"] is None else await store.get(tx, row["merged_into"])
        # the version of intake's own stream: front-office commands name it in If-Match
        response.headers["ETag"] = preconditions.etag(await tx.version(appeal_id))
    shown = views.appeal(row, caller)
    shown.merged_children = merged
    if parent is not None:  # a merged child follows its parent's handling
        shown.parent_status = parent["status"]
    return shown


Code = Annotated[str | None, Query(max_length=64, pattern=r"^[a-z0-9][a-z0-9._-]*$")]
Status = Annotated[str | None, Query(pattern="^(" + "|".join(domain.STATUSES) + ")$")]


@router.get(
    "/appeals",
    response_model_exclude_unset=True,
    responses={200: {"headers": pagination.LINK_HEADER}},
)
async def list_appeals(
    runtime: IntakeRuntime,
    caller: Reader,
    request: Request,
    response: Response,
    status: Status = None,
    appeal_type: events.AppealType | None = None,
    category: Code = None,
    district: Code = None,
    channel: events.Channel | None = None,
    since: events.UtcDatetime | None = None,
    until: events.UtcDatetime | None = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> Page[AppealView]:
    """Newest first, filtered. A department's token lists only appeals dispatched to it."""
    after = pagination.decode(cursor, datetime, UUID) if cursor else None
    filters = store.Filters(
        status=status,
        appeal_type=appeal_type,
        category=category,
        district=district,
        channel=channel,
        since=since,
        until=until,
        department=caller.department,
    )
    async with runtime.db.transaction() as tx:
        rows = await store.list_appeals(tx, filters, after=after, limit=limit)
        rows = await personal.revealed_rows(tx, personal.Keyring.of(runtime.settings), rows)
        await access.record_reads(tx, caller, "appeal list", rows)
    return pagination.page(
        [views.appeal(r, caller) for r in rows],
        limit=limit,
        key=lambda shown: (shown.received_at, shown.id),
        request=request,
        response=response,
    )


@router.get(
    "/progress/{appeal_id}",
    tags=["citizens"],
    response_model_exclude_unset=True,
    responses=openapi.problems(404, 429),
)
async def check_progress(
    appeal_id: UUID,
    request: Request,
    runtime: IntakeRuntime,
    phone_last4: Annotated[str, Query(pattern=r"^[0-9]{4}$")],
) -> ProgressView:
    """A citizen's own check, without a token: the appeal id and the last four digits of
    the phone it was filed with. Status and stage times only, and the receipt (the accepted
    fact's hash and where audit proves it, docs/receipts.md); any mismatch is the same 404
    as an unknown id, so the answer tells nothing about other appeals. Four digits can be
    guessed: each client may check only so often (429, Retry-After)."""
    limit = ratelimit.item(runtime.settings.rate_limit_anonymous)
    ratelimit.of(request).hit(limit, "progress", ratelimit.client_of(request))
    async with runtime.db.transaction() as tx:
        row = await store.get(tx, appeal_id)
        parent = None
        if row is not None and row["merged_into"] is not None:
            parent = await store.get(tx, row["merged_into"])
        fact_hash = None if row is None else await store.received_hash(tx, appeal_id)
        if row is not None:  # the phone is sealed; an erased one matches nothing
            [row] = await personal.revealed_rows(tx, personal.Keyring.of(runtime.settings), [row])
    phone = (row or {}).get("received", {}).get("citizen", {}).get("phone") or ""
    digits = "".join(ch for ch in phone if ch.isdigit())
    if row is None or len(digits) < 4 or not hmac.compare_digest(digits[-4:], phone_last4):
        raise Problem(404, "Not Found", "no appeal with this id and phone number")
    shown = views.progress(row)
    if fact_hash is not None:
        shown.receipt = views.receipt(runtime.settings.audit_public_url, fact_hash)
    if row["merged_into"] is not None:  # handled with another appeal: its status is theirs
        shown.handled_with = None if parent is None else views.progress(parent)
    return shown
