"""Sealing what a citizen says in a rating or callback (`comment`) under their data key,
as intake seals an appeal's text: a name or number said there is erased with the rest. The
key is asked of intake for the one seal and never kept."""

from uuid import UUID

from feedback_service.settings import FeedbackSettings
from feedback_service.store import notifications
from shared.personal_data import Sealed, seal_text
from shared.runtime.citizen_keys import KeyClient, KeyUnavailable
from shared.runtime.database import Database
from shared.runtime.problems import Problem


async def sealed_comment(
    settings: FeedbackSettings, db: Database, appeal_id: UUID, comment: str | None
) -> Sealed | None:
    """The comment sealed under the appeal's citizen's key; None without a comment, or when
    there is no living key to seal it under (an appeal filed before sealing, or a citizen
    already erased): then the comment is not kept at all, never kept in clear."""
    if not comment:
        return None
    async with db.transaction() as tx:
        key_id = await notifications.key_of(tx, appeal_id)
    if key_id is None:
        return None
    client = KeyClient(
        settings, intake_url=settings.intake_url, token=settings.personal_data_keys_token
    )
    try:
        key = (await client.keys({key_id})).get(key_id)
    except KeyUnavailable as exc:
        raise Problem(503, "Service Unavailable", f"the citizen's key: {exc}") from None
    return None if key is None else seal_text(key, key_id, comment)
