"""dispatch's tables: departments, the versioned routing table, and the work-order view."""

import contextlib
from typing import Any
from uuid import UUID

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, Uuid, func, select
from sqlalchemy.dialects.postgresql import insert

from dispatch_service import domain
from shared import events
from shared.runtime.eventstore import Tx
from shared.runtime.schema import NAMING_CONVENTION

metadata = MetaData(naming_convention=NAMING_CONVENTION)

departments = Table(
    "departments",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("district", String(64)),
)

routing_rules = Table(
    "routing_rules",
    metadata,
    Column("version", Integer, primary_key=True),
    Column("rule_id", String(64), primary_key=True),
    Column("category", String(64), nullable=False),
    Column("district", String(64)),
    Column("department", String(64), nullable=False),
)

routing_versions = Table(
    "routing_versions",
    metadata,
    Column("version", Integer, primary_key=True),
    Column("fallback_department", String(64), nullable=False),
    Column("published_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

work_orders = Table(
    "work_orders",
    metadata,
    Column("appeal_id", Uuid, primary_key=True),
    Column("department", String(64), nullable=False, index=True),
    Column("stage", String(30), nullable=False),
    Column("version", Integer, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)


# Published routing versions never change, so their rules are read once per process.
_published: dict[int, domain.RoutingTable] = {}


async def current_routing(tx: Tx) -> domain.RoutingTable:
    head = (
        await tx.conn.execute(
            select(routing_versions).order_by(routing_versions.c.version.desc()).limit(1)
        )
    ).one_or_none()
    if head is None:
        raise LookupError("no routing table has been published; run `hotline seed`")
    if (table := _published.get(head.version)) is None:
        rules = await tx.conn.execute(
            select(routing_rules).where(routing_rules.c.version == head.version)
        )
        table = _published[head.version] = domain.RoutingTable(
            version=head.version,
            fallback_department=head.fallback_department,
            rules=tuple(
                domain.RoutingRule(r.rule_id, r.category, r.district, r.department) for r in rules
            ),
        )
    return table


async def publish_routing(
    tx: Tx,
    *,
    departments_: list[dict[str, Any]],
    rules: list[dict[str, Any]],
    fallback_department: str,
) -> int | None:
    """Store departments and a new routing version, unless the newest one is identical."""
    await tx.conn.execute(
        insert(departments)
        .values(departments_)
        .on_conflict_do_update(
            index_elements=["id"],
            set_={
                "name": insert(departments).excluded.name,
                "district": insert(departments).excluded.district,
            },
        )
    )
    current = None
    with contextlib.suppress(LookupError):
        current = await current_routing(tx)
    wanted = {(r["rule_id"], r["category"], r.get("district"), r["department"]) for r in rules}
    if (
        current is not None
        and current.fallback_department == fallback_department
        and wanted == {(r.rule_id, r.category, r.district, r.department) for r in current.rules}
    ):
        return None
    version = (current.version if current else 0) + 1
    await tx.conn.execute(
        routing_versions.insert().values(version=version, fallback_department=fallback_department)
    )
    await tx.conn.execute(routing_rules.insert(), [{**r, "version": version} for r in rules])
    return version


async def list_departments(tx: Tx) -> list[dict[str, Any]]:
    rows = await tx.conn.execute(select(departments).order_by(departments.c.id))
    return [dict(r._mapping) for r in rows]


async def save_work_order(
    tx: Tx, order: domain.WorkOrder, *, version: int, event: events.Event
) -> None:
    values = {
        "department": order.department,
        "stage": order.stage,
        "version": version,
        "updated_at": event.time,
    }
    await tx.conn.execute(
        insert(work_orders)
        .values(appeal_id=order.appeal_id, **values)
        .on_conflict_do_update(index_elements=["appeal_id"], set_=values)
    )


async def get_work_order(tx: Tx, appeal_id: UUID) -> dict[str, Any] | None:
    row = (
        await tx.conn.execute(select(work_orders).where(work_orders.c.appeal_id == appeal_id))
    ).one_or_none()
    return None if row is None else dict(row._mapping)
