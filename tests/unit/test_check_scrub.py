"""smtphub.check.scrub: which forms of the credentials are masked, in which order, and what is kept."""

from __future__ import annotations

import base64
import re
from urllib.parse import quote, quote_plus

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smtphub.check.scrub import MASK, MAX_SERVER_TEXT, MIN_ASSERTED, Scrubber, secret_forms

USERNAME = "mailer@example.net"
PASSWORD = "Pw-s3cret-\u00e9-1234 /+&"  # non-ASCII, a space and characters URL encoding changes
USER, SECRET = USERNAME.encode(), PASSWORD.encode()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


PASSWORD_FORMS = {
    "raw": PASSWORD,
    "base64": b64(SECRET),
    "base64, no padding": b64(SECRET).rstrip("="),
    "base64, URL-safe": base64.urlsafe_b64encode(SECRET).decode(),
    "hex": SECRET.hex(),
    "HEX": SECRET.hex().upper(),
    "quote": quote(PASSWORD, safe=""),
    "quote, / kept": quote(PASSWORD),
    "quote_plus": quote_plus(PASSWORD),
    "quote, lower-case escapes": re.sub(
        "%[0-9A-F]{2}", lambda m: m.group().lower(), quote(PASSWORD, safe="")
    ),
    "PLAIN token": b64(b"\0" + USER + b"\0" + SECRET),
    "PLAIN token with authzid": b64(USER + b"\0" + USER + b"\0" + SECRET),
    "LOGIN password": b64(SECRET),
}
USERNAME_FORMS = {
    "LOGIN username": b64(USER),
    "username hex": USER.hex(),
    "username HEX": USER.hex().upper(),
}


@pytest.mark.parametrize(
    "form", [*PASSWORD_FORMS.values(), *USERNAME_FORMS.values()], ids=[*PASSWORD_FORMS, *USERNAME_FORMS]
)
def test_each_form_of_the_credentials_is_masked(form):
    scrub = Scrubber(USERNAME, PASSWORD)
    assert scrub(f"550 5.7.1 you sent {form} here") == f"550 5.7.1 you sent {MASK} here"


def test_the_username_itself_is_kept():
    scrub = Scrubber(USERNAME, PASSWORD)
    assert scrub(f"550 5.1.1 user {USERNAME} is unknown") == f"550 5.1.1 user {USERNAME} is unknown"


def test_control_characters_are_kept_while_matching_then_collapsed():
    password = "Pw\ts3cret\r1234\x0b"
    scrub = Scrubber(USERNAME, password)
    assert scrub(f"550\ta\r\nb {password} c\u202e\u2028d") == f"550 a b {MASK} c d"
    assert "s3cret" not in scrub(f"x {password} y")


def test_a_password_split_by_line_breaks_is_masked_piece_by_piece():
    password = "first-half\r\n250 second-half"
    scrub = Scrubber(None, password)
    assert scrub("550 you sent first-half") == f"550 you sent {MASK}"
    assert scrub("second-half, you sent") == f"{MASK}, you sent"  # its reply code gone with the line


def test_truncation_comes_after_masking_so_no_prefix_of_a_secret_is_left():
    scrub = Scrubber(USERNAME, PASSWORD)
    for at in range(MAX_SERVER_TEXT - 20, MAX_SERVER_TEXT + 5):
        shown = scrub("x" * at + PASSWORD + " and more text")
        assert PASSWORD[:8] not in shown
        assert len(shown) <= MAX_SERVER_TEXT + len("...")
        assert shown.endswith("...") == (len("x" * at + MASK + " and more text") > MAX_SERVER_TEXT)


def test_overlapping_and_adjacent_occurrences_become_one_mask():
    scrub = Scrubber(None, "abab")
    assert scrub("x abababab y") == f"x {MASK} y"
    assert scrub("x ababab y") == f"x {MASK} y"


def test_a_one_character_password_is_masked_everywhere():
    scrub = Scrubber(None, "e")
    assert scrub("550 user unknown here") == f"550 us{MASK}r unknown h{MASK}r{MASK}"


def test_a_secret_rebuilt_by_the_mask_is_masked_again():
    scrub = Scrubber(None, "a***")
    assert scrub.mask("aa***") == "a***"  # the mask next to an "a" rebuilt the password
    assert scrub("aa***") == MASK


def test_text_that_still_shows_a_secret_after_truncation_is_dropped():
    scrub = Scrubber(None, "x...")
    assert (
        scrub("y" * (MAX_SERVER_TEXT - 1) + "x and more") == ""
    )  # cut after the "x", the ellipsis makes "x..."


def test_forms_learned_during_the_conversation_are_masked_too():
    scrub = Scrubber(USERNAME, PASSWORD)
    scrub.add("bWFpbGVyIGRpZ2VzdA==", "")
    assert scrub("535 bWFpbGVyIGRpZ2VzdA== rejected") == f"535 {MASK} rejected"


def test_without_credentials_text_is_only_made_one_short_line():
    scrub = Scrubber(None, None)
    assert scrub.forms == set()
    assert scrub(" 250\tok\r\n") == "250 ok"


def test_any_str_has_forms_even_a_lone_surrogate():
    assert "\ud800x" in secret_forms("user", "\ud800x")


CHARACTERS = st.characters(exclude_characters="\0")


@settings(max_examples=300, deadline=None)
@given(
    password=st.text(CHARACTERS, min_size=1, max_size=64),
    before=st.text(CHARACTERS, max_size=40),
    after=st.text(CHARACTERS, max_size=40),
    pick=st.integers(min_value=0),
)
def test_scrubbed_text_never_shows_a_form_of_the_password(password, before, after, pick):
    scrub = Scrubber(USERNAME, password)
    forms = sorted(scrub.forms)
    form = forms[pick % len(forms)]
    shown = scrub(before + form + after)
    assert not scrub.leaks(shown)
    assert len(shown) <= MAX_SERVER_TEXT + len("...")
    if len(password) >= MIN_ASSERTED and "*" not in password + before + after:
        assert MASK in shown  # masked in place, not dropped
