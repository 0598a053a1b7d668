"""Apps as QueueMail's client and docs know them (issue 11, parts 3 to 5), through the real handlers on moto.

- upstream's fields (`AppDTO.java`): `retaindata`, `useblacklist`, `useautoblacklist` (booleans, never null),
  `timebetweenemails` (seconds), `originserver`/`origindomain` (hosts or IPs, comma-separated), the five
  webhook URLs (https only, no credentials, an IP literal must be public unless the deployment allows
  private addresses; names are resolved and checked when called);
- upstream's defaults (`api-apps.md`): `testemail`, `defaultfromemail`, `defaultfromname` are the account's
  e-mail when not given, so that `smtps/check` works for an app the client created without them;
- Spring Data's page shape for `apps/findAll`.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from local_runtime.events import demo_authorizer
from tests.support.aws import APPS_TABLE
from tests.support.contract import as_read
from tests.support.lambdas import ACCOUNT_A, ACCOUNT_B, Reply, call, load_event
from tests.support.queuemail_client import APP_DTO, dto_problems, page_problems
from tests.support.smtp_peers import running_smtpd

ACCOUNT_EMAIL = "demo@example.com"  # what tests.support.lambdas' authorizer context names the caller
WEBHOOKS = (
    "webhook_sending_finished",
    "webhook_sending_error",
    "webhook_tracking_opened",
    "webhook_tracking_clicked",
    "webhook_blacklisted_added",
)
UPSTREAM_DEFAULTS = {
    "retaindata": False,
    "useblacklist": False,
    "useautoblacklist": False,
    "timebetweenemails": 60,  # upstream's documented default (seconds between e-mails)
    "originserver": None,
    "origindomain": None,
    **dict.fromkeys(WEBHOOKS),
}
EVERYTHING = {
    "name": "Shop",
    "retaindata": "true",
    "useblacklist": "yes",
    "useautoblacklist": "1",
    "timebetweenemails": "5",
    "originserver": "myserver.com, 192.168.0.1,2001:DB8::1",
    "origindomain": "Example.com",
    "webhook_sending_finished": "https://hooks.example.com/sent?app=shop",
    "webhook_sending_error": "https://hooks.example.com:8443/failed",
    "webhook_tracking_opened": "https://8.8.8.8/opened",
    "webhook_tracking_clicked": "https://[2606:4700:4700::1111]/clicked",
    "webhook_blacklisted_added": "HTTPS://Hooks.Example.com/blacklisted#frag",
}


def ok(reply: Reply) -> Any:
    assert reply.status == 200, reply.text
    return reply.json if reply.text else None


def bad(reply: Reply) -> dict[str, str]:
    assert reply.status == 400, reply.text
    assert reply.json["error"] == "BAD_REQUEST"
    fields: dict[str, str] = reply.json["fields"]
    return fields


def save(params: dict[str, Any], **kwargs: Any) -> Reply:
    return call("apps_save", params, **kwargs)


def as_caller(function: str, params: dict[str, str], authorizer: dict[str, Any]) -> Reply:
    """`function` with an authorizer context of our own (tests.support.lambdas always names demo@...)."""
    event = load_event(function)
    event["body"] = "&".join(f"{k}={v}" for k, v in params.items())
    event["requestContext"]["authorizer"] = authorizer
    from local_runtime.loader import load_handler
    from tests.support.lambdas import LambdaContext, code_uri

    response = load_handler(code_uri(function))(event, LambdaContext())
    return Reply(response["statusCode"], response.get("headers") or {}, response.get("body") or "")


# --- upstream's fields --------------------------------------------------------------------------------


def test_a_new_app_carries_upstreams_fields_with_their_defaults(aws: Any) -> None:
    created = ok(save({"name": "Plain"}))
    assert {name: created[name] for name in UPSTREAM_DEFAULTS} == UPSTREAM_DEFAULTS
    assert dto_problems(created, APP_DTO) == []


def test_every_field_is_stored_and_read_back(aws: Any) -> None:
    created = ok(save(EVERYTHING))
    expected = {
        "retaindata": True,
        "useblacklist": True,
        "useautoblacklist": True,
        "timebetweenemails": 5,
        "originserver": "myserver.com,192.168.0.1,2001:db8::1",
        "origindomain": "example.com",
        "webhook_sending_finished": "https://hooks.example.com/sent?app=shop",
        "webhook_sending_error": "https://hooks.example.com:8443/failed",
        "webhook_tracking_opened": "https://8.8.8.8/opened",
        "webhook_tracking_clicked": "https://[2606:4700:4700::1111]/clicked",
        "webhook_blacklisted_added": "HTTPS://Hooks.Example.com/blacklisted#frag",
    }
    assert {name: created[name] for name in expected} == expected
    assert created["haswebhooksecret"] is True  # its first webhook URL: a secret generated, shown this once
    assert len(created["webhooksecret"]) == 43
    assert ok(call("apps_find_by_id", {"idapp": created["_id"]})) == as_read(created)
    assert ok(call("apps_find_all", {}))["content"] == [as_read(created)]
    item = aws.dynamodb.get_item(
        TableName=APPS_TABLE, Key={"iduser": {"S": ACCOUNT_A}, "_id": {"S": created["_id"]}}
    )
    assert item["Item"]["retaindata"] == {"BOOL": True}
    assert item["Item"]["timebetweenemails"] == {"N": "5"}
    assert item["Item"]["webhook_sending_finished"] == {"S": "https://hooks.example.com/sent?app=shop"}


def test_json_bodies_with_native_types(aws: Any) -> None:
    body = json.dumps({"name": "Json", "retaindata": True, "useblacklist": False, "timebetweenemails": 0})
    created = ok(call("apps_save", body=body, content_type="application/json"))
    assert (created["retaindata"], created["useblacklist"], created["timebetweenemails"]) == (True, False, 0)


def test_an_edit_changes_what_is_given_and_keeps_the_rest(aws: Any) -> None:
    created = ok(save(EVERYTHING))
    edited = ok(
        save(
            {
                "idapp": created["_id"],
                "retaindata": "false",
                "webhook_sending_error": "https://x.example.org/e",
            }
        )
    )
    assert edited == {
        **created,
        "retaindata": False,
        "webhook_sending_error": "https://x.example.org/e",
        "modified": edited["modified"],
        "webhooksecret": None,  # the secret is kept, and never shown again
    }
    assert ok(save({"idapp": created["_id"], "timebetweenemails": "5"})) == edited  # nothing changed


def test_an_app_stored_before_these_fields_reads_with_the_defaults(aws: Any) -> None:
    """Items written before upstream's fields existed: booleans false, never null (a Java `boolean`)."""
    old = {
        "iduser": {"S": ACCOUNT_A},
        "_id": {"S": "6741f0a2c3d4e5f6a7b8c9d1"},
        "name": {"S": "Old"},
        "created": {"S": "2026-11-23T10:00:00.000Z"},
        "modified": {"S": "2026-11-23T10:00:00.000Z"},
        "strategy": {"S": "RANDOM"},
        "status": {"S": "A"},
        "version": {"N": "1"},
    }
    aws.dynamodb.put_item(TableName=APPS_TABLE, Item=old)
    found = ok(call("apps_find_by_id", {"idapp": "6741f0a2c3d4e5f6a7b8c9d1"}))
    assert {name: found[name] for name in UPSTREAM_DEFAULTS} == UPSTREAM_DEFAULTS
    assert dto_problems(found, APP_DTO) == []


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"retaindata": "si"}, "retaindata", "must be true or false"),
        ({"useblacklist": "2"}, "useblacklist", "must be true or false"),
        ({"useautoblacklist": "null"}, "useautoblacklist", "must be true or false"),
        ({"timebetweenemails": "-1"}, "timebetweenemails", "must be an integer from 0 to 86400"),
        ({"timebetweenemails": "1.5"}, "timebetweenemails", "must be an integer from 0 to 86400"),
        ({"timebetweenemails": "86401"}, "timebetweenemails", "must be an integer from 0 to 86400"),
        (
            {"originserver": "http://myserver.com"},
            "originserver",
            "must be host names or IP addresses separated by commas",
        ),
        (
            {"originserver": "a.example.com,,b.example.com"},
            "originserver",
            "must be host names or IP addresses separated by commas",
        ),
        (
            {"originserver": "my server.com"},
            "originserver",
            "must be host names or IP addresses separated by commas",
        ),
        ({"originserver": ",".join(["a.example.com"] * 51)}, "originserver", "must list at most 50 hosts"),
        (
            {"origindomain": "exa_mple.com"},
            "origindomain",
            "must be host names or IP addresses separated by commas",
        ),
        (
            {"webhook_sending_finished": "http://hooks.example.com/x"},
            "webhook_sending_finished",
            "must be an https URL",
        ),
        (
            {"webhook_sending_error": "ftp://hooks.example.com/x"},
            "webhook_sending_error",
            "must be an https URL",
        ),
        (
            {"webhook_tracking_opened": "hooks.example.com/x"},
            "webhook_tracking_opened",
            "must be an https URL",
        ),
        (
            {"webhook_tracking_clicked": "https://user:pw@hooks.example.com/x"},
            "webhook_tracking_clicked",
            "must not contain a user name or password",
        ),
        (
            {"webhook_tracking_clicked": "https://user@hooks.example.com/x"},
            "webhook_tracking_clicked",
            "must not contain a user name or password",
        ),
        (
            {"webhook_blacklisted_added": "https:///x"},
            "webhook_blacklisted_added",
            "must name a host (a DNS name or an IP address)",
        ),
        (
            {"webhook_blacklisted_added": "https://exa_mple.com/x"},
            "webhook_blacklisted_added",
            "must name a host (a DNS name or an IP address)",
        ),
        (
            {"webhook_blacklisted_added": "https://127.1/x"},
            "webhook_blacklisted_added",
            "must name a host (a DNS name or an IP address)",
        ),
        (
            {"webhook_sending_finished": "https://hooks.example.com:0/x"},
            "webhook_sending_finished",
            "must have a port from 1 to 65535",
        ),
        (
            {"webhook_sending_finished": "https://hooks.example.com:99999/x"},
            "webhook_sending_finished",
            "must have a port from 1 to 65535",
        ),
        (
            {"webhook_sending_finished": "https://hooks.example.com/a b"},
            "webhook_sending_finished",
            "must not contain spaces or control characters",
        ),
        (
            {"webhook_sending_finished": "https://hooks.example.com/" + "a" * 2048},
            "webhook_sending_finished",
            "must be at most 2048 characters",
        ),
    ],
)
def test_validation_names_each_field(aws: Any, params: dict[str, str], field: str, message: str) -> None:
    assert bad(save({"name": "Shop", **params})) == {field: message}


def test_problems_are_named_together(aws: Any) -> None:
    fields = bad(
        save({"retaindata": "maybe", "timebetweenemails": "x", "webhook_sending_error": "http://a.example"})
    )
    assert set(fields) == {"name", "retaindata", "timebetweenemails", "webhook_sending_error"}


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("https://127.0.0.1/x", "loopback"),
        ("https://10.1.2.3/x", "private"),
        ("https://169.254.169.254/latest/meta-data", "link-local"),
        ("https://[::1]:8443/x", "loopback"),
        ("https://[::ffff:192.168.0.1]/x", "private"),
        ("https://[fd00::1]/x", "private"),
        ("https://0.0.0.0/x", "unspecified"),
    ],
)
def test_a_webhook_at_a_non_public_ip_literal_is_refused(aws: Any, url: str, kind: str) -> None:
    assert bad(save({"name": "Shop", "webhook_tracking_opened": url})) == {
        "webhook_tracking_opened": f"must not point at a {kind} address"
    }


def test_a_deployment_that_allows_private_addresses_takes_them(
    aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from smtphub import wiring

    monkeypatch.setenv("ALLOW_PRIVATE_ADDRESSES", "true")
    wiring.reset()
    created = ok(save({"name": "Local", "webhook_tracking_opened": "https://127.0.0.1:8443/x"}))
    assert created["webhook_tracking_opened"] == "https://127.0.0.1:8443/x"


def test_a_name_is_taken_now_and_checked_when_called(aws: Any) -> None:
    """Names are resolved when a webhook is called (the SSRF guard's rules then), not at save time."""
    created = ok(save({"name": "Shop", "webhook_sending_finished": "https://localhost/x"}))
    assert created["webhook_sending_finished"] == "https://localhost/x"


def test_an_edit_judges_only_the_webhooks_it_gives(aws: Any) -> None:
    created = ok(save({"name": "Shop"}))
    assert "webhook_sending_error" in bad(
        save({"idapp": created["_id"], "webhook_sending_error": "https://10.0.0.1/"})
    )
    assert ok(save({"idapp": created["_id"], "retaindata": "true"}))["retaindata"] is True


# --- upstream's defaults: the account's e-mail --------------------------------------------------------


def test_testemail_and_the_sender_default_to_the_accounts_email(aws: Any) -> None:
    created = ok(save({"name": "Plain"}))
    assert (created["testemail"], created["defaultfromemail"], created["defaultfromname"]) == (
        ACCOUNT_EMAIL,
        ACCOUNT_EMAIL,
        ACCOUNT_EMAIL,
    )
    given = ok(save({"name": "Given", "testemail": "ops@example.net", "defaultfromname": "Ops"}))
    assert (given["testemail"], given["defaultfromemail"], given["defaultfromname"]) == (
        "ops@example.net",
        ACCOUNT_EMAIL,
        "Ops",
    )


def test_an_edit_never_fills_in_defaults(aws: Any) -> None:
    created = ok(save({"name": "Plain", "testemail": "ops@example.net"}))
    edited = ok(save({"idapp": created["_id"], "strategy": "PRIORITY"}))
    assert edited["testemail"] == "ops@example.net"
    assert edited["defaultfromemail"] == ACCOUNT_EMAIL


@pytest.mark.parametrize(
    ("context", "expected"),
    [
        ({"username": "Alice@Example.com"}, "Alice@Example.com"),
        ({"email": "bob@example.org", "username": "bob"}, "bob@example.org"),
        ({"username": "not-an-email"}, None),
        ({"username": ""}, None),
        ({}, None),
    ],
)
def test_the_accounts_email_comes_from_the_authorizers_context(
    aws: Any, context: dict[str, str], expected: str | None
) -> None:
    authorizer = {"principalId": ACCOUNT_B, "accountId": ACCOUNT_B, "integrationLatency": 0, **context}
    created = ok(as_caller("apps_save", {"name": "Shop"}, authorizer))
    assert (created["testemail"], created["defaultfromemail"], created["defaultfromname"]) == (expected,) * 3
    assert created["iduser"] == ACCOUNT_B


def test_a_check_works_for_an_app_created_without_testemail(
    aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reported defect: an app created by the client without testemail made every check a 400."""
    monkeypatch.setenv("ALLOW_PRIVATE_ADDRESSES", "true")
    monkeypatch.setenv("CHECK_DEADLINE_SECONDS", "5")
    # The Java client's createApp with only a name: every other parameter a bare name (null).
    body = (
        "name=Client+app&retaindata&strategy&originserver&origindomain&defaultfromemail&defaultfromname"
        "&testemail"
    )
    app = call("apps_save", body=body, content_type="application/x-www-form-urlencoded; charset=ISO-8859-1")
    idapp = ok(app)["_id"]
    with running_smtpd() as server:
        idsmtp = ok(call("smtps_save", {"idapp": idapp, "host": "127.0.0.1", "port": server.port}))["_id"]
        reply = call("smtps_check", {"idsmtp": idsmtp})
        assert (reply.status, reply.text) == (200, ""), reply.text
    (received,) = server.sink.received
    assert received.rcpt_tos == [ACCOUNT_EMAIL]
    assert received.mail_from == ACCOUNT_EMAIL


# --- Spring's page ------------------------------------------------------------------------------------


def spring_sort() -> dict[str, bool]:
    return {"sorted": False, "unsorted": True, "empty": True}


def test_find_all_is_a_spring_data_page(aws: Any) -> None:
    ids = [ok(save({"name": f"App {n}"}))["_id"] for n in range(5)]
    page = ok(call("apps_find_all", {"page": "1", "size": "2"}))
    assert [app["_id"] for app in page.pop("content")] == ids[2:4]
    assert page == {
        "pageable": {
            "sort": spring_sort(),
            "offset": 2,
            "pageNumber": 1,
            "pageSize": 2,
            "paged": True,
            "unpaged": False,
        },
        "last": False,
        "totalPages": 3,
        "totalElements": 5,
        "size": 2,
        "number": 1,
        "sort": spring_sort(),
        "first": False,
        "numberOfElements": 2,
        "empty": False,
    }


@pytest.mark.parametrize(
    ("params", "members"),
    [
        ({}, {"number": 0, "size": 20, "numberOfElements": 0, "empty": True, "first": True, "last": True}),
        (
            {"page": "3", "size": "5"},
            {"number": 3, "numberOfElements": 0, "empty": True, "first": False, "last": True},
        ),
    ],
)
def test_an_empty_page(aws: Any, params: dict[str, str], members: dict[str, Any]) -> None:
    page = ok(call("apps_find_all", params))
    assert {name: page[name] for name in members} == members
    assert page["totalPages"] == 0
    assert page["pageable"]["offset"] == page["number"] * page["size"]
    assert page_problems(page, APP_DTO) == []


def test_the_last_page_counts_its_own_elements(aws: Any) -> None:
    for n in range(3):
        ok(save({"name": f"App {n}"}))
    page = ok(call("apps_find_all", {"page": "1", "size": "2"}))
    assert (page["numberOfElements"], page["last"], page["empty"]) == (1, True, False)
    assert page_problems(page, APP_DTO) == []


def test_the_page_parses_as_the_clients_rest_response_page(aws: Any) -> None:
    ok(save(EVERYTHING))
    page = ok(call("apps_find_all", {"page": "0", "size": "100"}))
    assert page_problems(page, APP_DTO) == []


def test_the_sample_event_for_apps_save_answers_the_dto_shape(aws: Any) -> None:
    created = ok(call("apps_save"))
    assert dto_problems(created, APP_DTO) == []
    assert demo_authorizer()["username"] == ACCOUNT_EMAIL
    assert created["defaultfromname"] == ACCOUNT_EMAIL  # not in the sample: the account's e-mail
