"""KPI rules, one row per published version (the runtime role may only add rows)."""

from typing import Any

from sqlalchemy import func, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from audit_service.store.tables import kpi_rules


async def get_rule(
    conn: AsyncConnection, name: str, version: int | None = None
) -> dict[str, Any] | None:
    """A rule's version, or its latest one."""
    query = select(kpi_rules).where(kpi_rules.c.name == name)
    query = (
        query.order_by(kpi_rules.c.version.desc()).limit(1)
        if version is None
        else query.where(kpi_rules.c.version == version)
    )
    row = (await conn.execute(query)).one_or_none()
    return None if row is None else dict(row._mapping)


async def publish_rule(
    conn: AsyncConnection, name: str, document: dict[str, Any], *, by: str
) -> tuple[dict[str, Any], bool]:
    """The rule's new version, or its latest if that already says the same (a repeated
    PUT publishes nothing); True when a version was added. Publishers of one name queue on
    a transaction lock, so no two get the same number."""
    await conn.execute(
        text("SELECT pg_advisory_xact_lock(hashtext('kpi_rules'), hashtext(:name))"),
        {"name": name},
    )
    latest = await get_rule(conn, name)
    if latest is not None and latest["document"] == document:
        return latest, False
    row = (
        await conn.execute(
            kpi_rules.insert()
            .values(
                name=name,
                version=1 if latest is None else latest["version"] + 1,
                document=document,
                published_by=by,
            )
            .returning(*kpi_rules.c)
        )
    ).one()
    return dict(row._mapping), True


async def list_rules(
    conn: AsyncConnection, *, after: tuple[str, int] | None, limit: int
) -> list[dict[str, Any]]:
    """Every version of every rule, by name then version."""
    query = select(kpi_rules).order_by(kpi_rules.c.name, kpi_rules.c.version).limit(limit)
    if after is not None:
        query = query.where(tuple_(kpi_rules.c.name, kpi_rules.c.version) > after)
    return [dict(row._mapping) for row in await conn.execute(query)]


async def count_rules(conn: AsyncConnection) -> int:
    return int(await conn.scalar(select(func.count()).select_from(kpi_rules)) or 0)
