"""Rating links: the signature, the expiry, and refusal of anything forged or malformed."""

from datetime import timedelta
from uuid import uuid4

import pytest

from feedback_service.domain import links
from tests.unit import factories

SECRET = b"test-secret"
CLAIMS = links.LinkClaims(uuid4(), 2, factories.T0 + timedelta(hours=72), "n0nce")


def test_a_signed_link_verifies_to_its_claims_until_it_expires() -> None:
    token = links.sign(SECRET, CLAIMS)
    assert links.verify(SECRET, token, now=factories.T0) == CLAIMS
    just_before = CLAIMS.expires_at - timedelta(seconds=1)
    assert links.verify(SECRET, token, now=just_before) == CLAIMS
    with pytest.raises(links.LinkError, match="expired") as expired:
        links.verify(SECRET, token, now=CLAIMS.expires_at)
    assert expired.value.kind == "expired"


def test_another_key_or_a_changed_payload_breaks_the_signature() -> None:
    token = links.sign(SECRET, CLAIMS)
    payload, signature = token.split(".")
    other_round = links.sign(SECRET, links.LinkClaims(CLAIMS.appeal_id, 3, CLAIMS.expires_at, "x"))
    forged = f"{other_round.split('.')[0]}.{signature}"
    for bad in (forged, links.sign(b"guessed", CLAIMS), f"{payload}.{signature[:-2]}AA"):
        with pytest.raises(links.LinkError, match="signature") as refused:
            links.verify(SECRET, bad, now=factories.T0)
        assert refused.value.kind == "invalid"


@pytest.mark.parametrize("token", ["", "no-dot-here", ".sig", "payload."])
def test_a_malformed_link_is_invalid(token: str) -> None:
    with pytest.raises(links.LinkError) as refused:
        links.verify(SECRET, token, now=factories.T0)
    assert refused.value.kind == "invalid"


def test_a_validly_signed_payload_that_is_not_a_link_is_invalid() -> None:
    payload = links._b64(b'{"a":"not-a-uuid"}')
    token = f"{payload}.{links._signature(SECRET, payload)}"
    with pytest.raises(links.LinkError, match="malformed"):
        links.verify(SECRET, token, now=factories.T0)
