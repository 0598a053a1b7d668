"""Properties of the SSRF guard (smtphub.netguard): no non-global address is ever accepted.

Hosts are fed through the guard, and through the request's host type (`smtphub.http.fields.Host`)
first as a request would be, in every spelling a resolver accepts for an address: dotted, shortened
(127.1), decimal, octal and hex integers per part or whole, IPv6 compressed or exploded or
upper-case, IPv4-mapped, NAT64 and 6to4 wrappings, a zone id, brackets, a trailing dot; and DNS names
whose (hostile) answers are private.

Resolution never leaves the process: `socket.getaddrinfo` is replaced by a resolver that answers
names from a table and interprets everything else with AI_NUMERICHOST (glibc's own reading of a
numeric host, no lookup). Any attempt to connect fails the test.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from smtphub import netguard
from smtphub.http.fields import Host

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
V4, V6 = ipaddress.IPv4Network, ipaddress.IPv6Network
REAL_GETADDRINFO = socket.getaddrinfo
ANSWERS: dict[str, list[str]] = {}  # the hostile DNS: name -> addresses
PROPERTY_SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# The classes the guard must refuse (issue 4): loopback, private, link-local with the metadata
# service, CGNAT, multicast, reserved, unspecified, documentation/benchmarking, and IPv6's equivalents.
NON_GLOBAL_V4 = [
    V4("0.0.0.0/8"),
    V4("10.0.0.0/8"),
    V4("100.64.0.0/10"),
    V4("127.0.0.0/8"),
    V4("169.254.0.0/16"),
    V4("169.254.169.254/32"),
    V4("172.16.0.0/12"),
    V4("192.0.0.0/24"),
    V4("192.0.2.0/24"),
    V4("192.168.0.0/16"),
    V4("198.18.0.0/15"),
    V4("198.51.100.0/24"),
    V4("203.0.113.0/24"),
    V4("224.0.0.0/4"),
    V4("240.0.0.0/4"),
    V4("255.255.255.255/32"),
]
NON_GLOBAL_V6 = [
    V6("::/128"),
    V6("::1/128"),
    V6("fe80::/10"),
    V6("fc00::/7"),
    V6("fec0::/10"),
    V6("ff00::/8"),
    V6("2001:db8::/32"),
    V6("100::/64"),
    V6("2001::/32"),  # Teredo
]
NAT64 = V6("64:ff9b::/96")
IPV4_COMPATIBLE = V6("::/96")

HOST = TypeAdapter(Host).validate_python  # the host parameter's parser, as smtps/save runs it


def public_by_stdlib(address: IPAddress) -> bool:
    """An oracle apart from netguard's tables: Python's own notions; embedded IPv4 judged as IPv4."""
    if isinstance(address, ipaddress.IPv6Address):
        address = ipaddress.IPv6Address(int(address))  # without a zone id
        inner = address.ipv4_mapped or address.sixtofour
        if inner is None and address in NAT64:
            inner = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if inner is not None:
            return public_by_stdlib(inner)
        if address in IPV4_COMPATIBLE:
            return False
    return address.is_global and not (
        address.is_multicast
        or address.is_private
        or address.is_reserved
        or address.is_link_local
        or address.is_loopback
        or address.is_unspecified
    )


# --- resolution without the network ------------------------------------------------------------


def fake_getaddrinfo(host: Any, port: Any, *args: int, **kwargs: int) -> Any:
    """socket.getaddrinfo(host, port, family=0, type=0, proto=0, flags=0), answered offline."""
    options = dict(zip(("family", "type", "proto", "flags"), args, strict=False)) | kwargs
    name = str(host)
    name = name[:-1] if name.endswith(".") else name  # a resolver reads "x." as the absolute name "x"
    if name.lower() in ANSWERS:
        return [
            (
                socket.AF_INET6 if ":" in a else socket.AF_INET,
                socket.SOCK_STREAM,
                socket.IPPROTO_TCP,
                "",
                (a, port, 0, 0) if ":" in a else (a, port),
            )
            for a in ANSWERS[name.lower()]
        ]
    # Anything else is read as glibc reads a numeric host, with no lookup at all.
    options["flags"] = options.get("flags", 0) | socket.AI_NUMERICHOST
    return REAL_GETADDRINFO(name, port, **options)


def no_connection(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("the guard tried to connect")


@pytest.fixture(autouse=True, scope="module")
def offline() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
        patch.setattr(socket, "create_connection", no_connection)
        patch.setattr(socket.socket, "connect", no_connection)
        patch.setattr(socket.socket, "connect_ex", no_connection)
        yield


def accepted(host: str, *, allow_private: bool = False) -> list[IPAddress]:
    """The addresses the guard would connect to, or [] when it refuses the host."""
    try:
        return [a.ip for a in netguard.resolve(host, 25, allow_private=allow_private, timeout=5)]
    except netguard.ResolveError:
        return []


def through_the_request(host: str) -> list[IPAddress]:
    """As a check would: the host as the request's model stores it, then the guard."""
    try:
        stored = HOST(host)
    except ValidationError:
        return []
    return accepted(stored)


# --- spellings ------------------------------------------------------------------------------------


def number(value: int, style: str) -> str:
    """One part of an inet_aton address: decimal, octal (leading 0) or hex (0x), as glibc reads them."""
    if style == "oct":
        return "0" + format(value, "o")
    if style == "hex":
        return "0x" + format(value, "x")
    if style == "HEX":
        return "0X" + format(value, "X")
    if style == "hex0":
        return "0x00" + format(value, "x")
    return str(value)


@st.composite
def v4_spellings(draw: st.DrawFn, address: ipaddress.IPv4Address) -> str:
    n = int(address)
    octets = list(address.packed)
    parts = draw(st.sampled_from([4, 3, 2, 1]))
    values = {
        4: octets,
        3: [octets[0], octets[1], (octets[2] << 8) | octets[3]],
        2: [octets[0], n & 0xFFFFFF],
        1: [n],
    }[parts]
    styles = st.sampled_from(["dec", "dec", "oct", "hex", "HEX", "hex0"])
    spelled = ".".join(number(value, draw(styles)) for value in values)
    # The generator itself is checked: glibc must read the spelling as the address meant.
    (read,) = {info[4][0] for info in REAL_GETADDRINFO(spelled, 25, flags=socket.AI_NUMERICHOST)}
    assert read == str(address), (spelled, read, address)
    return spelled


@st.composite
def v6_spellings(draw: st.DrawFn, address: ipaddress.IPv6Address) -> str:
    forms = [address.compressed, address.exploded, address.compressed.upper(), address.exploded.upper()]
    inner = address.ipv4_mapped
    if inner is not None:
        forms += [f"::ffff:{inner}", f"::FFFF:{inner}", f"0:0:0:0:0:ffff:{inner}"]
    if address in NAT64:
        forms.append(f"64:ff9b::{ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)}")
    if address.is_link_local:
        forms.append(f"{address.compressed}%1")
    return draw(st.sampled_from(forms))


def spellings(address: IPAddress) -> st.SearchStrategy[str]:
    if isinstance(address, ipaddress.IPv4Address):
        return v4_spellings(address)
    return v6_spellings(address)


def within(network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> st.SearchStrategy[Any]:
    low, high = int(network.network_address), int(network.broadcast_address)
    return st.integers(low, high).map(
        lambda n: ipaddress.ip_address(n) if network.version == 4 else ipaddress.IPv6Address(n)
    )


non_global_v4 = st.sampled_from(NON_GLOBAL_V4).flatmap(within)


def wrapped(inner: ipaddress.IPv4Address) -> st.SearchStrategy[ipaddress.IPv6Address]:
    """IPv6 forms that carry an IPv4 address: mapped, NAT64, 6to4 (any interface id), IPv4-compatible."""
    n = int(inner)
    return st.one_of(
        st.just(ipaddress.IPv6Address((0xFFFF << 32) | n)),
        st.just(ipaddress.IPv6Address(int(NAT64.network_address) | n)),
        st.integers(0, 2**80 - 1).map(lambda host: ipaddress.IPv6Address((0x2002 << 112) | (n << 80) | host)),
        st.just(ipaddress.IPv6Address(n)),
    )


non_global = st.one_of(
    non_global_v4,
    st.sampled_from(NON_GLOBAL_V6).flatmap(within),
    non_global_v4.flatmap(wrapped),
)
any_address = st.one_of(
    st.integers(0, 2**32 - 1).map(ipaddress.IPv4Address),
    st.integers(0, 2**128 - 1).map(ipaddress.IPv6Address),
    st.integers(0, 2**32 - 1).map(ipaddress.IPv4Address).flatmap(wrapped),
)


# --- the properties -------------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(non_global.flatmap(lambda address: st.tuples(st.just(address), spellings(address))))
def test_no_spelling_of_a_non_global_address_is_accepted(case: tuple[IPAddress, str]) -> None:
    address, spelled = case
    assert accepted(spelled) == []
    assert through_the_request(spelled) == []
    assert through_the_request(f"[{spelled}]") == []
    # Not vacuous: the same spelling resolves, to that very address, when private ones are allowed.
    assert accepted(spelled, allow_private=True) == [address]


@PROPERTY_SETTINGS
@given(any_address.flatmap(lambda address: st.tuples(st.just(address), spellings(address))))
def test_whatever_is_accepted_is_global(case: tuple[IPAddress, str]) -> None:
    address, spelled = case
    for form in (spelled, f"{spelled}."):
        for ip in accepted(form) + through_the_request(form):
            assert ip == address
            assert public_by_stdlib(ip), f"{form} was accepted as {ip}"
    if not public_by_stdlib(address):
        assert accepted(spelled) == []


labels = st.from_regex(r"[a-z]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
names = (
    st.lists(labels, min_size=2, max_size=4)
    .map(".".join)
    .filter(lambda name: not name.split(".")[-1][0].isdigit())
)


@PROPERTY_SETTINGS
@given(
    names,
    st.lists(non_global, min_size=1, max_size=4),
    st.lists(any_address, max_size=3),
    st.booleans(),
    st.sampled_from(["lower", "upper", "title"]),
)
def test_a_name_never_leads_to_a_non_global_address(
    name: str, private: list[IPAddress], others: list[IPAddress], trailing_dot: bool, case: str
) -> None:
    """A DNS answer mixing private and public addresses: only public ones are kept, in any name spelling."""
    answers = [str(a) for a in [*private, *others]]
    ANSWERS.clear()
    ANSWERS[name] = answers
    spelled = getattr(name, case)() + ("." if trailing_dot else "")
    try:
        for ip in accepted(spelled) + through_the_request(spelled):
            assert public_by_stdlib(ip), f"{spelled} -> {answers} let {ip} through"
            assert ip not in private
        if all(not public_by_stdlib(ipaddress.ip_address(a)) for a in answers):
            assert accepted(spelled) == []
        assume(accepted(spelled, allow_private=True))
    finally:
        ANSWERS.clear()


def test_the_harness_resolves_the_tricky_spellings_as_glibc_does() -> None:
    """The spellings above are real: each of these is 127.0.0.1 or 169.254.169.254 to glibc."""
    for spelled, meant in [
        ("0x7f000001", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("017700000001", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("0177.0.0.01", "127.0.0.1"),
        ("0xa9.0xfe.0xa9.0xfe", "169.254.169.254"),
        ("169.16689662", "169.254.169.254"),
        ("::ffff:169.254.169.254", "::ffff:169.254.169.254"),
    ]:
        assert accepted(spelled, allow_private=True) == [ipaddress.ip_address(meant)]
        assert accepted(spelled) == []
        assert accepted(spelled + ".") == []
    # The request's own validation lets some of them through as "DNS names": the guard is what stops them.
    assert HOST("0x7f000001") == "0x7f000001"
    assert through_the_request("0x7f000001") == []
