"""Where a partner's webhook may point. The sender POSTs from inside the cluster, so a URL a
partner chooses must not reach the cluster's own network (server-side request forgery):
in production every address its host resolves to must be public, checked when it
subscribes and again before each send (a name can be re-pointed in between).

Each send resolves the name once, checks the addresses, and connects to the address it
checked (`pinned`): the HTTP client never looks the name up again, so a DNS answer that
changes between check and connect (DNS rebinding) reaches nothing. The host still goes in
the Host header and, over TLS, in SNI and the certificate check.

Not public: loopback, private, link-local, shared (CGNAT), multicast, reserved and
documentation ranges (`ipaddress`' is_global), and the ranges that translate to IPv4 an
address the check cannot see: NAT64 (64:ff9b::/96, 64:ff9b:1::/48), 6to4 (2002::/16),
Teredo (2001::/32), IPv4-mapped and -compatible IPv6 (checked as the IPv4 they carry).
"""

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit, urlunsplit

TRANSLATED: Final = tuple(
    ipaddress.ip_network(n)
    for n in ("64:ff9b::/96", "64:ff9b:1::/48", "2002::/16", "2001::/32", "::/96", "100::/64")
)


class RefusedTarget(ValueError):
    """A webhook URL that resolves to a loopback, private, link-local or other non-public
    address, or does not resolve at all."""


def public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 zone id is no address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return public(str(ip.ipv4_mapped))
        if any(ip in network for network in TRANSLATED):
            return False
    return ip.is_global and not ip.is_multicast


@dataclass(frozen=True, slots=True)
class Pinned:
    """A request to `url` sent to `address`: the URL to connect to, the headers and the
    httpx extensions that keep the host for Host, SNI and the certificate check."""

    url: str
    host_header: str
    sni_hostname: str | None


async def _addresses(host: str, port: int | None) -> list[str]:
    try:
        found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise RefusedTarget(f"{host} does not resolve") from exc
    return list(dict.fromkeys(str(info[4][0]) for info in found))


async def resolve(url: str, *, allow_private: bool) -> Pinned:
    """Resolve the URL's host once, check every address it has, and pin the first."""
    parts = urlsplit(url)
    host = parts.hostname
    if not host:
        raise RefusedTarget("the URL has no host")
    addresses = await _addresses(host, parts.port)
    private = sorted(a for a in addresses if not public(a))
    if private and not allow_private:
        raise RefusedTarget(f"{host} resolves to addresses that are not public: {private}")
    address = addresses[0]
    shown = f"[{address}]" if ":" in address else address
    netloc = f"{shown}:{parts.port}" if parts.port else shown
    host_header = f"{host}:{parts.port}" if parts.port else host
    is_name = host != address.split("%", 1)[0]
    sni = host if parts.scheme == "https" and is_name else None
    return Pinned(urlunsplit(parts._replace(netloc=netloc)), host_header, sni)


async def check(url: str, *, allow_private: bool) -> None:
    """On subscribing: the URL's host resolves, and (unless allowed) only to public
    addresses."""
    await resolve(url, allow_private=allow_private)
