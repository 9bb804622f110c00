"""Idempotency-Key records: a retried POST gets the first response, a reused key with another
body gets 422. The record is written in the transaction that performs the request.

A record is kept for the service's retention (HOTLINE_IDEMPOTENCY_RETENTION_HOURS, a day by
default, as long as clients are told to retry) and then deleted by `sweep_expired`: its
fingerprint is a hash of the request's body, citizens' names and words included, and the
response it keeps answers nobody once the client has stopped retrying.
"""

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import Header

from shared.envelope import canonical_json
from shared.runtime.database import Action, Database, Transactions
from shared.runtime.eventstore import Tx
from shared.runtime.problems import Problem, field_error

# The request header, for routes that create something: `key: KeyHeader = None`.
KeyHeader = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)]

# Written out once (a request's hot path: no statement building per call); jsonb takes text.
_CLAIM = """
    INSERT INTO idempotency_keys (scope, key, fingerprint, status_code, response)
    VALUES ($1, $2, $3, 0, '{}') ON CONFLICT DO NOTHING RETURNING key"""
_ANSWERED = """
    SELECT fingerprint, status_code, response FROM idempotency_keys
    WHERE scope = $1 AND key = $2"""
_REMEMBER = (
    "UPDATE idempotency_keys SET status_code = $3, response = $4 WHERE scope = $1 AND key = $2"
)


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status_code: int
    body: dict[str, Any]


def fingerprint(body: Any) -> str:
    return hashlib.sha256(canonical_json(body)).hexdigest()


async def claim(tx: Tx, *, scope: str, key: str, request_fingerprint: str) -> StoredResponse | None:
    """Claim the key for this transaction, or return the response already given for it.

    The claim is a placeholder row completed by `remember` in the same transaction. A twin
    request racing this one blocks on the primary key until we commit, then reads our answer;
    if we roll back, its insert succeeds and it does the work instead: one effect either way.
    """
    while True:
        claimed = await tx.driver.fetchval(_CLAIM, scope, key, request_fingerprint)
        if claimed is not None:
            return None
        row = await tx.driver.fetchrow(_ANSWERED, scope, key)
        if row is not None:
            break
        # Expired and swept between the two statements: the key is free to claim again.
    if row["fingerprint"] != request_fingerprint:
        raise Problem(
            422,
            "Idempotency key reused",
            f"Idempotency-Key {key!r} was already used with a different request body",
            errors=[
                field_error(
                    "header.Idempotency-Key",
                    "already used with a different request body",
                    "idempotency_key_reused",
                )
            ],
        )
    return StoredResponse(row["status_code"], row["response"])


async def remember(tx: Tx, *, scope: str, key: str, response: StoredResponse) -> None:
    body = json.dumps(response.body)
    await tx.driver.execute(_REMEMBER, scope, key, response.status_code, body)


async def run_once(
    transactions: Transactions,
    *,
    scope: str,
    key: str | None,
    request_body: Callable[[], Any],
    action: Action[StoredResponse],
) -> StoredResponse:
    """Run `action` in one transaction (`transactions.run`: its own, or one a group commit
    shares), answering a retried request from its first response.

    Without a key the request is not deduplicated (and `request_body`, which builds the
    body a retry must repeat, is not called).
    """
    if key is None:
        return await transactions.run(action)
    request_print = fingerprint(request_body())

    async def once(tx: Tx) -> StoredResponse:
        prior = await claim(tx, scope=scope, key=key, request_fingerprint=request_print)
        if prior is not None:
            return prior
        response = await action(tx)
        await remember(tx, scope=scope, key=key, response=response)
        return response

    return await transactions.run(once)


# Old records first, a batch at a time (ix_idempotency_keys_created_at); SKIP LOCKED leaves
# a row another replica's sweep is deleting, and a claim still open is never old.
_EXPIRED = """
    DELETE FROM idempotency_keys WHERE ctid = ANY(ARRAY(
        SELECT ctid FROM idempotency_keys WHERE created_at < $1
        ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED))"""


async def sweep_expired(db: Database, now: datetime, *, retention: timedelta, batch: int) -> int:
    """Delete up to `batch` records older than `retention`; returns how many."""
    async with db.transaction() as tx:
        status = await tx.driver.execute(_EXPIRED, now - retention, batch)
    return int(status.split()[-1])
