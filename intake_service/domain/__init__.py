"""intake's pure decisions: the appeal at the front office (`appeal`) and its repeats
(`merging`), its status as every service's facts report it (`progress`), the
classification rules (`rules`) and the knowledge base's text matching (`knowledge`).
No I/O, no clock."""

from intake_service.domain.appeal import (
    CLOSING_STAGES,
    Appeal,
    NewAppeal,
    Stage,
    answer,
    classify,
    evolve,
    forward,
    held,
    receive,
    reject,
    transfer,
)
from intake_service.domain.erasure import erase
from intake_service.domain.merging import merge, unmerge
from intake_service.domain.progress import (
    STATUS_RANK,
    STATUSES,
    Progress,
    advances,
    applies,
    progress_after,
)

__all__ = [
    "CLOSING_STAGES",
    "STATUSES",
    "STATUS_RANK",
    "Appeal",
    "NewAppeal",
    "Progress",
    "Stage",
    "advances",
    "answer",
    "applies",
    "classify",
    "erase",
    "evolve",
    "forward",
    "held",
    "merge",
    "progress_after",
    "receive",
    "reject",
    "transfer",
    "unmerge",
]
