"""Open311's refusals: an HTTP status and one or more `{code, description}` items, rendered
by `formats` in the caller's format."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Failure:
    code: int
    description: str


class Open311Error(Exception):
    def __init__(self, status: int, *failures: Failure) -> None:
        super().__init__("; ".join(f.description for f in failures))
        self.status = status
        self.failures = failures

    @classmethod
    def one(cls, status: int, description: str) -> "Open311Error":
        return cls(status, Failure(status, description))
