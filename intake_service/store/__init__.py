"""intake's SQL, all of it: the appeals read model, the catalogue, the knowledge base."""

from intake_service.store.appeals import (
    Filters,
    children,
    find,
    get,
    joined_or_joining,
    list_appeals,
    lock_progress,
    received_hash,
    set_classification,
    set_department,
    set_merged,
    set_outcome,
    set_progress,
)
from intake_service.store.catalogue import current_catalogue, publish_catalogue
from intake_service.store.filed import Description, RepeatSearch, add, hold_new, repeats_found
from intake_service.store.tables import metadata

__all__ = [
    "Description",
    "Filters",
    "RepeatSearch",
    "add",
    "children",
    "current_catalogue",
    "find",
    "get",
    "hold_new",
    "joined_or_joining",
    "list_appeals",
    "lock_progress",
    "metadata",
    "publish_catalogue",
    "received_hash",
    "repeats_found",
    "set_classification",
    "set_department",
    "set_merged",
    "set_outcome",
    "set_progress",
]
