"""Hash-chain verification of one stream, shared by each service's store and by audit."""

from collections.abc import Sequence
from dataclasses import dataclass

from shared import envelope


@dataclass(frozen=True, slots=True)
class Link:
    version: int
    prev_hash: str
    hash: str
    body: bytes


def problems(stream: Sequence[Link]) -> list[str]:
    """What is wrong with a stream sorted by version: empty when it runs 1..n, each fact's
    bytes hash to its recorded hash, and each names its predecessor's hash."""
    found = []
    expected_prev = envelope.GENESIS_HASH
    for position, link in enumerate(stream, start=1):
        if link.version != position:
            found.append(f"version {link.version} at position {position}: missing or extra fact")
        if envelope.digest(link.body) != link.hash:
            found.append(f"version {link.version}: content does not match its hash")
        if link.prev_hash != expected_prev:
            found.append(f"version {link.version}: prev_hash does not link to the previous fact")
        expected_prev = link.hash
    return found
