"""Sends the webhook deliveries `notify` wrote, with retries; a delivery that cannot be sent
never holds anything else up.

Each sweep leases the due rows (moving their due time past the POSTs' timeout) and commits,
sends them concurrently outside any transaction, then records each outcome: delivered on a
2xx; otherwise another attempt after an exponential backoff, or failed once the attempts
are spent. A crash after sending and before recording sends again after the lease: the
receiver deduplicates by `webhook-id`, which stays the same on every attempt.
"""

import asyncio
import functools
import json
import logging
from datetime import datetime, timedelta
from typing import Any

import httpx

from feedback_service import commands, leadership, notify, targets, webhooks
from feedback_service.settings import FeedbackSettings
from feedback_service.store import leadership as lstore
from feedback_service.store import notifications as nstore
from shared import personal_data
from shared.runtime import logs, metrics, tracing
from shared.runtime.citizen_keys import KeyClient, KeyUnavailable
from shared.runtime.database import Database

log = logging.getLogger("hotline.webhooks")
BATCH = 50
MAX_BACKOFF = timedelta(hours=1)
CANCELLED = "the subscription was cancelled"


Attempt = tuple[int | None, str | None]  # the receiver's status code, or what went wrong


def message_id(delivery_id: Any) -> str:
    return f"msg_{delivery_id.hex}"


def backoff(settings: FeedbackSettings, attempts: int) -> timedelta:
    """The wait after the `attempts`-th failure: base, then doubling, at most an hour."""
    seconds = settings.webhook_backoff_seconds * 2 ** min(attempts - 1, 20)
    return min(timedelta(seconds=seconds), MAX_BACKOFF)


async def _post(
    client: httpx.AsyncClient,
    delivery: dict[str, Any],
    secret: str,
    now: datetime,
    *,
    settings: FeedbackSettings,
    body_text: str | None = None,
) -> tuple[int | None, str | None]:
    body = (body_text or delivery["body"]).encode()
    headers = webhooks.headers(secret, message_id(delivery["id"]), int(now.timestamp()), body)
    try:
        # A partner's URL is checked again now, and the connection goes to the address that
        # was checked (no second lookup); the citizens' channels are configured, not chosen.
        # A leadership channel is configured too, but one per department, so more of them
        # may be mistyped: private addresses only where private targets are allowed.
        citizen_channel = delivery["subscription_id"] is None and delivery["kind"] != (
            leadership.KIND
        )
        allow_private = citizen_channel or settings.private_targets_allowed()
        # One bound on the whole exchange, the address's lookup included: httpx's timeouts
        # are per read, and a receiver dripping bytes must not outlive the lease.
        async with asyncio.timeout(settings.webhook_timeout_seconds * 2):
            pinned = await targets.resolve(delivery["url"], allow_private=allow_private)
            headers = {**headers, "Host": pinned.host_header}
            extensions = {"sni_hostname": pinned.sni_hostname} if pinned.sni_hostname else {}
            response = await client.post(
                pinned.url, content=body, headers=headers, extensions=extensions
            )
    except targets.RefusedTarget:
        return None, "target refused: not a public address"
    except (httpx.HTTPError, TimeoutError) as exc:
        # Only the kind of failure: the partner reads this, and must learn nothing of the
        # network between us (an error text names hosts and ports).
        return None, type(exc).__name__
    if 200 <= response.status_code < 300:
        return response.status_code, None
    return response.status_code, f"HTTP {response.status_code}"


async def _citizen_keys(
    settings: FeedbackSettings, due: list[dict[str, Any]]
) -> dict[Any, bytes | None]:
    """The data keys the due citizen notices' phones are sealed under, asked of intake."""
    wanted = {
        personal_data.Sealed.model_validate(d["personal_data"]).key_id
        for d in due
        if d["subscription_id"] is None and _is_sealed(d["personal_data"])
    }
    if not wanted:
        return {}
    client = KeyClient(
        settings, intake_url=settings.intake_url, token=settings.personal_data_keys_token
    )
    return dict(await client.keys(wanted))


def _is_sealed(value: Any) -> bool:
    return isinstance(value, dict) and "ciphertext" in value


def _phone(value: Any, keys: dict[Any, bytes | None]) -> str | None:
    """The phone to reach the citizen by: opened with their key; None once erased."""
    if value is None:
        return None
    if not _is_sealed(value):  # recorded before sealing
        return personal_data.PersonalData.model_validate(value).phone
    sealed = personal_data.Sealed.model_validate(value)
    data, _ = personal_data.reveal(sealed, keys.get(sealed.key_id))
    return data.phone


async def sweep(db: Database, now: datetime, *, settings: FeedbackSettings) -> int:
    """Send every delivery due by `now`; the number attempted."""
    lease = now + timedelta(seconds=settings.webhook_timeout_seconds * 2 + 5)
    async with db.transaction() as tx:
        due = await nstore.claim_due(tx, now=now, lease_until=lease, limit=BATCH)
        # A leadership notice goes where its channel is now, signed with its secret now:
        # a channel published again since the notice was queued has both anew.
        leaders = await lstore.channels_now(
            tx, (_department(d) for d in due if d["kind"] == leadership.KIND)
        )
    if not due:
        return 0
    channel_secret = settings.channel_secret()
    cancelled = (None, CANCELLED)
    unsigned = (None, "no HOTLINE_CITIZEN_CHANNEL_SECRET is configured")
    no_channel = (None, "the department's leadership channel was removed or has no secret")

    try:
        keys = await _citizen_keys(settings, due)
    except KeyUnavailable as exc:
        log.warning("citizen notices wait: %s", exc)
        keys = None

    async def send(client: httpx.AsyncClient, d: dict[str, Any]) -> Attempt:
        if d["kind"] == leadership.KIND:
            channel = leaders.get(_department(d))
            if channel is None:
                return no_channel
            url, secret = channel
            return await _post(client, {**d, "url": url}, secret, now, settings=settings)
        if d["subscription_id"] is None:
            if not channel_secret:
                return unsigned
            if keys is None and d["personal_data"] is not None:
                return None, "the citizen's key is unavailable"
            body = notify.with_phone(d["body"], _phone(d["personal_data"], keys or {}))
            return await _post(client, d, channel_secret, now, settings=settings, body_text=body)
        if not d["active"]:
            return cancelled
        return await _post(client, d, d["secret"], now, settings=settings)

    async def attempt(client: httpx.AsyncClient, d: dict[str, Any]) -> Attempt:
        # Whatever goes wrong with one delivery is its own failed attempt: an exception
        # escaping here would leave every attempt of the sweep unrecorded (those sent, sent
        # again at the next lease, for good).
        try:
            return await send(client, d)
        except Exception as exc:
            with logs.about(appeal_id=d["appeal_id"], event_id=d["event_id"]):
                log.exception("webhook %s could not be sent", d["id"])
            return None, type(exc).__name__

    async with tracing.http_client(timeout=settings.webhook_timeout_seconds) as client:
        outcomes = await asyncio.gather(*(attempt(client, d) for d in due))
    for delivery, (status_code, error) in zip(due, outcomes, strict=True):
        record = functools.partial(_record, db, delivery, status_code, error, now, settings)
        outcome = await commands.retrying(functools.partial(record, leased_until=lease))
        metrics.WEBHOOK_DELIVERIES.labels("feedback", outcome).inc()
    return len(due)


def _department(delivery: dict[str, Any]) -> str:
    return str(json.loads(delivery["body"])["department"])


async def _record(
    db: Database,
    delivery: dict[str, Any],
    status_code: int | None,
    error: str | None,
    now: datetime,
    settings: FeedbackSettings,
    *,
    leased_until: datetime,
) -> str:
    """One delivery's attempt, in its own transaction; a citizen notice that settled
    (delivered, or failed for good) is recorded as a fact in the same one. Nothing is
    recorded if the lease ran out meanwhile: another sender took the delivery, and a second
    record would settle it twice (the receiver already deduplicates the POST itself)."""
    attempts = delivery["attempts"] + 1
    values: dict[str, Any] = {
        "attempts": attempts,
        "last_status_code": status_code,
        "last_error": error,
    }
    cancelled = (status_code, error) == (None, CANCELLED)
    if error is None:
        values |= {"status": "delivered", "delivered_at": now, "next_attempt_at": None}
        outcome = "delivered"
    elif attempts >= settings.webhook_max_attempts or cancelled:
        values |= {"status": "failed", "next_attempt_at": None}
        outcome = "failed"
        with logs.about(appeal_id=delivery["appeal_id"], event_id=delivery["event_id"]):
            log.warning("webhook %s failed for good: %s", delivery["id"], error)
    else:
        values["next_attempt_at"] = now + backoff(settings, attempts)
        outcome = "retried"
    async with db.transaction() as tx:
        if not await nstore.record_attempt(tx, delivery["id"], leased_until=leased_until, **values):
            with logs.about(appeal_id=delivery["appeal_id"], event_id=delivery["event_id"]):
                log.warning("webhook %s outlived its lease; not recorded", delivery["id"])
            return "superseded"
        if delivery["kind"] == leadership.KIND and outcome != "retried":
            await leadership.settled(tx, delivery, error=error, attempts=attempts, now=now)
        elif delivery["subscription_id"] is None and outcome != "retried":
            await commands.notice_settled(tx, delivery, error=error, attempts=attempts, now=now)
    return outcome
