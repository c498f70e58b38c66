"""GitHub secret scanning (SPEC §17): verify a report's ECDSA P-256 signature, read its tokens.

GitHub signs the raw body with ECDSA over SHA-256 and names its key in
``Github-Public-Key-Identifier``; the signature is base64 DER in ``Github-Public-Key-Signature``.
The public keys come from a local file in GitHub's own ``{"public_keys": [...]}`` shape, read again
whenever the file changes, since the server may not be able to reach GitHub.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import threading
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from .conf import conf

logger = logging.getLogger("keyfence.secret_scanning")

INVALID_SIGNATURE = "INVALID_SIGNATURE"
MAX_TOKENS = 1000
_lock = threading.Lock()
_loaded: dict[str, tuple[float, dict[str, ec.EllipticCurvePublicKey]]] = {}


def _public_keys() -> dict[str, ec.EllipticCurvePublicKey]:
    """The configured keys by identifier; empty when none are configured or the file is unreadable."""
    path = conf.SECRET_SCANNING_KEYS
    if not path:
        return {}
    try:
        mtime = os.stat(path).st_mtime
    except OSError:
        logger.error("The secret-scanning keys file %s cannot be read.", path)
        return {}
    with _lock:
        known = _loaded.get(path)
        if known is not None and known[0] == mtime:
            return known[1]
        keys: dict[str, ec.EllipticCurvePublicKey] = {}
        try:
            with open(path, encoding="utf-8") as handle:
                document = json.load(handle)
            for item in document.get("public_keys", []):
                key = load_pem_public_key(str(item["key"]).encode())
                if isinstance(key, ec.EllipticCurvePublicKey):
                    keys[str(item["key_identifier"])] = key
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            logger.error("The secret-scanning keys file %s is not valid: %s", path, exc)
        _loaded[path] = (mtime, keys)
        return keys


def signature_is_valid(body: bytes, key_identifier: str | None, signature: str | None) -> bool:
    """Whether ``body`` carries a valid signature by a configured GitHub key."""
    if not key_identifier or not signature:
        return False
    key = _public_keys().get(key_identifier)
    if key is None:
        return False
    try:
        key.verify(base64.b64decode(signature, validate=True), body, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


@dataclass(frozen=True, slots=True)
class ReportedToken:
    token: str
    type: str
    url: str
    source: str


def read_report(body: bytes) -> list[ReportedToken]:
    """The tokens of a report: a JSON array of ``{"token", "type", "url", "source"}``.

    Raises ``ValueError`` with a message for anything else.
    """
    try:
        items = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ValueError("The body is not JSON.") from None
    if not isinstance(items, list) or not items:
        raise ValueError("The body must be a non-empty JSON array of reported tokens.")
    if len(items) > MAX_TOKENS:
        raise ValueError(f"A report may hold at most {MAX_TOKENS} tokens.")
    tokens = []
    for index, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("token"), str):
            raise ValueError(f"Item {index} must be an object with a string token.")
        tokens.append(
            ReportedToken(
                token=item["token"],
                type=_text(item.get("type")),
                url=_text(item.get("url")),
                source=_text(item.get("source")),
            )
        )
    return tokens


def _text(value: Any) -> str:
    return value[:500] if isinstance(value, str) else ""
