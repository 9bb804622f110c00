"""Partners' webhook URLs must not reach the cluster's own network (SSRF). IP literals
resolve without DNS, so these run anywhere."""

import pytest

from feedback_service import targets
from feedback_service.settings import FeedbackSettings


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8003/v1/subscriptions",  # the service itself
        "http://localhost/hook",
        "https://10.0.0.7/hook",  # a pod or a private network
        "https://192.168.1.1/hook",
        "https://172.16.0.1/hook",
        "http://169.254.169.254/latest/meta-data",  # a cloud's metadata endpoint
        "https://100.64.0.1/hook",  # carrier-grade NAT, shared address space
        "http://[::1]:8080/hook",
        "http://[fd00::1]/hook",  # IPv6 unique local
        "http://0.0.0.0/hook",
        "https://224.0.0.1/hook",  # multicast
    ],
)
async def test_non_public_targets_are_refused_where_private_ones_are_not_allowed(url: str) -> None:
    with pytest.raises(targets.RefusedTarget):
        await targets.check(url, allow_private=False)
    await targets.check(url, allow_private=True)  # development: receivers on this machine


async def test_a_public_address_is_a_target() -> None:
    await targets.check("https://8.8.8.8/hook", allow_private=False)


async def test_a_name_that_does_not_resolve_is_refused() -> None:
    with pytest.raises(targets.RefusedTarget, match="does not resolve"):
        await targets.check("https://no-such-host.invalid/hook", allow_private=False)


def test_production_refuses_private_targets_unless_told_otherwise() -> None:
    production = {"environment": "production", "jwt_jwks_url": "https://idp.example/jwks"}
    assert not FeedbackSettings(**production).private_targets_allowed()  # type: ignore[arg-type]
    allowed = FeedbackSettings(**production, webhook_private_targets=True)  # type: ignore[arg-type]
    assert allowed.private_targets_allowed()
    assert FeedbackSettings().private_targets_allowed()  # the tests name HOTLINE_ENVIRONMENT=test
