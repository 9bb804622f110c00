"""Held writes (`Tx.hold`) composed into one statement: each as a CTE before the statement
that carries them (an append's, or a bare `SELECT 1` at the flush), its parameters
renumbered after those before it."""

import functools
import re

_PARAMETER = re.compile(r"\$(\d+)")


@functools.lru_cache(maxsize=64)
def with_held(held: tuple[str, ...], statement: str) -> str:
    """`statement` with the held writes as CTEs before it, every parameter renumbered in
    order: the held ones' first, then the statement's own. The same texts make the same
    statement, which asyncpg prepares once per connection."""
    if not held:
        return statement
    ctes: list[str] = []
    offset = 0
    for index, text in enumerate(held):
        ctes.append(f"held{index} AS ({_shifted(text, offset)})")
        offset += max((int(n) for n in _PARAMETER.findall(text)), default=0)
    shifted = _shifted(statement, offset)
    if shifted.lstrip().upper().startswith("WITH "):  # the append's own CTEs follow these
        return f"WITH {', '.join(ctes)}, {shifted.lstrip()[5:]}"
    return f"WITH {', '.join(ctes)} {shifted}"


def _shifted(text: str, offset: int) -> str:
    return _PARAMETER.sub(lambda m: f"${int(m.group(1)) + offset}", text)
