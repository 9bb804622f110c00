"""The versioned appeal catalogue's SQL."""

from datetime import datetime

from sqlalchemy import select

from intake_service.catalogue import Catalogue
from intake_service.store.tables import catalogue_versions
from shared.runtime.eventstore import Tx

# Published versions never change, so each is read once per process.
_catalogues: dict[int, tuple[Catalogue, datetime]] = {}
# Every filing reads it: written out once, not built per call.
_HEAD = "SELECT version, published_at FROM catalogue_versions ORDER BY version DESC LIMIT 1"
_MEMO = "intake.catalogue"  # the version in force, in Tx.memo


async def current_catalogue(tx: Tx) -> tuple[int, Catalogue, datetime] | None:
    """(version, catalogue, published at) of the newest version, None before the first;
    read once per transaction (filing checks the category, then classifies)."""
    if _MEMO in tx.memo:
        return tx.memo[_MEMO]  # type: ignore[no-any-return]
    head = await tx.driver.fetchrow(_HEAD)
    if head is None:
        tx.memo[_MEMO] = None
        return None
    if (cached := _catalogues.get(head["version"])) is None:
        document = await tx.conn.scalar(
            select(catalogue_versions.c.document).where(
                catalogue_versions.c.version == head["version"]
            )
        )
        cached = _catalogues[head["version"]] = (
            Catalogue.model_validate(document),
            head["published_at"],
        )
    found = tx.memo[_MEMO] = (head["version"], *cached)
    return found


async def publish_catalogue(tx: Tx, catalogue: Catalogue) -> int | None:
    """Store the catalogue as the next version, unless the newest one says the same."""
    document = catalogue.model_dump(mode="json")
    newest = (
        await tx.conn.execute(
            select(catalogue_versions).order_by(catalogue_versions.c.version.desc()).limit(1)
        )
    ).one_or_none()
    if newest is not None and newest.document == document:
        return None
    version = (newest.version if newest else 0) + 1
    await tx.conn.execute(catalogue_versions.insert().values(version=version, document=document))
    tx.memo.pop(_MEMO, None)  # this transaction now sees the new version
    return version
