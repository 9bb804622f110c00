"""Where a partner's webhook may point. The sender POSTs from inside the cluster, so a URL a
partner chooses must not reach the cluster's own network (server-side request forgery):
in production every address its host resolves to must be public, checked when it
subscribes and again before each send (a name can be re-pointed in between)."""

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit


class RefusedTarget(ValueError):
    """A webhook URL that resolves to a loopback, private, link-local or other non-public
    address, or does not resolve at all."""


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 zone id is no address
    return ip.is_global and not ip.is_multicast


async def check(url: str, *, allow_private: bool) -> None:
    if allow_private:
        return
    host = urlsplit(url).hostname
    if not host:
        raise RefusedTarget("the URL has no host")
    try:
        found = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise RefusedTarget(f"{host} does not resolve") from exc
    private = sorted({str(info[4][0]) for info in found if not _public(str(info[4][0]))})
    if private:
        raise RefusedTarget(f"{host} resolves to addresses that are not public: {private}")
