"""Parsing, normalizing and validating allowlist entries; compiling and matching (SPEC §2)."""

import ipaddress

import pytest
from django.core.exceptions import ValidationError

from apikeys.matching import compile_allowlist
from apikeys.networks import (
    DUPLICATE_ENTRY,
    HOST_BITS_SET,
    INVALID_ENTRIES,
    INVALID_ENTRY,
    INVALID_IP,
    INVALID_LABEL,
    LABEL_TOO_LONG,
    PREFIX_TOO_BROAD,
    TOO_MANY_ENTRIES,
    ClientAddress,
    EntryInput,
    address_range,
    find_overlaps,
    normalize_cidr,
    parse_client_address,
    parse_network,
    sortable_key,
    validate_allowlist,
    validate_label,
)


def rejection_code(function, value):
    with pytest.raises(ValidationError) as info:
        function(value)
    return info.value.code


def row_codes(error):
    return {key: [item.code for item in items] for key, items in error.error_dict.items()}


def allowlist_error(items):
    with pytest.raises(ValidationError) as info:
        validate_allowlist(items)
    return info.value


# --- accepted forms ------------------------------------------------------------------------

ACCEPTED = [
    ("203.0.113.5", "203.0.113.5/32", "ipv4 address becomes /32"),
    ("203.0.113.0/24", "203.0.113.0/24", "ipv4 network kept"),
    ("198.51.100.7/32", "198.51.100.7/32", "ipv4 explicit /32 kept"),
    ("0.0.0.0", "0.0.0.0/32", "ipv4 lowest address"),
    ("255.255.255.255", "255.255.255.255/32", "ipv4 highest address"),
    ("10.0.0.0/9", "10.0.0.0/9", "ipv4 /9 is the broadest allowed"),
    ("10.128.0.0/9", "10.128.0.0/9", "ipv4 upper /9"),
    ("2001:db8::1", "2001:db8::1/128", "ipv6 address becomes /128"),
    ("2001:db8::/48", "2001:db8::/48", "ipv6 network kept"),
    ("2001:DB8:AbCd::/48", "2001:db8:abcd::/48", "ipv6 lower-cased"),
    ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1/128", "ipv6 expanded form compressed"),
    ("2001:db8:0:0:1:0:0:0/80", "2001:db8:0:0:1::/80", "ipv6 longest zero run compressed"),
    ("2001:db8::/33", "2001:db8::/33", "ipv6 /33 is the broadest allowed"),
    ("::1", "::1/128", "ipv6 loopback"),
    ("::", "::/128", "ipv6 unspecified address"),
    ("  203.0.113.5  ", "203.0.113.5/32", "spaces trimmed"),
    ("\t2001:db8::/48\n", "2001:db8::/48", "tab and newline trimmed"),
    ("::ffff:198.51.100.10", "198.51.100.10/32", "mapped address becomes ipv4 /32"),
    ("::FFFF:198.51.100.10", "198.51.100.10/32", "mapped upper-case becomes ipv4"),
    ("::ffff:c633:640a", "198.51.100.10/32", "mapped in hex becomes ipv4"),
    ("0:0:0:0:0:ffff:198.51.100.10", "198.51.100.10/32", "mapped expanded becomes ipv4"),
    ("::ffff:198.51.100.10/128", "198.51.100.10/32", "mapped /128 becomes /32"),
    ("::ffff:198.51.100.0/120", "198.51.100.0/24", "mapped /120 becomes /24"),
    ("::ffff:10.0.0.0/105", "10.0.0.0/9", "mapped /105 becomes /9, the broadest allowed"),
]


@pytest.mark.parametrize(("value", "canonical"), [row[:2] for row in ACCEPTED], ids=[row[2] for row in ACCEPTED])
def test_normalize_cidr_returns_the_canonical_form(value, canonical):
    assert normalize_cidr(value) == canonical


@pytest.mark.parametrize(("value", "canonical"), [row[:2] for row in ACCEPTED], ids=[row[2] for row in ACCEPTED])
def test_parse_network_returns_the_network_of_the_canonical_form(value, canonical):
    assert parse_network(value) == ipaddress.ip_network(canonical)


def test_parse_network_converts_mapped_input_to_an_ipv4_network():
    network = parse_network("::ffff:198.51.100.0/120")
    assert isinstance(network, ipaddress.IPv4Network)
    assert network.prefixlen == 24


# --- rejections ----------------------------------------------------------------------------

REJECTED = [
    ("", INVALID_IP, "empty"),
    ("   ", INVALID_IP, "blank"),
    ("office", INVALID_IP, "a word"),
    ("example.com", INVALID_IP, "a host name"),
    ("010.0.0.1", INVALID_IP, "leading zero in first octet"),
    ("10.0.0.01", INVALID_IP, "leading zero in last octet"),
    ("10.00.0.1", INVALID_IP, "double zero octet"),
    ("127.1", INVALID_IP, "short form two parts"),
    ("127.0.1", INVALID_IP, "short form three parts"),
    ("0x7f.0.0.1", INVALID_IP, "hex octet"),
    ("0x7f000001", INVALID_IP, "hex integer"),
    ("2130706433", INVALID_IP, "decimal integer"),
    ("017700000001", INVALID_IP, "octal integer"),
    ("256.0.0.1", INVALID_IP, "octet above 255"),
    ("1.2.3.4.5", INVALID_IP, "five octets"),
    ("1.2.3.", INVALID_IP, "trailing dot"),
    ("\uff11.2.3.4", INVALID_IP, "full-width digit"),
    ("fe80::1%eth0", INVALID_IP, "zone id by name"),
    ("fe80::1%1", INVALID_IP, "zone id by number"),
    ("1.2.3.4:80", INVALID_IP, "ipv4 with port"),
    ("[2001:db8::1]", INVALID_IP, "ipv6 in brackets"),
    ("[2001:db8::1]:443", INVALID_IP, "ipv6 in brackets with port"),
    ("2001:db8:::1", INVALID_IP, "triple colon"),
    ("2001:db8::1::2", INVALID_IP, "two double colons"),
    ("12345::", INVALID_IP, "hextet too long"),
    ("2001:db8::g", INVALID_IP, "non-hex ipv6 digit"),
    ("::ffff:010.0.0.1", INVALID_IP, "leading zero inside mapped address"),
    ("10.0.0.0/255.255.255.0", INVALID_IP, "netmask suffix"),
    ("10.0.0.0/0.0.0.255", INVALID_IP, "hostmask suffix"),
    ("10.0.0.0/08", INVALID_IP, "zero-padded prefix"),
    ("2001:db8::/048", INVALID_IP, "zero-padded ipv6 prefix"),
    ("10.0.0.0/33", INVALID_IP, "ipv4 prefix above 32"),
    ("2001:db8::/129", INVALID_IP, "ipv6 prefix above 128"),
    ("10.0.0.0/", INVALID_IP, "empty prefix"),
    ("10.0.0.0/+24", INVALID_IP, "signed prefix"),
    ("10.0.0.0/-1", INVALID_IP, "negative prefix"),
    ("10.0.0.0/ 24", INVALID_IP, "space after slash"),
    ("10.0.0.0 /24", INVALID_IP, "space before slash"),
    ("10.0.0.0/24/24", INVALID_IP, "two prefixes"),
    ("10.0.0.0/\uff12\uff14", INVALID_IP, "full-width prefix digits"),
    ("/24", INVALID_IP, "prefix without address"),
    ("1.2.3.4,5.6.7.8", INVALID_IP, "two values with comma"),
    ("1.2.3.4, 5.6.7.8", INVALID_IP, "two values with comma and space"),
    ("1.2.3.4 5.6.7.8", INVALID_IP, "two values with space"),
    ("1.2.3.4\n5.6.7.8", INVALID_IP, "two values on two lines"),
    ("1.2.3.4;5.6.7.8", INVALID_IP, "two values with semicolon"),
    ("1" * 65, INVALID_IP, "65 characters"),
    ("2001:db8::1" + "0" * 60, INVALID_IP, "over 64 characters of ipv6 digits"),
    (2130706433, INVALID_IP, "json integer"),
    (None, INVALID_IP, "json null"),
    (["203.0.113.5"], INVALID_IP, "json list"),
    ({"cidr": "203.0.113.5"}, INVALID_IP, "json object"),
    (True, INVALID_IP, "json true"),
    (1.5, INVALID_IP, "json float"),
    (b"203.0.113.5", INVALID_IP, "bytes"),
    ("10.0.0.0/8", PREFIX_TOO_BROAD, "ipv4 /8 too broad"),
    ("0.0.0.0/0", PREFIX_TOO_BROAD, "ipv4 /0 too broad"),
    ("2001:db8::/32", PREFIX_TOO_BROAD, "ipv6 /32 too broad"),
    ("::/0", PREFIX_TOO_BROAD, "ipv6 /0 too broad"),
    ("::ffff:10.0.0.0/104", PREFIX_TOO_BROAD, "mapped /104 is ipv4 /8, too broad"),
    ("::ffff:0.0.0.0/96", PREFIX_TOO_BROAD, "mapped /96 is ipv4 /0, too broad"),
    ("203.0.113.5/24", HOST_BITS_SET, "ipv4 host bits"),
    ("10.0.0.1/9", HOST_BITS_SET, "ipv4 host bits at /9"),
    ("203.0.113.1/31", HOST_BITS_SET, "ipv4 lowest host bit"),
    ("2001:db8::1/64", HOST_BITS_SET, "ipv6 host bits"),
    ("::ffff:203.0.113.5/120", HOST_BITS_SET, "mapped host bits"),
]


@pytest.mark.parametrize(("value", "code"), [row[:2] for row in REJECTED], ids=[row[2] for row in REJECTED])
def test_normalize_cidr_rejects_with_a_code(value, code):
    assert rejection_code(normalize_cidr, value) == code


@pytest.mark.parametrize(("value", "code"), [row[:2] for row in REJECTED], ids=[row[2] for row in REJECTED])
def test_parse_network_rejects_with_a_code(value, code):
    assert rejection_code(parse_network, value) == code


@pytest.mark.parametrize(
    ("value", "suggestion"),
    [
        ("203.0.113.5/24", "203.0.113.0/24"),
        ("2001:db8::1/64", "2001:db8::/64"),
        ("::ffff:203.0.113.5/120", "203.0.113.0/24"),
    ],
    ids=["ipv4", "ipv6", "mapped suggests the ipv4 network"],
)
def test_host_bits_set_suggests_the_network(value, suggestion):
    with pytest.raises(ValidationError) as info:
        normalize_cidr(value)
    assert info.value.code == HOST_BITS_SET
    assert suggestion in info.value.messages[0]


# --- settings overrides --------------------------------------------------------------------


def test_min_prefix_v4_override_narrows_the_limit(settings):
    settings.KEYFENCE_MIN_PREFIX_V4 = 16
    assert rejection_code(normalize_cidr, "10.0.0.0/15") == PREFIX_TOO_BROAD
    assert normalize_cidr("10.0.0.0/16") == "10.0.0.0/16"


def test_min_prefix_v4_override_widens_the_limit(settings):
    settings.KEYFENCE_MIN_PREFIX_V4 = 8
    assert normalize_cidr("10.0.0.0/8") == "10.0.0.0/8"
    assert rejection_code(normalize_cidr, "10.0.0.0/7") == PREFIX_TOO_BROAD


def test_min_prefix_v6_override_takes_effect(settings):
    settings.KEYFENCE_MIN_PREFIX_V6 = 48
    assert rejection_code(normalize_cidr, "2001:db8::/47") == PREFIX_TOO_BROAD
    assert normalize_cidr("2001:db8::/48") == "2001:db8::/48"


def test_max_allowlist_entries_override_takes_effect(settings):
    settings.KEYFENCE_MAX_ALLOWLIST_ENTRIES = 2
    rows = [{"cidr": f"203.0.113.{i}"} for i in range(3)]
    assert len(validate_allowlist(rows[:2])) == 2
    assert allowlist_error(rows).code == TOO_MANY_ENTRIES


# --- labels --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "label"),
    [(None, ""), ("", ""), ("  Office VPN  ", "Office VPN"), ("x" * 100, "x" * 100)],
    ids=["none becomes empty", "empty", "trimmed", "100 characters accepted"],
)
def test_validate_label_accepts(value, label):
    assert validate_label(value) == label


@pytest.mark.parametrize(
    ("value", "code"),
    [("x" * 101, LABEL_TOO_LONG), (5, INVALID_LABEL), (["office"], INVALID_LABEL), (False, INVALID_LABEL)],
    ids=["101 characters too long", "integer", "list", "boolean"],
)
def test_validate_label_rejects(value, code):
    assert rejection_code(validate_label, value) == code


# --- whole allowlists ----------------------------------------------------------------------


def test_validate_allowlist_normalizes_every_row():
    entries = validate_allowlist(
        [
            {"cidr": " 203.0.113.5 ", "label": " Office "},
            {"cidr": "2001:DB8::/48"},
            {"cidr": "::ffff:198.51.100.0/120", "label": None},
        ]
    )
    assert entries == [
        EntryInput("203.0.113.5/32", "Office"),
        EntryInput("2001:db8::/48", ""),
        EntryInput("198.51.100.0/24", ""),
    ]


def test_validate_allowlist_accepts_an_empty_list():
    assert validate_allowlist([]) == []


def test_validate_allowlist_accepts_twenty_entries():
    rows = [{"cidr": f"203.0.113.{i}"} for i in range(20)]
    assert len(validate_allowlist(rows)) == 20


def test_validate_allowlist_rejects_twenty_one_entries():
    rows = [{"cidr": f"203.0.113.{i}"} for i in range(21)]
    assert allowlist_error(rows).code == TOO_MANY_ENTRIES


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("203.0.113.5", "203.0.113.5/32"),
        ("203.0.113.5", " 203.0.113.5 "),
        ("2001:db8::/48", "2001:DB8:0::/48"),
        ("198.51.100.10", "::ffff:198.51.100.10"),
        ("10.0.0.0/9", "::ffff:10.0.0.0/105"),
    ],
    ids=["address and its /32", "surrounding spaces", "ipv6 spellings", "mapped address", "mapped network"],
)
def test_validate_allowlist_rejects_duplicates_after_normalization(first, second):
    error = allowlist_error([{"cidr": first}, {"cidr": second}])
    assert row_codes(error) == {"1.cidr": [DUPLICATE_ENTRY]}


def test_validate_allowlist_keys_errors_by_row_and_field():
    error = allowlist_error(
        [
            {"cidr": "203.0.113.5"},
            {"cidr": "198.51.100.0/24", "label": "x" * 101},
            {"cidr": "010.0.0.1"},
            {"cidr": "203.0.113.5/24"},
        ]
    )
    assert row_codes(error) == {
        "1.label": [LABEL_TOO_LONG],
        "2.cidr": [INVALID_IP],
        "3.cidr": [HOST_BITS_SET],
    }


def test_validate_allowlist_reports_cidr_and_label_of_one_row():
    error = allowlist_error([{"cidr": "10.0.0.0/8", "label": 7}])
    assert row_codes(error) == {"0.cidr": [PREFIX_TOO_BROAD], "0.label": [INVALID_LABEL]}


def test_validate_allowlist_a_rejected_row_is_not_a_duplicate_source():
    error = allowlist_error([{"cidr": "203.0.113.5/24"}, {"cidr": "203.0.113.0/24"}])
    assert row_codes(error) == {"0.cidr": [HOST_BITS_SET]}


@pytest.mark.parametrize(
    "row",
    [{}, {"label": "office"}, {"cidr": None}, {"cidr": 3405803781}],
    ids=["empty object", "label only", "null cidr", "integer cidr"],
)
def test_validate_allowlist_row_without_a_usable_cidr(row):
    assert row_codes(allowlist_error([row])) == {"0.cidr": [INVALID_IP]}


@pytest.mark.parametrize(
    "row",
    ["203.0.113.5", None, ["203.0.113.5"], {"cidr": "203.0.113.5", "note": "x"}],
    ids=["bare string", "null", "list", "unknown field"],
)
def test_validate_allowlist_rejects_a_row_that_is_not_an_entry(row):
    assert row_codes(allowlist_error([row])) == {"0": [INVALID_ENTRY]}


@pytest.mark.parametrize(
    "items",
    ["203.0.113.5", None, {"cidr": "203.0.113.5"}, 5],
    ids=["string", "null", "single object", "integer"],
)
def test_validate_allowlist_rejects_a_value_that_is_not_a_list(items):
    assert allowlist_error(items).code == INVALID_ENTRIES


# --- overlaps ------------------------------------------------------------------------------


def test_find_overlaps_flags_an_entry_inside_another():
    warnings = find_overlaps(["10.0.0.0/16", "10.0.1.0/24"])
    assert [(w["code"], w["cidr"], w["within"]) for w in warnings] == [("ENTRY_OVERLAPS", "10.0.1.0/24", "10.0.0.0/16")]


def test_find_overlaps_flags_an_address_inside_a_range_in_either_order():
    warnings = find_overlaps(["203.0.113.5/32", "2001:db8::/48", "203.0.113.0/24"])
    assert [(w["cidr"], w["within"]) for w in warnings] == [("203.0.113.5/32", "203.0.113.0/24")]


def test_find_overlaps_reports_each_inner_entry_once():
    warnings = find_overlaps(["10.0.0.0/9", "10.1.0.0/16", "10.1.2.0/24"])
    assert sorted(w["cidr"] for w in warnings) == ["10.1.0.0/16", "10.1.2.0/24"]


@pytest.mark.parametrize(
    "cidrs",
    [
        [],
        ["10.0.0.0/25", "10.0.0.128/25"],
        ["203.0.113.0/24", "2001:db8::/48"],
        ["0.0.0.0/32", "::/33"],
    ],
    ids=["empty", "adjacent ranges", "different families", "ipv4 zero and ipv6 zero"],
)
def test_find_overlaps_is_quiet_without_nesting(cidrs):
    assert find_overlaps(cidrs) == []


# --- client addresses and sortable keys ----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("198.51.100.7", ClientAddress("198.51.100.7", 4, 0xC6336407)),
        (" 198.51.100.7 ", ClientAddress("198.51.100.7", 4, 0xC6336407)),
        ("::ffff:198.51.100.10", ClientAddress("198.51.100.10", 4, 0xC633640A)),
        ("2001:DB8::1", ClientAddress("2001:db8::1", 6, 0x20010DB8 << 96 | 1)),
        ("fe80::1%eth0", ClientAddress("fe80::1", 6, 0xFE80 << 112 | 1)),
    ],
    ids=["ipv4", "trimmed", "mapped becomes ipv4", "ipv6 lower-cased", "zone id dropped"],
)
def test_parse_client_address(text, expected):
    assert parse_client_address(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "unknown",
        "010.0.0.1",
        "127.1",
        "1.2.3.4:80",
        "[2001:db8::1]",
        "203.0.113.0/24",
        "1.2.3.4%eth0",
        "fe80::1%",
        "1.2.3.4, 5.6.7.8",
    ],
    ids=[
        "empty",
        "word",
        "leading zero",
        "short form",
        "port",
        "brackets",
        "network",
        "zone on ipv4",
        "empty zone",
        "two addresses",
    ],
)
def test_parse_client_address_returns_none_for_junk(text):
    assert parse_client_address(text) is None


def test_sortable_key_is_fixed_width_hex():
    assert sortable_key(4, 0) == "4:00000000"
    assert sortable_key(4, 2**32 - 1) == "4:ffffffff"
    assert sortable_key(6, 1) == "6:" + "0" * 31 + "1"
    assert len(sortable_key(6, 2**128 - 1)) == 34


@pytest.mark.parametrize(
    ("lower", "higher"),
    [("9.255.255.255", "10.0.0.0"), ("2.0.0.0", "10.0.0.0"), ("::9", "::a"), ("::ffff", "1::")],
    ids=["ipv4 carry", "ipv4 string order differs", "ipv6 hex digit", "ipv6 width"],
)
def test_sortable_key_orders_like_numbers(lower, higher):
    low, high = ipaddress.ip_address(lower), ipaddress.ip_address(higher)
    assert sortable_key(low.version, int(low)) < sortable_key(high.version, int(high))


def keys_of(first, last):
    a, b = ipaddress.ip_address(first), ipaddress.ip_address(last)
    return sortable_key(a.version, int(a)), sortable_key(b.version, int(b))


@pytest.mark.parametrize(
    ("text", "first", "last"),
    [
        ("203.0.113.0/24", "203.0.113.0", "203.0.113.255"),
        ("203.0.113.5", "203.0.113.5", "203.0.113.5"),
        ("203.0.113.5/24", "203.0.113.0", "203.0.113.255"),
        ("0.0.0.0/0", "0.0.0.0", "255.255.255.255"),
        ("2001:db8::/48", "2001:db8::", "2001:db8:0:ffff:ffff:ffff:ffff:ffff"),
        ("::ffff:198.51.100.10", "198.51.100.10", "198.51.100.10"),
        ("::ffff:10.0.0.0/104", "10.0.0.0", "10.255.255.255"),
        ("::ffff:0:0/95", "::fffe:0:0", "::ffff:ffff:ffff"),
    ],
    ids=[
        "ipv4 range",
        "ipv4 address",
        "host bits ignored",
        "whole ipv4",
        "ipv6 range",
        "mapped address searches ipv4",
        "mapped range searches ipv4",
        "range wider than mapped block stays ipv6",
    ],
)
def test_address_range(text, first, last):
    assert address_range(text) == keys_of(first, last)


@pytest.mark.parametrize(
    "text",
    ["", "office", "10.0.0.0/33", "10.0.0.0/08", "2001:db8::/129", "1.2.3.4%eth0", "10.0.0.0/x"],
    ids=[
        "empty",
        "word",
        "ipv4 prefix too long",
        "zero-padded prefix",
        "ipv6 prefix too long",
        "zone on ipv4",
        "non-numeric prefix",
    ],
)
def test_address_range_rejects_junk(text):
    assert address_range(text) is None


# --- compiled allowlists -------------------------------------------------------------------


def client(text):
    address = parse_client_address(text)
    assert address is not None
    return address


NESTED = [("wide", "10.0.0.0/9"), ("narrow", "10.1.2.0/24"), ("host", "10.1.2.3/32")]


@pytest.mark.parametrize("entries", [NESTED, NESTED[::-1]], ids=["broad first", "specific first"])
@pytest.mark.parametrize(
    ("address", "expected"),
    [("10.1.2.3", "host"), ("10.1.2.4", "narrow"), ("10.64.0.1", "wide"), ("10.128.0.0", None)],
    ids=["host entry", "network entry", "broad entry", "outside all"],
)
def test_match_returns_the_most_specific_entry(entries, address, expected):
    assert compile_allowlist(entries).match(client(address)) == expected


@pytest.mark.parametrize(
    ("cidr", "inside", "outside"),
    [
        ("203.0.113.0/24", ["203.0.113.0", "203.0.113.255"], ["203.0.112.255", "203.0.114.0"]),
        ("203.0.113.5/32", ["203.0.113.5"], ["203.0.113.4", "203.0.113.6"]),
        ("0.0.0.0/32", ["0.0.0.0"], ["0.0.0.1"]),
        ("255.255.255.255/32", ["255.255.255.255"], ["255.255.255.254"]),
        (
            "2001:db8::/48",
            ["2001:db8::", "2001:db8:0:ffff:ffff:ffff:ffff:ffff"],
            ["2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", "2001:db8:1::"],
        ),
        ("::/128", ["::"], ["::1"]),
    ],
    ids=["ipv4 /24", "ipv4 /32", "lowest ipv4", "highest ipv4", "ipv6 /48", "lowest ipv6"],
)
def test_match_includes_first_and_last_address_only(cidr, inside, outside):
    allowlist = compile_allowlist([("entry", cidr)])
    assert [allowlist.match(client(a)) for a in inside] == ["entry"] * len(inside)
    assert [allowlist.match(client(a)) for a in outside] == [None] * len(outside)


def test_ipv4_client_never_matches_an_ipv6_entry():
    # ::/33 holds the integer value of every IPv4 address, so only the family keeps them apart.
    allowlist = compile_allowlist([("v6", "::/33")])
    assert allowlist.match(client("10.0.0.1")) is None
    assert allowlist.match(client("::a00:1")) == "v6"


def test_ipv6_client_never_matches_an_ipv4_entry():
    allowlist = compile_allowlist([("v4", "10.0.0.0/9")])
    assert allowlist.match(client("::a00:1")) is None
    assert allowlist.match(client("10.0.0.1")) == "v4"


def test_mapped_client_matches_its_ipv4_entry():
    allowlist = compile_allowlist([("office", "198.51.100.10/32")])
    assert allowlist.match(client("::ffff:198.51.100.10")) == "office"


def test_empty_allowlist_is_unrestricted():
    allowlist = compile_allowlist([])
    assert allowlist.unrestricted is True
    assert allowlist.match(client("203.0.113.5")) is None


@pytest.mark.parametrize("cidr", ["203.0.113.0/24", "2001:db8::/48"], ids=["ipv4 only", "ipv6 only"])
def test_allowlist_with_entries_is_restricted(cidr):
    assert compile_allowlist([(1, cidr)]).unrestricted is False


def test_unknown_address_matches_nothing():
    allowlist = compile_allowlist([("v4", "10.0.0.0/9"), ("v6", "::/33")])
    assert allowlist.match(None) is None
