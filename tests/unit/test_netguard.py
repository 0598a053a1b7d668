"""The SSRF guard: which addresses a check may connect to, and that a host is resolved only once.

No test here opens a connection: resolution is mocked wherever the answer is not loopback.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from types import SimpleNamespace
from typing import Any

import pytest

from smtphub import netguard

REFUSED = [
    # IPv4
    ("0.0.0.0", "unspecified"),
    ("0.1.2.3", "unspecified"),
    ("10.0.0.1", "private"),
    ("172.16.5.4", "private"),
    ("172.31.255.255", "private"),
    ("192.168.1.10", "private"),
    ("100.64.0.1", "shared (CGNAT)"),
    ("100.127.255.254", "shared (CGNAT)"),
    ("127.0.0.1", "loopback"),
    ("127.255.255.254", "loopback"),
    ("169.254.169.254", "link-local"),  # instance metadata
    ("169.254.170.2", "link-local"),  # ECS/Lambda container credentials
    ("192.0.0.170", "reserved"),
    ("192.0.2.1", "documentation"),
    ("198.51.100.7", "documentation"),
    ("203.0.113.9", "documentation"),
    ("198.18.0.1", "reserved"),
    ("192.88.99.1", "reserved"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "reserved"),
    # IPv6
    ("::", "unspecified"),
    ("::1", "loopback"),
    ("fe80::1", "link-local"),
    ("fc00::1", "private"),
    ("fd00:ec2::254", "private"),  # instance metadata over IPv6 (a unique local address)
    ("fec0::1", "private"),
    ("ff02::1", "multicast"),
    ("ff05::2", "multicast"),
    ("2001:db8::1", "documentation"),
    ("3fff::1", "documentation"),
    ("2001::1", "reserved"),  # Teredo
    ("2001:2::1", "reserved"),
    ("100::1", "reserved"),
    ("5f00::1", "reserved"),
    ("64:ff9b:1::a", "private"),  # NAT64 local-use prefix
    ("::127.0.0.1", "reserved"),  # IPv4-compatible (deprecated)
    ("::8.8.8.8", "reserved"),
    ("4000::1", "reserved"),  # outside global unicast 2000::/3
    # IPv6 forms that embed an IPv4 address are judged by that address
    ("::ffff:127.0.0.1", "loopback"),
    ("::ffff:10.1.2.3", "private"),
    ("::ffff:169.254.169.254", "link-local"),
    ("::ffff:100.64.1.1", "shared (CGNAT)"),
    ("64:ff9b::a9fe:a9fe", "link-local"),  # NAT64 of 169.254.169.254
    ("64:ff9b::7f00:1", "loopback"),
    ("2002:7f00:1::1", "loopback"),  # 6to4 of 127.0.0.1
    ("2002:a9fe:a9fe::1", "link-local"),
    ("2002:c0a8:101::1", "private"),
]

PUBLIC = [
    "8.8.8.8",
    "1.1.1.1",
    "74.125.140.108",
    "100.63.255.255",  # just below CGNAT
    "100.128.0.0",  # just above
    "172.32.0.1",  # just above 172.16/12
    "2606:4700:4700::1111",
    "2001:4860:4860::8888",  # outside 2001::/23
    "2001:200::1",
    "2a00:1450:4001:80b::201a",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",  # NAT64 of a public address
    "2002:808:808::1",  # 6to4 of a public address
]


@pytest.mark.parametrize(("address", "reason"), REFUSED)
def test_refuses_every_non_public_class(address, reason):
    assert netguard.refusal(ipaddress.ip_address(address)) == reason
    assert not netguard.is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", PUBLIC)
def test_allows_public_addresses(address):
    assert netguard.refusal(ipaddress.ip_address(address)) is None


def test_scoped_link_local_is_refused():
    assert netguard.refusal(ipaddress.ip_address("fe80::1%eth0")) == "link-local"


def fake_getaddrinfo(answers: dict[str, list[str]], calls: list[str]) -> Any:
    def getaddrinfo(host, port, *args, **kwargs):
        calls.append(host)
        if host not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        result = []
        for address in answers[host]:
            if ":" in address:
                result.append((socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0)))
            else:
                result.append((socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port)))
        return result

    return getaddrinfo


@pytest.fixture
def dns(monkeypatch):
    """Mocked resolution: set `answers[host] = [addresses]`; `calls` lists the hosts looked up."""

    state = SimpleNamespace(answers={}, calls=[])
    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo(state.answers, state.calls))
    return state


@pytest.mark.parametrize(("address", "reason"), REFUSED[::3])
def test_resolve_refuses_a_host_that_resolves_to_a_non_public_address(dns, address, reason):
    dns.answers["smtp.example.net"] = [address]
    with pytest.raises(netguard.ResolveError) as refused:
        netguard.resolve("smtp.example.net", 587, allow_private=False, timeout=1)
    assert "not publicly routable" in refused.value.message
    assert reason in refused.value.message
    assert address not in refused.value.message  # the internal address itself is not disclosed
    assert dns.calls == ["smtp.example.net"]


def test_resolve_keeps_only_public_addresses_in_resolver_order(dns):
    dns.answers["mixed.example.net"] = [
        "10.0.0.5",
        "203.0.113.5",
        "8.8.4.4",
        "::1",
        "2606:4700::1",
        "8.8.4.4",
    ]
    addresses = netguard.resolve("mixed.example.net", 25, allow_private=False, timeout=1)
    assert [str(a.ip) for a in addresses] == ["8.8.4.4", "2606:4700::1"]
    assert addresses[0].sockaddr == ("8.8.4.4", 25)
    assert addresses[1].family == socket.AF_INET6
    assert dns.calls == ["mixed.example.net"]


def test_resolve_allows_private_addresses_when_the_deployment_says_so(dns):
    dns.answers["internal.example"] = ["10.0.0.5", "169.254.169.254"]
    addresses = netguard.resolve("internal.example", 25, allow_private=True, timeout=1)
    assert [str(a.ip) for a in addresses] == ["10.0.0.5", "169.254.169.254"]


def test_resolve_caps_the_addresses_tried(dns):
    dns.answers["many.example.net"] = [f"8.8.8.{n}" for n in range(1, 10)]
    assert (
        len(netguard.resolve("many.example.net", 25, allow_private=False, timeout=1))
        == netguard.MAX_ADDRESSES
    )


def test_resolve_reports_an_unknown_host(dns):
    with pytest.raises(netguard.ResolveError, match="could not be resolved"):
        netguard.resolve("nowhere.example.net", 25, allow_private=False, timeout=1)


def test_resolve_of_real_loopback_literals_without_mocking():
    # IP literals resolve without any DNS traffic.
    with pytest.raises(netguard.ResolveError, match="loopback"):
        netguard.resolve("127.0.0.1", 25, allow_private=False, timeout=1)
    with pytest.raises(netguard.ResolveError, match="loopback"):
        netguard.resolve("::1", 25, allow_private=False, timeout=1)
    assert [str(a.ip) for a in netguard.resolve("127.0.0.1", 25, allow_private=True, timeout=1)] == [
        "127.0.0.1"
    ]


def test_a_slow_lookup_is_abandoned_at_its_bound(monkeypatch):
    def slow(*args, **kwargs):
        time.sleep(2)
        return []

    monkeypatch.setattr(socket, "getaddrinfo", slow)
    started = time.monotonic()
    with pytest.raises(netguard.ResolveError, match="took longer"):
        netguard.resolve("slow.example.net", 25, allow_private=False, timeout=0.2)
    assert time.monotonic() - started < 0.5
