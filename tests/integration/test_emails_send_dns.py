"""emails/send's DNS checks as deployed (DNS_CHECKS=true) against a tiny DNS responder on 127.0.0.1 (no
internet): the sender's domain must exist, `replyto`'s domain must have an MX (RFC 7505's null MX is none),
`originserver`'s host names are resolved; a resolver that does not answer refuses nothing."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any

import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest

from smtphub import wiring
from tests.support.api import error, ok
from tests.support.emails import Mail, basic, send
from tests.support.lambdas import call, load_event

pytest_plugins = ["tests.support.emails"]

# name -> {type: [record text]}; a name not here is NXDOMAIN.
ZONE: dict[str, dict[str, list[str]]] = {
    "shop.example.": {"MX": ["10 mx.shop.example."], "A": ["192.0.2.1"]},
    "nomail.example.": {"A": ["192.0.2.2"]},  # exists, no MX
    "nullmx.example.": {"MX": ["0 ."]},  # RFC 7505: accepts no mail
    "relay.shop.example.": {"A": ["198.51.100.20"], "AAAA": ["2001:db8::20"]},
}


class Responder:
    """Answers UDP queries from ZONE; `silent` drops them (a resolver that does not answer)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.silent = False
        self.asked: list[tuple[str, str]] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                data, peer = self.sock.recvfrom(4096)
            except OSError:
                return
            query = dns.message.from_wire(data)
            question = query.question[0]
            kind = dns.rdatatype.to_text(question.rdtype)
            self.asked.append((question.name.to_text(), kind))
            if self.silent:
                continue
            self.sock.sendto(self._answer(query, question.name.to_text(), kind).to_wire(), peer)

    @staticmethod
    def _answer(query: Any, name: str, kind: str) -> Any:
        response = dns.message.make_response(query)
        records = ZONE.get(name.lower())
        if records is None:
            response.set_rcode(dns.rcode.NXDOMAIN)
        elif records.get(kind):
            response.answer.append(dns.rrset.from_text_list(name, 60, "IN", kind, records[kind]))
        return response

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def responder(mail: Mail, monkeypatch: pytest.MonkeyPatch) -> Iterator[Responder]:
    running = Responder()
    monkeypatch.setenv("DNS_CHECKS", "true")
    monkeypatch.setenv("DNS_NAMESERVERS", f"127.0.0.1:{running.port}")
    wiring.reset()
    yield running
    running.close()


def refused(reply: Any, code: str, message: str) -> None:
    assert error(reply, 406, code)["message"] == message


def test_a_sender_domain_that_does_not_exist(mail: Mail, responder: Responder) -> None:
    reply = send(basic(mail, **{"from": "news@gone.example"}))
    refused(reply, "SENDER_DOMAIN_NOT_FOUND", "Sender domain does not exist")
    assert mail.records() == []
    assert ("gone.example.", "MX") in responder.asked


def test_a_replyto_domain_without_mx_or_with_a_null_mx(mail: Mail, responder: Responder) -> None:
    sender = {"from": "news@shop.example"}
    for domain in ("nomail.example", "nullmx.example", "gone.example"):
        reply = send(basic(mail, replyto=f"help@{domain}", **sender))
        refused(reply, "REPLYTO_WITHOUT_MX", "replyto domain lacks MX records")
    assert ok(send(basic(mail, replyto="help@shop.example", **sender)))["status"] == "Q"


def test_a_resolver_that_does_not_answer_refuses_nothing(mail: Mail, responder: Responder) -> None:
    responder.silent = True
    reply = send(basic(mail, **{"from": "news@gone.example"}, replyto="help@nomail.example"))
    assert ok(reply)["status"] == "Q"  # "unknown" is not "does not exist"
    assert responder.asked  # it was asked, and timed out


def test_originserver_host_names_are_resolved(mail: Mail, responder: Responder) -> None:
    ok(call("apps_save", {"idapp": mail.app, "originserver": "relay.shop.example"}))

    def send_from(ip: str) -> Any:
        event = load_event("emails_send")
        event["requestContext"]["identity"]["sourceIp"] = ip
        return call("emails_send", basic(mail, **{"from": "news@shop.example"}), event=event)

    assert ok(send_from("198.51.100.20"))
    assert ok(send_from("2001:db8::20"))
    refused(
        send_from("198.51.100.21"), "REMOTE_SERVER_NOT_ALLOWED", "Remote server not allowed: 198.51.100.21"
    )
