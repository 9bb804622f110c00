"""Held writes (`Tx.hold`) composed into one statement: each as a CTE before the statement
that carries them (an append's, or a bare `SELECT 1` at the flush), its parameters
renumbered after those before it."""

import functools
import re
from typing import Any

_PARAMETER = re.compile(r"\$(\d+)")


class Answer:
    """What a held write's RETURNING gave (one row of one column), once the statement that
    carries it ran: a filing's row answers what its insert found in the same statement."""

    __slots__ = ("_ran", "_value")

    def __init__(self) -> None:
        self._ran = False
        self._value: Any = None

    def give(self, value: Any) -> None:
        self._ran, self._value = True, value

    @property
    def value(self) -> Any:
        if not self._ran:
            raise RuntimeError("the held write has not run: read it after the append carrying it")
        return self._value


@functools.lru_cache(maxsize=64)
def with_held(held: tuple[str, ...], statement: str, answered: tuple[int, ...] = ()) -> str:
    """`statement` with the held writes as CTEs before it, every parameter renumbered in
    order: the held ones' first, then the statement's own. The value of each held write in
    `answered` (by index) follows the statement's own columns, so the statement must end
    with its SELECT list. The same texts make the same statement, which asyncpg prepares
    once per connection."""
    if not held:
        return statement
    ctes: list[str] = []
    offset = 0
    for index, text in enumerate(held):
        ctes.append(f"held{index} AS ({_shifted(text, offset)})")
        offset += max((int(n) for n in _PARAMETER.findall(text)), default=0)
    shifted = _shifted(statement, offset) + "".join(f", (TABLE held{i})" for i in answered)
    if shifted.lstrip().upper().startswith("WITH "):  # the append's own CTEs follow these
        return f"WITH {', '.join(ctes)}, {shifted.lstrip()[5:]}"
    return f"WITH {', '.join(ctes)} {shifted}"


def _shifted(text: str, offset: int) -> str:
    return _PARAMETER.sub(lambda m: f"${int(m.group(1)) + offset}", text)
