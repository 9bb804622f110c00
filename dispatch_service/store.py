"""dispatch's tables: departments, versioned routing and SLA policies, the work-order view."""

import base64
import json
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Uuid,
    and_,
    func,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, insert

from dispatch_service import domain, routing, sla
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
    Column("assisting", ARRAY(String(64)), nullable=False, server_default="{}"),
)

routing_versions = Table(
    "routing_versions",
    metadata,
    Column("version", Integer, primary_key=True),
    Column("fallback_department", String(64), nullable=False),
    Column("published_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

sla_policies = Table(
    "sla_policies",
    metadata,
    Column("version", Integer, primary_key=True),
    Column("document", JSONB, nullable=False),
    Column("published_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

work_orders = Table(
    "work_orders",
    metadata,
    Column("appeal_id", Uuid, primary_key=True),
    Column("department", String(64), nullable=False, index=True),
    Column("stage", String(30), nullable=False),
    Column("district", String(64)),
    Column("round", Integer, nullable=False),
    Column("version", Integer, nullable=False),
    Column("sign_for_due", DateTime(timezone=True), nullable=False),
    Column("handle_due", DateTime(timezone=True), nullable=False),
    Column("handled_round", Integer, nullable=False, server_default="0"),
    Column("overdue", Boolean, nullable=False, server_default="false"),
    Column("next_signal_at", DateTime(timezone=True), index=True),
    Column("state", JSONB, nullable=False),  # the folded WorkOrder, for reads
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# Published versions never change, so each is read once per process.
_routing: dict[int, routing.RoutingTable] = {}
_policies: dict[int, sla.SlaPolicy] = {}


async def current_routing(tx: Tx) -> routing.RoutingTable:
    head = (
        await tx.conn.execute(
            select(routing_versions).order_by(routing_versions.c.version.desc()).limit(1)
        )
    ).one_or_none()
    if head is None:
        raise LookupError("no routing table has been published; run `hotline seed`")
    if (table := _routing.get(head.version)) is None:
        rules = await tx.conn.execute(
            select(routing_rules).where(routing_rules.c.version == head.version)
        )
        table = _routing[head.version] = routing.RoutingTable(
            version=head.version,
            fallback_department=head.fallback_department,
            rules=tuple(
                routing.RoutingRule(
                    r.rule_id, r.category, r.district, r.department, tuple(r.assisting)
                )
                for r in rules
            ),
        )
    return table


async def current_policy(tx: Tx) -> sla.SlaPolicy:
    head = (
        await tx.conn.execute(
            select(sla_policies.c.version).order_by(sla_policies.c.version.desc()).limit(1)
        )
    ).scalar_one_or_none()
    if head is None:
        raise LookupError("no SLA policy has been published; run `hotline seed`")
    if (policy := _policies.get(head)) is None:
        document = await tx.conn.scalar(
            select(sla_policies.c.document).where(sla_policies.c.version == head)
        )
        assert document is not None
        policy = _policies[head] = sla.from_document(head, document)
    return policy


async def publish_policy(tx: Tx, policy: sla.SlaPolicy) -> int | None:
    """Store the policy as the next version, unless the newest one says the same."""
    document = sla.to_document(policy)
    newest = (
        await tx.conn.execute(select(sla_policies).order_by(sla_policies.c.version.desc()).limit(1))
    ).one_or_none()
    if newest is not None and newest.document == document:
        return None
    version = (newest.version if newest else 0) + 1
    await tx.conn.execute(sla_policies.insert().values(version=version, document=document))
    return version


async def publish_routing(
    tx: Tx,
    *,
    departments_: list[dict[str, Any]],
    rules: list[dict[str, Any]],
    fallback_department: str,
) -> int | None:
    """Store departments and a new routing version, unless the newest one is identical."""
    stmt = insert(departments).values(departments_)
    await tx.conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["id"],
            set_={"name": stmt.excluded.name, "district": stmt.excluded.district},
        )
    )
    try:
        current: routing.RoutingTable | None = await current_routing(tx)
    except LookupError:
        current = None
    wanted = {
        (
            r["rule_id"],
            r["category"],
            r.get("district"),
            r["department"],
            tuple(r.get("assisting", ())),
        )
        for r in rules
    }
    if (
        current is not None
        and current.fallback_department == fallback_department
        and wanted
        == {(r.rule_id, r.category, r.district, r.department, r.assisting) for r in current.rules}
    ):
        return None
    version = (current.version if current else 0) + 1
    await tx.conn.execute(
        routing_versions.insert().values(version=version, fallback_department=fallback_department)
    )
    await tx.conn.execute(
        routing_rules.insert(), [{"assisting": [], **r, "version": version} for r in rules]
    )
    return version


async def list_departments(tx: Tx) -> list[dict[str, Any]]:
    rows = await tx.conn.execute(select(departments).order_by(departments.c.id))
    return [dict(r._mapping) for r in rows]


async def handled_round(tx: Tx, appeal_id: UUID) -> int:
    found = await tx.conn.scalar(
        select(work_orders.c.handled_round).where(work_orders.c.appeal_id == appeal_id)
    )
    return int(found or 0)


async def save_work_order(
    tx: Tx,
    order: domain.WorkOrder,
    *,
    version: int,
    at: datetime,
    handled_round: int,
    now: datetime,
) -> None:
    handled = handled_round >= order.round
    values = {
        "department": order.department,
        "stage": order.stage,
        "district": order.district,
        "round": order.round,
        "version": version,
        "sign_for_due": order.deadlines.sign_for_due,
        "handle_due": order.deadlines.handle_due,
        "handled_round": handled_round,
        "overdue": order.is_open
        and any(
            mark[0] == "DeadlineMissed"
            and mark[2] in (order.deadlines.sign_for_due, order.deadlines.handle_due)
            for mark in order.signalled
        ),
        "next_signal_at": domain.next_signal_at(order, handled=handled),
        "state": view(order, version=version, handled=handled, now=now),
        "updated_at": at,
    }
    await tx.conn.execute(
        insert(work_orders)
        .values(appeal_id=order.appeal_id, **values)
        .on_conflict_do_update(index_elements=["appeal_id"], set_=values)
    )


def view(order: domain.WorkOrder, *, version: int, handled: bool, now: datetime) -> dict[str, Any]:
    d = order.deadlines
    return {
        "appeal_id": str(order.appeal_id),
        "department": order.department,
        "assisting": list(order.assisting),
        "stage": order.stage,
        "round": order.round,
        "version": version,
        "handled_this_round": handled,
        "category": order.category,
        "district": order.district,
        "appeal_type": order.appeal_type,
        "urgency": order.urgency,
        "pending_extension_days": order.pending_extension,
        "deadlines": {
            "sign_for_due": d.sign_for_due.isoformat(),
            "handle_due": d.handle_due.isoformat(),
            "dispatch_due": d.dispatch_due.isoformat() if d.dispatch_due else None,
            "policy_version": d.policy_version,
            "calendar": d.calendar,
        },
        "assigned_at": order.assigned_at.isoformat(),
        "as_of": now.isoformat(),
    }


def with_clock(row: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The stored view plus how close its running clock is to its deadline, as of `now`."""
    state = row["state"]
    running: str | None = None
    if state["stage"] == "assigned":
        running = "sign_for"
    elif state["stage"] in ("signed_for", "return_requested") and not state["handled_this_round"]:
        running = "handling"
    clock: dict[str, Any] | None = None
    if running is not None:
        start = datetime.fromisoformat(state["assigned_at"])
        due_key = {"sign_for": "sign_for_due", "handling": "handle_due"}[running]
        due = datetime.fromisoformat(state["deadlines"][due_key])
        allowed = (due - start).total_seconds()
        clock = {
            "clock": running,
            "due": due.isoformat(),
            "remaining_seconds": round((due - now).total_seconds()),
            "used_share": round((now - start).total_seconds() / allowed, 3) if allowed else 1,
        }
    return {**state, "overdue": row["overdue"], "running_clock": clock}


async def get_work_order(tx: Tx, appeal_id: UUID) -> dict[str, Any] | None:
    row = (
        await tx.conn.execute(select(work_orders).where(work_orders.c.appeal_id == appeal_id))
    ).one_or_none()
    return None if row is None else dict(row._mapping)


async def set_handled_round(tx: Tx, appeal_id: UUID, handled: int) -> None:
    await tx.conn.execute(
        work_orders.update()
        .where(work_orders.c.appeal_id == appeal_id)
        .values(handled_round=handled)
    )


async def due_for_signals(tx: Tx, now: datetime, limit: int) -> list[UUID]:
    """Work orders whose next warning or overdue mark has come, locked for this transaction;
    another replica's timer skips them rather than waiting."""
    rows = await tx.conn.execute(
        select(work_orders.c.appeal_id)
        .where(work_orders.c.next_signal_at <= now)
        .order_by(work_orders.c.next_signal_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [row.appeal_id for row in rows]


def encode_cursor(updated_at: datetime, appeal_id: UUID) -> str:
    raw = json.dumps([updated_at.isoformat(), str(appeal_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    at, appeal_id = json.loads(raw)
    return datetime.fromisoformat(at), UUID(appeal_id)


async def list_work_orders(
    tx: Tx,
    *,
    department: str | None,
    stage: str | None,
    district: str | None,
    overdue: bool | None,
    open_only: bool,
    after: tuple[datetime, UUID] | None,
    limit: int,
) -> list[dict[str, Any]]:
    query = select(work_orders)
    if department is not None:
        query = query.where(work_orders.c.department == department)
    if stage is not None:
        query = query.where(work_orders.c.stage == stage)
    if open_only:
        query = query.where(work_orders.c.stage != "closed")
    if district is not None:
        query = query.where(work_orders.c.district == district)
    if overdue is not None:
        query = query.where(work_orders.c.overdue == overdue)
    if after is not None:
        at, appeal_id = after
        query = query.where(
            or_(
                work_orders.c.updated_at > at,
                and_(work_orders.c.updated_at == at, work_orders.c.appeal_id > appeal_id),
            )
        )
    rows = await tx.conn.execute(
        query.order_by(work_orders.c.updated_at, work_orders.c.appeal_id).limit(limit)
    )
    return [dict(r._mapping) for r in rows]
