"""Installs come from hashed lock files: each pin of pyproject.toml must be in them, hashed."""

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _pins(requirements: list[str]) -> dict[str, str]:
    found = {}
    for requirement in requirements:
        name, _, version = requirement.partition("==")
        found[re.sub(r"\[.*\]", "", name).strip().lower()] = version.strip()
    return found


def _locked(lock: str) -> dict[str, str]:
    text = (ROOT / "requirements" / lock).read_text()
    return {
        m["name"].lower(): m["version"]
        for m in re.finditer(
            r"^(?P<name>[A-Za-z0-9._-]+)==(?P<version>\S+) \\\n\s+--hash=sha256:", text, re.M
        )
    }


@pytest.mark.parametrize(
    ("lock", "requirements"),
    [
        ("runtime.lock", PROJECT["dependencies"]),
        ("dev.lock", PROJECT["dependencies"] + PROJECT["optional-dependencies"]["dev"]),
    ],
)
def test_every_pin_is_locked_with_a_hash(lock: str, requirements: list[str]) -> None:
    locked = _locked(lock)
    stale = {
        name: (version, locked.get(name.replace("_", "-"), locked.get(name)))
        for name, version in _pins(requirements).items()
        if locked.get(name.replace("_", "-"), locked.get(name)) != version
    }
    assert not stale, f"pyproject pins missing from {lock} (run `make lock`): {stale}"


def test_every_locked_line_carries_a_hash() -> None:
    for lock in ("runtime.lock", "dev.lock"):
        text = (ROOT / "requirements" / lock).read_text()
        pins = re.findall(r"^[A-Za-z0-9._-]+==\S+", text, re.M)
        assert len(pins) == len(_locked(lock)) > 10, lock
