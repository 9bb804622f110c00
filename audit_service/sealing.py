"""audit's seal key (see domain/records.py), read once from the settings.

Kept here rather than passed around because the consume loop's handlers have a fixed
signature (delivery, tx) shared by every service; the app reads it at start, so a
production deployment without the key stops there instead of recording unsealed facts.
"""

import functools

from audit_service.settings import AuditSettings
from shared.runtime import settings


@functools.cache
def key() -> bytes:
    return settings.load(AuditSettings).seal_key_bytes()
