"""Two database roles per service: the owner, which owns the schema and runs the migrations,
and the runtime role the service connects as.

The runtime role reads and writes the read models but may only INSERT into the tables that
hold history (each service's `events`, audit's facts and findings): a service whose
credentials leak, or whose code goes wrong, cannot rewrite what it recorded. The relay's one
legitimate change, marking a row published, is a column-level UPDATE on `published_at` only.
Each service's migrations call `grant_runtime` after creating their tables; tables created by
later revisions get the read-model grants by default privileges, so a new history table must
be listed in `append_only` by the revision that creates it.

The runtime role's name is the setting HOTLINE_DATABASE_RUNTIME_ROLE (default
`hotline_runtime`), handed to the revisions by `migrations.upgrade`: services/postgres.sh
creates the role locally, CloudNativePG's `spec.managed.roles` in deploy/.
"""

import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

from sqlalchemy import text

RUNTIME_ROLE_VARIABLE: Final = "HOTLINE_DATABASE_RUNTIME_ROLE"
RUNTIME_ROLE_ATTRIBUTE: Final = "hotline_runtime_role"  # in Alembic's Config.attributes
DEFAULT_RUNTIME_ROLE: Final = "hotline_runtime"
ROLE_NAME: Final = r"^[a-z_][a-z0-9_]{0,62}$"


def runtime_role(op: Any) -> str:
    config = op.get_context().config
    role = (
        DEFAULT_RUNTIME_ROLE
        if config is None
        else config.attributes.get(RUNTIME_ROLE_ATTRIBUTE, DEFAULT_RUNTIME_ROLE)
    )
    if not re.match(ROLE_NAME, role):
        raise ValueError(f"{RUNTIME_ROLE_VARIABLE} must be a plain lower-case role name")
    return str(role)


def grant_runtime(
    op: Any,
    *,
    append_only: Mapping[str, Sequence[str]],
    lockable: Sequence[str] = (),
    create_schemas: bool = False,
) -> None:
    """Grant the runtime role what a service needs (op is alembic.op).

    `append_only` maps each history table to the columns the runtime role may still update
    (none for most); `lockable` tables it may LOCK in any mode (PostgreSQL 17's MAINTAIN:
    lock, vacuum, analyze, reindex, never a change to a row; audit's checkpoints lock the
    facts in SHARE mode to wait out ingest); `create_schemas` lets it create schemas
    (audit's replays rebuild into a fresh one)."""
    role = runtime_role(op)
    bind = op.get_bind()
    if bind.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}) is None:
        raise RuntimeError(
            f"database role {role!r} does not exist: create it first (services/postgres.sh "
            f"does locally, CloudNativePG's managed roles in deploy/), or set "
            f"{RUNTIME_ROLE_VARIABLE}"
        )
    for statement in (
        f"GRANT USAGE ON SCHEMA public TO {role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}",
        "ALTER DEFAULT PRIVILEGES IN SCHEMA public "
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {role}",
        # The runtime reads the revision (readiness) but never moves it.
        f"REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON alembic_version FROM {role}",
    ):
        op.execute(statement)
    for table, columns in append_only.items():
        op.execute(f"REVOKE UPDATE, DELETE, TRUNCATE ON {table} FROM {role}")
        if columns:
            op.execute(f"GRANT UPDATE ({', '.join(columns)}) ON {table} TO {role}")
    for table in lockable:
        op.execute(f"GRANT MAINTAIN ON {table} TO {role}")
    if create_schemas:
        database = bind.scalar(text("SELECT current_database()"))
        op.execute(f'GRANT CREATE ON DATABASE "{database}" TO {role}')


def revoke_runtime(op: Any) -> None:
    """Undo grant_runtime (a downgrade)."""
    role = runtime_role(op)
    database = op.get_bind().scalar(text("SELECT current_database()"))
    for statement in (
        f'REVOKE CREATE ON DATABASE "{database}" FROM {role}',
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON TABLES FROM {role}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON SEQUENCES FROM {role}",
        f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}",
        f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {role}",
        f"REVOKE USAGE ON SCHEMA public FROM {role}",
    ):
        op.execute(statement)
