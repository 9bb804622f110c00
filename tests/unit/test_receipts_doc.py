"""docs/receipts.md's worked example is what the code produces, and it verifies: a third
party implementing the written algorithm can test against real bytes."""

import hashlib
import json
import re
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from audit_service.domain import merkle, proofs, signing

DOC = Path(__file__).resolve().parents[2] / "docs" / "receipts.md"
KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
FACTS = [hashlib.sha256(f"fact {i}".encode()).hexdigest() for i in range(5)]


def _example() -> proofs.InclusionProof:
    nodes = merkle.tree([merkle.leaf_hash(h) for h in FACTS])
    statement, signature = signing.sign(
        KEY,
        size=5,
        root=merkle.range_hash(nodes, 0, 5).hex(),
        now=datetime(2026, 5, 1, 8, tzinfo=UTC),
    )
    path = [merkle.range_hash(nodes, *r).hex() for r in merkle.inclusion_ranges(2, 5)]
    return proofs.InclusionProof(
        fact_hash=FACTS[2],
        leaf_index=2,
        audit_path=path,
        checkpoint=proofs.signed(statement, signature),
    )


def test_the_worked_example_is_what_the_code_produces_and_it_verifies() -> None:
    text = DOC.read_text()
    [shown] = re.findall(r"```json\n(\{\n  \"kind\": \"inclusion\".*?)\n```", text, flags=re.S)
    example = _example()
    assert json.loads(shown) == example.model_dump(mode="json")
    assert signing.public_pem(KEY.public_key()).strip() in text
    assert proofs.problems(example, [KEY.public_key()]) == []
    leaf = merkle.leaf_hash(example.fact_hash).hex()
    assert f"`{leaf}`" in text  # the table's first step
    assert f"`{example.checkpoint.root}`" in text  # and its last
