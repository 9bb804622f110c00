"""The departments' leadership channels: where the hotline centre has escalations of a
department's appeals notified (feedback_service/leadership.py). Only the centre publishes
(`catalogue:admin`) or reads them: such a URL often carries its own access token."""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field

from feedback_service import webhooks
from feedback_service.routes.deps import PAGED, FeedbackRuntime, Limit, webhook_target
from feedback_service.store import leadership as store
from shared.runtime import pagination
from shared.runtime.auth import Principal, require
from shared.runtime.openapi import problems
from shared.runtime.problems import not_found

router = APIRouter(prefix="/v1", tags=["notifications"])
Admin = Annotated[Principal, require("catalogue:admin", centre=True)]
Reader = Annotated[Principal, require("feedback:read", centre=True)]
Department = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9._-]*$")]


class ChannelRequest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    url: AnyHttpUrl


class LeadershipChannel(BaseModel):
    department: str
    url: str
    published_by: str
    published_at: datetime


class PublishedChannel(LeadershipChannel):
    secret: str = Field(description="the channel's signing secret (`whsec_…`), shown this once")


@router.put("/departments/{department}/leadership-channel")
async def publish_channel(
    department: Department,
    body: ChannelRequest,
    runtime: FeedbackRuntime,
    caller: Admin,
    response: Response,
) -> PublishedChannel:
    """Set where the department's escalations are notified: Standard Webhooks POSTs, signed
    with a secret of the channel's own, made now and shown this once (publishing again makes
    a new one; notices not yet sent then go to the new URL, signed with it). Production
    takes https URLs at public addresses only, checked now and before each send, as for
    partners' subscriptions."""
    response.headers["Cache-Control"] = "no-store"  # the answer carries the secret
    settings = runtime.settings
    await webhook_target(body.url, settings)
    channel = PublishedChannel(
        department=department,
        url=str(body.url),
        published_by=caller.actor,
        published_at=datetime.now(UTC),
        secret=webhooks.new_secret(),
    )
    async with runtime.db.transaction() as tx:
        await store.publish(
            tx,
            department=department,
            url=channel.url,
            actor=channel.published_by,
            now=channel.published_at,
            secret=channel.secret,
        )
    return channel


@router.delete(
    "/departments/{department}/leadership-channel", status_code=204, responses=problems(404)
)
async def remove_channel(department: Department, runtime: FeedbackRuntime, _: Admin) -> None:
    """The department's escalations are no longer notified anywhere."""
    async with runtime.db.transaction() as tx:
        if not await store.remove(tx, department):
            raise not_found("leadership channel of", department)


@router.get("/leadership-channels", responses=PAGED)
async def list_channels(
    request: Request,
    response: Response,
    runtime: FeedbackRuntime,
    _: Reader,
    cursor: pagination.CursorQuery = None,
    limit: Limit = 100,
) -> pagination.Page[LeadershipChannel]:
    """Every department's leadership channel, by department."""
    after = pagination.decode(cursor, str)[0] if cursor else None
    async with runtime.db.transaction() as tx:
        rows = await store.list_channels(tx, after=after, limit=limit + 1)
    return pagination.page(
        [LeadershipChannel.model_validate(r) for r in rows],  # the secrets not shown
        limit=limit,
        key=lambda c: (c.department,),
        request=request,
        response=response,
    )
