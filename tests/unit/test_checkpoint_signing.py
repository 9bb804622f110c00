"""Signed checkpoints and proof documents, checked the way an outsider checks them: the
signature with the `cryptography` Ed25519 verifier over bytes written out here, not by
asking the code under test what it signed."""

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit_service.domain import merkle, proofs, signing
from audit_service.settings import AuditSettings

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
OTHER = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
NOW = datetime(2026, 5, 1, 8, 0, 0, 123456, tzinfo=UTC)
LEAVES = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(11)]
NODES = merkle.tree([merkle.leaf_hash(h) for h in LEAVES])


def _checkpoint(size: int, key: Ed25519PrivateKey = KEY) -> proofs.SignedCheckpoint:
    root = merkle.range_hash(NODES, 0, size).hex()
    return proofs.signed(*signing.sign(key, size=size, root=root, now=NOW))


def test_the_signature_covers_the_documented_bytes() -> None:
    checkpoint = _checkpoint(11)
    raw = KEY.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    key_id = hashlib.sha256(raw).hexdigest()[:16]
    written_out = (
        "hotline-audit-checkpoint/v1\n"
        "size 11\n"
        f"root {merkle.root([merkle.leaf_hash(h) for h in LEAVES]).hex()}\n"
        "time 2026-05-01T08:00:00Z\n"
        f"key {key_id}\n"
    ).encode()
    KEY.public_key().verify(bytes.fromhex(checkpoint.signature), written_out)  # raises if not
    assert checkpoint.key_id == key_id
    assert checkpoint.model_dump(mode="json")["time"] == "2026-05-01T08:00:00Z"
    assert proofs.problems(checkpoint, [KEY.public_key()]) == []


def test_a_wrong_key_or_an_altered_statement_fails() -> None:
    checkpoint = _checkpoint(11)
    assert proofs.problems(checkpoint, [OTHER.public_key()])  # names another key
    relabelled = checkpoint.model_copy(update={"key_id": signing.key_id(OTHER.public_key())})
    assert proofs.problems(relabelled, [OTHER.public_key()])  # signed by KEY, not OTHER
    forged_root = checkpoint.model_copy(update={"root": "ab" * 32})
    assert proofs.problems(forged_root, [KEY.public_key()])
    later = checkpoint.model_copy(update={"time": datetime(2026, 5, 2, tzinfo=UTC)})
    assert proofs.problems(later, [KEY.public_key()])
    with pytest.raises(InvalidSignature):
        OTHER.public_key().verify(bytes.fromhex(checkpoint.signature), b"anything")


def test_inclusion_and_consistency_documents_verify_and_a_rewrite_does_not() -> None:
    key = [KEY.public_key()]
    old, new = _checkpoint(6), _checkpoint(11)
    path = [merkle.range_hash(NODES, *r).hex() for r in merkle.inclusion_ranges(4, 6)]
    receipt = proofs.InclusionProof(
        fact_hash=LEAVES[4], leaf_index=4, audit_path=path, checkpoint=old
    )
    steps = [merkle.range_hash(NODES, *r).hex() for r in merkle.consistency_ranges(6, 11)]
    extended = proofs.ConsistencyProof(old=old, new=new, proof=steps)
    assert proofs.problems(receipt, key) == []
    assert proofs.problems(extended, key) == []
    assert proofs.forks([receipt, extended, new]) == []

    altered = receipt.model_copy(update={"fact_hash": hashlib.sha256(b"x").hexdigest()})
    assert proofs.problems(altered, key)
    # A log that rewrote leaf 4 and signed again: its new root does not extend the old one,
    rewritten = [*LEAVES[:4], hashlib.sha256(b"rewritten").hexdigest(), *LEAVES[5:]]
    nodes = merkle.tree([merkle.leaf_hash(h) for h in rewritten])
    forged_new = proofs.signed(
        *signing.sign(KEY, size=11, root=merkle.range_hash(nodes, 0, 11).hex(), now=NOW)
    )
    steps = [merkle.range_hash(nodes, *r).hex() for r in merkle.consistency_ranges(6, 11)]
    assert proofs.problems(proofs.ConsistencyProof(old=old, new=forged_new, proof=steps), key)
    # and re-signing the old size too is a fork against the receipt the citizen kept.
    forged_old = proofs.signed(
        *signing.sign(KEY, size=6, root=merkle.range_hash(nodes, 0, 6).hex(), now=NOW)
    )
    forked = proofs.ConsistencyProof(old=forged_old, new=forged_new, proof=steps)
    assert proofs.problems(forked, key) == []  # consistent with itself...
    assert proofs.forks([receipt, forked])  # ...but not with what the citizen holds


def test_production_refuses_the_development_key(tmp_path: Path) -> None:
    assert AuditSettings(environment="test").signing_key() is signing.DEVELOPMENT_KEY
    production = AuditSettings(environment="production", jwt_jwks_url="https://idp/jwks")
    with pytest.raises(ValueError, match="HOTLINE_CHECKPOINT_SIGNING_KEY"):
        production.signing_key()
    built_in = signing.DEVELOPMENT_KEY.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    given = AuditSettings(
        environment="production",
        jwt_jwks_url="https://idp/jwks",
        checkpoint_signing_key=built_in.decode(),
    )
    with pytest.raises(ValueError, match="refuses the built-in checkpoint signing key"):
        given.signing_key()
    pem = tmp_path / "checkpoint.pem"
    pem.write_bytes(
        KEY.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    mounted = AuditSettings(
        environment="production", jwt_jwks_url="https://idp/jwks", checkpoint_signing_key_file=pem
    )
    assert signing.key_id(mounted.signing_key().public_key()) == signing.key_id(KEY.public_key())
    other_kind = tmp_path / "p256.pem"
    other_kind.write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    with pytest.raises(ValueError, match="must be an Ed25519 private key"):
        AuditSettings(checkpoint_signing_key_file=other_kind).signing_key()
