"""Key format, checksum, hashing and constant-time verification (SPEC §1)."""

import hashlib
import hmac
import re
import string
import zlib

import pytest

from apikeys import secrets
from apikeys.secrets import (
    ParsedKey,
    checksum,
    generate_key,
    generate_prefix,
    hash_key,
    parse_key,
    prefix_of,
    verify_key,
)

SCANNER = re.compile(r"kf_[a-z0-9]{8}_[A-Za-z0-9]{38}")
BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
# Characters a mistyped or tampered key might hold at any position.
TYPO_ALPHABET = BASE62 + "_-. é"


def with_checksum(head):
    return head + checksum(head)


def from_base62(text):
    value = 0
    for char in text:
        value = value * 62 + BASE62.index(char)
    return value


@pytest.fixture
def key():
    return generate_key("ab12cd34")


def test_generate_prefix_has_eight_lower_case_alphanumerics():
    prefixes = {generate_prefix() for _ in range(200)}
    assert all(re.fullmatch(r"[a-z0-9]{8}", prefix) for prefix in prefixes)
    assert len(prefixes) == 200


def test_generate_key_matches_the_scanner_pattern(key):
    assert SCANNER.fullmatch(key)
    assert key.startswith("kf_ab12cd34_")
    assert len(key) == 50


def test_a_secret_scanner_finds_a_leaked_key(key):
    leaked = f"export API_TOKEN={key}\ncurl -H 'Authorization: Bearer {key}'"
    assert SCANNER.findall(leaked) == [key, key]


def test_generated_keys_differ():
    keys = {generate_key("ab12cd34") for _ in range(200)}
    assert len(keys) == 200


def test_checksum_is_the_last_six_characters(key):
    assert key[-6:] == checksum(key[:-6])


def test_checksum_is_base62_crc32_of_the_text_before_it(key):
    tail = checksum(key[:-6])
    assert re.fullmatch(r"[A-Za-z0-9]{6}", tail)
    assert from_base62(tail) == zlib.crc32(key[:-6].encode())


@pytest.mark.parametrize("text", ["", "kf_", "kf_ab12cd34_0", "x" * 1000], ids=["empty", "marker", "short", "long"])
def test_checksum_is_six_base62_characters_of_crc32(text):
    assert from_base62(checksum(text)) == zlib.crc32(text.encode())
    assert len(checksum(text)) == 6


def test_parse_key_accepts_a_generated_key(key):
    assert parse_key(key) == ParsedKey(prefix="ab12cd34", full=key)


def test_parse_key_accepts_every_generated_key():
    for _ in range(200):
        prefix = generate_prefix()
        generated = generate_key(prefix)
        assert parse_key(generated) == ParsedKey(prefix=prefix, full=generated)


@pytest.mark.parametrize(
    "position",
    [0, 1, 2, 3, 7, 10, 11, 12, 20, 31, 43, 44, 47, 49],
    ids=[
        "k of kf",
        "f of kf",
        "first separator",
        "prefix start",
        "prefix middle",
        "prefix end",
        "second separator",
        "body start",
        "body middle",
        "body before checksum",
        "last random character",
        "checksum start",
        "checksum middle",
        "checksum end",
    ],
)
def test_parse_key_rejects_any_single_character_change(key, position):
    accepted = [
        char
        for char in TYPO_ALPHABET
        if char != key[position] and parse_key(key[:position] + char + key[position + 1 :]) is not None
    ]
    assert accepted == []


def test_parse_key_rejects_two_swapped_neighbours(key):
    position = next(i for i in range(12, 49) if key[i] != key[i + 1])
    swapped = key[:position] + key[position + 1] + key[position] + key[position + 2 :]
    assert parse_key(swapped) is None


@pytest.mark.parametrize(
    "mutate",
    [
        lambda k: k[:-1],
        lambda k: k + "a",
        lambda k: k[1:],
        lambda k: "",
        lambda k: " " + k,
        lambda k: k + "\n",
        lambda k: k.upper(),
    ],
    ids=[
        "one character short",
        "one character long",
        "marker cut",
        "empty",
        "leading space",
        "trailing newline",
        "upper-cased",
    ],
)
def test_parse_key_rejects_a_wrong_shape(key, mutate):
    assert parse_key(mutate(key)) is None


@pytest.mark.parametrize(
    "head",
    [
        "KF_ab12cd34_" + "a" * 32,
        "kx_ab12cd34_" + "a" * 32,
        "kf_AB12CD34_" + "a" * 32,
        "kf_ab12cd3_" + "a" * 33,
        "kf_ab12cd345_" + "a" * 31,
        "kf-ab12cd34-" + "a" * 32,
        "kf_ab12cd34_" + "a" * 31 + "-",
        "sk_ab12cd34_" + "a" * 32,
    ],
    ids=[
        "upper-case marker",
        "wrong marker",
        "upper-case prefix",
        "seven-character prefix",
        "nine-character prefix",
        "dashes",
        "non-base62 body",
        "another vendor",
    ],
)
def test_parse_key_rejects_a_wrong_format_even_with_a_right_checksum(head):
    candidate = with_checksum(head)
    assert len(candidate) == 50
    assert parse_key(candidate) is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("kf_ab12cd34_" + "a" * 38, "ab12cd34"),
        ("kf_ab12cd34_", "ab12cd34"),
        ("kf_ab12cd34_short", "ab12cd34"),
        ("kf_ab12cd34", None),
        ("kf_ab12cd34x", None),
        ("kf_ab12cd345_" + "a" * 37, None),
        ("kf_AB12CD34_" + "a" * 38, None),
        ("kf_ab-2cd34_" + "a" * 38, None),
        ("kf_ab12", None),
        ("", None),
        ("Bearer kf_ab12cd34_", None),
        ("sk_ab12cd34_" + "a" * 38, None),
    ],
    ids=[
        "full key",
        "prefix and separator only",
        "bad rest keeps the prefix",
        "no separator",
        "other character after prefix",
        "nine-character prefix",
        "upper-case prefix",
        "dash in prefix",
        "too short",
        "empty",
        "scheme left in",
        "wrong marker",
    ],
)
def test_prefix_of(raw, expected):
    assert prefix_of(raw) == expected


def test_prefix_of_a_key_with_a_bad_checksum(key):
    broken = key[:-1] + ("A" if key[-1] != "A" else "B")
    assert parse_key(broken) is None
    assert prefix_of(broken) == "ab12cd34"


def test_hash_key_is_sha256_hex(key):
    digest = hash_key(key)
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert digest == hashlib.sha256(key.encode()).hexdigest()


def test_hash_key_never_holds_the_key(key):
    digest = hash_key(key)
    assert digest != key
    assert key[12:] not in digest


def test_hash_key_differs_for_different_keys(key):
    assert hash_key(key) != hash_key(generate_key("ab12cd34"))


def test_verify_key_accepts_the_right_key(key):
    assert verify_key(key, hash_key(key)) is True


@pytest.mark.parametrize(
    "stored",
    [
        lambda k: hash_key(generate_key("ab12cd34")),
        lambda k: hash_key(k).upper(),
        lambda k: hash_key(k)[:-1],
        lambda k: "",
        lambda k: k,
    ],
    ids=["hash of another key", "upper-cased hash", "truncated hash", "empty", "the key itself"],
)
def test_verify_key_rejects_a_wrong_hash(key, stored):
    assert verify_key(key, stored(key)) is False


def test_verify_key_compares_in_constant_time(key, monkeypatch):
    calls = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(secrets.hmac, "compare_digest", spy)
    stored = hash_key(key)
    assert verify_key(key, stored) is True
    assert verify_key(generate_key("ab12cd34"), stored) is False
    assert len(calls) == 2
    assert calls[0] == (stored, stored)
    assert calls[1][1] == stored


def test_verify_key_trusts_only_the_constant_time_comparison(key, monkeypatch):
    monkeypatch.setattr(secrets.hmac, "compare_digest", lambda a, b: False)
    assert verify_key(key, hash_key(key)) is False
