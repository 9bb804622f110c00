"""Merkle trees over the facts audit received, as RFC 9162 (§2.1) defines them. Pure.

Leaves are the facts' own hashes in the order audit recorded them. A checkpoint publishes
the root of the first n leaves; anyone holding a root can ask for an inclusion proof of a
fact (§2.1.3) and check it with `verify_inclusion` alone, and anyone holding two roots can
ask for a consistency proof (§2.1.4) that the later tree only appended to the earlier one.

The tree is kept as its complete aligned subtrees: node (level, index) is the hash of leaves
[index·2^level, (index+1)·2^level). Every range a proof or a root needs is a handful of such
nodes (`subtrees`), so a proof reads O(log n) stored nodes and never the leaves; `append`
computes the nodes new leaves complete, from the O(log n) nodes on the tree's right edge.
"""

import hashlib
from collections.abc import Iterable, Mapping, Sequence

LEAF, NODE = b"\x00", b"\x01"
EMPTY_ROOT = hashlib.sha256(b"").digest()

Node = tuple[int, int]  # (level, index)
Range = tuple[int, int]  # leaves [lo, hi)


def leaf_hash(fact_hash: str) -> bytes:
    return hashlib.sha256(LEAF + bytes.fromhex(fact_hash)).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(NODE + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def subtrees(lo: int, hi: int) -> list[Node]:
    """Leaves [lo, hi) as complete aligned subtrees, left to right: the binary digits of
    hi - lo when lo is aligned, as every range of a root or proof is."""
    found: list[Node] = []
    while lo < hi:
        level = 0
        while lo % (2 << level) == 0 and lo + (2 << level) <= hi:
            level += 1
        found.append((level, lo >> level))
        lo += 1 << level
    return found


def range_hash(nodes: Mapping[Node, bytes], lo: int, hi: int) -> bytes:
    """MTH(D[lo:hi]) from stored nodes: the subtrees folded from the right."""
    hashes = [nodes[node] for node in subtrees(lo, hi)]
    if not hashes:
        return EMPTY_ROOT
    result = hashes[-1]
    for left in reversed(hashes[:-1]):
        result = node_hash(left, result)
    return result


def inclusion_ranges(index: int, size: int) -> list[Range]:
    """The ranges whose hashes make PATH(index, D[size]) (§2.1.3.1), leaf's sibling first."""
    if not 0 <= index < size:
        raise IndexError(f"leaf {index} is not in a tree of {size}")
    path: list[Range] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            path.append((lo + k, hi))
            hi = lo + k
        else:
            path.append((lo, lo + k))
            lo += k
    return path[::-1]


def consistency_ranges(old: int, new: int) -> list[Range]:
    """The ranges whose hashes make PROOF(old, D[new]) (§2.1.4.1)."""
    if not 0 < old <= new:
        raise ValueError(f"no consistency proof from size {old} to size {new}")
    proof: list[Range] = []
    lo, hi, m, whole = 0, new, old, True
    while m != hi - lo:
        k = _split(hi - lo)
        if m <= k:
            proof.append((lo + k, hi))
            hi = lo + k
        else:
            proof.append((lo, lo + k))
            lo, m, whole = lo + k, m - k, False
    if not whole:
        proof.append((lo, hi))
    return proof[::-1]


def nodes_for(ranges: Iterable[Range]) -> set[Node]:
    """Every stored node the ranges need: what one query fetches."""
    return {node for lo, hi in ranges for node in subtrees(lo, hi)}


def append(edge: Sequence[tuple[Node, bytes]], leaves: Iterable[bytes]) -> list[tuple[Node, bytes]]:
    """The nodes that leaves appended to a tree complete, each leaf's own node included.
    `edge` is the tree's right edge: its `subtrees(0, size)` with their hashes, in order."""
    stack = list(edge)
    size = sum(1 << level for (level, _), _ in stack)
    made: list[tuple[Node, bytes]] = []
    for position, leaf in enumerate(leaves, start=size):
        node, digest = (0, position), leaf
        made.append((node, digest))
        while node[1] % 2 == 1:  # a right child: its left sibling is on top of the stack
            _, left = stack.pop()
            node, digest = (node[0] + 1, node[1] >> 1), node_hash(left, digest)
            made.append((node, digest))
        stack.append((node, digest))
    return made


def tree(leaves: Sequence[bytes]) -> dict[Node, bytes]:
    """Every node of a tree held in memory (tests, benchmarks, small trees)."""
    return dict(append([], leaves))


def root(leaves: Sequence[bytes]) -> bytes:
    """MTH(D[n]); the hash of the empty string for no leaves."""
    return range_hash(tree(leaves), 0, len(leaves))


def inclusion_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    nodes = tree(leaves)
    return [range_hash(nodes, lo, hi) for lo, hi in inclusion_ranges(index, len(leaves))]


def verify_inclusion(
    leaf: bytes, index: int, size: int, path: Sequence[bytes], expected_root: bytes
) -> bool:
    """RFC 9162 §2.1.3.2: does `leaf` sit at `index` of the tree of `size` with this root?"""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for sibling in path:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            r = node_hash(sibling, r)
            while fn % 2 == 0 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, sibling)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == expected_root


def verify_consistency(
    old: int, new: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2: is the tree of size `new` the tree of size `old` with leaves
    appended, and nothing else changed?"""
    if not 0 < old <= new:
        return False
    if old == new:
        return not proof and old_root == new_root
    if not proof:
        return False
    path = list(proof)
    if old & (old - 1) == 0:  # a power of two: the old root is the proof's first node
        path.insert(0, old_root)
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == old_root and sr == new_root and sn == 0
