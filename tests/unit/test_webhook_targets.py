"""Partners' webhook URLs must not reach the cluster's own network (SSRF). IP literals
resolve without DNS, so these run anywhere."""

import pytest
from pydantic import AnyHttpUrl

from feedback_service import targets
from feedback_service.routes import deps
from feedback_service.settings import FeedbackSettings
from shared.runtime.problems import Problem


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
        "http://[64:ff9b::a00:7]/hook",  # NAT64 of 10.0.0.7
        "http://[64:ff9b::808:808]/hook",  # NAT64 even of a public address: translated
        "http://[64:ff9b:1::a00:7]/hook",  # local-use NAT64
        "http://[2002:a00:7::1]/hook",  # 6to4 of 10.0.0.7
        "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/hook",  # Teredo
        "http://[::ffff:127.0.0.1]/hook",  # IPv4-mapped loopback
        "http://[::ffff:a00:7]/hook",  # IPv4-mapped private
        "http://[::a00:7]/hook",  # IPv4-compatible (deprecated)
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


async def test_a_send_connects_to_the_address_it_checked_keeping_the_host() -> None:
    pinned = await targets.resolve("https://8.8.8.8:8443/hook?x=1", allow_private=False)
    assert (pinned.url, pinned.host_header, pinned.sni_hostname) == (
        "https://8.8.8.8:8443/hook?x=1",
        "8.8.8.8:8443",
        None,  # an address has no name to send in SNI
    )
    local = await targets.resolve("http://localhost:9/hook", allow_private=True)
    assert local.url in {"http://127.0.0.1:9/hook", "http://[::1]:9/hook"}
    assert (local.host_header, local.sni_hostname) == ("localhost:9", None)
    v6 = await targets.resolve("https://[2606:4700:4700::1111]/hook", allow_private=False)
    assert v6.url == "https://[2606:4700:4700::1111]/hook"


async def test_the_name_is_resolved_once_and_sent_as_host_and_sni(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lookups: list[str] = []

    async def addresses(host: str, port: int | None) -> list[str]:
        lookups.append(host)
        return ["93.184.215.14"]

    monkeypatch.setattr(targets, "_addresses", addresses)
    pinned = await targets.resolve("https://partner.example/hook", allow_private=False)
    assert lookups == ["partner.example"]
    assert pinned == targets.Pinned(
        "https://93.184.215.14/hook", "partner.example", "partner.example"
    )


@pytest.mark.parametrize(
    ("url", "refusal"),
    [
        ("http://8.8.8.8/hook", "https URLs only"),
        ("https://8.8.8.8:8443/hook", "port 443 only"),  # the egress policy opens 443 alone
        ("https://8.8.8.8/hook", None),
        ("https://8.8.8.8:443/hook", None),
    ],
)
async def test_production_delivers_to_https_on_443_only(url: str, refusal: str | None) -> None:
    production = FeedbackSettings(environment="production", jwt_jwks_url="https://idp/jwks")
    if refusal is None:
        await deps.webhook_target(AnyHttpUrl(url), production)
        return
    with pytest.raises(Problem, match=r"invalid fields: body\.url") as refused:
        await deps.webhook_target(AnyHttpUrl(url), production)
    assert refusal in refused.value.extensions["errors"][0]["message"]
