"""Signed checkpoints and the proofs anyone can check against them, offline, with the public
key alone (docs/receipts.md). Reading them needs no token: roots, hashes and positions are
public by design, carry no personal data, and are published to Kafka besides; making one
needs audit:replay."""

import hmac
import logging
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Path, Query, Request, Response

from audit_service import checkpoints, publication, sealing, store, views, views_admin
from audit_service.domain import records, signing
from audit_service.routes.deps import AuditRuntime
from shared.runtime.auth import Principal, require
from shared.runtime.openapi import problems
from shared.runtime.pagination import LINK_HEADER, CursorQuery, LimitQuery, Page, decode, page
from shared.runtime.problems import Problem, invalid_field, not_found

log = logging.getLogger("hotline.audit.proofs")
router = APIRouter(prefix="/v1", tags=["audit proofs"])
_PAGED: dict[int | str, dict[str, Any]] = {200: {"description": "One page", "headers": LINK_HEADER}}
LARGEST = 2**63 - 1  # PostgreSQL's bigint
Size = Annotated[int, Path(ge=1, le=LARGEST, description="the checkpoint's tree size")]
SizeQuery = Annotated[
    int | None,
    Query(ge=1, le=LARGEST, description="a checkpoint's tree size; absent for the latest"),
]
FactHash = Annotated[str, Path(pattern="^[0-9a-f]{64}$", description="SHA-256, lowercase hex")]


def _key(pem: str) -> views_admin.PublicKey:
    key = signing.public_from_pem(pem.encode())
    return views_admin.PublicKey(key_id=signing.key_id(key), pem=pem, jwk=signing.jwk(key))


@router.get("/checkpoints/public-key")
async def public_key(runtime: AuditRuntime) -> views_admin.PublicKeys:
    """The Ed25519 public key checkpoints are signed with, and every earlier one: all one
    needs to check a checkpoint, a receipt or a proof offline (`hotline audit verify`)."""
    current = _key(signing.public_pem(runtime.settings.signing_key().public_key()))
    async with runtime.engine.connect() as conn:
        recorded = await store.known_keys(conn)
    used = [_key(row["public_key"]) for row in recorded if _sealed(row, current.key_id)]
    if current.key_id not in {k.key_id for k in used}:
        used.append(current)
    return views_admin.PublicKeys(current=current, keys=used)


def _sealed(row: dict[str, Any], current: str) -> bool:
    """Whether audit recorded this key itself: the runtime role may add rows to the table,
    so a key without audit's seal (added behind its back, or retired before keys were
    sealed) is not handed to verifiers as audit's. The configured key is served anyway,
    and sealed at the next checkpoint."""
    expected = records.key_seal(
        sealing.key(), key_id=str(row["key_id"]), public_key=str(row["public_key"])
    )
    if row["seal"] is not None and hmac.compare_digest(expected, str(row["seal"])):
        return True
    if row["key_id"] != current:
        log.warning("signing key not sealed by audit: not served", extra={"key_id": row["key_id"]})
    return False


@router.post(
    "/checkpoints",
    status_code=201,
    responses={
        200: {"model": views.SignedCheckpoint, "description": "Nothing new since: the latest"},
        201: {"description": "A signed checkpoint of every fact settled so far, published"},
        **problems(409, 503),
    },
)
async def create_checkpoint(
    response: Response, runtime: AuditRuntime, _: Annotated[Principal, require(views.REPLAY)]
) -> views.SignedCheckpoint:
    """Checkpoint now (the timer also does, periodically): sign the root and publish it to
    Kafka. 200 with the latest when nothing new was recorded since; 409, signing nothing,
    when nothing was ever recorded, the stored tree no longer extends the latest signed one
    (a node was edited), or a fact's row fails its check (the tree stops before it); 503
    when Kafka would not take it (then nothing was saved either)."""
    config = runtime.settings
    try:
        made = await checkpoints.create(
            runtime.engine,
            config.signing_key(),
            publish=publication.publisher(config.kafka_bootstrap),
            now=datetime.now(UTC),
        )
    except checkpoints.TreeRefused as exc:  # an integrity failure, not an outage
        raise Problem(409, "Conflict", str(exc)) from exc
    except Exception as exc:  # Kafka down or slow: the transaction rolled back
        if isinstance(exc, Problem):
            raise
        raise Problem(503, "Service Unavailable", "could not publish the checkpoint") from exc
    if made is not None:
        return made
    async with runtime.engine.connect() as conn:
        latest = await store.get_checkpoint(conn, None)
    if latest is None:
        raise Problem(409, "Conflict", "no facts recorded yet: nothing to checkpoint")
    response.status_code = 200
    return checkpoints.signed(latest)


@router.get("/checkpoints", responses={**_PAGED, **problems(400)})
async def list_checkpoints(
    request: Request,
    response: Response,
    runtime: AuditRuntime,
    cursor: CursorQuery = None,
    limit: LimitQuery = 100,
) -> Page[views.SignedCheckpoint]:
    """Signed checkpoints, newest first."""
    (before,) = decode(cursor, int) if cursor else (None,)
    async with runtime.engine.connect() as conn:
        rows = await store.list_checkpoints(conn, before=before, limit=limit)
    made = [checkpoints.signed(r) for r in rows]
    return page(made, limit=limit, key=lambda c: (c.size,), request=request, response=response)


@router.get("/checkpoints/consistency", responses=problems(404))
async def consistency_proof(
    runtime: AuditRuntime,
    old: Annotated[int, Query(ge=1, le=LARGEST, description="the earlier checkpoint's size")],
    new: SizeQuery = None,
) -> views.ConsistencyProof:
    """RFC 9162 consistency proof that checkpoint `new` only appended facts to `old`."""
    if new is not None and new < old:
        raise invalid_field("new", f"new ({new}) is smaller than old ({old})")
    try:
        proof = await checkpoints.consistency(runtime.engine, old, new=new)
    except LookupError as missing:
        raise not_found("checkpoint", missing.args[0] or "(latest)") from None
    except ValueError as exc:  # the latest checkpoint is older than `old`
        raise invalid_field("old", str(exc)) from None
    return proof


@router.get("/checkpoints/{size}", responses=problems(404))
async def get_checkpoint(size: Size, runtime: AuditRuntime) -> views.SignedCheckpoint:
    """One signed checkpoint."""
    async with runtime.engine.connect() as conn:
        found = await store.get_checkpoint(conn, size)
    if found is None:
        raise not_found("checkpoint", size)
    return checkpoints.signed(found)


@router.get("/receipts/{fact_hash}", responses=problems(404))
async def receipt(
    fact_hash: FactHash, runtime: AuditRuntime, size: SizeQuery = None
) -> views.InclusionProof:
    """A citizen's receipt: the inclusion proof of the fact with this hash (an appeal's
    `appeal.received`, as intake's progress check and filing response give it) against a
    signed checkpoint, the latest unless `size` is given. 404 until a checkpoint covers it
    (checkpoints are made periodically)."""
    found = await checkpoints.inclusion(runtime.engine, fact_hash=fact_hash, size=size)
    if found is None:
        raise not_found("signed checkpoint covering fact", fact_hash)
    return found


@router.get("/facts/{event_id}/proof", responses=problems(404))
async def fact_proof(
    event_id: UUID,
    runtime: AuditRuntime,
    _: Annotated[Principal, require(views.READ)],
    size: SizeQuery = None,
) -> views.InclusionProof:
    """The fact's inclusion proof against a signed checkpoint, for its hash as audit holds
    it now: a fact rewritten after a checkpoint shows as a proof that fails."""
    found = await checkpoints.inclusion(runtime.engine, event_id=event_id, size=size)
    if found is None:
        raise not_found(f"checkpoint {size or '(latest)'} covering fact", event_id)
    return found
