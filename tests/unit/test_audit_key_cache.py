"""audit keeps a citizen's key for one request, and within a long one (a streamed export)
for KEY_SECONDS at most: an erasure meanwhile reaches the rest of the export."""

from uuid import UUID, uuid4

import pytest

from audit_service import personal
from audit_service.settings import AuditSettings


def _sealed(key_id: UUID) -> dict[str, object]:
    return {"personal_data": {"key_id": str(key_id), "ciphertext": "AAAA", "nonce": "A" * 16}}


async def test_a_key_is_asked_once_then_again_once_it_is_too_old(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [0.0]
    cache = personal.KeyCache(AuditSettings(), clock=lambda: now[0])
    first, second = uuid4(), uuid4()
    asked: list[set[UUID]] = []
    erased: set[UUID] = set()

    async def keys(key_ids: set[UUID]) -> dict[UUID, bytes | None]:
        asked.append(set(key_ids))
        return {k: None if k in erased else b"k" * 32 for k in key_ids}

    monkeypatch.setattr(cache._client, "keys", keys)
    assert (await cache.keys([_sealed(first)]))[first] == b"k" * 32
    now[0] = personal.KEY_SECONDS / 2
    await cache.keys([_sealed(first), _sealed(second)])
    assert asked[-1] == {second}  # the first is still fresh
    erased.add(first)  # the citizen is erased while the export streams on
    now[0] = personal.KEY_SECONDS
    seen = await cache.keys([_sealed(first)])
    assert asked[-1] == {first}
    assert seen[first] is None  # asked again: shown erased from here on
    assert second in seen  # younger than KEY_SECONDS: kept
