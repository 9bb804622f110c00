"""Subscriptions: a partner system or channel (the actor that filed appeals, e.g.
`partner:wechat-miniapp`) asks to be told of every status change of the appeals it filed,
as Standard Webhooks POSTs to its URL; and everyone's view of what was delivered."""

from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID, uuid4

from fastapi import APIRouter, Query, Response
from pydantic import AnyHttpUrl, BaseModel, ConfigDict

from feedback_service import commands, sender, targets, webhooks
from feedback_service import notification_store as nstore
from shared.runtime.app import RuntimeDep
from shared.runtime.auth import Principal, require
from shared.runtime.eventstore import Tx
from shared.runtime.problems import Problem

router = APIRouter(prefix="/v1", tags=["notifications"])
Limit = Annotated[int, Query(ge=1, le=500)]


class NewSubscription(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    url: AnyHttpUrl


def _subscription(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "filer": row["filer"],
        "url": row["url"],
        "active": row["active"],
        "created_at": row["created_at"].isoformat(),
    }


def _delivery(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "webhook_id": sender.message_id(row["id"]),
        "subscription_id": str(row["subscription_id"]) if row["subscription_id"] else None,
        "channel": row["channel"],
        "appeal_id": str(row["appeal_id"]),
        "event_id": str(row["event_id"]),
        "kind": row["kind"],
        "status": row["status"],
        "attempts": row["attempts"],
        "next_attempt_at": row["next_attempt_at"].isoformat() if row["next_attempt_at"] else None,
        "last_status_code": row["last_status_code"],
        "last_error": row["last_error"],
        "created_at": row["created_at"].isoformat(),
        "delivered_at": row["delivered_at"].isoformat() if row["delivered_at"] else None,
    }


async def _own(tx: Tx, subscription_id: UUID, caller: Principal) -> dict[str, Any]:
    found = await nstore.subscription(tx, subscription_id)
    if found is None or found["filer"] != caller.subject:
        raise Problem(404, "Not Found", f"no subscription {subscription_id} of {caller.subject}")
    return found


@router.post("/subscriptions", status_code=201)
async def subscribe(
    body: NewSubscription,
    runtime: RuntimeDep,
    caller: Annotated[Principal, require("subscriptions:write")],
) -> dict[str, Any]:
    """Subscribe the caller to status changes of the appeals it filed. The answer carries the
    signing secret (`whsec_…`), shown this once."""
    settings = commands.settings_of(runtime)
    if settings.environment == "production" and body.url.scheme != "https":
        raise commands.invalid("url", "production delivers to https URLs only")
    try:
        await targets.check(str(body.url), allow_private=settings.private_targets_allowed())
    except targets.RefusedTarget as exc:
        raise commands.invalid("url", str(exc)) from exc
    row = {
        "id": uuid4(),
        "filer": caller.subject,
        "url": str(body.url),
        "secret": webhooks.new_secret(),
        "created_at": datetime.now(UTC),
    }
    async with runtime.db.transaction() as tx:
        await nstore.create_subscription(tx, **row)
    return _subscription({**row, "active": True}) | {"secret": row["secret"]}


@router.get("/subscriptions")
async def list_subscriptions(
    runtime: RuntimeDep, caller: Annotated[Principal, require("subscriptions:write")]
) -> dict[str, Any]:
    async with runtime.db.transaction() as tx:
        rows = await nstore.list_subscriptions(tx, caller.subject)
    return {"items": [_subscription(r) for r in rows]}


@router.delete("/subscriptions/{subscription_id}", status_code=204)
async def unsubscribe(
    subscription_id: UUID,
    runtime: RuntimeDep,
    caller: Annotated[Principal, require("subscriptions:write")],
) -> Response:
    async with runtime.db.transaction() as tx:
        await _own(tx, subscription_id, caller)
        await nstore.deactivate(tx, subscription_id)
    return Response(status_code=204)


@router.get("/subscriptions/{subscription_id}/deliveries")
async def subscription_deliveries(
    subscription_id: UUID,
    runtime: RuntimeDep,
    caller: Annotated[Principal, require("subscriptions:write")],
    limit: Limit = 100,
) -> dict[str, Any]:
    """Every notification sent (or being retried, or failed) to this subscription."""
    async with runtime.db.transaction() as tx:
        await _own(tx, subscription_id, caller)
        rows = await nstore.list_deliveries(tx, subscription_id=subscription_id, limit=limit)
    return {"items": [_delivery(r) for r in rows]}


@router.get("/appeals/{appeal_id}/notifications")
async def appeal_notifications(
    appeal_id: UUID,
    runtime: RuntimeDep,
    caller: Annotated[Principal, require("feedback:read")],
    limit: Limit = 100,
) -> dict[str, Any]:
    """What was sent about one appeal, to subscribers and to the citizen (operators only)."""
    if caller.department is not None:
        raise Problem(403, "Forbidden", "notifications are the hotline centre's to read")
    async with runtime.db.transaction() as tx:
        rows = await nstore.list_deliveries(tx, appeal_id=appeal_id, limit=limit)
    return {"items": [_delivery(r) for r in rows]}
