"""Finding the client IP behind trusted proxies, failing closed on anything odd (SPEC §4)."""

import pytest
from django.test import RequestFactory
from rest_framework.request import Request

from apikeys.client_ip import client_ip_from_meta, get_client_ip

PROXIES = ["10.0.0.0/8", "2001:db8:ffff::/48"]
NONE = []

# (REMOTE_ADDR, X-Forwarded-For or None when absent, trusted proxies, expected client or None)
CASES = [
    # Default: REMOTE_ADDR only.
    ("198.51.100.7", None, NONE, "198.51.100.7", "no proxies: peer is the client"),
    ("198.51.100.7", "203.0.113.9", NONE, "198.51.100.7", "no proxies: forwarded header ignored"),
    ("10.0.0.1", "203.0.113.9", NONE, "10.0.0.1", "no proxies: private peer is still the client"),
    ("127.0.0.1", "203.0.113.9", NONE, "127.0.0.1", "no proxies: loopback peer is not trusted"),
    ("192.168.1.1", "203.0.113.9", PROXIES, "192.168.1.1", "private peer outside trusted ranges: header ignored"),
    ("198.51.100.7", "203.0.113.9", PROXIES, "198.51.100.7", "untrusted public peer: header ignored"),
    ("2001:db8::7", "203.0.113.9", PROXIES, "2001:db8::7", "untrusted ipv6 peer: header ignored"),
    # Walking the header from the right.
    ("10.0.0.1", "203.0.113.9", PROXIES, "203.0.113.9", "trusted peer: single hop is the client"),
    ("10.0.0.1", "203.0.113.9, 10.0.0.2", PROXIES, "203.0.113.9", "trusted hop on the right skipped"),
    ("10.0.0.1", "203.0.113.9, 10.0.0.3, 10.0.0.2", PROXIES, "203.0.113.9", "several trusted hops skipped"),
    ("10.0.0.1", "203.0.113.9, 2001:db8:ffff::5", PROXIES, "203.0.113.9", "trusted ipv6 hop skipped"),
    ("2001:db8:ffff::1", "203.0.113.9", PROXIES, "203.0.113.9", "trusted ipv6 peer"),
    (
        "10.0.0.1",
        "1.1.1.1, 203.0.113.9",
        PROXIES,
        "203.0.113.9",
        "spoofed leftmost never read: rightmost untrusted hop wins",
    ),
    (
        "10.0.0.1",
        "1.1.1.1, 203.0.113.9, 10.0.0.2",
        PROXIES,
        "203.0.113.9",
        "spoofed leftmost behind a trusted hop still never read",
    ),
    ("10.0.0.1", "10.0.0.3, 10.0.0.2", PROXIES, "10.0.0.3", "all hops trusted: leftmost is the client"),
    ("10.0.0.1", "10.0.0.2", PROXIES, "10.0.0.2", "single trusted hop is the client"),
    ("10.0.0.1", "1.1.1.1,203.0.113.9", PROXIES, "203.0.113.9", "no space after comma"),
    ("10.0.0.1", " 203.0.113.9 ,  10.0.0.2 ", PROXIES, "203.0.113.9", "spaces around hops"),
    ("10.0.0.1", "garbage, 203.0.113.9", PROXIES, "203.0.113.9", "junk left of the client is never reached"),
    # Ports, brackets, mapped addresses and zones.
    ("10.0.0.1", "203.0.113.9:8080", PROXIES, "203.0.113.9", "ipv4 port stripped"),
    ("10.0.0.1", "[2001:db8::1]:443", PROXIES, "2001:db8::1", "bracketed ipv6 port stripped"),
    ("10.0.0.1", "[2001:db8::1]", PROXIES, "2001:db8::1", "bracketed ipv6 without port"),
    ("10.0.0.1", "2001:db8::1", PROXIES, "2001:db8::1", "bare ipv6 kept whole"),
    ("10.0.0.1", "2001:DB8::1", PROXIES, "2001:db8::1", "ipv6 hop lower-cased"),
    ("10.0.0.1", "::ffff:203.0.113.9", PROXIES, "203.0.113.9", "mapped hop becomes ipv4"),
    ("10.0.0.1", "203.0.113.9, ::ffff:10.0.0.2", PROXIES, "203.0.113.9", "mapped trusted hop skipped"),
    ("10.0.0.1", "fe80::1%eth0", PROXIES, "fe80::1", "zone id dropped from hop"),
    ("::ffff:198.51.100.10", None, NONE, "198.51.100.10", "mapped peer becomes ipv4"),
    ("::ffff:10.0.0.1", "203.0.113.9", PROXIES, "203.0.113.9", "mapped peer matched as trusted ipv4"),
    ("fe80::1%eth0", None, NONE, "fe80::1", "zone id dropped from peer"),
    # Unknown: fails closed.
    ("10.0.0.1", None, PROXIES, None, "trusted peer sent no header: unknown"),
    ("10.0.0.1", "", PROXIES, None, "trusted peer sent an empty header: unknown"),
    ("10.0.0.1", "   ", PROXIES, None, "blank header: unknown"),
    ("10.0.0.1", "unknown", PROXIES, None, "junk hop: unknown"),
    ("10.0.0.1", "203.0.113.9, garbage", PROXIES, None, "junk on the right: unknown"),
    ("10.0.0.1", "203.0.113.9, , 10.0.0.2", PROXIES, None, "empty hop: unknown"),
    ("10.0.0.1", "203.0.113.9,", PROXIES, None, "trailing comma: unknown"),
    ("10.0.0.1", "010.0.0.1", PROXIES, None, "leading zero hop: unknown"),
    ("10.0.0.1", "127.1", PROXIES, None, "short form hop: unknown"),
    ("10.0.0.1", "203.0.113.9:http", PROXIES, None, "named port: unknown"),
    ("10.0.0.1", "203.0.113.9:", PROXIES, None, "empty port: unknown"),
    ("10.0.0.1", "203.0.113.9:99999", PROXIES, None, "port out of range: unknown"),
    ("10.0.0.1", "203.0.113.9:\u0668\u0660", PROXIES, None, "non-ascii port digits: unknown"),
    ("10.0.0.1", "[2001:db8::1]x", PROXIES, None, "junk after bracket: unknown"),
    ("10.0.0.1", "[2001:db8::1", PROXIES, None, "unclosed bracket: unknown"),
    ("10.0.0.1", "203.0.113.9/32", PROXIES, None, "network as hop: unknown"),
    ("10.0.0.1", "203.0.113.9 198.51.100.7", PROXIES, None, "two addresses without comma: unknown"),
    ("10.0.0.1", "for=203.0.113.9", PROXIES, None, "forwarded syntax in xff: unknown"),
    ("", None, NONE, None, "empty peer: unknown"),
    ("not-an-ip", None, NONE, None, "junk peer: unknown"),
]


def meta_for(remote_addr, header):
    meta = {"REMOTE_ADDR": remote_addr}
    if header is not None:
        meta["HTTP_X_FORWARDED_FOR"] = header
    return meta


def text_of(address):
    return None if address is None else address.text


@pytest.mark.parametrize(
    ("remote_addr", "header", "proxies", "expected"),
    [case[:4] for case in CASES],
    ids=[case[4] for case in CASES],
)
def test_client_ip_from_meta(settings, remote_addr, header, proxies, expected):
    settings.KEYFENCE_TRUSTED_PROXIES = proxies
    assert text_of(client_ip_from_meta(meta_for(remote_addr, header))) == expected


def test_client_ip_is_unknown_without_remote_addr():
    assert client_ip_from_meta({}) is None


def test_client_ip_carries_version_and_numeric_value(settings):
    settings.KEYFENCE_TRUSTED_PROXIES = PROXIES
    address = client_ip_from_meta(meta_for("10.0.0.1", "[2001:db8::1]:443"))
    assert (address.version, address.value) == (6, 0x20010DB8 << 96 | 1)


def test_joined_header_lines_are_walked_in_order(settings):
    # Two X-Forwarded-For lines arrive joined by the WSGI server as "first, second".
    settings.KEYFENCE_TRUSTED_PROXIES = PROXIES
    first_line, second_line = "1.1.1.1, 203.0.113.9", "10.0.0.5"
    meta = meta_for("10.0.0.1", ", ".join([first_line, second_line]))
    assert text_of(client_ip_from_meta(meta)) == "203.0.113.9"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (" " * (4096 - len("203.0.113.9")) + "203.0.113.9", "203.0.113.9"),
        (" " * (4097 - len("203.0.113.9")) + "203.0.113.9", None),
    ],
    ids=["4096 characters accepted", "4097 characters: unknown"],
)
def test_oversized_header_is_unknown(settings, header, expected):
    settings.KEYFENCE_TRUSTED_PROXIES = PROXIES
    assert text_of(client_ip_from_meta(meta_for("10.0.0.1", header))) == expected


@pytest.mark.parametrize(
    ("hops", "expected"),
    [(32, "203.0.113.9"), (33, None)],
    ids=["32 hops walked", "33 hops: unknown"],
)
def test_too_many_hops_is_unknown(settings, hops, expected):
    settings.KEYFENCE_TRUSTED_PROXIES = PROXIES
    header = ", ".join(["203.0.113.9"] + ["10.0.0.2"] * (hops - 1))
    assert text_of(client_ip_from_meta(meta_for("10.0.0.1", header))) == expected


OTHER_HEADERS = {
    "HTTP_X_REAL_IP": "203.0.113.1",
    "HTTP_FORWARDED": "for=203.0.113.2",
    "HTTP_CF_CONNECTING_IP": "203.0.113.3",
    "HTTP_TRUE_CLIENT_IP": "203.0.113.4",
    "HTTP_X_CLIENT_IP": "203.0.113.5",
}


def test_other_headers_are_ignored_by_default():
    meta = {"REMOTE_ADDR": "198.51.100.7", "HTTP_X_FORWARDED_FOR": "203.0.113.9", **OTHER_HEADERS}
    assert text_of(client_ip_from_meta(meta)) == "198.51.100.7"


def test_other_headers_are_ignored_behind_a_trusted_proxy(settings):
    settings.KEYFENCE_TRUSTED_PROXIES = PROXIES
    meta = {"REMOTE_ADDR": "10.0.0.1", **OTHER_HEADERS}
    assert client_ip_from_meta(meta) is None
    meta["HTTP_X_FORWARDED_FOR"] = "203.0.113.9"
    assert text_of(client_ip_from_meta(meta)) == "203.0.113.9"


def test_custom_client_ip_header_is_honoured(settings):
    settings.KEYFENCE_TRUSTED_PROXIES = PROXIES
    settings.KEYFENCE_CLIENT_IP_HEADER = "CF-Connecting-IP"
    meta = {"REMOTE_ADDR": "10.0.0.1", "HTTP_CF_CONNECTING_IP": "203.0.113.3", "HTTP_X_FORWARDED_FOR": "198.51.100.99"}
    assert text_of(client_ip_from_meta(meta)) == "203.0.113.3"


def test_custom_client_ip_header_makes_x_forwarded_for_ignored(settings):
    settings.KEYFENCE_TRUSTED_PROXIES = PROXIES
    settings.KEYFENCE_CLIENT_IP_HEADER = "X-Real-IP"
    meta = {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "198.51.100.99"}
    assert client_ip_from_meta(meta) is None


def test_custom_header_is_ignored_from_an_untrusted_peer(settings):
    settings.KEYFENCE_TRUSTED_PROXIES = PROXIES
    settings.KEYFENCE_CLIENT_IP_HEADER = "X-Real-IP"
    meta = {"REMOTE_ADDR": "198.51.100.7", "HTTP_X_REAL_IP": "203.0.113.1"}
    assert text_of(client_ip_from_meta(meta)) == "198.51.100.7"


@pytest.mark.parametrize(
    ("proxies", "remote_addr"),
    [
        (["10.0.0.1"], "10.0.0.1"),
        (["::ffff:10.0.0.1"], "10.0.0.1"),
        (["::ffff:10.0.0.0/104"], "::ffff:10.1.2.3"),
        ([" 10.0.0.0/8 "], "10.9.9.9"),
    ],
    ids=["bare address", "mapped address as a dual-stack server reports it", "mapped range", "padded entry"],
)
def test_trusted_proxy_spellings(settings, proxies, remote_addr):
    settings.KEYFENCE_TRUSTED_PROXIES = proxies
    assert text_of(client_ip_from_meta(meta_for(remote_addr, "203.0.113.9"))) == "203.0.113.9"


def test_get_client_ip_reads_remote_addr():
    request = RequestFactory().get("/api/v1/whoami", REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR="1.1.1.1")
    assert text_of(get_client_ip(request)) == "198.51.100.7"


def test_get_client_ip_is_computed_once_per_request():
    request = RequestFactory().get("/api/v1/whoami", REMOTE_ADDR="198.51.100.7")
    first = get_client_ip(request)
    request.META["REMOTE_ADDR"] = "203.0.113.1"
    assert get_client_ip(request) is first


def test_get_client_ip_caches_an_unknown_address(settings):
    settings.KEYFENCE_TRUSTED_PROXIES = PROXIES
    request = RequestFactory().get("/api/v1/whoami", REMOTE_ADDR="10.0.0.1")
    assert get_client_ip(request) is None
    request.META["HTTP_X_FORWARDED_FOR"] = "203.0.113.9"
    assert get_client_ip(request) is None


def test_get_client_ip_shares_the_cache_with_a_drf_request():
    django_request = RequestFactory().get("/api/v1/whoami", REMOTE_ADDR="198.51.100.7")
    first = get_client_ip(Request(django_request))
    django_request.META["REMOTE_ADDR"] = "203.0.113.1"
    assert get_client_ip(django_request) is first
    assert first.text == "198.51.100.7"
