"""audit's SQL, all of it: the tables (`tables`), the facts recorded (`facts`), replay jobs
(`replays`), checkpoints (`checkpoints`) and integrity findings (`findings`)."""

from audit_service.store.checkpoints import (
    get_checkpoint,
    leaf_hashes,
    list_checkpoints,
    position,
    save_checkpoint,
    settled_size,
)
from audit_service.store.facts import (
    add_facts,
    appeal_facts,
    appeals_given_to,
    appeals_of,
    copy_facts,
    delivered,
    fact_hash,
    fact_row,
    facts_by_appeal,
    recorded_facts,
    stream_facts,
)
from audit_service.store.findings import add_findings, list_findings
from audit_service.store.replays import (
    create_projection_schema,
    get_replay,
    new_replay,
    update_replay,
)

__all__ = [
    "add_facts",
    "add_findings",
    "appeal_facts",
    "appeals_given_to",
    "appeals_of",
    "copy_facts",
    "create_projection_schema",
    "delivered",
    "fact_hash",
    "fact_row",
    "facts_by_appeal",
    "get_checkpoint",
    "get_replay",
    "leaf_hashes",
    "list_checkpoints",
    "list_findings",
    "new_replay",
    "position",
    "recorded_facts",
    "save_checkpoint",
    "settled_size",
    "stream_facts",
    "update_replay",
]
