"""audit's pure reading of facts: one appeal's facts in causal order with each service's
chain verified (`facts`), integrity findings on ingest (`findings`), buck-passing
(`signals`) and gaming (`gaming`) read from a timeline, department measures (`kpis`), a
department's queue at a moment (`queues`) and the Merkle trees behind checkpoints
(`merkle`). No I/O, no clock: the same facts give the same answer."""

from audit_service.domain.facts import (
    ChainReport,
    Fact,
    OverallDigest,
    digest,
    timeline,
    verify_chains,
    vouched_digest,
    with_unlisted,
)
from audit_service.domain.privacy import citizen_names, mask_personal_data

__all__ = [
    "ChainReport",
    "Fact",
    "OverallDigest",
    "citizen_names",
    "digest",
    "mask_personal_data",
    "timeline",
    "verify_chains",
    "vouched_digest",
    "with_unlisted",
]
