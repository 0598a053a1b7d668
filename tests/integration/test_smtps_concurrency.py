"""Concurrent edits of one SMTP server through smtps/save, on moto: one wins, the others get CONFLICT, and
the server's password is always the winner's.

The record names the exact secret version that belongs to it (`secretVersion`), so however the secret
writes of concurrent edits interleave, a check reads the password of the edit whose record write won; the
winner's version keeps a label, the losers' versions lose ours (issue: "Stored SMTP credentials that cannot
be read back, crossed or leaked").
"""

from __future__ import annotations

import random
import secrets as tokens
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from smtphub import wiring
from smtphub.smtps.models import Smtp
from smtphub.smtps.repository import SmtpRepository
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
    our_labels,
    password_a_check_reads,
    pinned_password,
    scheduled_for_deletion,
    secret,
    secret_names,
    settle,
    versions_by_password,
)
from tests.support.aws import SECRET_PREFIX, Stream
from tests.support.lambdas import Reply, call

WAIT = 10.0  # seconds a scripted step may wait for another thread before the test fails


# --- one edit between another's read and write ----------------------------------------------------------


def stale_reads(monkeypatch: pytest.MonkeyPatch, stale: Smtp) -> None:
    """The service's next read returns `stale`, as if another edit landed between its read and its write."""
    repository = wiring.smtp_repository()
    real_get = repository.get
    monkeypatch.setattr(
        repository, "get", lambda smtp_id: replace(stale) if smtp_id == stale.id else real_get(smtp_id)
    )


def test_the_second_of_two_concurrent_edits_gets_conflict(aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    idapp = new_app()
    idsmtp = new_smtp(idapp)["_id"]
    read_by_both = wiring.smtp_repository().get(idsmtp)
    assert read_by_both is not None
    # a new port for a server with a password needs the password again (the binding rule)
    assert bad(call("smtps_save", {"idsmtp": idsmtp, "port": 2525})) == PASSWORD_AGAIN
    winner = ok(call("smtps_save", {"idsmtp": idsmtp, "port": 2525, "password": PASSWORD}))
    stale_reads(monkeypatch, read_by_both)
    body = error(call("smtps_save", {"idsmtp": idsmtp, "priority": 1}), 406, "CONFLICT")
    assert body["message"]
    monkeypatch.undo()
    assert ok(call("smtps_find_by_id", {"idsmtp": idsmtp})) == winner  # the winner's edit stands whole
    assert pinned_password(aws, idsmtp) == PASSWORD


def test_a_refused_edit_restores_the_previous_password(aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    idapp = new_app()
    idsmtp = new_smtp(idapp)["_id"]
    read_by_both = wiring.smtp_repository().get(idsmtp)
    assert read_by_both is not None
    ok(call("smtps_save", {"idsmtp": idsmtp, "password": "winner-password"}))
    stale_reads(monkeypatch, read_by_both)
    error(call("smtps_save", {"idsmtp": idsmtp, "password": "loser-password"}), 406, "CONFLICT")
    # the loser's version lost its label in its own request, before the stream's tidying
    assert our_labels(aws, idsmtp, versions_by_password(aws, idsmtp)["loser-password"]) == []
    settle(aws)
    assert secret(aws, idsmtp) == "winner-password"
    monkeypatch.undo()
    assert pinned_password(aws, idsmtp) == "winner-password"
    assert password_a_check_reads(idsmtp) == "winner-password"
    assert our_labels(aws, idsmtp, versions_by_password(aws, idsmtp)["loser-password"]) == []


def test_a_refused_edit_adding_a_password_leaves_its_secret_to_the_record(
    aws: Any, monkeypatch: pytest.MonkeyPatch, stream: Stream
) -> None:
    """The record still says it has no password; the secret is named after it and goes when it goes (deleting
    it now could race a concurrent edit that is about to say it has one)."""
    idapp = new_app()
    idsmtp = new_smtp(idapp, auth="false", username=None, password=None)["_id"]
    read_by_both = wiring.smtp_repository().get(idsmtp)
    assert read_by_both is not None
    ok(call("smtps_save", {"idsmtp": idsmtp, "port": 2525}))
    stale_reads(monkeypatch, read_by_both)
    error(call("smtps_save", {"idsmtp": idsmtp, "password": "late"}), 406, "CONFLICT")
    monkeypatch.undo()
    (item,) = items(aws)
    assert "secretVersion" not in item  # the record names no secret version: it has no password
    assert secret_names(aws) == {SECRET_PREFIX + idsmtp}
    assert call("smtps_remove", {"idsmtp": idsmtp}).status == 200
    stream.drain()
    assert scheduled_for_deletion(aws, idsmtp)


def test_a_loser_that_wrote_its_password_after_the_winner_does_not_undo_the_winners(
    aws: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both send a password: loser's secret version first, winner's second, then the loser's write is refused.

    Undoing the loser must not make its own version current again over the winner's.
    """
    idapp = new_app()
    idsmtp = new_smtp(idapp)["_id"]
    service = wiring.smtp_service()
    read_by_both = service.smtps.get(idsmtp)
    assert read_by_both is not None
    real_update = service.smtps.update

    def winner_lands_first(*args: Any, **kwargs: Any) -> None:
        monkeypatch.setattr(service.smtps, "update", real_update)
        monkeypatch.setattr(service.smtps, "get", lambda smtp_id: replace(read_by_both))
        # the winner's whole edit runs between the loser's secret write and its record write
        ok(call("smtps_save", {"idsmtp": idsmtp, "password": "winner-password", "port": 2525}))
        real_update(*args, **kwargs)

    monkeypatch.setattr(service.smtps, "update", winner_lands_first)
    error(call("smtps_save", {"idsmtp": idsmtp, "password": "loser-password"}), 406, "CONFLICT")
    settle(aws)
    assert secret(aws, idsmtp) == "winner-password"
    monkeypatch.undo()
    assert pinned_password(aws, idsmtp) == "winner-password"
    assert password_a_check_reads(idsmtp) == "winner-password"
    assert our_labels(aws, idsmtp, versions_by_password(aws, idsmtp)["loser-password"]) == []


def test_edits_whose_requests_finish_out_of_order_leave_awscurrent_on_the_newest_records_version(
    aws: Any, monkeypatch: pytest.MonkeyPatch, atomic_aws_requests: None
) -> None:
    """A's record write lands, then B's whole edit (based on A's record), then A's request finishes: the
    labels follow the records' order (the stream's, per item), not the order the requests finished in. A
    replay of the whole stream (Lambda retrying) ends the same."""
    idapp = new_app()
    idsmtp = new_smtp(idapp)["_id"]
    warm_up()
    written = threading.Event()
    finish_a = threading.Event()
    real_update = SmtpRepository.update

    def update(repository: SmtpRepository, *args: Any, **kwargs: Any) -> Any:
        real_update(repository, *args, **kwargs)
        if threading.current_thread().name == "A":
            written.set()
            assert finish_a.wait(WAIT), "A was never let finish"

    monkeypatch.setattr(SmtpRepository, "update", update)
    replies: dict[str, Reply] = {}
    thread_a = in_thread("A", edit_password(idsmtp, "password-of-A"), replies)
    assert written.wait(WAIT), "A never wrote its record"
    replies["B"] = edit_password(idsmtp, "password-of-B")()  # B reads A's record, and wins over it
    finish_a.set()
    finish(thread_a)
    assert (replies["A"].status, replies["B"].status) == (200, 200)
    (item,) = items(aws)
    assert item["version"] == {"N": "3"}

    settle(aws)
    version = versions_by_password(aws, idsmtp)
    assert pinned_password(aws, idsmtp) == "password-of-B"  # labelled, and AWSCURRENT
    assert our_labels(aws, idsmtp, version["password-of-A"]) == []  # superseded
    after = labels(aws, idsmtp)
    Stream(aws).drain()  # a second reader from the stream's start: every adopt again, in order
    assert labels(aws, idsmtp) == after
    assert pinned_password(aws, idsmtp) == "password-of-B"


# --- crossed passwords (issue: "Stored SMTP credentials that cannot be read back, crossed or leaked") -----


class Script:
    """SmtpRepository.update held, in the threads named here, until the test lets each through.

    Each edit reads the record and writes its secret version, then waits at its record write (`arrived`)
    for `go`: the main thread decides the order. Other threads (and the main one) pass straight on.
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch, *names: str) -> None:
        self.arrived = {name: threading.Event() for name in names}
        self.go = {name: threading.Event() for name in names}
        real_update = SmtpRepository.update

        def update(repository: SmtpRepository, *args: Any, **kwargs: Any) -> Any:
            name = threading.current_thread().name
            if name in self.go:
                self.arrived[name].set()
                assert self.go[name].wait(WAIT), f"{name} was never let through"
            return real_update(repository, *args, **kwargs)

        monkeypatch.setattr(SmtpRepository, "update", update)


def in_thread(name: str, request: Callable[[], Reply], replies: dict[str, Reply]) -> threading.Thread:
    def run() -> None:
        replies[name] = request()

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    return thread


def edit_password(idsmtp: str, password: str) -> Callable[[], Reply]:
    return lambda: call("smtps_save", {"idsmtp": idsmtp, "password": password})


def finish(*threads: threading.Thread) -> None:
    for thread in threads:
        thread.join(WAIT)
        assert not thread.is_alive(), f"{thread.name} did not finish"


@pytest.fixture
def atomic_aws_requests(aws: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each AWS request is handled whole before the next, as DynamoDB and Secrets Manager handle each call
    (a conditional write to one item, a change to one secret) atomically. moto's backends are not thread-safe
    (concurrent PutSecretValue calls can fail inside moto), so its request handler takes a lock; requests
    from different edits still interleave freely between calls."""
    from moto.core.botocore_stubber import BotocoreStubber

    handle = BotocoreStubber.__call__
    one_request_at_a_time = threading.RLock()

    def atomic(stubber: BotocoreStubber, event_name: str, request: Any, **kwargs: Any) -> Any:
        with one_request_at_a_time:
            return handle(stubber, event_name, request, **kwargs)

    monkeypatch.setattr(BotocoreStubber, "__call__", atomic)


def warm_up() -> None:
    """Build the services and the clients in this thread, before edits run in others."""
    wiring.smtp_service()
    assert wiring.secret_repository().client is not None  # built on first use


def test_three_edits_whose_secret_writes_all_land_before_their_record_writes_do_not_cross(
    aws: Any, monkeypatch: pytest.MonkeyPatch, atomic_aws_requests: None
) -> None:
    # given: a server with a password, and three edits X, Y, Z of it, each with a password of its own
    idapp = new_app()
    idsmtp = new_smtp(idapp)["_id"]
    passwords = {"X": "password-of-X", "Y": "password-of-Y", "Z": "password-of-Z"}
    warm_up()
    script = Script(monkeypatch, *passwords)
    replies: dict[str, Reply] = {}
    threads = {}

    # when: X, Y and Z each write their secret version, in that order, before any record write ...
    for name, password in passwords.items():
        threads[name] = in_thread(name, edit_password(idsmtp, password), replies)
        assert script.arrived[name].wait(WAIT), f"{name} never reached its record write"
    # ... then X's record write lands first, then Y's, then Z's (each edit finishing before the next)
    for name in passwords:
        script.go[name].set()
        finish(threads[name])

    # then: X won, Y and Z lost to it
    assert replies["X"].status == 200, replies["X"].text
    error(replies["Y"], 406, "CONFLICT")
    error(replies["Z"], 406, "CONFLICT")
    (item,) = items(aws)
    assert item["version"] == {"N": "2"}
    # the password a check reads is X's: the version the record names, exactly
    assert password_a_check_reads(idsmtp) == "password-of-X"
    settle(aws)
    assert pinned_password(aws, idsmtp) == "password-of-X"  # labelled, and AWSCURRENT as well
    version = versions_by_password(aws, idsmtp)
    assert item["secretVersion"] == {"S": version["password-of-X"]}
    # X's version keeps a staging label (Secrets Manager may delete unlabelled versions); the losers lose ours
    stages = labels(aws, idsmtp)
    assert stages[version["password-of-X"]]
    assert our_labels(aws, idsmtp, version["password-of-Y"]) == []
    assert our_labels(aws, idsmtp, version["password-of-Z"]) == []
    losers = stages.get(version["password-of-Y"], []) + stages.get(version["password-of-Z"], [])
    assert "AWSCURRENT" not in losers


EDITORS = 5
ROUNDS = 10


def test_concurrent_edits_with_passwords_leave_the_winners_password_round_after_round(
    aws: Any, monkeypatch: pytest.MonkeyPatch, atomic_aws_requests: None
) -> None:
    """Five edits at once, ten times over. Each reads the record and writes its secret version before any
    record write (a barrier at the write); the record writes then race after a random pause of up to 5 ms
    (else the thread that trips the barrier, the last to write its secret, would nearly always win); the
    adopt and abandon steps run concurrently."""
    idapp = new_app()
    idsmtp = new_smtp(idapp)["_id"]
    warm_up()
    real_update = SmtpRepository.update
    barrier = threading.Barrier(EDITORS)
    jitter = random.Random(20261128)

    def update(repository: SmtpRepository, *args: Any, **kwargs: Any) -> Any:
        if threading.current_thread().name.startswith("editor-"):
            barrier.wait(WAIT)
            time.sleep(jitter.uniform(0, 0.005))
        return real_update(repository, *args, **kwargs)

    monkeypatch.setattr(SmtpRepository, "update", update)
    for round_number in range(ROUNDS):
        # given: the server as the last round left it; five edits, each with a password of its own
        passwords = {f"editor-{n}": f"round-{round_number}-{n}-{tokens.token_hex(4)}" for n in range(EDITORS)}
        barrier.reset()
        replies: dict[str, Reply] = {}
        # when: they all run at once
        finish(*[in_thread(name, edit_password(idsmtp, pw), replies) for name, pw in passwords.items()])
        # then: one got 200, the others CONFLICT, and the record's version holds the winner's password
        winners = [name for name, reply in replies.items() if reply.status == 200]
        assert len(winners) == 1, {name: reply.text for name, reply in replies.items()}
        for name, reply in replies.items():
            if name not in winners:
                error(reply, 406, "CONFLICT")
        (winner,) = winners
        assert password_a_check_reads(idsmtp) == passwords[winner], f"round {round_number}"
        settle(aws)
        assert pinned_password(aws, idsmtp) == passwords[winner], f"round {round_number}"
        version = versions_by_password(aws, idsmtp)
        for name, password in passwords.items():
            if name != winner:
                assert our_labels(aws, idsmtp, version[password]) == [], f"round {round_number}"
    (item,) = items(aws)
    assert item["version"] == {"N": str(1 + ROUNDS)}
