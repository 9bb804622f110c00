import hashlib

import pytest

from audit_service.domain import merkle

LEAVES = [merkle.leaf_hash(hashlib.sha256(str(i).encode()).hexdigest()) for i in range(21)]


def test_the_root_follows_rfc_6962() -> None:
    a, b, c = LEAVES[:3]
    assert merkle.root([a]) == a
    assert merkle.root([a, b]) == hashlib.sha256(b"\x01" + a + b).digest()
    left = hashlib.sha256(b"\x01" + a + b).digest()
    assert merkle.root([a, b, c]) == hashlib.sha256(b"\x01" + left + c).digest()
    assert merkle.root([]) == hashlib.sha256(b"").digest()


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 7, 8, 13, 21])
def test_every_leaf_has_a_proof_that_verifies(size: int) -> None:
    leaves = LEAVES[:size]
    tree_root = merkle.root(leaves)
    for index, leaf in enumerate(leaves):
        path = merkle.inclusion_proof(leaves, index)
        assert merkle.verify_inclusion(leaf, index, size, path, tree_root)


def test_a_changed_leaf_or_a_wrong_position_fails_verification() -> None:
    leaves = LEAVES[:13]
    tree_root = merkle.root(leaves)
    path = merkle.inclusion_proof(leaves, 6)
    assert not merkle.verify_inclusion(LEAVES[20], 6, 13, path, tree_root)
    assert not merkle.verify_inclusion(leaves[6], 5, 13, path, tree_root)
    bigger = merkle.root(LEAVES[:14])  # the proof belongs to one tree size and its root
    assert not merkle.verify_inclusion(leaves[6], 6, 14, path, bigger)
    rewritten = [*leaves[:6], LEAVES[20], *leaves[7:]]
    assert merkle.root(rewritten) != tree_root


def test_an_old_root_still_proves_the_facts_it_committed_to() -> None:
    old_root = merkle.root(LEAVES[:8])
    path = merkle.inclusion_proof(LEAVES[:8], 3)  # proof computed on the first 8 leaves
    assert merkle.verify_inclusion(LEAVES[3], 3, 8, path, old_root)
    assert merkle.root(LEAVES[:9]) != old_root  # and history grows only by appending
