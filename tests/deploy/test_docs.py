"""docs/operations.md keeps the one table of settings: every HOTLINE_* variable the code
reads, and nothing else."""

import re

from services.catalog import SERVICES
from shared.runtime.settings import KafkaGroupTiming, KafkaSecurity
from tests.deploy.manifests import ROOT

OPERATIONS = ROOT / "docs" / "operations.md"


def settings_the_code_reads() -> set[str]:
    names = {"HOTLINE_SECRETS_DIR"}  # read by shared.runtime.settings.load
    for service in SERVICES.values():
        names |= {f"HOTLINE_{field.upper()}" for field in service.settings.model_fields}
    for kafka_settings in (KafkaSecurity, KafkaGroupTiming):
        names |= {
            info.validation_alias
            if isinstance(info.validation_alias, str)  # a variable of its own name
            else f"HOTLINE_KAFKA_{field.upper()}"
            for field, info in kafka_settings.model_fields.items()
        }
    return names


def settings_table() -> list[str]:
    lines = OPERATIONS.read_text().splitlines()
    start = lines.index("## Settings")
    rows: list[str] = []
    for line in lines[start:]:
        if line.startswith("## ") and rows:
            break
        if match := re.match(r"^\| `(HOTLINE_[A-Z0-9_]+)` \|", line):
            rows.append(match.group(1))
    return rows


def test_the_settings_table_lists_every_setting_once() -> None:
    rows = settings_table()
    assert len(rows) == len(set(rows)), "a variable listed twice"
    assert set(rows) == settings_the_code_reads()


def test_the_readme_points_to_the_table_instead_of_keeping_its_own() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "docs/operations.md" in readme
    assert not re.search(r"^\| `HOTLINE_DATABASE_URL`", readme, flags=re.M)
