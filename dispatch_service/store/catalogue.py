"""The catalogue's SQL: departments, and the routing and SLA versions work orders are decided by."""

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from dispatch_service.domain import routing, sla
from dispatch_service.store import versions
from dispatch_service.store.tables import departments, routing_rules, routing_versions, sla_policies
from shared.runtime.eventstore import Tx

# Published versions never change, so each is read once per process.
_routing: dict[int, routing.RoutingTable] = {}
_policies: dict[int, sla.SlaPolicy] = {}


async def current_routing(tx: Tx) -> routing.RoutingTable:
    """The routing table in force: its version read with the others in force, once per
    transaction (versions.in_force), each version's rules once per process."""
    version = (await versions.in_force(tx)).routing
    if version is None:
        raise LookupError("no routing table has been published; run `hotline seed`")
    if (table := _routing.get(version)) is None:
        head = (
            await tx.conn.execute(
                select(routing_versions).where(routing_versions.c.version == version)
            )
        ).one()
        rules = await tx.conn.execute(
            select(routing_rules).where(routing_rules.c.version == version)
        )
        table = _routing[version] = routing.RoutingTable(
            version=version,
            fallback_department=head.fallback_department,
            rules=tuple(
                routing.RoutingRule(
                    r.rule_id, r.category, r.district, r.department, tuple(r.assisting)
                )
                for r in rules
            ),
        )
    return table


async def _policy_versions(tx: Tx) -> list[tuple[int, datetime]]:
    """Every published version and when it takes effect: a handful of rows, read with the
    other versions in force once per transaction (versions.in_force)."""
    return (await versions.in_force(tx)).policies


async def policy_in_force(tx: Tx, at: datetime) -> sla.SlaPolicy:
    """The SLA policy version in force at `at` (sla.in_force decides which)."""
    version = sla.in_force(await _policy_versions(tx), at)
    if version is None:
        raise LookupError("no SLA policy was in force yet; run `hotline seed`")
    return await policy_version(tx, version)


async def policy_version(tx: Tx, version: int) -> sla.SlaPolicy:
    """A published policy by version: the one a work order's deadlines are pinned to."""
    if (policy := _policies.get(version)) is None:
        row = (
            await tx.conn.execute(select(sla_policies).where(sla_policies.c.version == version))
        ).one_or_none()
        if row is None:
            raise LookupError(f"SLA policy v{version} was never published")
        policy = _policies[version] = sla.from_document(
            version, row.document, effective_from=row.effective_from
        )
    return policy


async def list_policies(tx: Tx) -> list[sla.SlaPolicy]:
    return [await policy_version(tx, v) for v, _ in await _policy_versions(tx)]


async def publish_policy(tx: Tx, policy: sla.SlaPolicy, *, effective_from: datetime) -> int | None:
    """Store the policy as the next version, taking effect at `effective_from`, unless the
    version in force then already says the same and nothing is scheduled after it."""
    document = sla.to_document(policy)
    published = await _policy_versions(tx)
    standing = sla.in_force(published, effective_from)
    if (
        standing is not None
        and all(effective <= effective_from for _, effective in published)
        and sla.to_document(await policy_version(tx, standing)) == document
    ):
        return None
    version = max((v for v, _ in published), default=0) + 1
    await tx.conn.execute(
        sla_policies.insert().values(
            version=version, document=document, effective_from=effective_from
        )
    )
    versions.forget(tx)  # this transaction now sees the new version
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
    if rules:  # an empty list would run one INSERT of defaults: a rule with no version
        await tx.conn.execute(
            routing_rules.insert(), [{"assisting": [], **r, "version": version} for r in rules]
        )
    versions.forget(tx)  # this transaction now sees the new version
    return version


async def list_departments(tx: Tx, *, after: str | None, limit: int) -> list[dict[str, Any]]:
    query = select(departments).order_by(departments.c.id).limit(limit)
    if after is not None:
        query = query.where(departments.c.id > after)
    return [dict(r._mapping) for r in await tx.conn.execute(query)]
