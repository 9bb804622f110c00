"""The Merkle tree against values computed elsewhere: the certificate-transparency test
vectors (the eight leaves every RFC 6962 implementation checks itself with) and a second,
deliberately naive implementation written here from the RFC 9162 text (§2.1.1, §2.1.3.1,
§2.1.4.1), working on lists of leaves where audit works on stored subtree nodes."""

import hashlib

import pytest

from audit_service.domain import merkle

# The certificate-transparency reference vectors: leaf inputs, and the roots and proofs
# published for them.
CT_INPUTS = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    bytes(range(0x50, 0x58)),
    bytes(range(0x60, 0x70)),
]
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
CT_CONSISTENCY = {
    (1, 8): [
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    (6, 8): [
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
    (2, 5): [
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ],
}
CT_INCLUSION = {  # (leaf index, tree size) -> path
    (0, 8): CT_CONSISTENCY[(1, 8)],
    (5, 8): [
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
}
CT_LEAVES = [hashlib.sha256(b"\x00" + data).digest() for data in CT_INPUTS]


# --- RFC 9162 §2.1, transcribed naively over lists of leaf hashes ---------------------
def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(d: list[bytes]) -> bytes:
    if not d:
        return hashlib.sha256(b"").digest()
    if len(d) == 1:
        return d[0]
    k = _k(len(d))
    return hashlib.sha256(b"\x01" + mth(d[:k]) + mth(d[k:])).digest()


def path(m: int, d: list[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = _k(len(d))
    if m < k:
        return [*path(m, d[:k]), mth(d[k:])]
    return [*path(m - k, d[k:]), mth(d[:k])]


def subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [mth(d)]
    k = _k(n)
    if m <= k:
        return [*subproof(m, d[:k], b), mth(d[k:])]
    return [*subproof(m - k, d[k:], False), mth(d[:k])]


# --------------------------------------------------------------------------------------
MANY = [hashlib.sha256(b"\x00" + i.to_bytes(4, "big")).digest() for i in range(70)]


def test_the_roots_are_the_reference_roots() -> None:
    assert merkle.root([]).hex() == hashlib.sha256(b"").hexdigest()
    for size, expected in enumerate(CT_ROOTS, start=1):
        assert merkle.root(CT_LEAVES[:size]).hex() == expected


@pytest.mark.parametrize(("old", "new"), sorted(CT_CONSISTENCY))
def test_consistency_proofs_are_the_reference_proofs(old: int, new: int) -> None:
    nodes = merkle.tree(CT_LEAVES[:new])
    proof = [merkle.range_hash(nodes, *r) for r in merkle.consistency_ranges(old, new)]
    assert [p.hex() for p in proof] == CT_CONSISTENCY[(old, new)]
    old_root, new_root = bytes.fromhex(CT_ROOTS[old - 1]), bytes.fromhex(CT_ROOTS[new - 1])
    assert merkle.verify_consistency(old, new, old_root, new_root, proof)


@pytest.mark.parametrize(("index", "size"), sorted(CT_INCLUSION))
def test_inclusion_proofs_are_the_reference_proofs(index: int, size: int) -> None:
    proof = merkle.inclusion_proof(CT_LEAVES[:size], index)
    assert [p.hex() for p in proof] == CT_INCLUSION[(index, size)]
    tree_root = bytes.fromhex(CT_ROOTS[size - 1])
    assert merkle.verify_inclusion(CT_LEAVES[index], index, size, proof, tree_root)


def test_stored_nodes_give_what_the_rfc_text_gives_for_every_size() -> None:
    nodes = merkle.tree(MANY)  # the tree of 70 holds every node a smaller tree has
    for new in range(1, len(MANY) + 1):
        leaves = MANY[:new]
        new_root = merkle.range_hash(nodes, 0, new)
        assert new_root == mth(leaves)
        for index in range(new):
            proof = [merkle.range_hash(nodes, *r) for r in merkle.inclusion_ranges(index, new)]
            assert proof == path(index, leaves)
            assert merkle.verify_inclusion(leaves[index], index, new, proof, new_root)
        for old in range(1, new + 1):
            proof = [merkle.range_hash(nodes, *r) for r in merkle.consistency_ranges(old, new)]
            assert proof == subproof(old, leaves, True)
            assert merkle.verify_consistency(old, new, mth(leaves[:old]), new_root, proof)


def test_appending_in_batches_stores_the_same_nodes_as_all_at_once() -> None:
    whole = merkle.tree(MANY)
    stored: dict[merkle.Node, bytes] = {}
    for lo, hi in [(0, 1), (1, 8), (8, 9), (9, 33), (33, 70)]:
        edge = [(node, stored[node]) for node in merkle.subtrees(0, lo)]
        stored.update(merkle.append(edge, MANY[lo:hi]))
    assert stored == whole


def test_a_proof_needs_only_logarithmically_many_nodes() -> None:
    for size in (1_000, 1_000_000, 2**40 - 3):
        index = size // 3
        needed = merkle.nodes_for(merkle.inclusion_ranges(index, size))
        assert len(needed) <= 2 * size.bit_length()
        needed = merkle.nodes_for(merkle.consistency_ranges(size // 2 + 1, size))
        assert len(needed) <= 2 * size.bit_length()


def test_a_forged_root_a_changed_leaf_or_a_wrong_position_fails() -> None:
    leaves = MANY[:13]
    tree_root = merkle.root(leaves)
    proof = merkle.inclusion_proof(leaves, 6)
    forged = hashlib.sha256(b"forged").digest()
    assert merkle.verify_inclusion(leaves[6], 6, 13, proof, tree_root)
    assert not merkle.verify_inclusion(leaves[6], 6, 13, proof, forged)
    assert not merkle.verify_inclusion(MANY[20], 6, 13, proof, tree_root)
    assert not merkle.verify_inclusion(leaves[6], 5, 13, proof, tree_root)
    assert not merkle.verify_inclusion(leaves[6], 6, 14, proof, merkle.root(MANY[:14]))


def test_a_rewritten_history_is_not_consistent_with_the_root_kept_before() -> None:
    kept = merkle.root(MANY[:20])
    rewritten = [*MANY[:7], hashlib.sha256(b"rewritten").digest(), *MANY[8:40]]
    nodes = merkle.tree(rewritten)
    proof = [merkle.range_hash(nodes, *r) for r in merkle.consistency_ranges(20, 40)]
    assert not merkle.verify_consistency(20, 40, kept, merkle.range_hash(nodes, 0, 40), proof)
    honest = merkle.tree(MANY[:40])
    proof = [merkle.range_hash(honest, *r) for r in merkle.consistency_ranges(20, 40)]
    assert merkle.verify_consistency(20, 40, kept, merkle.range_hash(honest, 0, 40), proof)
    assert not merkle.verify_consistency(20, 40, kept, merkle.range_hash(nodes, 0, 40), proof)
    assert not merkle.verify_consistency(20, 40, kept, merkle.range_hash(honest, 0, 40), [])
