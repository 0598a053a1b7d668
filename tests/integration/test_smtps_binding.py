"""A stored password goes only where it was given for (the contract's binding rule), through smtps/save.

Issue "Stored SMTP credentials that cannot be read back, crossed or leaked": an edit that sends a server's
stored password elsewhere (a new host or port: read back by redirecting the server to a host one runs; a
new username or auth setting; weaker transport security) must come with the password again, else it is a
400 naming `password` and nothing changes. Edits that send it nowhere new need no password. Ownership is
decided first: another account's server is not found, whatever the edit.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.api import (
    PASSWORD,
    PASSWORD_AGAIN,
    bad,
    error,
    items,
    labels,
    new_app,
    new_smtp,
    ok,
    pinned_password,
)
from tests.support.lambdas import ACCOUNT_B, call

ATTACKER_HOST = "smtp.attacker.example"

# Each edit moves the stored password somewhere it was not given for: (server as created, the edit).
BOUND = {
    "host and port (read back by redirect)": ({}, {"host": ATTACKER_HOST, "port": 2525}),
    "host": ({}, {"host": ATTACKER_HOST}),
    "port": ({}, {"port": 2525}),
    "username": ({}, {"username": "someone-else@example.net"}),
    "auth turned on": ({"auth": "false"}, {"auth": "true"}),
    "auth turned off": ({}, {"auth": "false"}),
    "starttls lowered to plain": ({}, {"starttls": "false"}),
    "ssltls lowered to plain": ({"starttls": "false", "sslTls": "true"}, {"sslTls": "false"}),
    "insecureauth allowed": ({}, {"insecureauth": "true"}),
}
# Edits that send the stored password nowhere new: no password needed.
UNBOUND = {
    "priority": ({}, {"priority": 1}),
    "defaultfromname": ({}, {"defaultfromname": "Billing"}),
    "defaultfromemail": ({}, {"defaultfromemail": "billing@example.net"}),
    "debug": ({}, {"debug": "true"}),
    "starttls to implicit tls": ({}, {"starttls": "false", "sslTls": "true"}),
    "plain to starttls": ({"starttls": "false"}, {"starttls": "true"}),
    "insecureauth withdrawn": ({"insecureauth": "true"}, {"insecureauth": "false"}),
}


def view(idsmtp: str) -> dict[str, Any]:
    found: dict[str, Any] = ok(call("smtps_find_by_id", {"idsmtp": idsmtp}))
    return found


@pytest.mark.parametrize(("created", "edit"), BOUND.values(), ids=list(BOUND))
def test_an_edit_moving_the_password_must_send_it_again(
    aws: Any, created: dict[str, str], edit: dict[str, Any]
) -> None:
    # given: a server with a stored password
    idapp = new_app()
    server = new_smtp(idapp, **created)
    idsmtp = server["_id"]
    before = (items(aws), labels(aws, idsmtp))

    # when: the edit without the password
    refused = call("smtps_save", {"idsmtp": idsmtp, **edit})

    # then: a 400 naming the password, and nothing changed: not the record, not the secret
    assert bad(refused) == PASSWORD_AGAIN
    assert (items(aws), labels(aws, idsmtp)) == before
    assert view(idsmtp) == server
    assert pinned_password(aws, idsmtp) == PASSWORD

    # when: the same edit with the password
    edited = ok(call("smtps_save", {"idsmtp": idsmtp, **edit, "password": "given-again"}))

    # then: it goes through, and the server's password is the one sent with it
    assert view(idsmtp) == edited
    assert edited["modified"] >= server["modified"]
    assert pinned_password(aws, idsmtp) == "given-again"


def test_redirecting_a_server_to_read_its_password_back_is_refused(aws: Any) -> None:
    """The attack itself: the account's own server, aimed at a host that would log the AUTH exchange."""
    # given: a server that authenticates with a username and password
    idapp = new_app()
    server = new_smtp(idapp, username="mailer@example.net")
    idsmtp = server["_id"]
    item_before = items(aws)

    # when: host and port change, the password is not sent
    refused = call("smtps_save", {"idsmtp": idsmtp, "host": ATTACKER_HOST, "port": 25})

    # then: 400 naming password; the server still points where it did, with the password it had
    assert bad(refused) == PASSWORD_AGAIN
    assert items(aws) == item_before
    assert (view(idsmtp)["host"], view(idsmtp)["port"]) == ("smtp.example.net", 587)
    assert pinned_password(aws, idsmtp) == PASSWORD

    # when: the same with the password (whoever sends it knows it already)
    moved = ok(
        call("smtps_save", {"idsmtp": idsmtp, "host": ATTACKER_HOST, "port": 25, "password": PASSWORD})
    )

    # then: 200
    assert (moved["host"], moved["port"]) == (ATTACKER_HOST, 25)
    assert pinned_password(aws, idsmtp) == PASSWORD


@pytest.mark.parametrize(("created", "edit"), UNBOUND.values(), ids=list(UNBOUND))
def test_an_edit_that_sends_the_password_nowhere_new_needs_none(
    aws: Any, created: dict[str, str], edit: dict[str, Any]
) -> None:
    idapp = new_app()
    server = new_smtp(idapp, **created)
    versions = labels(aws, server["_id"])

    edited = ok(call("smtps_save", {"idsmtp": server["_id"], **edit}))

    assert edited != server
    assert view(server["_id"]) == edited
    assert labels(aws, server["_id"]) == versions  # the secret untouched
    assert pinned_password(aws, server["_id"]) == PASSWORD


@pytest.mark.parametrize(("created", "edit"), BOUND.values(), ids=list(BOUND))
def test_a_server_without_a_password_binds_nothing(
    aws: Any, created: dict[str, str], edit: dict[str, Any]
) -> None:
    """A relay (no auth, no password): there is nothing to send elsewhere."""
    idapp = new_app()
    relay = new_smtp(idapp, **{**created, "auth": "false", "username": None, "password": None})
    if edit.get("auth") == "true":  # auth needs credentials, as on create: not the binding rule
        assert bad(call("smtps_save", {"idsmtp": relay["_id"], **edit})) == {
            "username": "is required when auth is true",
            "password": "is required when auth is true",
        }
        return
    assert ok(call("smtps_save", {"idsmtp": relay["_id"], **edit}))["_id"] == relay["_id"]
    assert pinned_password(aws, relay["_id"]) is None


def test_another_accounts_server_is_not_found_before_any_binding(aws: Any) -> None:
    """Ownership first: B learns neither that A's server exists nor that it has a password."""
    idapp = new_app()
    server = new_smtp(idapp)
    before = (items(aws), labels(aws, server["_id"]))
    for edit in [change for _, change in BOUND.values()]:
        reply = call("smtps_save", {"idsmtp": server["_id"], **edit}, account=ACCOUNT_B)
        error(reply, 406, "SMTP_NOT_FOUND")
        assert "password" not in reply.text
    assert (items(aws), labels(aws, server["_id"])) == before
    assert view(server["_id"]) == server
