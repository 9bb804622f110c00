"""audit's SQL, all of it: the tables (`tables`), the facts recorded (`facts`), replay jobs
(`replays`) and their switch-overs (`switch_overs`), KPI rule versions (`rules`),
checkpoints and signing keys (`checkpoints`), the Merkle tree (`tree`) and integrity findings
(`findings`)."""

from audit_service.store.arrivals import arrivals
from audit_service.store.checkpoints import (
    get_checkpoint,
    known_keys,
    list_checkpoints,
    lock_checkpoints,
    remember_key,
    save_checkpoint,
    settled_seq,
)
from audit_service.store.facts import (
    add_facts,
    appeal_facts,
    appeals_given_to,
    appeals_of,
    count_facts,
    delivered,
    fact_columns,
    fact_hash,
    fact_row,
    facts_by_appeal,
    held_hash,
    hold_fact,
    recorded_facts,
    stream_facts,
    streams_facts,
)
from audit_service.store.findings import add_findings, list_findings
from audit_service.store.replays import (
    begin_bulk_load,
    copy_facts,
    create_projection_schema,
    end_bulk_load,
    get_replay,
    live_hashes,
    new_replay,
    update_replay,
)
from audit_service.store.rules import get_rule, list_rules, publish_rule
from audit_service.store.switch_overs import hold_ingest_lock, list_switch_overs, repaired_at

__all__ = [
    "add_facts",
    "add_findings",
    "appeal_facts",
    "appeals_given_to",
    "appeals_of",
    "arrivals",
    "begin_bulk_load",
    "copy_facts",
    "count_facts",
    "create_projection_schema",
    "delivered",
    "end_bulk_load",
    "fact_columns",
    "fact_hash",
    "fact_row",
    "facts_by_appeal",
    "get_checkpoint",
    "get_replay",
    "get_rule",
    "held_hash",
    "hold_fact",
    "hold_ingest_lock",
    "known_keys",
    "leaf_hashes",
    "list_checkpoints",
    "list_findings",
    "list_rules",
    "list_switch_overs",
    "live_hashes",
    "lock_checkpoints",
    "new_replay",
    "position",
    "publish_rule",
    "recorded_facts",
    "remember_key",
    "repaired_at",
    "save_checkpoint",
    "settled_seq",
    "stream_facts",
    "streams_facts",
    "update_replay",
]
