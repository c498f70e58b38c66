"""The one function that finds a request's client IP (SPEC §4).

By default only ``REMOTE_ADDR`` counts. When the peer lies inside ``KEYFENCE_TRUSTED_PROXIES``,
the configured header is walked from right to left, skipping trusted addresses; anything that
cannot be parsed makes the client *unknown*, which matches no allowlist entry.
"""
from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from .conf import conf
from .networks import ClientAddress, CompiledAllowlist, compile_allowlist, parse_client_address

MAX_HEADER_LENGTH = 4096
MAX_HOPS = 32
_REQUEST_ATTRIBUTE = "_keyfence_client_ip"


@lru_cache(maxsize=8)
def _compile_proxies(proxies: tuple[str, ...]) -> CompiledAllowlist:
    # Proxies are operator configuration, not user input: the allowlist breadth limits
    # do not apply (a whole private /8 may be a proxy network). System checks validate them.
    networks = [str(ipaddress.ip_network(proxy.strip(), strict=False)) for proxy in proxies]
    return compile_allowlist((network, network) for network in networks)


def trusted_proxies() -> CompiledAllowlist:
    """The compiled ``KEYFENCE_TRUSTED_PROXIES``."""
    return _compile_proxies(tuple(conf.TRUSTED_PROXIES))


def _strip_port(hop: str) -> str:
    hop = hop.strip()
    if hop.startswith("["):
        host, bracket, rest = hop[1:].partition("]")
        if not bracket or (rest and not (rest.startswith(":") and rest[1:].isdigit())):
            return ""
        return host
    if hop.count(":") == 1:
        host, _, port = hop.partition(":")
        return host if port.isdigit() else ""
    return hop


def client_ip_from_meta(meta: Mapping[str, Any]) -> ClientAddress | None:
    """Find the client address from a WSGI environ; ``None`` means unknown."""
    peer = parse_client_address(str(meta.get("REMOTE_ADDR") or ""))
    proxies = trusted_proxies()
    if peer is None or proxies.unrestricted or proxies.match(peer) is None:
        return peer
    header = meta.get(conf.client_ip_header_meta)
    if not header or len(header) > MAX_HEADER_LENGTH:
        return None
    # WSGI servers join repeated header lines with commas, in order.
    hops = header.split(",")
    if len(hops) > MAX_HOPS:
        return None
    client = None
    for hop in reversed(hops):
        client = parse_client_address(_strip_port(hop))
        if client is None:
            return None
        if proxies.match(client) is None:
            return client
    return client


def get_client_ip(request: Any) -> ClientAddress | None:
    """The client address of a Django or DRF request, computed once per request."""
    request = getattr(request, "_request", request)
    try:
        return getattr(request, _REQUEST_ATTRIBUTE)
    except AttributeError:
        address = client_ip_from_meta(request.META)
        setattr(request, _REQUEST_ATTRIBUTE, address)
        return address
