"""The proof documents audit serves and anyone can check offline with its public key alone:
a signed checkpoint, a fact's inclusion proof (a citizen's receipt is one) and a consistency
proof between two checkpoints. The JSON the API returns is exactly these models, so
`hotline audit verify` reads what was saved from the API. Pure.

Checking a set of documents together also catches a fork: two validly signed checkpoints of
the same size with different roots mean the log told two parties two histories.
"""

from collections.abc import Iterable
from typing import Annotated, Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema

from audit_service.domain import merkle, signing

Hash = Annotated[str, Field(pattern="^[0-9a-f]{64}$", description="SHA-256, lowercase hex")]
Time = Annotated[
    AwareDatetime,
    PlainSerializer(signing.format_time, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time", "example": "2026-05-01T08:00:00Z"}),
]


class _Document(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SignedCheckpoint(_Document):
    """The Merkle root of the first `size` facts audit recorded, signed (docs/receipts.md)."""

    kind: Literal["checkpoint"] = "checkpoint"
    size: int = Field(ge=1)
    root: Hash
    time: Time = Field(description="when it was signed, whole seconds, UTC")
    key_id: str = Field(pattern="^[0-9a-f]{16}$")
    signature: str = Field(pattern="^[0-9a-f]{128}$", description="Ed25519, hex")

    def statement(self) -> signing.Statement:
        return signing.Statement(self.size, self.root, self.time, self.key_id)


class InclusionProof(_Document):
    """RFC 9162 §2.1.3: the fact with this hash is leaf `leaf_index` of the signed tree."""

    kind: Literal["inclusion"] = "inclusion"
    fact_hash: Hash
    leaf_index: int = Field(ge=0)
    audit_path: list[Hash]
    checkpoint: SignedCheckpoint


class ConsistencyProof(_Document):
    """RFC 9162 §2.1.4: the tree of `new` is the tree of `old` with facts appended."""

    kind: Literal["consistency"] = "consistency"
    old: SignedCheckpoint
    new: SignedCheckpoint
    proof: list[Hash]


Document = Annotated[
    SignedCheckpoint | InclusionProof | ConsistencyProof, Field(discriminator="kind")
]


def problems(document: Document, keys: Iterable[Ed25519PublicKey]) -> list[str]:
    """What is wrong with one document, checked with the public keys given (each
    checkpoint names its key's id); empty when it holds."""
    by_id = {signing.key_id(key): key for key in keys}
    if isinstance(document, SignedCheckpoint):
        return _signature(document, by_id)
    if isinstance(document, InclusionProof):
        found = _signature(document.checkpoint, by_id)
        size = document.checkpoint.size
        if not merkle.verify_inclusion(
            merkle.leaf_hash(document.fact_hash),
            document.leaf_index,
            size,
            [bytes.fromhex(node) for node in document.audit_path],
            bytes.fromhex(document.checkpoint.root),
        ):
            found.append(
                f"fact {document.fact_hash} is not leaf {document.leaf_index} of the tree of "
                f"{size} with root {document.checkpoint.root}"
            )
        return found
    found = _signature(document.old, by_id) + _signature(document.new, by_id)
    old, new = document.old, document.new
    if not merkle.verify_consistency(
        old.size,
        new.size,
        bytes.fromhex(old.root),
        bytes.fromhex(new.root),
        [bytes.fromhex(node) for node in document.proof],
    ):
        found.append(f"the tree of {new.size} does not extend the tree of {old.size}")
    return found


def forks(documents: Iterable[Document]) -> list[str]:
    """Signed checkpoints of one size with different roots, across all documents."""
    roots: dict[int, set[str]] = {}
    for checkpoint in checkpoints_in(documents):
        roots.setdefault(checkpoint.size, set()).add(checkpoint.root)
    return [
        f"two roots signed for size {size}: {', '.join(sorted(found))}"
        for size, found in sorted(roots.items())
        if len(found) > 1
    ]


def unlinked(documents: Iterable[Document]) -> list[str]:
    """Receipts not tied to the consistency proofs given with them. Checked together, a
    receipt's checkpoint must be one end of a consistency proof (the same size and root):
    a receipt and a proof about two other trees each verify, and prove nothing together."""
    given = list(documents)
    ends = {
        (end.size, end.root)
        for proof in given
        if isinstance(proof, ConsistencyProof)
        for end in (proof.old, proof.new)
    }
    if not ends:
        return []
    return [
        f"the receipt's checkpoint of {document.checkpoint.size} is no end of a consistency "
        "proof given with it"
        for document in given
        if isinstance(document, InclusionProof)
        and (document.checkpoint.size, document.checkpoint.root) not in ends
    ]


def checkpoints_in(documents: Iterable[Document]) -> Iterable[SignedCheckpoint]:
    for document in documents:
        if isinstance(document, SignedCheckpoint):
            yield document
        elif isinstance(document, InclusionProof):
            yield document.checkpoint
        else:
            yield from (document.old, document.new)


def _signature(checkpoint: SignedCheckpoint, keys: dict[str, Ed25519PublicKey]) -> list[str]:
    key = keys.get(checkpoint.key_id)
    if key is None:
        return [f"checkpoint {checkpoint.size} names key {checkpoint.key_id}, not a key given"]
    if not signing.verify(key, checkpoint.statement(), checkpoint.signature):
        return [f"checkpoint {checkpoint.size}: the signature does not verify"]
    return []


def signed(statement: signing.Statement, signature: str) -> SignedCheckpoint:
    return SignedCheckpoint(
        size=statement.size,
        root=statement.root,
        time=statement.time,
        key_id=statement.key_id,
        signature=signature,
    )
