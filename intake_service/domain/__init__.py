"""intake's pure decisions: the appeal at the front office (`appeal`) and its repeats
(`merging`), its status as every service's facts report it (`progress`), the
classification rules (`rules`) and the knowledge base's text matching (`knowledge`).
No I/O, no clock."""

from intake_service.domain.appeal import (
    CLOSING_STAGES,
    Appeal,
    NewAppeal,
    Stage,
    classify,
    evolve,
    forward,
    held,
    receive,
)
from intake_service.domain.erasure import erase
from intake_service.domain.merging import merge, unmerge
from intake_service.domain.outcomes import answer, reject, settleable, transfer
from intake_service.domain.progress import (
    STATUS_RANK,
    STATUSES,
    Progress,
    advances,
    applies,
    progress_after,
)
from intake_service.domain.withdrawal import OUTCOME_FACTS, abandon, confirm

__all__ = [
    "CLOSING_STAGES",
    "OUTCOME_FACTS",
    "STATUSES",
    "STATUS_RANK",
    "Appeal",
    "NewAppeal",
    "Progress",
    "Stage",
    "abandon",
    "advances",
    "answer",
    "applies",
    "classify",
    "confirm",
    "erase",
    "evolve",
    "forward",
    "held",
    "merge",
    "progress_after",
    "receive",
    "reject",
    "settleable",
    "transfer",
    "unmerge",
]
