"""Standard Webhooks signatures and the retry schedule."""

import hmac
from datetime import timedelta

from feedback_service import sender, webhooks
from feedback_service.settings import FeedbackSettings

# The test vector published with the Standard Webhooks reference libraries.
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID, SPEC_TS, SPEC_BODY = "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}'


def verify(
    secret: str, headers_: dict[str, str], body: bytes, *, now: int, tolerance: int = 300
) -> bool:
    """What a receiver checks: one of the listed signatures matches and the timestamp is
    recent (a replayed old message is refused)."""
    try:
        timestamp = int(headers_["webhook-timestamp"])
        expected = webhooks.signature(secret, headers_["webhook-id"], timestamp, body)
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    return any(
        hmac.compare_digest(candidate, expected)
        for candidate in headers_.get("webhook-signature", "").split()
    )


def test_the_signature_matches_the_specs_test_vector() -> None:
    signature = webhooks.signature(SPEC_SECRET, SPEC_ID, SPEC_TS, SPEC_BODY)
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_a_receiver_accepts_only_a_matching_recent_signature() -> None:
    headers = webhooks.headers(SPEC_SECRET, SPEC_ID, SPEC_TS, SPEC_BODY)
    assert headers["webhook-id"] == SPEC_ID
    assert verify(SPEC_SECRET, headers, SPEC_BODY, now=SPEC_TS + 10)
    assert not verify(SPEC_SECRET, headers, SPEC_BODY + b" ", now=SPEC_TS)
    assert not verify(webhooks.new_secret(), headers, SPEC_BODY, now=SPEC_TS)
    assert not verify(SPEC_SECRET, headers, SPEC_BODY, now=SPEC_TS + 301)  # replayed
    rotated = {**headers, "webhook-signature": f"v1,bm90LWl0 {headers['webhook-signature']}"}
    assert verify(SPEC_SECRET, rotated, SPEC_BODY, now=SPEC_TS)
    assert not verify(SPEC_SECRET, {}, SPEC_BODY, now=SPEC_TS)


def test_new_secrets_are_whsec_and_distinct() -> None:
    first, second = webhooks.new_secret(), webhooks.new_secret()
    assert first.startswith("whsec_")
    assert first != second


def test_retries_back_off_exponentially_up_to_an_hour() -> None:
    settings = FeedbackSettings(webhook_backoff_seconds=5)
    waits = [sender.backoff(settings, n) for n in (1, 2, 3, 4)]
    assert waits == [timedelta(seconds=s) for s in (5, 10, 20, 40)]
    assert sender.backoff(settings, 40) == timedelta(hours=1)


def test_by_default_a_receiver_down_overnight_still_gets_its_notices() -> None:
    settings = FeedbackSettings()
    retrying = sum(
        (sender.backoff(settings, n) for n in range(1, settings.webhook_max_attempts)),
        timedelta(),
    )
    assert retrying > timedelta(hours=16)
