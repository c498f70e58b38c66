"""The one function that finds a request's client IP (SPEC §4).

By default only ``REMOTE_ADDR`` counts. When the peer lies inside ``KEYFENCE_TRUSTED_PROXIES``,
the configured header is walked from right to left, skipping trusted addresses; anything that
cannot be parsed makes the client *unknown*, which matches no allowlist entry.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from .conf import conf
from .matching import CompiledAllowlist, compile_allowlist
from .networks import ClientAddress, parse_client_address

MAX_HEADER_LENGTH = 4096
MAX_HOPS = 32
_REQUEST_ATTRIBUTE = "_keyfence_client_ip"
# ASCII digits only: str.isdigit() would also take "²" or Arabic-Indic digits.
_PORT = re.compile(r"[0-9]{1,5}")


@lru_cache(maxsize=8)
def _compile_proxies(proxies: tuple[str, ...]) -> CompiledAllowlist:
    # Proxies are operator configuration, not user input: the allowlist breadth limits
    # do not apply (a whole private /8 may be a proxy network). System checks validate them.
    networks = [_proxy_network(proxy) for proxy in proxies]
    return compile_allowlist((network, network) for network in networks)


def _proxy_network(proxy: str) -> str:
    network = ipaddress.ip_network(proxy.strip(), strict=False)
    # Peers are converted to IPv4 before matching, so a proxy written as it appears on a
    # dual-stack server (::ffff:10.0.0.1) must be converted too, or it would never match.
    mapped = network.network_address.ipv4_mapped if network.version == 6 else None
    if mapped is not None and network.prefixlen >= 96:
        network = ipaddress.ip_network((mapped, network.prefixlen - 96))
    return str(network)


def trusted_proxies() -> CompiledAllowlist:
    """The compiled ``KEYFENCE_TRUSTED_PROXIES``."""
    return _compile_proxies(tuple(conf.TRUSTED_PROXIES))


def _strip_port(hop: str) -> str:
    hop = hop.strip()
    if hop.startswith("["):
        host, bracket, rest = hop[1:].partition("]")
        if not bracket or (rest and not (rest.startswith(":") and _is_port(rest[1:]))):
            return ""
        return host
    if hop.count(":") == 1:
        host, _, port = hop.partition(":")
        return host if _is_port(port) else ""
    return hop


def _is_port(text: str) -> bool:
    return _PORT.fullmatch(text) is not None and int(text) <= 65535


def _is_trusted(peer: ClientAddress | None, proxies: CompiledAllowlist) -> bool:
    return peer is not None and not proxies.unrestricted and proxies.match(peer) is not None


def peer_is_trusted_proxy(meta: Mapping[str, Any]) -> bool:
    """Whether the request's peer (``REMOTE_ADDR``) is one of ``KEYFENCE_TRUSTED_PROXIES``.

    The one trust rule for anything a proxy reports: the client IP here, the scheme elsewhere.
    """
    return _is_trusted(parse_client_address(str(meta.get("REMOTE_ADDR") or "")), trusted_proxies())


def client_ip_from_meta(meta: Mapping[str, Any]) -> ClientAddress | None:
    """Find the client address from a WSGI environ; ``None`` means unknown."""
    peer = parse_client_address(str(meta.get("REMOTE_ADDR") or ""))
    proxies = trusted_proxies()
    if not _is_trusted(peer, proxies):
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
        cached: ClientAddress | None = getattr(request, _REQUEST_ATTRIBUTE)
    except AttributeError:
        address = client_ip_from_meta(request.META)
        setattr(request, _REQUEST_ATTRIBUTE, address)
        return address
    return cached
