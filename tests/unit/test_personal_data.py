"""The crypto-shredding primitives: sealing, the KEK, blind indexes, the erased view, and
the upcaster that keeps facts from before sealing readable."""

import base64
import json
from uuid import UUID, uuid4

import pytest

from audit_service import personal as audit_personal
from intake_service import personal as intake_personal
from shared import envelope, events, personal_data, upcasting
from shared.personal_data import Kek, PersonalData, UnsealError
from tests.unit import factories

ALICE = PersonalData(name="王小明", phone="13912345678", id_number="11010519491231002X")


def test_sealed_data_opens_with_its_key_and_hides_the_plaintext() -> None:
    key, key_id = personal_data.new_data_key(), uuid4()
    sealed = personal_data.seal(key, key_id, ALICE)
    assert personal_data.unseal(key, sealed) == ALICE
    dumped = sealed.model_dump_json()
    assert "13912345678" not in dumped
    assert "王小明" not in dumped
    assert "\\u738b" not in dumped.lower()  # nor JSON-escaped
    # every seal draws a fresh nonce: the same data never gives the same ciphertext
    assert personal_data.seal(key, key_id, ALICE).ciphertext != sealed.ciphertext


def test_a_wrong_key_or_an_altered_blob_fails_authentication() -> None:
    key, key_id = personal_data.new_data_key(), uuid4()
    sealed = personal_data.seal(key, key_id, ALICE)
    with pytest.raises(UnsealError):
        personal_data.unseal(personal_data.new_data_key(), sealed)
    with pytest.raises(UnsealError):  # the key id is authenticated: no passing off
        personal_data.unseal(key, sealed.model_copy(update={"key_id": uuid4()}))
    raw = bytearray(base64.b64decode(sealed.ciphertext))
    raw[0] ^= 1
    flipped = base64.b64encode(bytes(raw)).decode()
    with pytest.raises(UnsealError):
        personal_data.unseal(key, sealed.model_copy(update={"ciphertext": flipped}))


def test_the_kek_wraps_keys_and_refuses_another_keks_or_ids_wrapping() -> None:
    kek = Kek(bytes(range(32)))
    key, key_id = personal_data.new_data_key(), uuid4()
    wrapped = kek.wrap(key_id, key)
    assert key not in wrapped
    assert kek.unwrap(key_id, wrapped) == key
    with pytest.raises(UnsealError):
        Kek(bytes(32)).unwrap(key_id, wrapped)
    with pytest.raises(UnsealError):
        kek.unwrap(uuid4(), wrapped)
    with pytest.raises(ValueError, match="32 bytes"):
        Kek.from_base64("c2hvcnQ=")


def test_an_erased_key_shows_the_data_as_erased() -> None:
    key, key_id = personal_data.new_data_key(), uuid4()
    sealed = personal_data.seal(key, key_id, ALICE)
    assert personal_data.reveal(sealed, key) == (ALICE, "shown")
    assert personal_data.reveal(sealed, None) == (PersonalData(), "erased")
    assert personal_data.reveal(None, None) == (PersonalData(), "none")


@pytest.mark.parametrize(
    "written", ["13800138000", "+86 138-0013-8000", "008613800138000", "86 138 0013 8000"]
)
def test_the_blind_index_finds_one_citizen_however_the_number_is_written(written: str) -> None:
    secret = b"index-key"
    assert personal_data.phone_index(secret, written) == personal_data.phone_index(
        secret, "13800138000"
    )
    assert personal_data.phone_index(b"another-key", written) != personal_data.phone_index(
        secret, written
    )
    assert "13800138000" not in personal_data.phone_index(secret, written)


def test_a_v1_appeal_received_reads_with_its_personal_data_in_clear() -> None:
    current = factories.received()
    wire = envelope.encode(current, version=1, prev_hash=envelope.GENESIS_HASH)
    document = json.loads(wire.body)
    document["schema_version"] = 1
    document["data"] |= {
        "citizen": {"name": "张三", "phone": "13800138000", "anonymous": False},
        "location": {
            "address": "幸福路1号",
            "district": "east",
            "lat": 39.90123,
            "long": 116.40456,
        },
    }
    del document["data"]["personal_data"]
    old = envelope.decode(envelope.canonical_json(document))
    assert isinstance(old.event, events.AppealReceived)
    assert old.event.citizen == events.CitizenTraits(anonymous=False)
    assert old.event.location == events.Place(district="east", lat=39.9, long=116.4)
    assert old.event.personal_data == factories.CITIZEN.model_copy(update={"id_number": None})
    assert (
        upcasting.upcast("appeal.received", 1, {"citizen": {}, "location": {}}, current=2)[
            "personal_data"
        ]
        is None
    )


def test_a_new_appeal_received_carries_only_ciphertext() -> None:
    body = envelope.encode(
        factories.received(), version=1, prev_hash=envelope.GENESIS_HASH
    ).body.decode()
    for plaintext in ("张三", "13800138000", "幸福路1号", "39.90123", "116.40456"):
        assert plaintext not in body
    decoded = envelope.decode(body.encode()).event
    assert isinstance(decoded, events.AppealReceived)
    assert isinstance(decoded.personal_data, personal_data.Sealed)
    assert personal_data.unseal(factories.CITIZEN_KEY, decoded.personal_data) == factories.CITIZEN


TEXT = "我叫张三，电话139 1234 5678，住幸福路1号"


def test_free_text_is_sealed_apart_and_erased_with_the_key() -> None:
    key, key_id = personal_data.new_data_key(), uuid4()
    sealed = personal_data.seal_text(key, key_id, TEXT)
    assert personal_data.unseal_text(key, sealed) == TEXT
    assert "张三" not in sealed.model_dump_json()
    # neither blob passes for the other under the same key
    with pytest.raises(UnsealError):
        personal_data.unseal(key, sealed)
    with pytest.raises(UnsealError):
        personal_data.unseal_text(key, personal_data.seal(key, key_id, ALICE))
    assert personal_data.reveal_text(None, sealed, key) == TEXT
    assert personal_data.reveal_text(None, sealed, None) is None  # erased
    assert personal_data.reveal_text("v2 text", None, None) == "v2 text"  # recorded in clear
    # the longest content (4,000 characters of 4 bytes each) fits the sealed model
    personal_data.seal_text(key, key_id, "𠀀" * 4000)


def test_an_appeal_received_has_its_content_in_clear_or_sealed_never_both_nor_none() -> None:
    current = factories.received()
    sealed = factories.sealed_text(TEXT)
    assert current.model_copy(update={"content": None, "sealed_content": sealed}).content is None
    for content, sealed_content in ((None, None), ("x", sealed)):
        with pytest.raises(ValueError, match="either in clear"):
            events.AppealReceived.model_validate(
                current.model_dump() | {"content": content, "sealed_content": sealed_content}
            )


def test_a_v2_appeal_received_reads_with_its_content_in_clear() -> None:
    wire = envelope.encode(factories.received(), version=1, prev_hash=envelope.GENESIS_HASH)
    document = json.loads(wire.body)
    document["schema_version"] = 2
    del document["data"]["sealed_content"]
    old = envelope.decode(envelope.canonical_json(document)).event
    assert isinstance(old, events.AppealReceived)
    assert (old.content, old.sealed_content) == ("小区停水三天了", None)


def test_intake_shows_sealed_content_with_its_key_and_none_once_erased() -> None:
    received = factories.received().model_copy(
        update={"content": None, "sealed_content": factories.sealed_text(TEXT)}
    )
    row = received.model_dump(mode="json")
    keys = {factories.CITIZEN_KEY_ID: factories.CITIZEN_KEY}
    shown = intake_personal.revealed(row, keys)
    assert (shown["content"], shown["personal_data"]) == (TEXT, "shown")
    erased = intake_personal.revealed(row, {})
    assert (erased["content"], erased["personal_data"]) == (None, "erased")
    assert intake_personal.key_of(row) == factories.CITIZEN_KEY_ID
    # a row blanked by erasure keeps no text recorded in clear (v2)
    assert intake_personal.blanked(factories.received().model_dump(mode="json"))["content"] is None


def test_audit_opens_content_for_personal_data_and_masks_it_otherwise() -> None:
    received = factories.received().model_copy(
        update={"content": None, "sealed_content": factories.sealed_text(TEXT)}
    )
    data = received.model_dump(mode="json")
    keys = {factories.CITIZEN_KEY_ID: factories.CITIZEN_KEY}
    assert audit_personal.key_ids([data]) == {factories.CITIZEN_KEY_ID}
    [opened] = audit_personal.opened([data], keys)
    assert opened["content"] == TEXT
    assert opened["sealed_content"] == {"state": "shown"}
    assert opened["personal_data"]["name"] == factories.CITIZEN.name
    [masked] = audit_personal.masked([data], keys)
    assert "139 1234 5678" not in masked["content"]
    assert "5678" in masked["content"]  # masked, not dropped
    assert "ciphertext" in masked["personal_data"]  # still sealed
    assert "张三" not in json.dumps(masked, ensure_ascii=False)
    [erased] = audit_personal.opened([data], {factories.CITIZEN_KEY_ID: None})
    assert (erased["content"], erased["sealed_content"]) == (None, {"state": "erased"})
    assert erased["personal_data"]["state"] == "erased"


def test_a_comment_is_sealed_from_rated_v4_and_callback_v3_and_read_in_clear_before() -> None:
    rated = factories.rated(factories.handled(factories.assigned(factories.received())))
    sealed = rated.model_copy(
        update={"comment": None, "sealed_comment": factories.sealed_text(TEXT)}
    )
    wire = envelope.encode(sealed, version=1, prev_hash=envelope.GENESIS_HASH).body
    assert "张三" not in wire.decode()
    assert "139 1234 5678" not in wire.decode()
    with pytest.raises(ValueError, match="not both"):
        events.Rated.model_validate(
            rated.model_dump() | {"sealed_comment": factories.sealed_text(TEXT)}
        )
    for kind, version in (("appeal.rated", 3), ("appeal.callback_made", 2)):
        old = upcasting.upcast(kind, version, {"comment": "很快"}, current=version + 1)
        assert old == {"comment": "很快", "sealed_comment": None}
    [opened] = audit_personal.opened(
        [sealed.model_dump(mode="json")], {factories.CITIZEN_KEY_ID: factories.CITIZEN_KEY}
    )
    assert (opened["comment"], opened["sealed_comment"]) == (TEXT, {"state": "shown"})


def test_a_comment_rows_after_its_receipt_is_masked_with_the_citizens_name() -> None:
    received = factories.received()
    rated = factories.rated(factories.handled(factories.assigned(received)))
    said = rated.model_copy(
        update={"comment": None, "sealed_comment": factories.sealed_text("张三说还没修好")}
    )
    keys = {factories.CITIZEN_KEY_ID: factories.CITIZEN_KEY}
    known: dict[UUID, str | None] = {}
    audit_personal.masked([received.model_dump(mode="json")], keys, known)  # one row
    [comment] = audit_personal.masked([said.model_dump(mode="json")], keys, known)  # the next
    assert comment["comment"] == "张*说还没修好"


def test_a_reply_naming_the_citizen_is_masked_and_withheld_whole_once_they_are_erased() -> None:
    received = factories.received()
    reply = factories.handled(factories.assigned(received)).model_copy(
        update={"reply": "已联系张三 管道已修复", "person": "王工"}
    )
    datas = [received.model_dump(mode="json"), reply.model_dump(mode="json")]
    living = {factories.CITIZEN_KEY_ID: factories.CITIZEN_KEY}
    # a history: the appeal's facts together
    shown = audit_personal.masked(datas, living)[1]
    assert shown["reply"] == "已联系张* 管道已修复"
    # an export: the reply rows after its receipt, knowing only the appeal's keys met so far
    known: dict[UUID, str | None] = {}
    audit_personal.masked(datas[:1], living, known)
    [exported] = audit_personal.masked(datas[1:], living, known, {factories.CITIZEN_KEY_ID})
    assert exported["reply"] == "已联系张* 管道已修复"
    # erased: the name is gone, so it cannot be found in the text; the text is withheld
    erased = {factories.CITIZEN_KEY_ID: None}
    for withheld in (
        audit_personal.masked(datas, erased)[1],
        audit_personal.masked(datas[1:], erased, {}, {factories.CITIZEN_KEY_ID})[0],
    ):
        assert "张三" not in json.dumps(withheld, ensure_ascii=False)
        assert withheld["reply"] == "*" * len(reply.reply)
        assert (withheld["department"], withheld["result"]) == ("water", "solved")
    [receipt] = audit_personal.masked(datas[:1], erased)
    assert receipt["personal_data"] == datas[0]["personal_data"]  # still sealed, untouched
