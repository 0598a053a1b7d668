"""Tracked and unsubscribable e-mails through the real sender and a real SMTP peer on 127.0.0.1 (issue 25):
each TO recipient's copy carries its own links at PUBLIC_BASE_URL, signed with the tracking key: an HTML
body's links go through the click route and an open pixel is added, which the open route accepts (once per
recipient); an unsubscribe copy has a visible link and RFC 8058's two headers."""

from __future__ import annotations

import re
from email.message import Message
from urllib.parse import parse_qs, urlsplit

import pytest

from smtphub import wiring
from smtphub.emails.content import Content
from smtphub.emails.models import FINISHED
from smtphub.tracking.models import OPENED, Visit
from smtphub.tracking.tokens import Tokens
from tests.support.outbox import Recording
from tests.support.sending import Peer, World
from tests.support.smtp_peers import running_smtpd

BASE = "https://links.example.com/api"
ANN, BOB = "ann@example.net", "bob@example.net"
SALE = "https://shop.example/sale?a=1&b=2"
HTML = f'<html><body><p><a href="{SALE.replace("&", "&amp;")}">Sale</a></p></body></html>'


@pytest.fixture(autouse=True)
def tracked(monkeypatch: pytest.MonkeyPatch, world: World) -> None:
    monkeypatch.setenv("PUBLIC_BASE_URL", BASE)
    wiring.reset()  # the settings again, with the base URL (the world's app and tables stay)
    wiring.override("tracking_tokens", Tokens(b"tracking-key-of-this-test-stack-0123456789"))


def copies(world: World, **changes: object) -> tuple[str, dict[str, Message]]:
    with running_smtpd(Peer()) as server:
        world.server(server.port)
        email_id = world.email(tos=[ANN, BOB], tonames=["Ann", "Bob"], **changes)
        world.run()
    assert world.get(email_id).status == FINISHED
    return email_id, {received.rcpt_tos[0]: received.message for received in server.sink.received}


def body(message: Message) -> str:
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode(message.get_content_charset() or "utf-8")


def urls(html: str, path: str) -> list[str]:
    return [
        url.replace("&amp;", "&")
        for url in re.findall(rf'"({re.escape(BASE)}/public/{path}\?t=[^"]+)"', html)
    ]


def token(url: str) -> str:
    return parse_qs(urlsplit(url).query)["t"][0]


def test_each_tracked_copy_has_its_own_pixel_the_open_route_records_once(
    world: World, outbox: Recording
) -> None:
    email_id, received = copies(
        world, content=Content("Sale", HTML), mimetype="text/html", includetracking=True
    )

    assert set(received) == {ANN, BOB}
    ann = body(received[ANN])
    assert SALE.replace("&", "&amp;") not in ann  # the link goes through the click route
    (click,) = urls(ann, "tracking/click")
    assert wiring.tracking_service().clicked(Visit(token(click))) == SALE
    (pixel,) = urls(ann, "tracking/open")
    (bobs_pixel,) = urls(body(received[BOB]), "tracking/open")
    assert pixel != bobs_pixel
    assert "List-Unsubscribe" not in received[ANN]  # tracking alone: no unsubscribe

    assert wiring.tracking_service().opened(Visit(token(pixel))) is True
    assert wiring.tracking_service().opened(Visit(token(pixel))) is False  # once per recipient
    opens = [e for e in wiring.tracking_repository().of_email(email_id) if e.type == OPENED]
    assert [(e.sending_id, e.email) for e in opens] == [(email_id, ANN)]


def test_an_unsubscribe_copy_carries_the_link_and_rfc_8058s_headers(world: World, outbox: Recording) -> None:
    email_id, received = copies(
        world, content=Content("News", HTML), mimetype="text/html", includeunregisterlink=True
    )

    assert set(received) == {ANN, BOB}
    for message in received.values():
        header = message["List-Unsubscribe"]
        assert header.startswith(f"<{BASE}/public/blacklist/unsubscribe?t=")
        assert header.endswith(">")
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        (visible,) = urls(body(message), "blacklist/unsubscribe")
        assert f"<{visible}>" == header
        assert urls(body(message), "tracking/open") == []  # no tracking asked for
        assert wiring.tracking_service().may_unsubscribe(Visit(token(visible)))
    # one-click: the token of Bob's header lists Bob
    assert wiring.tracking_service().unsubscribe(Visit(token(received[BOB]["List-Unsubscribe"][1:-1])))
    listed = wiring.blacklist_repository().get(world.app, BOB)
    assert listed is not None
    assert listed.sending_id == email_id
    assert wiring.blacklist_repository().get(world.app, ANN) is None


def test_a_plain_text_unsubscribe_copy_gets_the_link_at_its_end(world: World, outbox: Recording) -> None:
    _, received = copies(world, content=Content("News", "Hello."), includeunregisterlink=True)
    text = body(received[ANN])
    assert text.startswith("Hello.")
    assert f"Unsubscribe: {received[ANN]['List-Unsubscribe'][1:-1]}" in text
