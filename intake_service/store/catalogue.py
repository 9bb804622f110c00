"""The versioned appeal catalogue's SQL."""

from datetime import datetime

from sqlalchemy import select

from intake_service.catalogue import Catalogue
from intake_service.store.tables import catalogue_versions
from shared.runtime.eventstore import Tx

# Published versions never change, so each is read once per process.
_catalogues: dict[int, tuple[Catalogue, datetime]] = {}
# Every filing reads it: written out once, not built per call. A filing reads it in the
# round trip of the citizen's key (`keys.key_for_phone`), which hands it to `note_head`.
HEAD = "SELECT version, published_at FROM catalogue_versions ORDER BY version DESC LIMIT 1"
_MEMO = "intake.catalogue"  # the version in force, in Tx.memo
_HEAD_MEMO = "intake.catalogue.head"  # its (version, published at), read by another statement


def note_head(tx: Tx, version: int | None, published_at: datetime | None) -> None:
    """The newest version as a statement of this transaction read it beside its own work
    (None, None before the first): `current_catalogue` then makes no round trip for it."""
    tx.memo.setdefault(_HEAD_MEMO, None if version is None else (version, published_at))


async def current_catalogue(tx: Tx) -> tuple[int, Catalogue, datetime] | None:
    """(version, catalogue, published at) of the newest version, None before the first;
    read once per transaction (filing checks the category, then classifies)."""
    if _MEMO in tx.memo:
        return tx.memo[_MEMO]  # type: ignore[no-any-return]
    if _HEAD_MEMO in tx.memo:
        head = tx.memo[_HEAD_MEMO]
    else:
        row = await tx.driver.fetchrow(HEAD)
        head = None if row is None else (row["version"], row["published_at"])
    if head is None:
        tx.memo[_MEMO] = None
        return None
    version, published_at = head
    if (cached := _catalogues.get(version)) is None:
        document = await tx.conn.scalar(
            select(catalogue_versions.c.document).where(catalogue_versions.c.version == version)
        )
        cached = _catalogues[version] = (Catalogue.model_validate(document), published_at)
    found = tx.memo[_MEMO] = (version, *cached)
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
    for memo in (_MEMO, _HEAD_MEMO):  # this transaction now sees the new version
        tx.memo.pop(memo, None)
    return version
