"""Readiness asks whether a database is at its migrations' head without importing alembic
(shared/runtime/migrations.py): the head read from the revision files must be alembic's,
and a database one revision behind, or never migrated, must not count as at the head."""

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.ext.asyncio import create_async_engine

from services.catalog import SERVICES
from shared.runtime import migrations
from tests.support import infra


@pytest.mark.parametrize("name", list(SERVICES))
def test_the_head_read_from_the_files_is_alembics(name: str) -> None:
    directory = SERVICES[name].migrations
    assert migrations.heads(directory) == set(ScriptDirectory(str(directory)).get_heads())


def test_revisions_written_with_annotations_are_read_too(tmp_path: Path) -> None:
    versions = tmp_path / "versions"
    versions.mkdir()
    (versions / "a.py").write_text('revision = "a"\ndown_revision = None\n')
    (versions / "b.py").write_text('revision: str = "b"\ndown_revision: str | None = "a"\n')
    (versions / "c.py").write_text('revision: str = "c"\ndown_revision = ("a",)\n')
    assert migrations.heads(versions.parent) == {"b", "c"}


def test_a_service_process_imports_neither_alembic_nor_typer() -> None:
    """Their modules cost each process about 9 MB; only the CLI and the revisions need them."""
    probe = "; ".join(
        [
            "import sys, services.entrypoint",
            *(f"import {service.app.split(':')[0]}" for service in SERVICES.values()),
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'alembic', 'typer'}))",
        ]
    )
    found = subprocess.run(
        [sys.executable, "-c", probe], check=True, capture_output=True, text=True
    ).stdout
    assert found.strip() == "[]"


async def test_a_database_at_or_past_the_head_is_applied_one_behind_it_is_not(
    servers: None,
) -> None:
    directory = SERVICES["intake"].migrations
    url = infra.owner_url(await infra.fresh_database("t_head", directory))
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            assert await migrations.applied(conn, directory) is True
            # A newer release migrated first (a revision this code does not know): the old
            # pods stay ready through the rollout, as expand-then-contract allows.
            await conn.exec_driver_sql("UPDATE alembic_version SET version_num = 'from_newer'")
            assert await migrations.applied(conn, directory) is True
            await conn.rollback()
        config = migrations.alembic_config(directory, url)
        await asyncio.to_thread(command.downgrade, config, "-1")
        async with engine.connect() as conn:
            assert await migrations.applied(conn, directory) is False
            await conn.exec_driver_sql("DELETE FROM alembic_version")  # migrated down to base
            assert await migrations.applied(conn, directory) is False
            await conn.exec_driver_sql("DROP TABLE alembic_version")
            await conn.commit()
        async with engine.connect() as conn:  # never migrated: readiness counts the error
            with pytest.raises(ProgrammingError, match="alembic_version"):
                await migrations.applied(conn, directory)
    finally:
        await engine.dispose()


async def _indexes(url: str) -> set[str]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            found = await conn.exec_driver_sql("SELECT indexname FROM pg_indexes")
            return {str(row[0]) for row in found}
    finally:
        await engine.dispose()


@pytest.mark.parametrize(
    ("name", "building", "index"),
    [
        *((name, "idempotency_0001", "ix_idempotency_keys_created_at") for name in SERVICES),
        ("audit", "audit_rest_0013", "ix_facts_place"),
    ],
)
async def test_an_index_built_concurrently_is_built_on_a_database_that_lacks_it(
    servers: None, name: str, building: str, index: str
) -> None:
    """The revisions that index a table outside the migration's transaction (so a large
    table keeps taking writes) drop the index going down and build it going up."""
    directory = SERVICES[name].migrations
    url = infra.owner_url(await infra.fresh_database(f"t_{name}", directory))
    config = migrations.alembic_config(directory, url)
    assert index in await _indexes(url)
    before = ScriptDirectory(str(directory)).get_revision(building).down_revision
    assert isinstance(before, str)
    await asyncio.to_thread(command.downgrade, config, before)
    assert index not in await _indexes(url)
    await asyncio.to_thread(command.upgrade, config, "head")
    assert index in await _indexes(url)


async def test_an_index_left_invalid_by_a_failed_build_is_built_again(servers: None) -> None:
    """A concurrent build that failed or was cancelled leaves the index INVALID, present but
    never used: the revision run again must rebuild it, not skip it as existing."""
    directory = SERVICES["audit"].migrations
    url = infra.owner_url(await infra.fresh_database("t_invalid", directory))
    engine = create_async_engine(url)
    valid = (
        "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE c.relname = 'ix_facts_place'"
    )
    try:
        async with engine.begin() as conn:
            await conn.exec_driver_sql(
                "UPDATE pg_index SET indisvalid = false WHERE indexrelid = "
                "'ix_facts_place'::regclass"
            )
            await conn.exec_driver_sql("UPDATE alembic_version SET version_num = 'audit_rest_0012'")
        async with engine.connect() as conn:
            assert await conn.scalar(text(valid)) is False
        await asyncio.to_thread(
            command.upgrade, migrations.alembic_config(directory, url), "audit_rest_0013"
        )
        async with engine.connect() as conn:
            assert await conn.scalar(text(valid)) is True
    finally:
        await engine.dispose()


async def test_the_place_index_holds_each_facts_hash_and_goes_back_without_it(
    servers: None,
) -> None:
    """audit_rest_0017 builds `ix_facts_place` again with the hash in it (a replay's pass
    reads hashes from the index alone); going down builds it again without."""
    directory = SERVICES["audit"].migrations
    url = infra.owner_url(await infra.fresh_database("t_place", directory))
    config = migrations.alembic_config(directory, url)
    definition = "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_facts_place'"
    engine = create_async_engine(url)
    try:
        for revision, holds_hash in (("head", True), ("audit_rest_0016", False), ("head", True)):
            await asyncio.to_thread(command.upgrade if holds_hash else command.downgrade,
                                    config, revision)  # fmt: skip
            async with engine.connect() as conn:
                found = await conn.scalar(text(definition))
            assert found is not None
            assert ("INCLUDE (hash)" in found) is holds_hash, found
            assert "ix_facts_place_new" not in await _indexes(url)
    finally:
        await engine.dispose()
