"""What feedback's routes share: the typed runtime, the page size, and the documented
answers every paged list and retried command gives."""

from typing import Annotated, Any

from fastapi import Depends, Query
from pydantic import AnyHttpUrl

from feedback_service import targets
from feedback_service.settings import FeedbackSettings
from shared.runtime import pagination
from shared.runtime.openapi import problem
from shared.runtime.problems import invalid_field
from shared.runtime.running import Runtime, get_runtime

FeedbackRuntime = Annotated[Runtime[FeedbackSettings], Depends(get_runtime)]
# Items per page. Feedback's lists took up to 500 before they were paged, and its clients
# ask for that many; kept, so no client's request turns into a 422.
Limit = Annotated[int, Query(ge=1, le=500, description="items per page")]
# A paged list's 200 answer documents its Link header.
PAGED: dict[int | str, dict[str, Any]] = {200: {"headers": pagination.LINK_HEADER}}
# A command decided again on a moved stream moved on every time: rare, and worth a retry.
RACED = problem(412, "The appeal's feedback moved on during every attempt: send it again")


async def webhook_target(url: AnyHttpUrl, settings: FeedbackSettings) -> None:
    """A URL feedback will POST to (a partner's subscription, a leadership channel): https
    only in production, on its port 443 (the only one the deployment's egress policy opens:
    another would be accepted here and then never reached), at an address `targets`
    allows; a 422 on `body.url` otherwise."""
    if settings.environment == "production" and url.scheme != "https":
        raise invalid_field("body.url", "production delivers to https URLs only")
    if settings.environment == "production" and url.port != 443:
        raise invalid_field("body.url", "production delivers to https on port 443 only")
    try:
        await targets.check(str(url), allow_private=settings.private_targets_allowed())
    except targets.RefusedTarget as exc:
        raise invalid_field("body.url", str(exc)) from exc
