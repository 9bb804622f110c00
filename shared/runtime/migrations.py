"""Alembic, driven from code: each service keeps its revisions in `<service>/migrations/`."""

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from shared.runtime import roles


def alembic_config(
    migrations_dir: Path, database_url: str, *, runtime_role: str = roles.DEFAULT_RUNTIME_ROLE
) -> Config:
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


async def at_head(conn: AsyncConnection, migrations_dir: Path) -> bool:
    heads = set(ScriptDirectory(str(migrations_dir)).get_heads())

    def current(sync_conn: Connection) -> set[str]:
        return set(MigrationContext.configure(sync_conn).get_current_heads())

    return await conn.run_sync(current) == heads
