"""Tracking tokens and the HTML rewriting, with no AWS: what a token binds, what the rewriting touches."""

from __future__ import annotations

import base64
import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from smtphub.tracking.links import Links, rewrite_html, rewrite_text, trackable, unsubscribe_headers
from smtphub.tracking.tokens import CLICK, LIFETIME, OPEN, UNSUBSCRIBE, Tokens

KEY = b"k" * 32
NOW = 1_800_000_000.0
EMAIL_ID = "6741f0c9e8d7c6b5a4f3e2d1"
BASE = "https://links.example.com/api"


def tokens(now: float = NOW, key: bytes = KEY) -> Tokens:
    return Tokens(key, clock=lambda: now)


def links(recipient: str = "ann@example.net") -> Links:
    return Links(BASE, tokens(), EMAIL_ID, recipient, ("acct-1", "6741f0a2c3d4e5f6a7b8c9d0"))


def token_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["t"][0]


def test_a_token_reads_back_for_its_kind_only() -> None:
    made = tokens().make(CLICK, EMAIL_ID, "ann@example.net", "https://shop.example/a?b=1&c=2")
    claims = tokens().read(made, CLICK)
    assert claims is not None
    assert (claims.email_id, claims.recipient, claims.url) == (
        EMAIL_ID,
        "ann@example.net",
        "https://shop.example/a?b=1&c=2",
    )
    assert tokens().read(made, OPEN) is None
    assert tokens().read(made, UNSUBSCRIBE) is None


def test_a_forged_or_altered_token_is_refused() -> None:
    made = tokens().make(CLICK, EMAIL_ID, "ann@example.net", "https://shop.example/")
    payload, _, signature = made.partition(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    for changed in (
        [*claims[:3], "bob@example.net", claims[4]],  # another recipient
        [claims[0], "6741f0c9e8d7c6b5a4f3e2d2", *claims[2:]],  # another e-mail
        [*claims[:4], "https://evil.example/"],  # another link: an open redirect
        [claims[0], claims[1], claims[2] + 10**6, *claims[3:]],  # a later expiry
    ):
        forged = base64.urlsafe_b64encode(json.dumps(changed).encode()).rstrip(b"=").decode()
        assert tokens().read(f"{forged}.{signature}", CLICK) is None
    assert tokens(key=b"x" * 32).read(made, CLICK) is None  # another stack's key
    assert tokens().read(payload, CLICK) is None  # no signature
    assert tokens().read(made[:-2], CLICK) is None
    assert tokens().read("", CLICK) is None
    assert tokens().read("a" * 9000, CLICK) is None
    assert tokens().read("é.é", CLICK) is None


def test_tokens_expire() -> None:
    made = tokens().make(UNSUBSCRIBE, EMAIL_ID, "ann@example.net", "acct/app")
    assert tokens(NOW + LIFETIME[UNSUBSCRIBE] - 1).read(made, UNSUBSCRIBE) is not None
    assert tokens(NOW + LIFETIME[UNSUBSCRIBE] + 1).read(made, UNSUBSCRIBE) is None
    opened = tokens().make(OPEN, EMAIL_ID, "ann@example.net")
    assert tokens(NOW + LIFETIME[OPEN] + 1).read(opened, OPEN) is None


def test_a_short_key_is_refused() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        Tokens(b"short")


def test_links_are_rewritten_and_the_pixel_added_before_the_body_ends() -> None:
    html = (
        '<html><body><p>Hi <a href="https://shop.example/sale?a=1&amp;b=2">sale</a>, '
        "<A HREF='http://blog.example/x'>blog</A>, <a href=https://x.example/u>u</a>, "
        '<a href="mailto:help@shop.example">mail</a> <a href="#top">top</a> '
        '<a href="/relative">rel</a></p></body></html>'
    )
    out = rewrite_html(html, links(), track=True, unsubscribe=False)
    hrefs = re.findall(r'href="([^"]*)"', out, re.IGNORECASE)
    clicks = [href for href in hrefs if href.startswith(BASE + "/public/tracking/click?t=")]
    assert len(clicks) == 3
    read = [tokens().read(token_of(href.replace("&amp;", "&")), CLICK) for href in clicks]
    assert [claims.url for claims in read if claims] == [
        "https://shop.example/sale?a=1&b=2",  # the entity read as a browser reads it
        "http://blog.example/x",
        "https://x.example/u",
    ]
    assert 'href="mailto:help@shop.example"' in out
    assert 'href="#top"' in out
    assert 'href="/relative"' in out
    assert out.endswith("</body></html>")
    pixel = out.split('<img src="')[1].split('"')[0]
    assert pixel.startswith(BASE + "/public/tracking/open?t=")
    claims = tokens().read(token_of(pixel), OPEN)
    assert claims is not None
    assert claims.recipient == "ann@example.net"


def test_the_unsubscribe_link_and_headers() -> None:
    out = rewrite_html("<p>Hello</p>", links(), track=False, unsubscribe=True)
    assert "<img" not in out
    assert out.startswith("<p>Hello</p>")  # no </body>: added at the end
    href = out.split('href="')[1].split('"')[0]
    claims = tokens().read(token_of(href), UNSUBSCRIBE)
    assert claims is not None
    assert claims.app == ("acct-1", "6741f0a2c3d4e5f6a7b8c9d0")
    headers = unsubscribe_headers(links())
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert headers["List-Unsubscribe"].startswith(f"<{BASE}/public/blacklist/unsubscribe?t=")
    text = rewrite_text("Plain body\n", links())
    assert text.startswith("Plain body\n\nUnsubscribe: https://")


def test_nothing_changes_without_tracking_or_unsubscribe() -> None:
    html = '<a href="https://shop.example/">x</a>'
    assert rewrite_html(html, links(), track=False, unsubscribe=False) == html


@pytest.mark.parametrize(
    ("url", "tracked"),
    [
        ("https://a.example/", True),
        ("HTTP://a.example/x", True),
        ("mailto:a@b.example", False),
        ("javascript:alert(1)", False),
        ("https:///nohost", False),
        ("https://a.example/{{name}} x", False),
        ("//a.example/", False),
    ],
)
def test_which_links_are_tracked(url: str, tracked: bool) -> None:
    assert trackable(url) is tracked
