"""smtphub.sending.mime through a real SMTP peer: whatever the subject, body, display names and attachments,
the message the peer receives reads back equal (Hypothesis).

The transaction is smtplib's MAIL and RCPT, then the message's bytes as the check's `data_bytes` stuffs and
ends them (what the sender will put after DATA); aiosmtpd (tests/support/smtp_peers.py) un-stuffs them and
keeps what it received. "Equal" is as a mail client reads it (tests/support/mail_reader.py): the subject,
the names and the attachments' names and bytes exactly; the body's lines (a text part's lines travel with
CRLF and end with one), in the charset asked for. Attachment names are trimmed (`mime` does it).
"""

from __future__ import annotations

import smtplib
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smtphub.emails.content import Attachment
from smtphub.sending.mime import Draft, Outgoing, build
from smtphub.smtp.client import data_bytes
from tests.support.mail_reader import lines, read
from tests.support.smtp_peers import Server

# What headers are made of: words of printable ASCII, of Latin-1 or of any character a header may hold, and
# the fragments that need care (encoded-word lookalikes, quotes, specials, runs of spaces).
FRAGMENTS = st.sampled_from(
    [
        "=?",
        "?=",
        "=?utf-8?q?x?=",
        '"',
        "\\",
        " ",
        "  ",
        ",",
        "<",
        ">",
        "@",
        ";",
        ":",
        "(",
        ")",
        "~",
        ".",
        "\u00a0",
    ]
)
ASCII = st.characters(min_codepoint=32, max_codepoint=126)
LATIN_1 = st.characters(max_codepoint=255, exclude_categories=("Cc", "Cs", "Zl", "Zp"))
ANY = st.characters(exclude_categories=("Cc", "Cs", "Zl", "Zp"))


def texts(alphabet: st.SearchStrategy[str], max_size: int) -> st.SearchStrategy[str]:
    words = st.one_of(
        FRAGMENTS, st.text(alphabet, min_size=1, max_size=70), st.text(ASCII, min_size=1, max_size=12)
    )
    return st.lists(words, max_size=8).map("".join).map(lambda text: text[:max_size])


BODY_TEXT = st.characters(exclude_categories=("Cs",))
CONTENT_TYPES = st.sampled_from(["application/pdf", "text/plain", "image/png", "application/octet-stream"])
ADDRESSES = st.sampled_from(
    ["bob@example.net", "carol.o'neil+tag@example.org", "j\u00f6rg@example.de", "\u7528\u6237@example.cn"]
)


def deliver(server: Server, outgoing: Outgoing) -> bytes:
    """One SMTP transaction: MAIL (with SMTPUTF8 when needed), RCPT each, DATA with `data_bytes`."""
    with smtplib.SMTP("127.0.0.1", server.port, timeout=5) as client:
        client.ehlo("sender.test")
        code, reply = client.mail(outgoing.mail_from, ["SMTPUTF8"] if outgoing.smtputf8 else [])
        assert code == 250, reply
        for recipient in outgoing.recipients:
            assert client.rcpt(recipient)[0] == 250
        assert client.docmd("DATA")[0] == 354
        client.send(data_bytes(outgoing.message))
        code, reply = client.getreply()
        assert code == 250, reply
    received = server.sink.received[-1]
    assert received.mail_from == outgoing.mail_from
    assert received.rcpt_tos == list(outgoing.recipients)
    return received.content


@st.composite
def drafts(draw: st.DrawFn) -> Draft:
    latin = draw(st.booleans())
    alphabet = LATIN_1 if latin else ANY
    tos = draw(st.lists(ADDRESSES, min_size=1, max_size=3, unique=True))
    files = st.builds(
        Attachment,
        name=texts(alphabet, 120).filter(str.strip),
        content_type=CONTENT_TYPES,
        data=st.binary(max_size=3000),
    )
    return Draft(
        sender=draw(ADDRESSES),
        sender_name=draw(texts(alphabet, 100)),
        tos=tos,
        tonames=draw(st.lists(texts(alphabet, 100), max_size=len(tos))),
        ccs=draw(st.lists(ADDRESSES, max_size=2)),
        subject=draw(texts(alphabet, 300)),
        body=draw(
            st.text(st.characters(max_codepoint=255, exclude_categories=("Cs",)) if latin else BODY_TEXT)
        ),
        message_id="<65a1b2c3d4e5f60718293a4b@example.com>",
        date=datetime(2026, 11, 24, 10, 0, tzinfo=UTC),
        subject_encoding="ISO-8859-1" if latin else "UTF-8",
        body_encoding="ISO-8859-1" if latin else "UTF-8",
        mimetype=draw(st.sampled_from(["text/plain", "text/html"])),
        attachments=draw(st.lists(files, max_size=3)),
    )


@pytest.fixture
def peer(smtpd: Callable[..., Server]) -> Server:
    return smtpd(enable_SMTPUTF8=True)


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(draft=drafts())
def test_any_subject_body_names_and_attachments_read_back_equal_at_the_peer(
    peer: Server, draft: Draft
) -> None:
    outgoing = build(draft)
    message = read(deliver(peer, outgoing))

    assert message.subject == draft.subject
    assert message.sender == (draft.sender_name, draft.sender)
    names = [*draft.tonames, *[""] * len(draft.tos)]
    assert message.tos == list(zip(names, draft.tos, strict=False))
    assert message.ccs == [("", cc) for cc in draft.ccs]
    assert message.body_type == draft.mimetype
    assert lines(message.body) == lines(draft.body)
    assert message.attachments == [(a.name.strip(), a.content_type, a.data) for a in draft.attachments]
    assert outgoing.message.isascii() or outgoing.smtputf8
