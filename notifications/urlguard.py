"""Which webhook URLs the server may call (SPEC §16): https, and only public addresses.

The address rule is applied to what the host name resolves to, at creation and again at every
delivery; the sender then connects to the very address that was checked, so a DNS answer that
changes in between cannot point it at 127.0.0.1 or 169.254.169.254.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from .conf import conf

WEBHOOK_URL_NOT_ALLOWED = "WEBHOOK_URL_NOT_ALLOWED"
MAX_URL_LENGTH = 2048


class UrlNotAllowed(Exception):
    """The URL may not receive webhooks; ``message`` says why."""

    code = WEBHOOK_URL_NOT_ALLOWED

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _refused(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_reserved
        or address.is_multicast
        or address.is_unspecified
        or not address.is_global
    )


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to; an IP literal is itself."""
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise UrlNotAllowed(f"The host name {host} does not resolve.") from exc
    return list(dict.fromkeys(str(info[4][0]).split("%")[0] for info in infos))


def check(url: object) -> tuple[str, int, list[str]]:
    """``(host, port, addresses)`` for a URL that may receive webhooks; else :class:`UrlNotAllowed`."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
        raise UrlNotAllowed(f"Enter an https URL of at most {MAX_URL_LENGTH} characters.")
    allow_private = conf.WEBHOOK_ALLOW_PRIVATE
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise UrlNotAllowed("Enter a valid https URL.") from exc
    schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in schemes:
        raise UrlNotAllowed("Webhook URLs must use https.")
    if not parts.hostname or parts.username is not None or parts.password is not None:
        raise UrlNotAllowed("Enter a URL with a host name and no user name or password.")
    port = port or (443 if parts.scheme == "https" else 80)
    addresses = resolve(parts.hostname, port)
    if not addresses:
        raise UrlNotAllowed(f"The host name {parts.hostname} does not resolve.")
    if not allow_private:
        for text in addresses:
            if _refused(ipaddress.ip_address(text)):
                raise UrlNotAllowed(
                    f"{parts.hostname} resolves to {text}, a loopback, private, link-local or reserved address."
                )
    return parts.hostname, port, addresses
