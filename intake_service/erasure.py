"""Erasing a citizen's personal data (crypto-shredding), in one transaction: destroy their
data key, blank intake's read model of each of their appeals, and record on each appeal's
stream that it was erased, on what basis, by whom. Nothing else ever held the key in a form
that survives it (feedback and audit hold only sealed blobs, and fetch the key from intake
per use), so once the erasure facts are published the data is unreadable everywhere;
feedback also drops its copies of the sealed blob when it hears of them."""

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from intake_service import commands, domain, personal, store
from intake_service.store import keys as key_store
from shared import events
from shared.decisions import Context
from shared.personal_data import phone_index
from shared.runtime.commands import Decide, execute
from shared.runtime.eventstore import Tx
from shared.runtime.problems import Problem, not_found


@dataclass(frozen=True, slots=True, kw_only=True)
class Request:
    phone: str | None = None
    appeal_id: UUID | None = None
    basis: events.ErasureBasis
    reference: str | None = None


async def erase(
    tx: Tx, request: Request, *, erasure_id: UUID, keyring: personal.Keyring, context: Context
) -> dict[str, Any]:
    """The erasure's record; 404 when the phone or the appeal is unknown to intake."""
    key_ids, named = await _targets(tx, request, keyring)
    # Destroyed, so locked, before their appeals are listed: a filing under one of these keys
    # that holds the key's lock now is waited for, and the list, a statement begun after it
    # committed, holds its appeal too. Listed first, that appeal would stay unerased, sealed
    # under a key that no longer exists.
    await key_store.destroy_keys(tx, key_ids, context.now)
    appeal_ids = sorted({*named, *await key_store.appeals_of(tx, key_ids)})
    facts: list[str] = []
    for appeal_id in appeal_ids:
        row = await store.get(tx, appeal_id)
        assert row is not None
        await key_store.blank_appeal(tx, appeal_id, personal.blanked(row["received"]), context.now)
        decide = _erasing(request, erasure_id=erasure_id, key_id=row["key_id"])
        outcome = await execute(tx, commands.APPEAL, appeal_id, decide, context=context)
        facts.extend(str(e.id) for e in outcome.new)
    record = {
        "id": erasure_id,
        "requested_by": context.actor,
        "requested_at": context.now,
        "basis": request.basis,
        "reference": request.reference,
        "key_ids": [str(k) for k in key_ids],
        "appeal_ids": [str(a) for a in appeal_ids],
        "event_ids": facts,
    }
    await key_store.add_erasure(tx, **record)
    return record


def _erasing(request: Request, *, erasure_id: UUID, key_id: UUID | None) -> Decide[commands.State]:
    def decide(state: commands.State, context: Context) -> list[events.Event]:
        return domain.erase(
            state,
            erasure_id=erasure_id,
            key_id=key_id,
            basis=request.basis,
            reference=request.reference,
            context=context,
        )

    return decide


async def _targets(
    tx: Tx, request: Request, keyring: personal.Keyring
) -> tuple[list[UUID], list[UUID]]:
    """The keys to destroy, and the appeal named (besides those the keys cover)."""
    if request.appeal_id is not None:
        row = await store.get(tx, request.appeal_id)
        if row is None:
            raise not_found("appeal", request.appeal_id)
        return ([] if row["key_id"] is None else [row["key_id"]]), [request.appeal_id]
    assert request.phone is not None
    found = await key_store.key_by_phone(tx, phone_index(keyring.index_key, request.phone))
    if found is None:
        raise Problem(404, "Not Found", "no living key for a citizen with that phone number")
    return [found[0]], []
