"""Kafka topics: each service publishes its own facts, and only those, to its own topic."""

from typing import Final

PARTITIONS: Final = 12  # fixed up front: adding partitions later re-hashes appeal keys

INTAKE: Final = "hotline.intake.events.v1"
DISPATCH: Final = "hotline.dispatch.events.v1"
FEEDBACK: Final = "hotline.feedback.events.v1"

BY_SOURCE: Final[dict[str, str]] = {"intake": INTAKE, "dispatch": DISPATCH, "feedback": FEEDBACK}
ALL: Final = tuple(BY_SOURCE.values())

# audit's signed checkpoints (audit_service/domain/proofs.py), one record per checkpoint,
# keyed by tree size. One partition: they are read in order. Not in ALL: they are no facts.
CHECKPOINTS: Final = "hotline.audit.checkpoints.v1"
# What each service's Kafka user writes, and every topic `hotline topics` creates.
WRITES: Final[dict[str, str]] = {**BY_SOURCE, "audit": CHECKPOINTS}
CREATED: Final[dict[str, int]] = {**dict.fromkeys(ALL, PARTITIONS), CHECKPOINTS: 1}
