"""smtphub.smtp.oauth's parts on their own: the token cache, the refusal message, and what the scrubber is
given of a service account's key file."""

from __future__ import annotations

import json
import ssl

import pytest

from smtphub.check import CheckOutcome, Deadline, Limits, OAuth, Plan, report
from smtphub.smtp.https import HttpProblem, post_form
from smtphub.smtp.oauth import EARLY, TokenCache, _refusal
from smtphub.smtp.scrub import MASK, Scrubber
from smtphub.smtp.session import Session
from tests.support.oauth_peers import service_account_file


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_token_is_kept_until_a_minute_before_it_expires():
    clock = Clock()
    cache = TokenCache(clock=clock)
    key = cache.key("microsoft", "https://login.example/t", "tenant", "client", "user", "secret", None, None)
    cache.put(key, "token-1", 3599)
    clock.now += 3599 - EARLY - 1
    assert cache.get(key) == "token-1"
    clock.now += 1
    assert cache.get(key) is None


def test_short_lived_or_endless_tokens_are_not_kept():
    cache = TokenCache()
    for lifetime in (None, 0, 30, int(EARLY)):
        cache.put(cache.key(str(lifetime)), "token", lifetime)
        assert cache.get(cache.key(str(lifetime))) is None


def test_the_key_covers_every_input_secrets_included_and_is_not_them():
    cache = TokenCache()
    base = ["microsoft", "url", "tenant", "client", "user", "secret-1", None, None]
    keys = {cache.key(*base)}
    for position in range(len(base)):
        changed = list(base)
        changed[position] = "other"
        keys.add(cache.key(*changed))
    assert len(keys) == len(base) + 1
    assert "secret-1" not in cache.key(*base)
    assert TokenCache().key(*base) != cache.key(*base)  # a per-container HMAC key: not guessable offline


def test_the_cache_is_bounded():
    cache = TokenCache(size=2)
    for name in ("a", "b", "c"):
        cache.put(name, "token-" + name, 3600)
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (None, "token-b", "token-c")


def session() -> Session:
    the_plan = Plan(
        "s",
        "a",
        "App",
        "smtp.example.net",
        587,
        "info@example.net",
        "ops@example.org",
        auth=True,
        username="mailer@example.net",
        authmech="XOAUTH2",
        oauth=OAuth("microsoft", client_secret="Cs~secret-0001"),
    )
    return Session(the_plan, Limits(), Deadline(1), Scrubber(the_plan.username, None, *the_plan.secrets))


@pytest.mark.parametrize(
    ("status", "payload", "expected"),
    [
        (
            401,
            {
                "error": "invalid_client",
                "error_description": "AADSTS7000215: Invalid client secret provided.\r\nTrace ID: 1",
            },
            "The token endpoint refused the request (401 invalid_client AADSTS7000215): check "
            "oauthclientid and oauthclientsecret (AADSTS7000215: Invalid client secret provided.)",
        ),
        (
            400,
            {"error": "invalid_request", "error_codes": [90002]},
            "The token endpoint refused the request (400 invalid_request AADSTS90002): the tenant was "
            "not found: check oauthtenant",
        ),
        (
            400,
            {"error": "invalid_grant", "error_description": "Token has been expired or revoked."},
            "The token endpoint refused the request (400 invalid_grant): the refresh token or the service "
            "account is not valid (expired, revoked, or not allowed for this username) (Token has been "
            "expired or revoked.)",
        ),
        (
            400,
            {"error": "<script>", "error_description": "echo Cs~secret-0001"},
            "The token endpoint refused the request (400) (echo ***)",
        ),
        (200, {"token_type": "Bearer"}, "The token endpoint refused the request (200)"),
    ],
    ids=["microsoft's", "an error code only", "google's", "hostile", "no token"],
)
def test_a_refusal_names_the_provider_s_code_and_hides_the_secrets(status, payload, expected):
    assert _refusal(session(), status, payload) == expected


def test_the_service_account_s_key_is_masked_whole_and_line_by_line():
    key_file = service_account_file()
    key = json.loads(key_file)["private_key"]
    scrub = Scrubber(None, None, *OAuth("google", service_account=key_file).secrets())
    lines = [line for line in key.splitlines() if "-----" not in line]
    for line in (lines[0], lines[len(lines) // 2], key_file, key):
        assert scrub.mask(f"550 you sent {line} here") == f"550 you sent {MASK} here"


def test_the_log_line_says_how_the_check_authenticated_and_never_with_what(json_logs):
    the_plan = session().plan
    outcome = CheckOutcome(
        False, "TOKEN", None, "The token endpoint refused the request (401 invalid_client)"
    )
    report(the_plan, outcome, recorded="yes", total_ms=5)
    (line,) = [record for record in json_logs() if record["message"] == "smtp check"]
    assert (line["authmech"], line["tlsverify"], line["stage"]) == ("XOAUTH2", True, "TOKEN")
    assert "Cs~secret-0001" not in json.dumps(json_logs())


@pytest.mark.parametrize(
    "url", ["http://idp.example.net/token", "https://idp.example.net:99999/token", "https:///t"]
)
def test_a_token_url_that_could_not_have_been_saved_is_a_failure_not_a_crash(url):
    with pytest.raises(HttpProblem, match="The token endpoint must be an https URL"):
        post_form(
            url,
            {},
            deadline=Deadline(1),
            limits=Limits(),
            allow_private=False,
            context=ssl.create_default_context(),
        )
