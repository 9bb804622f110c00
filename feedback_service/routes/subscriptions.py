"""Subscriptions: a partner system or channel (the actor that filed appeals, e.g.
`partner:wechat-miniapp`) asks to be told of every status change of the appeals it filed,
as Standard Webhooks POSTs to its URL; and everyone's view of what was delivered."""

from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID, uuid4

from fastapi import APIRouter, Request, Response
from pydantic import AnyHttpUrl, BaseModel, ConfigDict

from feedback_service import views, webhooks
from feedback_service.routes.deps import PAGED, FeedbackRuntime, Limit, webhook_target
from feedback_service.store import notifications
from shared.runtime import pagination
from shared.runtime.auth import Principal, require
from shared.runtime.eventstore import Tx
from shared.runtime.openapi import problems
from shared.runtime.problems import not_found

router = APIRouter(prefix="/v1", tags=["notifications"])
Subscriber = Annotated[Principal, require("subscriptions:write")]


class SubscriptionRequest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    url: AnyHttpUrl


def _after(cursor: str | None) -> tuple[datetime, UUID] | None:
    """The keyset (created_at, id) a cursor names; 400 for one this API did not issue."""
    if cursor is None:
        return None
    created_at, ident = pagination.decode(cursor, datetime, UUID)
    return created_at, ident


async def _own(tx: Tx, subscription_id: UUID, caller: Principal) -> None:
    found = await notifications.subscription(tx, subscription_id)
    if found is None or found["filer"] != caller.subject:
        raise not_found("subscription", f"{subscription_id} of {caller.subject}")


@router.post("/subscriptions", status_code=201)
async def subscribe(
    body: SubscriptionRequest, runtime: FeedbackRuntime, caller: Subscriber
) -> views.NewSubscription:
    """Subscribe the caller to status changes of the appeals it filed. The answer carries the
    signing secret (`whsec_…`), shown this once."""
    settings = runtime.settings
    await webhook_target(body.url, settings)
    created = views.NewSubscription(
        id=uuid4(),
        filer=caller.subject,
        url=str(body.url),
        active=True,
        created_at=datetime.now(UTC),
        secret=webhooks.new_secret(),
    )
    async with runtime.db.transaction() as tx:
        await notifications.create_subscription(
            tx, **created.model_dump(include={"id", "filer", "url", "secret", "created_at"})
        )
    return created


@router.get("/subscriptions", responses=PAGED)
async def list_subscriptions(
    request: Request,
    response: Response,
    runtime: FeedbackRuntime,
    caller: Subscriber,
    cursor: pagination.CursorQuery = None,
    limit: Limit = 100,
) -> pagination.Page[views.Subscription]:
    """The caller's active subscriptions, oldest first (their secrets are not shown)."""
    async with runtime.db.transaction() as tx:
        rows = await notifications.list_subscriptions(
            tx, caller.subject, after=_after(cursor), limit=limit
        )
    return pagination.page(
        [views.Subscription.of(r) for r in rows],
        limit=limit,
        key=lambda s: (s.created_at, s.id),
        request=request,
        response=response,
    )


@router.delete("/subscriptions/{subscription_id}", status_code=204, responses=problems(404))
async def unsubscribe(
    subscription_id: UUID, runtime: FeedbackRuntime, caller: Subscriber
) -> Response:
    async with runtime.db.transaction() as tx:
        await _own(tx, subscription_id, caller)
        await notifications.deactivate(tx, subscription_id)
    return Response(status_code=204)


@router.get(
    "/subscriptions/{subscription_id}/deliveries",
    responses={**PAGED, **problems(404)},
)
async def subscription_deliveries(
    subscription_id: UUID,
    request: Request,
    response: Response,
    runtime: FeedbackRuntime,
    caller: Subscriber,
    cursor: pagination.CursorQuery = None,
    limit: Limit = 100,
) -> pagination.Page[views.Delivery]:
    """Every notification sent (or being retried, or failed) to this subscription."""
    async with runtime.db.transaction() as tx:
        await _own(tx, subscription_id, caller)
        rows = await notifications.list_deliveries(
            tx, subscription_id=subscription_id, after=_after(cursor), limit=limit
        )
    return _deliveries(rows, limit=limit, request=request, response=response, detail=False)


@router.get("/appeals/{appeal_id}/notifications", responses=PAGED)
async def appeal_notifications(
    appeal_id: UUID,
    request: Request,
    response: Response,
    runtime: FeedbackRuntime,
    _: Annotated[Principal, require("feedback:read", centre=True)],
    cursor: pagination.CursorQuery = None,
    limit: Limit = 100,
) -> pagination.Page[views.Delivery]:
    """What was sent about one appeal, to subscribers and to the citizen (operators only)."""
    async with runtime.db.transaction() as tx:
        rows = await notifications.list_deliveries(
            tx, appeal_id=appeal_id, after=_after(cursor), limit=limit
        )
    return _deliveries(rows, limit=limit, request=request, response=response)


@router.get("/notice-failures", responses=PAGED)
async def notice_failures(
    request: Request,
    response: Response,
    runtime: FeedbackRuntime,
    _: Annotated[Principal, require("feedback:read", centre=True)],
    cursor: pagination.CursorQuery = None,
    limit: Limit = 100,
) -> pagination.Page[views.Delivery]:
    """Notices to citizens that could not be delivered (each also recorded as the fact
    `appeal.citizen_notice_failed`): the hotline centre's list of citizens to call instead."""
    async with runtime.db.transaction() as tx:
        rows = await notifications.list_deliveries(
            tx, failed_notices=True, after=_after(cursor), limit=limit
        )
    return _deliveries(rows, limit=limit, request=request, response=response)


@router.get("/leadership-notice-failures", responses=PAGED)
async def leadership_notice_failures(
    request: Request,
    response: Response,
    runtime: FeedbackRuntime,
    _: Annotated[Principal, require("feedback:read", centre=True)],
    cursor: pagination.CursorQuery = None,
    limit: Limit = 100,
) -> pagination.Page[views.Delivery]:
    """Escalations whose notice never reached the department's leadership channel (each
    also the fact `appeal.leadership_notice_failed`): the centre tells them another way."""
    async with runtime.db.transaction() as tx:
        rows = await notifications.list_deliveries(
            tx, failed_leadership=True, after=_after(cursor), limit=limit
        )
    return _deliveries(rows, limit=limit, request=request, response=response)


def _deliveries(
    rows: list[dict[str, Any]],
    *,
    limit: int,
    request: Request,
    response: Response,
    detail: bool = True,
) -> pagination.Page[views.Delivery]:
    """A page of deliveries, keyed (created_at, delivery id) as the store orders them."""
    return pagination.page(
        [views.Delivery.of(r, detail=detail) for r in rows],
        limit=limit,
        key=lambda d: (d.created_at, UUID(hex=d.webhook_id.removeprefix("msg_"))),
        request=request,
        response=response,
    )
