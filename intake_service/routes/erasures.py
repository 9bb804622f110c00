"""Erasure of a citizen's personal data (scope `personal-data:erase`), and the citizens'
data keys for the services that must open sealed personal data (scope `personal-data:keys`:
feedback to notify, audit for `audit:personal-data`). Keys go only this way, never through
Kafka, whose log segments outlive any erasure."""

import base64
from datetime import UTC, datetime
from typing import Annotated, Final, Self
from uuid import UUID, uuid4

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from intake_service import erasure, personal, views
from intake_service.routes import access
from intake_service.routes.deps import IntakeRuntime
from intake_service.store import keys as key_store
from shared import events
from shared.decisions import Context
from shared.runtime import openapi
from shared.runtime.auth import Principal, require
from shared.runtime.problems import not_found

ERASE: Final = "personal-data:erase"
KEYS: Final = "personal-data:keys"

router = APIRouter(prefix="/v1", tags=["personal data"])


class ErasureRequest(BaseModel):
    """Whose data: the phone they filed with (every appeal under their key) or one of their
    appeals (that appeal, and every other under the same key). Exactly one of the two."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    phone: str | None = Field(default=None, pattern=r"^\+?[0-9 -]{5,24}$")
    appeal_id: UUID | None = None
    basis: events.ErasureBasis
    reference: str | None = Field(
        default=None, min_length=1, max_length=200, description="e.g. the request's ticket"
    )

    @model_validator(mode="after")
    def _one_citizen(self) -> Self:
        if (self.phone is None) == (self.appeal_id is None):
            raise ValueError("name the citizen by phone or by appeal_id: exactly one")
        return self


@router.post(
    "/erasures",
    status_code=202,
    responses={202: {"headers": views.LOCATION}, **openapi.problems(404)},
)
async def request_erasure(
    body: ErasureRequest,
    runtime: IntakeRuntime,
    caller: Annotated[Principal, require(ERASE, centre=True)],
    response: Response,
) -> views.ErasureView:
    """Erase a citizen's personal data: their key is destroyed and intake's copies blanked at
    once; the erasure is done when its facts have reached the other services."""
    erasure_id = uuid4()
    async with runtime.db.transaction() as tx:
        record = await erasure.erase(
            tx,
            erasure.Request(
                phone=body.phone,
                appeal_id=body.appeal_id,
                basis=body.basis,
                reference=body.reference,
            ),
            erasure_id=erasure_id,
            keyring=personal.Keyring.of(runtime.settings),
            context=Context(actor=caller.actor, now=datetime.now(UTC)),
        )
        in_clear = await key_store.recorded_in_clear(tx, record["appeal_ids"])
    response.headers["Location"] = f"/v1/erasures/{erasure_id}"
    return views.erasure(record, pending=len(record["event_ids"]), in_clear=in_clear)


@router.get("/erasures/{erasure_id}", responses=openapi.problems(404))
async def get_erasure(
    erasure_id: UUID, runtime: IntakeRuntime, _: Annotated[Principal, require(ERASE, centre=True)]
) -> views.ErasureView:
    async with runtime.db.transaction() as tx:
        record = await key_store.erasure(tx, erasure_id)
        if record is None:
            raise not_found("erasure", erasure_id)
        pending = await key_store.unpublished(tx, record["event_ids"])
        in_clear = await key_store.recorded_in_clear(tx, record["appeal_ids"])
    return views.erasure(record, pending=pending, in_clear=in_clear)


@router.get("/citizen-keys/{key_id}", responses=openapi.problems(404))
async def citizen_key(
    key_id: UUID, runtime: IntakeRuntime, caller: Annotated[Principal, require(KEYS, centre=True)]
) -> views.CitizenKey:
    """The data key, unwrapped, to open what it sealed, used once and never stored by the
    caller; `erased` once the citizen's data was erased. Every living key handed out is
    in the access log, against each appeal it opens."""
    async with runtime.db.transaction() as tx:
        wrapped = await key_store.wrapped_keys(tx, [key_id])
        if wrapped.get(key_id) is not None:
            opened = await key_store.appeals_of(tx, [key_id])
            await access.record_reads(tx, caller, "citizen key", [{"id": a} for a in opened])
    if key_id not in wrapped:
        raise not_found("citizen key", key_id)
    found = wrapped[key_id]
    if found is None:
        return views.CitizenKey(key_id=key_id, state="erased", key=None)
    key = personal.Keyring.of(runtime.settings).kek.unwrap(key_id, found)
    return views.CitizenKey(key_id=key_id, state="living", key=base64.b64encode(key).decode())
