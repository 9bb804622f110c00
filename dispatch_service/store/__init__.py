"""dispatch's SQL, and only SQL: the tables (`tables`, which migrations read), the catalogue
(`catalogue`) and the work-order view (`work_orders`)."""

from dispatch_service.store.catalogue import (
    current_policy,
    current_routing,
    list_departments,
    publish_policy,
    publish_routing,
)
from dispatch_service.store.tables import metadata
from dispatch_service.store.work_orders import (
    due_for_signals,
    get_work_order,
    handled_round,
    list_work_orders,
    save_work_order,
)

__all__ = [
    "current_policy",
    "current_routing",
    "due_for_signals",
    "get_work_order",
    "handled_round",
    "list_departments",
    "list_work_orders",
    "metadata",
    "publish_policy",
    "publish_routing",
    "save_work_order",
]
