"""Row seals (domain/records.row_seals): a keyed MAC over the SHA-256 of a row's seal message,
which a replay checks from that SHA-256 alone (live_checks.py)."""

import hashlib
import hmac
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest

from audit_service.domain import records

KEY = b"a seal key of audit's, mounted as a secret"
ROW: dict[str, Any] = {
    "event_id": UUID(int=1),
    "hash": "ab" * 32,
    "topic": "hotline.dispatch",
    "partition": 3,
    "offset": 41,
    "ingested_at": datetime(2026, 10, 9, 8, 30, 0, 123456, tzinfo=UTC),
    "seq": 7,
    "source": "dispatch",
    "type": "appeal.assigned",
    "subject": UUID(int=2),
    "version": 1,
    "time": datetime(2026, 10, 9, 8, 30, 1, tzinfo=UTC),
    "causation_id": None,
    "actor": "system:router",
    "prev_hash": "00" * 32,
}
EDITS: dict[str, Any] = {
    "event_id": UUID(int=9),
    "hash": "cd" * 32,
    "topic": "hotline.feedback",
    "partition": 4,
    "offset": 40,
    "ingested_at": datetime(2026, 10, 9, 8, 30, 0, 123457, tzinfo=UTC),
    "seq": 8,
    "source": "feedback",
    "type": "appeal.closed",
    "subject": UUID(int=3),
    "version": 2,
    "time": datetime(2026, 10, 9, 8, 30, 2, tzinfo=UTC),
    "causation_id": UUID(int=4),
    "actor": "system:routes",
    "prev_hash": "01" * 32,
}


def _seal(row: dict[str, Any], key: bytes = KEY) -> str:
    [seal] = records.row_seals(key, [records.row_values(row)])
    return seal


def test_a_row_seal_is_checked_from_its_rows_digest_as_a_replay_checks_it() -> None:
    digest = hashlib.sha256(records.row_message(records.row_values(ROW))).digest()
    mac = records.row_sealer(KEY).copy()
    mac.update(digest)
    assert hmac.compare_digest(mac.hexdigest(), _seal(ROW))


@pytest.mark.parametrize("column", sorted(EDITS))
def test_a_row_seal_no_longer_holds_for_any_column_edited(column: str) -> None:
    assert set(EDITS) == set(records.ROW_SEALED)
    assert _seal({**ROW, column: EDITS[column]}) != _seal(ROW)


def test_without_the_key_no_row_seal_can_be_made() -> None:
    assert _seal(ROW, key=b"another key") != _seal(ROW)
    unkeyed = hashlib.blake2b(
        hashlib.sha256(records.row_message(records.row_values(ROW))).digest(), digest_size=32
    )
    assert unkeyed.hexdigest() != _seal(ROW)


def test_a_key_longer_than_blake2bs_seals_rows_too() -> None:
    assert _seal(ROW, key=b"k" * 200) != _seal(ROW, key=b"k" * 199)
