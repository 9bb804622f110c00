"""Alembic, driven from code: each service keeps its revisions in `<service>/migrations/`.

A running service only asks whether its database holds its migrations (`applied`, on every
readiness probe: at the head, or past it once a newer release migrated). It reads that
without alembic, whose modules cost each process about 7 MB: alembic is imported where
migrations run (the CLI, the tests, the revisions)."""

import ast
import asyncio
import functools
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from shared.runtime import roles

if TYPE_CHECKING:
    from alembic.config import Config


def alembic_config(
    migrations_dir: Path, database_url: str, *, runtime_role: str = roles.DEFAULT_RUNTIME_ROLE
) -> "Config":
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    config.attributes[roles.RUNTIME_ROLE_ATTRIBUTE] = runtime_role  # what the grants name
    return config


def upgrade(
    migrations_dir: Path,
    database_url: str,
    revision: str = "head",
    *,
    runtime_role: str = roles.DEFAULT_RUNTIME_ROLE,
) -> None:
    """Upgrade as the database's owner, granting `runtime_role` what the service needs."""
    from alembic import command

    config = alembic_config(migrations_dir, database_url, runtime_role=runtime_role)
    command.upgrade(config, revision)


def run_env(target_metadata: MetaData) -> None:
    """The body of every service's migrations/env.py (online mode, asyncpg)."""
    from alembic import context

    url = context.config.get_main_option("sqlalchemy.url")
    assert url is not None

    def migrate(connection: Connection) -> None:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()

    async def main() -> None:
        engine = create_async_engine(url)
        async with engine.connect() as connection:
            await connection.run_sync(migrate)
            await connection.commit()
        await engine.dispose()

    asyncio.run(main())


@functools.cache
def _revisions(migrations_dir: Path) -> dict[str, object]:
    """Each revision and the revision(s) it revises, from the `revision` and `down_revision`
    each file in versions/ assigns (as alembic's ScriptDirectory reads them; a test
    compares the two for every service)."""
    revisions: dict[str, object] = {}
    for path in sorted((migrations_dir / "versions").glob("*.py")):
        assigned = {
            target.id: node.value
            for node in ast.parse(path.read_text(encoding="utf-8")).body
            # `revision = "…"`, or `revision: str = "…"` as newer alembic templates write
            if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None
            for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
            if isinstance(target, ast.Name)
        }
        if "revision" in assigned:
            down = ast.literal_eval(assigned["down_revision"])
            revisions[str(ast.literal_eval(assigned["revision"]))] = down
    return revisions


def heads(migrations_dir: Path) -> frozenset[str]:
    """The revisions no other revision revises."""
    revisions = _revisions(migrations_dir)
    revised: set[object] = set()
    for down in revisions.values():
        revised.update(down if isinstance(down, tuple) else (down,))
    return frozenset(each for each in revisions if each not in revised)


async def applied(conn: AsyncConnection, migrations_dir: Path) -> bool:
    """Whether the database holds this code's migrations: at their head, or past it (its
    revision is one this code does not know: a newer release migrated first, and migrations
    are expand-then-contract, so this code still runs on it while the rollout replaces it).
    Behind the head, or never migrated, it does not (a database never migrated has no
    alembic_version table: the query fails, as the readiness probe counts it)."""
    current = frozenset(await conn.scalars(text("SELECT version_num FROM alembic_version")))
    if current == heads(migrations_dir):
        return True
    return bool(current) and not current & _revisions(migrations_dir).keys()
