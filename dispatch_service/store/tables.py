"""dispatch's tables: departments, versioned routing and SLA policies, the work-order view."""

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Uuid,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

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
    # From when the version governs appeals received (domain/sla.py: in_force).
    Column("effective_from", DateTime(timezone=True), nullable=False),
)

work_orders = Table(
    "work_orders",
    metadata,
    Column("appeal_id", Uuid, primary_key=True),
    Column("department", String(64), nullable=False, index=True),
    # its assisting departments: their queues list it too (GIN index, migration assist_0005)
    Column("assisting", ARRAY(String(64)), nullable=False, server_default="{}"),
    Column("stage", String(30), nullable=False),
    Column("district", String(64)),
    Column("round", Integer, nullable=False),
    Column("version", Integer, nullable=False),
    Column("sign_for_due", DateTime(timezone=True), nullable=False),
    Column("handle_due", DateTime(timezone=True), nullable=False),
    Column("handled_round", Integer, nullable=False, server_default="0"),
    Column("overdue", Boolean, nullable=False, server_default="false"),
    Column("next_signal_at", DateTime(timezone=True), index=True),
    # Years its deadlines were counted across on weekdays, for want of a published
    # arrangement: the timer recomputes them once one is published.
    Column("provisional_years", ARRAY(Integer), nullable=False, server_default="{}"),
    Column("state", JSONB, nullable=False),  # the folded WorkOrder, for reads
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_work_orders_assisting", "assisting", postgresql_using="gin"),
)

# The working-day calendar's versions, projected from the calendar stream's facts: version n
# is the seed plus the arrangements of versions 1..n (a year's latest wins).
calendar_versions = Table(
    "calendar_versions",
    metadata,
    Column("number", Integer, primary_key=True),
    Column("stream_id", Uuid, nullable=False),  # the calendar's stream, drawn at number 1
    Column("year", Integer, nullable=False),
    Column("holidays", ARRAY(Date), nullable=False),
    Column("workdays", ARRAY(Date), nullable=False),
    Column("note", String(4000)),
    Column("published_by", String(200), nullable=False),
    Column("published_at", DateTime(timezone=True), nullable=False),
)
