"""The working-day calendar feedback counts callbacks on: dispatch's, learnt from its
`calendar.published` facts. An operator can check that feedback is in step with dispatch
(`GET /v1/calendar` on dispatch names the same version)."""

from typing import Annotated

from fastapi import APIRouter

from feedback_service import views
from feedback_service.routes.deps import FeedbackRuntime
from feedback_service.store import calendar as calendar_store
from shared.runtime.auth import Principal, require

router = APIRouter(prefix="/v1", tags=["calendar"])


@router.get("/calendar")
async def current_calendar(
    runtime: FeedbackRuntime, _: Annotated[Principal, require("feedback:read")]
) -> views.CalendarView:
    async with runtime.db.read() as tx:
        calendar = await calendar_store.current_calendar(tx)
    return views.CalendarView(
        number=calendar.number,
        calendar=calendar.version,
        published_years=sorted(calendar.published),
    )
