"""Kafka topics: each service publishes its own facts, and only those, to its own topic."""

from typing import Final

PARTITIONS: Final = 12  # fixed up front: adding partitions later re-hashes appeal keys

INTAKE: Final = "hotline.intake.events.v1"
DISPATCH: Final = "hotline.dispatch.events.v1"
FEEDBACK: Final = "hotline.feedback.events.v1"

BY_SOURCE: Final[dict[str, str]] = {"intake": INTAKE, "dispatch": DISPATCH, "feedback": FEEDBACK}
ALL: Final = tuple(BY_SOURCE.values())
