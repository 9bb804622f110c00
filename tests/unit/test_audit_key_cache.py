"""audit keeps a citizen's key for one request, and within a long one (a streamed export)
for KEY_SECONDS at most: an erasure meanwhile reaches the rest of the export."""

from uuid import UUID, uuid4

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from audit_service import exports, personal
from audit_service.settings import AuditSettings
from shared import personal_data


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


async def test_a_reply_row_after_the_receipts_key_expired_is_not_taken_for_erased(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # a masked export: the receipt (sealed under the citizen's key), then, 31 s later, the
    # department's reply, which holds no sealed data of its own
    now = [0.0]
    shown = exports.Shown(personal.KeyCache(AuditSettings(), clock=lambda: now[0]), opened=False)
    key = AESGCM.generate_key(bit_length=256)
    citizen = uuid4()
    data = personal_data.PersonalData(name="张三", phone="13800138000")
    sealed = personal_data.seal(key, citizen, data)
    receipt = {"personal_data": sealed.model_dump(mode="json"), "content": "停水"}

    async def keys(key_ids: set[UUID]) -> dict[UUID, bytes | None]:
        return dict.fromkeys(key_ids, key)  # never erased

    monkeypatch.setattr(shown.keys._client, "keys", keys)
    await shown(receipt, "appeal-1")
    now[0] = personal.KEY_SECONDS + 1
    reply = await shown({"reply": "已修复，请张三核实"}, "appeal-1")
    assert reply["reply"] == "已修复，请张*核实"  # masked with the name, not withheld
