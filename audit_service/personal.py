"""Opening citizens' sealed personal data for an auditor whose token has
`audit:personal-data`: the keys are asked of intake per request and never kept, so an
erased citizen's data shows as erased here too."""

from typing import Any

from audit_service.settings import AuditSettings
from shared.personal_data import Sealed, reveal
from shared.runtime.citizen_keys import KeyClient, KeyUnavailable
from shared.runtime.problems import Problem


def _sealed(data: dict[str, Any]) -> Sealed | None:
    value = data.get("personal_data")
    if isinstance(value, dict) and "ciphertext" in value:
        return Sealed.model_validate(value)
    return None


async def opened(settings: AuditSettings, datas: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Facts' data with each sealed `personal_data` in clear (or erased), with its state."""
    wanted = {s.key_id for d in datas if (s := _sealed(d)) is not None}
    client = KeyClient(
        settings, intake_url=settings.intake_url, token=settings.personal_data_keys_token
    )
    try:
        keys = await client.keys(wanted)
    except KeyUnavailable as exc:
        raise Problem(503, "Service Unavailable", f"citizens' keys: {exc}") from None
    shown = []
    for data in datas:
        sealed = _sealed(data)
        if sealed is None:
            shown.append(data)
            continue
        found, state = reveal(sealed, keys.get(sealed.key_id))
        shown.append({**data, "personal_data": {**found.model_dump(), "state": state}})
    return shown
