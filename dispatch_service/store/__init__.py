"""dispatch's SQL, and only SQL: the tables (`tables`, which migrations read), the catalogue
(`catalogue`) and the work-order view (`work_orders`)."""

from dispatch_service.store.calendar import (
    count_provisional,
    current_calendar,
    list_calendar_versions,
    lock_calendar,
    provisional_work_orders,
    save_calendar_version,
)
from dispatch_service.store.catalogue import (
    current_routing,
    list_departments,
    list_policies,
    policy_in_force,
    policy_version,
    publish_policy,
    publish_routing,
)
from dispatch_service.store.tables import metadata
from dispatch_service.store.versions import BATCH_READ as VERSIONS_IN_FORCE
from dispatch_service.store.work_orders import (
    due_for_signals,
    get_work_order,
    handled_round,
    list_work_orders,
    load_for_command,
    load_locked,
    save_work_order,
    saved_or_read,
)

__all__ = [
    "VERSIONS_IN_FORCE",
    "count_provisional",
    "current_calendar",
    "current_routing",
    "due_for_signals",
    "get_work_order",
    "handled_round",
    "list_calendar_versions",
    "list_departments",
    "list_policies",
    "list_work_orders",
    "load_for_command",
    "load_locked",
    "lock_calendar",
    "metadata",
    "policy_in_force",
    "policy_version",
    "provisional_work_orders",
    "publish_policy",
    "publish_routing",
    "save_calendar_version",
    "save_work_order",
    "saved_or_read",
]
