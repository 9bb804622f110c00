"""intake's REST routes for appeals: filing, reading, searching, and the citizen's own
progress check. Thin adapters between HTTP and the domain; the front office's commands
are in `frontoffice_api`, the knowledge base in `knowledge_api`."""

import hmac
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Final
from uuid import UUID, uuid4

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse

from intake_service import catalogue_api, domain, frontoffice_api, handlers, knowledge_api, store
from intake_service import views as view
from intake_service.domain import rules
from intake_service.open311 import updates as open311_updates
from intake_service.settings import IntakeSettings
from shared import events
from shared.runtime import idempotency, preconditions
from shared.runtime.app import Runtime, RuntimeDep
from shared.runtime.auth import Principal, require
from shared.runtime.eventstore import Tx
from shared.runtime.problems import Problem, invalid_field

router = APIRouter(prefix="/v1", tags=["appeals"])
router.include_router(catalogue_api.router)
router.include_router(frontoffice_api.router)
router.include_router(knowledge_api.router)

DEFAULT_REPEAT_WINDOW: Final = timedelta(hours=72)


async def file_appeal(
    tx: Tx,
    appeal: domain.NewAppeal,
    *,
    actor: str,
    now: datetime,
    extras: dict[str, Any] | None = None,
    hold: bool = False,
    repeat_window: timedelta = DEFAULT_REPEAT_WINDOW,
) -> events.AppealReceived:
    """Accept an appeal in the caller's transaction: classify it, flag possible repeats,
    record it and, unless held at the front office, forward it to dispatch. Every channel
    files through here (POST /v1/appeals, Open311)."""
    current = await store.current_catalogue(tx)
    try:
        classified = rules.classify(
            None if current is None else current[1],
            text=appeal.content,
            category=appeal.category,
            urgency=appeal.urgency,
        )
    except rules.NoCategoryError as exc:
        raise invalid_field("body.category", str(exc), "no_category") from exc
    candidates = await store.repeat_candidates(
        tx,
        phone=appeal.citizen.phone,
        address=appeal.location.address,
        category=classified.category,
        since=now - repeat_window,
    )
    appeal_id = uuid4()
    new = domain.receive(
        appeal,
        category=classified.category,
        urgency=classified.urgency,
        hold=hold,
        appeal_id=appeal_id,
        meta=domain.Meta(actor=actor, now=now, new_id=uuid4),
    )
    received = new[0]
    assert isinstance(received, events.AppealReceived)
    await tx.append(appeal_id, new[:1], expected_version=0)
    await store.add(
        tx,
        received,
        extras,
        classification=classified.as_dict(),
        repeat_candidates=candidates,
    )
    await open311_updates.record(tx, new[:1])
    await handlers.record(tx, appeal_id, new[1:], expected_version=1)
    return received


async def _known_category(tx: Tx, category: str | None) -> None:
    """Once a catalogue is published, a category must be one of its codes (before the first
    version, any code is accepted, as it was before the catalogue existed)."""
    current = await store.current_catalogue(tx)
    if category is None or current is None or current[1].find(category) is not None:
        return
    message = f"unknown category {category!r}: not in appeal catalogue version {current[0]}"
    raise invalid_field("body.category", message, "unknown_category")


class AppealFiling(domain.NewAppeal):
    """POST /v1/appeals: the appeal, and whether the front office holds it for a decision
    (answer, transfer, reject, merge, classify, forward) instead of forwarding it now."""

    hold: bool = False


def _settings(runtime: Runtime) -> IntakeSettings:
    assert isinstance(runtime.settings, IntakeSettings)
    return runtime.settings


@router.post("/appeals", status_code=201)
async def create_appeal(
    filing: AppealFiling,
    runtime: RuntimeDep,
    caller: Annotated[Principal, require(view.WRITE)],
    idempotency_key: idempotency.KeyHeader = None,
) -> JSONResponse:
    if filing.hold and view.FRONT_OFFICE not in caller.scopes:
        raise Problem(403, "Forbidden", "only the front office (appeals:frontoffice) holds")
    appeal = domain.NewAppeal(**filing.model_dump(exclude={"hold"}))
    window = timedelta(hours=_settings(runtime).repeat_window_hours)

    async def accept(tx: Tx) -> idempotency.StoredResponse:
        await _known_category(tx, appeal.category)
        received = await file_appeal(
            tx,
            appeal,
            actor=caller.actor,
            now=datetime.now(UTC),
            hold=filing.hold,
            repeat_window=window,
        )
        row = await store.get(tx, received.subject)
        assert row is not None
        body = {
            "id": str(received.subject),
            "status": row["status"],
            "received_at": received.time.isoformat(),
            "event_id": str(received.id),
            "category": received.category,
            "urgency": received.urgency,
        }
        if view.FRONT_OFFICE in caller.scopes and caller.department is None:
            # other citizens' appeals (same phone or address) are the front office's to see
            body |= {
                "classification": row["classification"],
                "repeat_candidates": row["repeat_candidates"],
            }
        return idempotency.StoredResponse(201, body)

    answer = await idempotency.run_once(
        runtime.db,
        scope=f"intake:appeals:{caller.subject}",
        key=idempotency_key,
        request_body=filing.model_dump(mode="json"),
        action=accept,
    )
    return JSONResponse(
        answer.body,
        status_code=answer.status_code,
        headers={"Location": f"/v1/appeals/{answer.body['id']}"},
    )


@router.get("/appeals/{appeal_id}")
async def get_appeal(
    appeal_id: UUID,
    runtime: RuntimeDep,
    caller: Annotated[Principal, require(view.READ)],
    response: Response,
) -> dict[str, Any]:
    async with runtime.db.transaction() as tx:
        row = view.visible(await store.get(tx, appeal_id), caller, appeal_id)
        merged = await store.children(tx, appeal_id)
        parent = None if row["merged_into"] is None else await store.get(tx, row["merged_into"])
        # the version of intake's own stream: front-office commands name it in If-Match
        response.headers["ETag"] = preconditions.etag(await tx.version(appeal_id))
    shown = {**view.appeal(row, caller), "merged_children": [str(c) for c in merged]}
    if parent is not None:  # a merged child follows its parent's handling
        shown["parent_status"] = parent["status"]
    return shown


Code = Annotated[str | None, Query(max_length=64, pattern=r"^[a-z0-9][a-z0-9._-]*$")]


@router.get("/appeals")
async def list_appeals(
    runtime: RuntimeDep,
    caller: Annotated[Principal, require(view.READ)],
    status: Annotated[str | None, Query(pattern="^(" + "|".join(domain.STATUSES) + ")$")] = None,
    appeal_type: events.AppealType | None = None,
    category: Code = None,
    district: Code = None,
    channel: events.Channel | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=300, pattern=r"^[A-Za-z0-9_-]+$")] = None,
) -> dict[str, Any]:
    """Newest first, filtered; `next` is the cursor of the following page (null at the
    end). A department's token lists only appeals dispatched to it."""
    for name, at in (("since", since), ("until", until)):
        if at is not None and at.tzinfo is None:
            raise invalid_field(
                f"query.{name}", "needs a UTC offset, e.g. +08:00", "naive_datetime"
            )
    try:
        after = store.decode_cursor(cursor) if cursor else None
    except ValueError as exc:
        raise Problem(400, "Bad Request", "the cursor is not one this API issued") from exc
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
    last = rows[-1] if len(rows) == limit else None
    return {
        "items": [view.appeal(r, caller) for r in rows],
        "next": None if last is None else store.encode_cursor(last["received_at"], last["id"]),
    }


@router.get("/progress/{appeal_id}", tags=["citizens"])
async def check_progress(
    appeal_id: UUID,
    runtime: RuntimeDep,
    phone_last4: Annotated[str, Query(pattern=r"^[0-9]{4}$")],
) -> dict[str, Any]:
    """A citizen's own check, without a token: the appeal id and the last four digits of
    the phone it was filed with. Status and stage times only; any mismatch is the same
    404 as an unknown id, so the answer tells nothing about other appeals."""
    async with runtime.db.transaction() as tx:
        row = await store.get(tx, appeal_id)
    phone = (row or {}).get("phone") or ""
    digits = "".join(ch for ch in phone if ch.isdigit())
    if row is None or len(digits) < 4 or not hmac.compare_digest(digits[-4:], phone_last4):
        raise Problem(404, "Not Found", "no appeal with this id and phone number")
    shown = view.progress(row)
    if row["merged_into"] is not None:  # handled with another appeal: its status is theirs
        async with runtime.db.transaction() as tx:
            parent = await store.get(tx, row["merged_into"])
        shown["handled_with"] = None if parent is None else view.progress(parent)
    return shown
