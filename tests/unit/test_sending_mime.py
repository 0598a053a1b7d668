"""smtphub.sending.mime: the message an e-mail becomes, rule by rule (the property through a real SMTP peer
is in tests/integration/test_sending_mime_peer.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from smtphub.emails.content import Attachment
from smtphub.emails.rules import charset
from smtphub.errors import InvalidInput
from smtphub.sending.mime import Draft, build, for_server, message_id
from tests.support.mail_reader import lines, read

SENT = datetime(2026, 11, 24, 10, 0, 5, tzinfo=UTC)


def draft(**changes: Any) -> Draft:
    base = Draft(
        sender="alice@example.com",
        sender_name="Alice",
        tos=["bob@example.net"],
        subject="Quarterly report",
        body="Hello Bob,\nthe report is attached.\n",
        message_id="<65a1b2c3d4e5f60718293a4b@example.com>",
        date=SENT,
    )
    return replace(base, **changes)


def refused(**changes: Any) -> dict[str, str]:
    with pytest.raises(InvalidInput) as error:
        build(draft(**changes))
    return error.value.fields


# --- envelope and address headers ------------------------------------------------------------------


def test_bcc_is_an_envelope_recipient_and_never_a_header() -> None:
    outgoing = build(draft(ccs=["carol@example.org"], bccs=["hidden@example.com"]))

    assert outgoing.recipients == ("bob@example.net", "carol@example.org", "hidden@example.com")
    assert b"hidden" not in outgoing.message
    assert read(outgoing.message).message["Bcc"] is None
    assert read(outgoing.message).ccs == [("", "carol@example.org")]


def test_each_recipient_once_in_to_cc_bcc_order_domains_in_any_case() -> None:
    outgoing = build(
        draft(tos=["bob@example.net", "ann@example.net"], ccs=["bob@EXAMPLE.net"], bccs=["ann@example.net"])
    )

    assert outgoing.recipients == ("bob@example.net", "ann@example.net")
    assert outgoing.mail_from == "alice@example.com"


def test_to_names_are_matched_by_position_and_may_be_missing() -> None:
    tos = ["a@example.net", "b@example.net", "c@example.net", "d@example.net"]
    message = read(build(draft(tos=tos, tonames=["Ann", None, "Cid \u00e9"])).message)

    assert message.tos == [("Ann", tos[0]), ("", tos[1]), ("Cid \u00e9", tos[2]), ("", tos[3])]


def test_from_name_reply_to_and_names_with_specials_read_back() -> None:
    message = read(
        build(
            draft(sender_name='Doe, "J." \\ Jr', reply_to="replies@example.com", tonames=["B\u00f6b (Team)"])
        ).message
    )

    assert message.sender == ('Doe, "J." \\ Jr', "alice@example.com")
    assert message.reply_to == [("", "replies@example.com")]
    assert message.tos == [("B\u00f6b (Team)", "bob@example.net")]


def test_a_missing_to_or_an_address_that_is_not_one_is_refused() -> None:
    assert refused(tos=[]) == {"tos": "is required"}
    assert refused(tos=["not an address"]) == {"tos": "must be an e-mail address"}
    assert refused(sender="a@b@c", reply_to="x@") == {
        "from": "must be an e-mail address",
        "replyto": "must be an e-mail address",
    }


# --- header injection: refused, never folded -------------------------------------------------------

INJECTIONS = [
    "x\r\nBcc: victim@example.org",
    "x\nBcc: v@example.org",
    "x\rBcc",
    "x\u2028y",
    "x\x00",
    "x\x85y",
]


@pytest.mark.parametrize("value", INJECTIONS)
@pytest.mark.parametrize(
    ("parameter", "change"),
    [
        ("subject", lambda v: {"subject": v}),
        ("fromname", lambda v: {"sender_name": v}),
        ("tonames", lambda v: {"tonames": [v]}),
        ("tos", lambda v: {"tos": ["bob@example.net" + v]}),
        ("ccs", lambda v: {"ccs": [v + "@example.net"]}),
        ("bccs", lambda v: {"bccs": ["eve@example.net" + v]}),
        ("from", lambda v: {"sender": "alice@example.com" + v}),
        ("replyto", lambda v: {"reply_to": "r@example.com" + v}),
        ("attachments", lambda v: {"attachments": [Attachment("a" + v + ".txt", "text/plain", b"x")]}),
    ],
)
def test_a_line_break_or_control_character_in_a_header_value_is_refused(
    parameter: str, change: Any, value: str
) -> None:
    fields = refused(**change(value))

    assert list(fields) == [parameter]
    assert "control characters or line breaks" in fields[parameter]


def test_an_attachment_content_type_that_is_not_one_becomes_octet_stream() -> None:
    attachments = [
        Attachment("a.bin", "text/plain\r\nBcc: victim@example.org", b"1"),
        Attachment("b.bin", "nonsense", b"2"),
        Attachment("c.eml", "message/rfc822", b"3"),
        Attachment("d.txt", 'text/plain; charset="ISO-8859-1"; format=flowed', b"4"),
        Attachment("e.pdf", "Application/PDF", b"5"),
    ]
    outgoing = build(draft(attachments=attachments))
    parts = read(outgoing.message).message.get_payload()
    assert isinstance(parts, list)

    assert [part.get_content_type() for part in parts[1:]] == [
        "application/octet-stream",
        "application/octet-stream",
        "application/octet-stream",
        "text/plain",
        "application/pdf",
    ]
    assert parts[4].get_param("charset") == "ISO-8859-1"
    assert b"victim" not in outgoing.message


# --- subject and body in their charsets ------------------------------------------------------------


def test_a_plain_ascii_subject_is_sent_as_it_is() -> None:
    outgoing = build(draft(subject="Quarterly report (Q3)"))

    assert b"\r\nSubject: Quarterly report (Q3)\r\n" in outgoing.message


@pytest.mark.parametrize(
    ("subject", "encoding", "declared"),
    [
        ("Caf\u00e9 cr\u00e8me", "ISO-8859-1", b"=?iso-8859-1?"),
        ("\u20ac 10 \u2014 offer", "windows-1252", b"=?windows-1252?"),
        ("\u65e5\u672c\u8a9e\u306e\u4ef6\u540d", "Shift_JIS", b"=?shift_jis?"),
        ("\u041f\u0440\u0438\u0432\u0435\u0442", "KOI8-R", b"=?koi8-r?"),
        ("Caf\u00e9 \U0001f600", "UTF-8", b"=?utf-8?"),
        ("  leading spaces and =?utf-8?q?lookalike?=", "UTF-8", b"=?utf-8?"),
    ],
)
def test_the_subject_is_encoded_in_subjectencoding(subject: str, encoding: str, declared: bytes) -> None:
    outgoing = build(draft(subject=subject, subject_encoding=encoding))

    assert declared in outgoing.message.split(b"\r\n\r\n")[0]
    assert read(outgoing.message).subject == subject


@pytest.mark.parametrize(
    ("body", "encoding", "declared", "cte"),
    [
        ("Hello\nWorld\n", "UTF-8", "utf-8", "7bit"),
        ("Caf\u00e9 cr\u00e8me\n", "ISO-8859-1", "iso-8859-1", "quoted-printable"),
        ("\u65e5\u672c\u8a9e\u306e\u672c\u6587\u3067\u3059\u3002\n", "Shift_JIS", "shift_jis", "base64"),
        ("\u20ac\n", "cp1252", "windows-1252", "quoted-printable"),
        ("x" * 200 + "\n", "UTF-8", "utf-8", "quoted-printable"),  # a line longer than 78
    ],
)
def test_the_body_is_in_bodyencoding_and_7bit_clean(
    body: str, encoding: str, declared: str, cte: str
) -> None:
    outgoing = build(draft(body=body, body_encoding=encoding))
    message = read(outgoing.message)

    assert outgoing.message.isascii()  # no 8BITMIME needed
    assert message.body_charset == declared
    assert message.message["Content-Transfer-Encoding"] == cte
    assert lines(message.body) == lines(body)


@pytest.mark.parametrize("trailing", [" ", "\t"])
def test_quoted_printable_lines_stay_within_76_even_where_binascii_goes_over(trailing: str) -> None:
    body = "\u00e9" + "x" * 73 + trailing + "\n"  # binascii.b2a_qp writes this line as 77 characters
    outgoing = build(draft(body=body, body_encoding="ISO-8859-1"))
    payload = outgoing.message.split(b"\r\n\r\n", 1)[1]

    assert read(outgoing.message).message["Content-Transfer-Encoding"] == "quoted-printable"
    assert max(len(line) for line in payload.split(b"\r\n")) <= 76
    assert read(outgoing.message).body == body.replace("\n", "\r\n")


def test_the_boundary_is_random_and_outside_what_the_parts_can_hold() -> None:
    first = build(draft(attachments=[Attachment("a.txt", "text/plain", b"--=_")]))
    again = build(draft(attachments=[Attachment("a.txt", "text/plain", b"--=_")]))
    boundary = read(first.message).message.get_boundary()

    assert boundary is not None
    assert boundary.startswith("=_")
    assert len(boundary) == 34
    assert boundary != read(again.message).message.get_boundary()
    assert first.message.count(boundary.encode()) == 4  # the header, a delimiter per part (two), the end


def test_html_bodies_are_text_html() -> None:
    message = read(build(draft(body="<p>Hello <b>Bob</b></p>", mimetype="text/html")).message)

    assert message.body_type == "text/html"
    assert lines(message.body) == ["<p>Hello <b>Bob</b></p>"]


@pytest.mark.parametrize("name", ["x-unknown", "UTF-16", "utf-32", "UTF-7", "cp037", "rot13", "base64", ""])
def test_a_charset_python_cannot_send_as_text_is_refused(name: str) -> None:
    assert refused(body_encoding=name) == {
        "bodyencoding": "is not a charset this service can send (use UTF-8, ISO-8859-1, ...)"
    }
    assert list(refused(subject="Caf\u00e9", subject_encoding=name)) == ["subjectencoding"]


def test_text_the_charset_cannot_encode_is_refused_not_a_crash() -> None:
    assert refused(body="\u20ac", body_encoding="ISO-8859-1") == {
        "body": "holds characters that bodyencoding cannot encode"
    }
    assert refused(subject="\u65e5\u672c", subject_encoding="ISO-8859-1") == {
        "subject": "holds characters that subjectencoding cannot encode"
    }
    assert list(refused(body="lone \ud800 surrogate")) == ["body"]


def test_every_problem_is_named_at_once() -> None:
    assert set(refused(mimetype="text/rtf", body_encoding="nope", subject="a\nb", tos=[])) == {
        "mimetype",
        "bodyencoding",
        "subject",
        "tos",
    }


@pytest.mark.parametrize(
    ("given", "mime"),
    [
        ("UTF8", "utf-8"),
        ("utf-8", "utf-8"),
        ("latin1", "iso-8859-1"),
        ("ISO-8859-15", "iso-8859-15"),
        ("cp1252", "windows-1252"),
        ("Windows-1250", "windows-1250"),
        ("ascii", "us-ascii"),
        ("sjis", "shift_jis"),
        ("EUC-JP", "euc-jp"),
        ("ISO-2022-JP", "iso-2022-jp"),
        ("GB18030", "gb18030"),
        ("Big5", "big5"),
        ("KOI8-U", "koi8-u"),
    ],
)
def test_a_charset_is_declared_by_its_mime_name(given: str, mime: str) -> None:
    assert charset(given) == mime


# --- attachments -----------------------------------------------------------------------------------


def test_attachments_are_parts_with_their_names_and_bytes() -> None:
    pdf = b"%PDF-1.7\n\x00\xff\xfe binary \r\n.\r\n"
    attachments = [
        Attachment("report.pdf", "application/pdf", pdf),
        Attachment("r\u00e9sum\u00e9 \u65e5\u672c.txt", "text/plain", "\u00e9t\u00e9".encode()),
        Attachment("empty.bin", "application/octet-stream", b""),
    ]
    outgoing = build(draft(attachments=attachments))
    message = read(outgoing.message)

    assert outgoing.message.isascii()
    assert message.attachments == [
        ("report.pdf", "application/pdf", pdf),
        ("r\u00e9sum\u00e9 \u65e5\u672c.txt", "text/plain", "\u00e9t\u00e9".encode()),
        ("empty.bin", "application/octet-stream", b""),
    ]
    assert b"filename*=utf-8''r%C3%A9sum%C3%A9" in outgoing.message  # RFC 2231
    assert lines(message.body) == lines(draft().body)
    assert outgoing.message.count(b"MIME-Version") == 1


@pytest.mark.parametrize("name", ["=?utf-8?q?x?=", "<invoice>", '""', "a;b=c.txt", "caf\u00e9.pdf"])
def test_a_name_that_is_not_plain_words_is_sent_as_rfc_2231(name: str) -> None:
    outgoing = build(draft(attachments=[Attachment(name, "application/pdf", b"1")]))

    assert b"filename*=utf-8''" in outgoing.message
    assert b"name*=utf-8''" in outgoing.message
    assert read(outgoing.message).attachments == [(name, "application/pdf", b"1")]


def test_a_long_name_is_continued_over_short_lines_and_read_back_whole() -> None:
    name = "\u65e5\u672c\u8a9e " * 40 + "report.pdf"
    outgoing = build(draft(attachments=[Attachment(name, "application/pdf", b"1")]))

    assert b"filename*0*=utf-8''" in outgoing.message
    assert b"filename*5*=" in outgoing.message
    assert max(len(line) for line in outgoing.message.split(b"\r\n")) <= 78
    assert read(outgoing.message).attachments == [(name, "application/pdf", b"1")]


def test_plain_names_stay_readable_and_blank_names_are_left_out() -> None:
    outgoing = build(
        draft(
            attachments=[
                Attachment(" report-2026 (final).pdf ", "application/pdf", b"1"),
                Attachment("  ", "text/plain", b"2"),
            ]
        )
    )

    assert b'filename="report-2026 (final).pdf"' in outgoing.message
    assert read(outgoing.message).attachments == [
        ("report-2026 (final).pdf", "application/pdf", b"1"),
        (None, "text/plain", b"2"),
    ]


# --- SMTPUTF8 --------------------------------------------------------------------------------------


def test_ascii_addresses_need_no_smtputf8_and_the_message_is_ascii() -> None:
    outgoing = build(draft(sender_name="Z\u00fc\u00f1iga", subject="\u00a1Hola!", body="\u00a1Hola!"))

    assert not outgoing.smtputf8
    assert outgoing.message.isascii()


@pytest.mark.parametrize(
    "change",
    [
        {"sender": "j\u00f6rg@example.com"},
        {"tos": ["bob@b\u00fccher.example"]},
        {"ccs": ["\u7528\u6237@example.cn"]},
        {"bccs": ["\u00e9ve@example.com"]},
        {"reply_to": "r\u00e9ponse@example.com"},
    ],
)
def test_a_non_ascii_address_needs_smtputf8(change: dict[str, Any]) -> None:
    outgoing = build(draft(**change))
    message = read(outgoing.message)

    assert outgoing.smtputf8
    address = next(iter(change.values()))
    if "bccs" not in change:
        assert (address[0] if isinstance(address, list) else address).encode() in outgoing.message
    assert message.subject == "Quarterly report"


# --- Message-ID and Date ---------------------------------------------------------------------------


def test_message_id_and_date_are_the_callers_on_every_build() -> None:
    first, again = build(draft()), build(draft())

    for outgoing in (first, again):
        message = read(outgoing.message)
        assert message.header("Message-ID") == "<65a1b2c3d4e5f60718293a4b@example.com>"
        assert message.header("Date") == "Tue, 24 Nov 2026 10:00:05 +0000"


def test_a_date_keeps_its_offset_and_a_naive_one_is_utc() -> None:
    offset = build(draft(date=SENT.astimezone(timezone(timedelta(hours=2)))))
    naive = build(draft(date=SENT.replace(tzinfo=None)))

    assert read(offset.message).header("Date") == "Tue, 24 Nov 2026 12:00:05 +0200"
    assert read(naive.message).header("Date") == "Tue, 24 Nov 2026 10:00:05 +0000"


@pytest.mark.parametrize("value", ["", "no-brackets@example.com", "<a b@example.com>", "<x@y>\r\nBcc: v"])
def test_a_message_id_that_is_not_one_is_refused(value: str) -> None:
    assert list(refused(message_id=value)) == ["messageid"]


def test_message_id_is_the_emails_id_at_the_senders_domain() -> None:
    assert (
        message_id("65a1b2c3d4e5f60718293a4b", "Alice@Example.COM")
        == "<65a1b2c3d4e5f60718293a4b@example.com>"
    )
    assert message_id("65a1", "a@b\u00fccher.example") == "<65a1@xn--bcher-kva.example>"
    assert message_id("65a1", "not-an-address") == "<65a1@not-an-address>"
    assert message_id("65a1", "a@") == "<65a1@smtp-hub.invalid>"


# --- the From rule of a server with a defaultfromemail --------------------------------------------


def test_a_server_restricted_to_another_domain_sends_from_its_default_with_reply_to_the_requested() -> None:
    sent = for_server(draft(), "noreply@mailer.example.org", "Mailer")
    message = read(build(sent).message)

    assert (sent.sender, sent.sender_name, sent.reply_to) == (
        "noreply@mailer.example.org",
        "Alice",
        "alice@example.com",
    )
    assert message.sender == ("Alice", "noreply@mailer.example.org")
    assert message.reply_to == [("", "alice@example.com")]
    assert build(sent).mail_from == "noreply@mailer.example.org"


def test_a_given_reply_to_is_kept_and_the_servers_name_fills_a_missing_one() -> None:
    sent = for_server(
        draft(sender_name=None, reply_to="help@example.com"), "noreply@mailer.example.org", "Mailer"
    )

    assert (sent.sender, sent.sender_name, sent.reply_to) == (
        "noreply@mailer.example.org",
        "Mailer",
        "help@example.com",
    )


@pytest.mark.parametrize("default", [None, "", "other@example.com", "OTHER@EXAMPLE.COM."])
def test_no_default_or_the_same_domain_changes_nothing(default: str | None) -> None:
    assert for_server(draft(), default, "Mailer") == draft()


def test_a_subdomain_is_another_domain() -> None:
    assert for_server(draft(), "noreply@mail.example.com").sender == "noreply@mail.example.com"


def test_a_copys_own_headers_are_written_as_given_and_checked() -> None:
    url = "https://links.example.com/api/public/blacklist/unsubscribe?t=abc"
    headers = (("List-Unsubscribe", f"<{url}>"), ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"))
    message = read(build(draft(headers=headers)).message).message
    assert message["List-Unsubscribe"] == f"<{url}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "headers" in refused(headers=(("List-Unsubscribe", "<x>\r\nBcc: victim@example.org"),))
    assert "headers" in refused(headers=(("Bad Name", "x"),))
