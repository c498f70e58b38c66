"""Parse, normalize and validate allowlist entries, and parse the addresses seen on the wire.

Pure Python on top of :mod:`ipaddress`; no ORM. Every path that accepts an allowlist entry
(model field, form, serializer, admin and CLI) calls :func:`normalize_cidr`, and every path that
accepts a whole list calls :func:`validate_allowlist`. Matching lives in :mod:`apikeys.matching`.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError

from .conf import conf
from .windows import validate_window

INVALID_IP = "INVALID_IP"
PREFIX_TOO_BROAD = "PREFIX_TOO_BROAD"
HOST_BITS_SET = "HOST_BITS_SET"
DUPLICATE_ENTRY = "DUPLICATE_ENTRY"
TOO_MANY_ENTRIES = "TOO_MANY_ENTRIES"
LABEL_TOO_LONG = "LABEL_TOO_LONG"
INVALID_LABEL = "INVALID_LABEL"
INVALID_ENTRY = "INVALID_ENTRY"
INVALID_ENTRIES = "INVALID_ENTRIES"

MESSAGES = {
    INVALID_IP: "Enter an IP address or a CIDR range, such as 203.0.113.5 or 2001:db8::/48.",
    PREFIX_TOO_BROAD: "The range {cidr} is too broad: the shortest prefix allowed is /{minimum} for {family}.",
    HOST_BITS_SET: "{value} has host bits set. Did you mean {suggestion}?",
    DUPLICATE_ENTRY: "{cidr} is already in this allowlist.",
    TOO_MANY_ENTRIES: "An API key can have at most {maximum} allowlist entries.",
    LABEL_TOO_LONG: "A label can be at most {maximum} characters long.",
    INVALID_LABEL: "A label must be text.",
    INVALID_ENTRY: "Each entry must be an object with a cidr and an optional label, not_before and expires_at.",
    INVALID_ENTRIES: "The allowlist must be a list of entries.",
}

MAX_INPUT_LENGTH = 64
MAX_LABEL_LENGTH = 100
# Strict shapes checked before ipaddress sees the text: ipaddress alone would accept
# zone ids, and the prefix must be plain decimal without padding.
_IPV4 = re.compile(r"(?:0|[1-9][0-9]{0,2})(?:\.(?:0|[1-9][0-9]{0,2})){3}")
_IPV6 = re.compile(r"[0-9A-Fa-f:.]{2,45}")
_PREFIX = re.compile(r"0|[1-9][0-9]{0,2}")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _error(code: str, **params: Any) -> ValidationError:
    return ValidationError(MESSAGES[code].format(**params), code=code)


def _parse_address(text: str) -> Address:
    if _IPV4.fullmatch(text):
        return ipaddress.IPv4Address(text)
    if ":" in text and _IPV6.fullmatch(text):
        return ipaddress.IPv6Address(text)
    raise ValueError(text)


def _unmap(address: Address, prefix: int) -> tuple[Address, int]:
    # ::ffff:a.b.c.d/96+n is the IPv4 range a.b.c.d/n; a shorter prefix reaches
    # outside the mapped block, so it stays IPv6.
    if address.version == 6 and address.ipv4_mapped is not None and prefix >= 96:
        return address.ipv4_mapped, prefix - 96
    return address, prefix


def parse_network(value: Any) -> Network:
    """Parse one entry into a network, or raise ``ValidationError`` with a stable code.

    A bare address becomes a /32 or /128; IPv4-mapped IPv6 becomes IPv4.
    """
    if not isinstance(value, str):
        raise _error(INVALID_IP)
    text = value.strip()
    if not text or len(text) > MAX_INPUT_LENGTH:
        raise _error(INVALID_IP)
    address_text, slash, prefix_text = text.partition("/")
    try:
        address = _parse_address(address_text)
    except ValueError:
        raise _error(INVALID_IP) from None
    if slash:
        if not _PREFIX.fullmatch(prefix_text) or int(prefix_text) > address.max_prefixlen:
            raise _error(INVALID_IP)
        prefix = int(prefix_text)
    else:
        prefix = address.max_prefixlen
    address, prefix = _unmap(address, prefix)
    minimum = conf.MIN_PREFIX_V4 if address.version == 4 else conf.MIN_PREFIX_V6
    if prefix < minimum:
        network = ipaddress.ip_network((address, prefix), strict=False)
        family = "IPv4" if address.version == 4 else "IPv6"
        raise _error(PREFIX_TOO_BROAD, cidr=network, minimum=minimum, family=family)
    network = ipaddress.ip_network((address, prefix), strict=False)
    if network.network_address != address:
        raise _error(HOST_BITS_SET, value=text, suggestion=network)
    return network


def normalize_cidr(value: Any) -> str:
    """Return the canonical ``cidr`` text of one entry, such as ``203.0.113.5/32``."""
    return str(parse_network(value))


def validate_label(value: Any) -> str:
    """Return a trimmed label; ``None`` becomes the empty string."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _error(INVALID_LABEL)
    label = value.strip()
    if len(label) > MAX_LABEL_LENGTH:
        raise _error(LABEL_TOO_LONG, maximum=MAX_LABEL_LENGTH)
    return label


@dataclass(frozen=True, slots=True)
class EntryInput:
    """One validated allowlist entry, ready to store; the window bounds are aware UTC or ``None``."""

    cidr: str
    label: str
    not_before: datetime | None = None
    expires_at: datetime | None = None


def validate_allowlist(items: Any, *, windows: bool = True) -> list[EntryInput]:
    """Validate a whole allowlist; the one rule for lists, used by every entry point.

    ``items`` is a list of ``{"cidr", "label"?, "not_before"?, "expires_at"?}`` objects (the
    window only with ``windows``). Raises ``ValidationError``: for the list as a whole
    (``TOO_MANY_ENTRIES``) with plain errors, otherwise with an ``error_dict`` mapping
    ``"<index>.<field>"`` to the errors of that row.
    """
    if not isinstance(items, (list, tuple)):
        raise _error(INVALID_ENTRIES)
    maximum = conf.MAX_ALLOWLIST_ENTRIES
    if len(items) > maximum:
        raise _error(TOO_MANY_ENTRIES, maximum=maximum)
    errors: dict[str, list[ValidationError]] = {}
    entries: list[EntryInput] = []
    seen: set[str] = set()
    known = {"cidr", "label", "not_before", "expires_at"} if windows else {"cidr", "label"}
    for index, item in enumerate(items):
        if not isinstance(item, Mapping) or not set(item) <= known:
            errors[str(index)] = [_error(INVALID_ENTRY)]
            continue
        cidr = label = None
        try:
            cidr = normalize_cidr(item.get("cidr"))
            if cidr in seen:
                raise _error(DUPLICATE_ENTRY, cidr=cidr)
            seen.add(cidr)
        except ValidationError as exc:
            errors[f"{index}.cidr"] = exc.error_list
        try:
            label = validate_label(item.get("label"))
        except ValidationError as exc:
            errors[f"{index}.label"] = exc.error_list
        window = {"not_before": None, "expires_at": None}
        try:
            window = validate_window(item.get("not_before"), item.get("expires_at"))
        except ValidationError as exc:
            errors.update({f"{index}.{field}": problems for field, problems in exc.error_dict.items()})
        if cidr is not None and label is not None:
            entries.append(EntryInput(cidr, label, window["not_before"], window["expires_at"]))
    if errors:
        raise ValidationError(errors)
    return entries


def _subnet_of(inner: Network, outer: Network) -> bool:
    """Whether ``inner`` lies inside ``outer``; networks of different families never do."""
    if isinstance(inner, ipaddress.IPv4Network) and isinstance(outer, ipaddress.IPv4Network):
        return inner.subnet_of(outer)
    if isinstance(inner, ipaddress.IPv6Network) and isinstance(outer, ipaddress.IPv6Network):
        return inner.subnet_of(outer)
    return False


def find_overlaps(cidrs: Iterable[str]) -> list[dict[str, str]]:
    """List the entries that lie inside another entry: allowed, but worth a warning."""
    networks = [ipaddress.ip_network(cidr) for cidr in cidrs]
    warnings = []
    for inner in networks:
        for outer in networks:
            if inner is not outer and inner != outer and _subnet_of(inner, outer):
                warnings.append(
                    {
                        "code": "ENTRY_OVERLAPS",
                        "cidr": str(inner),
                        "within": str(outer),
                        "message": f"{inner} lies inside {outer}.",
                    }
                )
                break
    return warnings


@dataclass(frozen=True, slots=True)
class ClientAddress:
    """A client address as text and as a number, ready for matching and logging."""

    text: str
    version: int
    value: int


def parse_client_address(text: str) -> ClientAddress | None:
    """Parse an address seen on the wire; ``None`` if it is not one.

    Zone ids are dropped and IPv4-mapped IPv6 becomes IPv4, so that a dual-stack peer
    ``::ffff:198.51.100.10`` matches ``198.51.100.10/32``.
    """
    address = _parse_wire_address(text)
    if address is None:
        return None
    address, _ = _unmap(address, address.max_prefixlen)
    return ClientAddress(str(address), address.version, int(address))


def _parse_wire_address(text: str) -> Address | None:
    text, percent, zone = text.strip().partition("%")
    # Zone ids only exist on IPv6 addresses; "1.2.3.4%x" or "fe80::1%" is junk.
    if percent and not (":" in text and zone):
        return None
    try:
        return _parse_address(text)
    except ValueError:
        return None


def sortable_key(version: int, value: int) -> str:
    """Fixed-width hex of an address, so that a CIDR range is a range of strings."""
    return f"4:{value:08x}" if version == 4 else f"6:{value:032x}"


def address_range(text: str) -> tuple[str, str] | None:
    """The first and last :func:`sortable_key` of an address or CIDR, ignoring host bits."""
    address_text, slash, prefix_text = text.strip().partition("/")
    address = _parse_wire_address(address_text)
    if address is None:
        return None
    prefix: int = address.max_prefixlen
    if slash:
        if not _PREFIX.fullmatch(prefix_text) or int(prefix_text) > prefix:
            return None
        prefix = int(prefix_text)
    # Mapped clients are logged as IPv4, so a mapped range must search the IPv4 keys.
    address, prefix = _unmap(address, prefix)
    host_bits = address.max_prefixlen - prefix
    first = int(address) >> host_bits << host_bits
    last = first | ((1 << host_bits) - 1)
    return sortable_key(address.version, first), sortable_key(address.version, last)
