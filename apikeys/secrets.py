"""Key generation, checksum, hashing and constant-time verification. Pure Python.

A key reads ``kf_<prefix>_<body>``: an 8-character public prefix of ``[a-z0-9]`` and 38 base62
characters, the last 6 of which are a base62 CRC32 of everything before them. The checksum lets
the server reject a mistyped key without touching the database.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string
import zlib
from dataclasses import dataclass

BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
PREFIX_ALPHABET = string.ascii_lowercase + string.digits
PREFIX_LENGTH = 8
BODY_LENGTH = 38
CHECKSUM_LENGTH = 6
KEY_PATTERN = re.compile(r"kf_([a-z0-9]{8})_([A-Za-z0-9]{38})")
KEY_LENGTH = 3 + PREFIX_LENGTH + 1 + BODY_LENGTH


def _base62(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, remainder = divmod(number, 62)
        digits.append(BASE62[remainder])
    return "".join(reversed(digits))


def checksum(text: str) -> str:
    """The 6-character base62 CRC32 of ``text``."""
    return _base62(zlib.crc32(text.encode()), CHECKSUM_LENGTH)


@dataclass(frozen=True, slots=True)
class ParsedKey:
    """A presented key whose format and checksum are right."""

    prefix: str
    full: str


def generate_prefix() -> str:
    """A new random public prefix."""
    return "".join(secrets.choice(PREFIX_ALPHABET) for _ in range(PREFIX_LENGTH))


def generate_key(prefix: str) -> str:
    """A new full key for ``prefix``; the caller shows it once and stores only its hash."""
    random_part = "".join(secrets.choice(BASE62) for _ in range(BODY_LENGTH - CHECKSUM_LENGTH))
    head = f"kf_{prefix}_{random_part}"
    return head + checksum(head)


def parse_key(raw: str) -> ParsedKey | None:
    """Return the key if its format and checksum are right, else ``None``."""
    if len(raw) != KEY_LENGTH or not KEY_PATTERN.fullmatch(raw):
        return None
    head, tail = raw[:-CHECKSUM_LENGTH], raw[-CHECKSUM_LENGTH:]
    if not hmac.compare_digest(checksum(head), tail):
        return None
    return ParsedKey(prefix=raw[3 : 3 + PREFIX_LENGTH], full=raw)


def prefix_of(raw: str) -> str | None:
    """The well-formed prefix of a presented key, even if the rest is wrong; for logging.

    The separator must follow, or ``kf_abcdefghi_...`` would be taken for key ``abcdefgh``.
    """
    if raw.startswith("kf_") and raw[3 + PREFIX_LENGTH : 4 + PREFIX_LENGTH] == "_":
        candidate = raw[3 : 3 + PREFIX_LENGTH]
        if all(ch in PREFIX_ALPHABET for ch in candidate):
            return candidate
    return None


def hash_key(full: str) -> str:
    """SHA-256 of the full key. The key carries ~190 random bits, so a fast hash is enough."""
    return hashlib.sha256(full.encode()).hexdigest()


def digest_matches(digest: str, stored_hash: str) -> bool:
    """Compare a key's hash with a stored one in constant time."""
    return hmac.compare_digest(digest, stored_hash)


def verify_key(full: str, stored_hash: str) -> bool:
    """Compare the key's hash with ``stored_hash`` in constant time."""
    return digest_matches(hash_key(full), stored_hash)
