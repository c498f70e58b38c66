"""Property tests: the allowlist parser and matcher agree with ``ipaddress`` and fail only cleanly."""

import ipaddress

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings
from hypothesis import given, settings
from hypothesis import strategies as st

from apikeys.client_ip import client_ip_from_meta
from apikeys.matching import compile_allowlist
from apikeys.networks import (
    HOST_BITS_SET,
    INVALID_IP,
    PREFIX_TOO_BROAD,
    address_range,
    normalize_cidr,
    parse_client_address,
    parse_network,
    sortable_key,
)

# The known codes that a single entry can get; the others concern whole lists and labels.
PARSER_CODES = {INVALID_IP, PREFIX_TOO_BROAD, HOST_BITS_SET}
MAX_V4 = 2**32 - 1
MAX_V6 = 2**128 - 1
# Characters that make near-miss addresses: digits, hex, separators, brackets, zones, signs.
NEAR_MISS = "0123456789abcdefABCDEFx:./%[], \t\n-+\uff10\u0660"

modest = settings(max_examples=250, deadline=None)


# --- strategies ----------------------------------------------------------------------------

v4_addresses = st.integers(0, MAX_V4).map(ipaddress.IPv4Address)
v6_addresses = st.integers(0, MAX_V6).map(ipaddress.IPv6Address)
v4_networks = st.builds(
    lambda value, prefix: ipaddress.IPv4Network((value, prefix), strict=False),
    st.integers(0, MAX_V4),
    st.integers(9, 32),
)
v6_networks = st.builds(
    lambda value, prefix: ipaddress.IPv6Network((value, prefix), strict=False),
    st.integers(0, MAX_V6),
    st.integers(33, 128),
)


def mapped_text(network):
    return f"::ffff:{network.network_address}/{network.prefixlen + 96}"


# Each entry is (text as a user might type it, the network it must mean).
entries = st.one_of(
    v4_networks.map(lambda n: (str(n), n)),
    v4_networks.map(lambda n: (str(n.network_address), n) if n.prefixlen == 32 else (str(n), n)),
    v6_networks.map(lambda n: (str(n), n)),
    v6_networks.map(lambda n: (n.exploded.upper(), n)),
    v4_networks.map(lambda n: (mapped_text(n), n)),
)
valid_texts = entries.map(lambda entry: entry[0])


@st.composite
def near(draw, networks):
    """An address inside, at the edge of, or just outside one of ``networks``, or anywhere."""
    if networks and draw(st.integers(0, 3)):
        network = draw(st.sampled_from(networks))
        first, last = int(network.network_address), int(network.broadcast_address)
        value = draw(st.sampled_from([first, last, first - 1, last + 1]) | st.integers(first, last))
        if network.version == 4:
            return ipaddress.IPv4Address(min(max(value, 0), MAX_V4))
        return ipaddress.IPv6Address(min(max(value, 0), MAX_V6))
    return draw(v4_addresses | v6_addresses)


def spellings(address):
    """Ways the same client address reaches the server."""
    forms = [str(address)]
    if address.version == 4:
        forms.append(f"::ffff:{address}")
        forms.append(f"::FFFF:{address}")
    else:
        forms.append(address.exploded.upper())
        forms.append(f"{address}%eth0")
    return st.sampled_from(forms)


@st.composite
def allowlist_and_client(draw):
    drawn = draw(st.lists(entries, max_size=20, unique_by=lambda entry: entry[1]))
    address = draw(near([network for _, network in drawn]))
    return drawn, address, draw(spellings(address))


@st.composite
def mutated(draw):
    """A valid entry with one to three characters inserted, deleted or replaced."""
    text = draw(valid_texts)
    for _ in range(draw(st.integers(1, 3))):
        position = draw(st.integers(0, len(text)))
        char = draw(st.sampled_from(NEAR_MISS) | st.characters())
        operation = draw(st.sampled_from(["insert", "delete", "replace"]))
        if operation == "insert":
            text = text[:position] + char + text[position:]
        elif operation == "delete":
            text = text[:position] + text[position + 1 :]
        else:
            text = text[:position] + char + text[position + 1 :]
    return text


arbitrary_texts = st.one_of(st.text(), st.text(alphabet=NEAR_MISS, max_size=70), mutated())
non_strings = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.binary(),
    st.lists(st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3),
)


# --- reference ------------------------------------------------------------------------------


def as_compared(address):
    """Mapped client addresses are compared as IPv4 (SPEC §4)."""
    if address.version == 6 and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def reference_match(drawn, address):
    address = as_compared(address)
    containing = [
        (network.prefixlen, index)
        for index, (_, network) in enumerate(drawn)
        if network.version == address.version and address in network
    ]
    return max(containing)[1] if containing else None


# --- (a) the matcher agrees with ipaddress -------------------------------------------------


@modest
@given(allowlist_and_client())
def test_match_agrees_with_ipaddress(case):
    drawn, address, text = case
    allowlist = compile_allowlist((index, normalize_cidr(entry)) for index, (entry, _) in enumerate(drawn))
    assert allowlist.unrestricted == (not drawn)
    assert allowlist.match(parse_client_address(text)) == reference_match(drawn, address)


@modest
@given(entries, st.data())
def test_address_range_agrees_with_ipaddress(entry, data):
    text, network = entry
    address = data.draw(near([network]))
    low, high = address_range(text)
    compared = as_compared(address)
    key = sortable_key(compared.version, int(compared))
    inside = compared.version == network.version and compared in network
    assert (low <= key <= high) == inside


# --- (b) arbitrary input fails only with a known code -------------------------------------


def outcome(function, value):
    try:
        return function(value)
    except ValidationError as error:
        return error


@modest
@given(arbitrary_texts)
def test_parser_rejects_arbitrary_text_only_with_known_codes(text):
    for function in (normalize_cidr, parse_network):
        result = outcome(function, text)
        if isinstance(result, ValidationError):
            assert result.code in PARSER_CODES


@modest
@given(arbitrary_texts)
def test_accepted_text_is_canonical_and_within_limits(text):
    result = outcome(normalize_cidr, text)
    if isinstance(result, ValidationError):
        return
    network = ipaddress.ip_network(result)
    assert str(network) == result
    assert network.prefixlen >= (9 if network.version == 4 else 33)
    assert not (network.version == 6 and network.prefixlen >= 96 and network.network_address.ipv4_mapped)


@modest
@given(non_strings)
def test_parser_rejects_every_non_string_as_invalid_ip(value):
    assert outcome(normalize_cidr, value).code == INVALID_IP


@modest
@given(arbitrary_texts)
def test_wire_parsers_never_raise(text):
    parse_client_address(text)
    address_range(text)


@modest
@given(arbitrary_texts)
def test_client_ip_never_raises_on_a_forwarded_header(header):
    with override_settings(KEYFENCE_TRUSTED_PROXIES=["10.0.0.0/8"]):
        found = client_ip_from_meta({"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": header})
    assert found is None or parse_client_address(found.text) == found


# --- (c) normalizing is idempotent ---------------------------------------------------------


@modest
@given(entries)
def test_valid_entries_normalize_to_their_network(entry):
    text, network = entry
    assert normalize_cidr(text) == str(network)


@modest
@given(valid_texts | mutated())
def test_normalize_is_idempotent(text):
    first = outcome(normalize_cidr, text)
    if isinstance(first, ValidationError):
        return
    assert normalize_cidr(first) == first


# --- (d) leading zeros --------------------------------------------------------------------


def test_runtime_ipaddress_rejects_leading_zero_ipv4():
    # Python releases before 3.9.5 read "010.0.0.1" as 10.0.0.1; other parsers read it as octal.
    with pytest.raises(ValueError):
        ipaddress.ip_address("010.0.0.1")
    with pytest.raises(ValidationError) as info:
        normalize_cidr("010.0.0.1")
    assert info.value.code == INVALID_IP


@modest
@given(v4_addresses, st.integers(0, 3), st.integers(1, 2), st.booleans())
def test_zero_padded_octet_is_invalid_ip(address, octet, zeros, mapped):
    parts = str(address).split(".")
    parts[octet] = "0" * zeros + parts[octet]
    text = ".".join(parts)
    if mapped:
        text = "::ffff:" + text
    with pytest.raises(ValidationError) as info:
        normalize_cidr(text)
    assert info.value.code == INVALID_IP
