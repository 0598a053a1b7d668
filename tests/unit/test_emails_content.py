"""smtphub.emails.content's bundle: what `encode` writes `decode` reads back, and `decode` refuses anything
else (a header that lies about the lengths most of all) instead of handing over a short or long file."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smtphub.emails.content import Attachment, Content, CorruptContent, decode, encode
from smtphub.errors import InvalidInput

TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=500)
ATTACHMENTS = st.lists(
    st.builds(Attachment, name=TEXT, content_type=TEXT, data=st.binary(max_size=2000)), max_size=4
)
CONTENTS = st.builds(Content, subject=TEXT, body=TEXT, attachments=ATTACHMENTS.map(tuple))


@settings(max_examples=300)
@given(content=CONTENTS)
def test_any_content_reads_back_equal(content: Content) -> None:
    assert decode(encode(content)) == content


def test_the_header_is_one_json_line_and_the_files_follow_it_raw() -> None:
    content = Content(
        "Caf\u00e9\nline two",
        "Body\r\n\u2028",
        (Attachment("a.pdf", "application/pdf", b"%PDF\n\x00"), Attachment("b", "text/plain", b"\n\n")),
    )
    bundle = encode(content)
    header, _, rest = bundle.partition(b"\n")

    assert json.loads(header) == {
        "v": 1,
        "subject": "Caf\u00e9\nline two",
        "body": "Body\r\n\u2028",
        "attachments": [
            {"name": "a.pdf", "contenttype": "application/pdf", "length": 6},
            {"name": "b", "contenttype": "text/plain", "length": 2},
        ],
    }
    assert rest == b"%PDF\n\x00\n\n"
    assert content.size == 8


def test_text_that_is_not_unicode_is_refused_naming_its_field() -> None:
    with pytest.raises(InvalidInput) as refused:
        encode(Content("ok", "lone \ud800", (Attachment("x\udfff", "text/plain", b""),)))

    assert refused.value.fields == {"body": "is not valid text", "attachments": "is not valid text"}


def bundle(header: object, rest: bytes = b"") -> bytes:
    return json.dumps(header).encode() + b"\n" + rest


GOOD = {"v": 1, "subject": "s", "body": "b", "attachments": [{"name": "a", "contenttype": "t", "length": 3}]}


@pytest.mark.parametrize(
    "data",
    [
        bundle(GOOD, b"ab"),  # fewer bytes than announced
        bundle(GOOD, b"abcd"),  # more
        bundle({**GOOD, "attachments": [{"name": "a", "contenttype": "t", "length": -1}]}, b""),
        bundle({**GOOD, "attachments": [{"name": "a", "contenttype": "t", "length": 1.5}]}, b"a"),
        bundle({**GOOD, "attachments": [{"name": "a", "contenttype": "t", "length": True}]}, b"a"),
        bundle({**GOOD, "attachments": [{"name": "a", "contenttype": "t", "length": "3"}]}, b"abc"),
        bundle({**GOOD, "attachments": [{"name": 1, "contenttype": "t", "length": 3}]}, b"abc"),
        bundle({**GOOD, "attachments": [{"contenttype": "t", "length": 3}]}, b"abc"),
        bundle({**GOOD, "attachments": ["a"]}, b""),
        bundle({**GOOD, "attachments": {}}, b""),
        bundle({**GOOD, "v": 2}, b"abc"),
        bundle({**GOOD, "subject": None}, b"abc"),
        bundle([GOOD], b"abc"),
        b'{"v": 1, "subject": "s", "body": "b", "attachments": []}',  # no newline
        b"\xff\xfe\n",
        b"not json\n",
        b"",
    ],
)
def test_a_bundle_that_is_not_one_is_refused(data: bytes) -> None:
    with pytest.raises(CorruptContent):
        decode(data)


def test_a_bundle_over_the_bound_is_refused_before_it_is_read() -> None:
    data = encode(Content("s", "b", (Attachment("a", "t", b"x" * 1000),)))

    with pytest.raises(CorruptContent, match="larger than 1000 bytes"):
        decode(data, max_size=1000)
    assert decode(data, max_size=len(data)).attachments[0].data == b"x" * 1000


WITH_FILES = st.builds(
    Content,
    subject=TEXT,
    body=TEXT,
    attachments=st.lists(
        st.builds(Attachment, name=TEXT, content_type=TEXT, data=st.binary(min_size=1)), min_size=1
    ).map(tuple),
)


@settings(max_examples=200)
@given(content=WITH_FILES, cut=st.integers(min_value=1, max_value=50))
def test_a_truncated_bundle_is_refused(content: Content, cut: int) -> None:
    data = encode(content)

    with pytest.raises(CorruptContent):
        decode(data[: -min(cut, content.size)])
