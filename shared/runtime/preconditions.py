"""Optimistic concurrency over HTTP: a stream's version is its strong ETag, and a command
names the version it was decided on in If-Match (missing → 428, stale → 412).

A read model may show what its stream does not record (dispatch's work order: the round
whose reply it learnt from feedback's facts). Its revision then follows the version in the
ETag (`"7.2"`), so a conditional GET sees that change too; If-Match compares the version
alone, since a command decides on the stream."""

from typing import Annotated

from fastapi import Header

from shared.runtime.problems import Problem

IfMatch = Annotated[str | None, Header(alias="If-Match", max_length=40)]


def etag(version: int, revision: int | None = None) -> str:
    return f'"{version}"' if revision is None else f'"{version}.{revision}"'


def expected_version(if_match: str | None, what: str) -> int:
    """The version If-Match names; `what` says whose ETag the caller should have sent."""
    if if_match is None:
        raise Problem(
            428,
            "Precondition Required",
            f'send If-Match with the {what}\'s ETag, e.g. If-Match: "3"',
        )
    try:
        return int(if_match.strip().strip('"').split(".", 1)[0])
    except ValueError as exc:
        raise Problem(
            412, "Precondition Failed", f"If-Match {if_match!r} is no ETag of ours"
        ) from exc


def stale(what: str, version: int, expected: int) -> Problem:
    return Problem(
        412,
        "Precondition Failed",
        f"the {what} is at version {version}, not {expected}",
        current_version=version,
    )
