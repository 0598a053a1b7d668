"""The sender (smtphub.sending) end to end against real SMTP peers on 127.0.0.1 and moto: an e-mail goes from
Q to F through its app's servers in the strategy's order, faults move it to the next server, every attempt is
a log row, and what must wait or retry goes back to Q (README, "Sending")."""

from __future__ import annotations

import itertools
import time
from collections import Counter
from typing import Any

import pytest

from smtphub import wiring
from smtphub.emails.content import Content
from smtphub.emails.models import CANCELLED, FAILED, FINISHED, QUEUED
from smtphub.sending import job as job_module
from smtphub.smtps.models import STATUS_DISABLED
from tests.support.scrubbing import encodings, log_lines
from tests.support.sending import Peer, World, attachment
from tests.support.smtp_peers import free_port, running_smtpd


def codes(world: World, email_id: str) -> list[tuple[str, str | None]]:
    return [(row.resultcode, row.smtp_id) for row in world.logs(email_id)]


def test_a_refusing_server_then_a_working_one_in_priority_order(world: World) -> None:
    with running_smtpd(Peer()) as good:
        dead = world.server(free_port(), priority=1)
        working = world.server(good.port, priority=2)
        email_id = world.email()

        assert world.run() == {"batchItemFailures": []}

    email = world.get(email_id)
    assert email.status == FINISHED
    assert email.finishtime is not None
    assert codes(world, email_id) == [("SMTP_CONNECT_FAILS", dead), ("OK", working)]
    [received] = good.sink.received
    assert received.rcpt_tos == ["ann@example.net"]
    assert received.message["Message-ID"] == email.messageid
    assert received.message["Subject"] == "Hello"
    assert not world.content_exists(email_id)  # deleted once done
    faulted = wiring.smtp_repository().get(dead)
    assert faulted is not None
    assert (faulted.faults, faulted.numerrors) == (1, 1)
    assert faulted.cooldown is not None
    assert faulted.cooldown > time.time()


def test_retaindata_keeps_the_content(world: World) -> None:
    with running_smtpd(Peer()) as good:
        world.server(good.port)
        email_id = world.email(retaindata=True)
        world.run()
    assert world.get(email_id).status == FINISHED
    assert world.content_exists(email_id)


def test_a_421_is_a_server_fault_and_a_550_fails_only_that_recipient(world: World) -> None:
    busy = Peer(rcpt={"ann@example.net": "421 4.3.2 Service not available, closing channel"})
    fussy = Peer(rcpt={"bob@example.net": "550 5.1.1 <bob@example.net>: User unknown"})
    with running_smtpd(busy) as first, running_smtpd(fussy) as second:
        busy_id = world.server(first.port, priority=1)
        fussy_id = world.server(second.port, priority=2)
        email_id = world.email(tos=["ann@example.net", "bob@example.net"], tonames=[])
        world.run()

    assert world.get(email_id).status == FINISHED
    rows = [(row.to, row.resultcode, row.smtp_id, row.code) for row in world.logs(email_id)]
    assert rows == [
        ("ann@example.net", "SMTP_TEMPORARY_FAILURE", busy_id, 421),
        ("bob@example.net", "SMTP_TEMPORARY_FAILURE", busy_id, 421),
        ("ann@example.net", "OK", fussy_id, 250),
        ("bob@example.net", "RECIPIENT_REJECTED", fussy_id, 550),
    ]
    assert "User unknown" in (world.logs(email_id)[3].message or "")
    assert fussy.received[0].rcpt_tos == ["ann@example.net"]
    assert busy.received == []


def test_a_5xx_after_data_fails_the_email_without_trying_the_next_server(world: World) -> None:
    with (
        running_smtpd(Peer(data_reply="554 5.7.1 Message rejected as spam")) as strict,
        running_smtpd(Peer()) as lenient,
    ):
        strict_id = world.server(strict.port, priority=1)
        world.server(lenient.port, priority=2)
        email_id = world.email()
        world.run()

    assert world.get(email_id).status == FAILED
    assert codes(world, email_id) == [("MESSAGE_REJECTED", strict_id)]
    assert lenient.sink.received == []
    assert not world.content_exists(email_id)


def test_every_recipient_refused_is_e(world: World) -> None:
    with running_smtpd(Peer(rcpt={"ann@example.net": "550 5.1.1 unknown"})) as peer:
        world.server(peer.port)
        email_id = world.email()
        world.run()
    assert world.get(email_id).status == FAILED
    assert [row.resultcode for row in world.logs(email_id)] == ["RECIPIENT_REJECTED"]
    assert peer.sink.received == []


def test_random_spreads_over_three_servers(world: World) -> None:
    world.set_app(strategy="RANDOM", timebetweenemails=0)
    peers = [Peer(), Peer(), Peer()]
    with running_smtpd(peers[0]) as a, running_smtpd(peers[1]) as b, running_smtpd(peers[2]) as c:
        for server in (a, b, c):
            world.server(server.port)
        for _ in range(3):
            for _ in range(10):
                world.email()
            world.run()
    counts = [len(peer.received) for peer in peers]
    assert sum(counts) == 30
    assert min(counts) >= 3, counts  # each has p < 1e-3 of 2 or fewer out of 30 when uniform


def test_all_servers_down_then_up_is_retried_then_f(world: World) -> None:
    server_id = world.server(free_port())
    email_id = world.email()
    world.run()

    email = world.get(email_id)
    assert (email.status, email.attempts) == (QUEUED, 1)
    assert email.wakeat is not None
    assert email.wakeat >= time.time() + 50  # about a minute, then more
    delayed = world.sqs.get_queue_attributes(
        QueueUrl=world.queue_url, AttributeNames=["ApproximateNumberOfMessagesDelayed"]
    )["Attributes"]
    assert delayed["ApproximateNumberOfMessagesDelayed"] == "1"  # a delayed message for the next turn
    requeued = world.turn_message(email_id)
    # the server comes back (on another port) and its cool-down is over
    wiring.smtp_repository().clear_faults(server_id)
    with running_smtpd(Peer()) as peer:
        wiring.smtp_repository().client.update_item(
            TableName=wiring.settings().smtps_table,
            Key={"_id": {"S": server_id}},
            UpdateExpression="SET port = :port",
            ExpressionAttributeValues={":port": {"N": str(peer.port)}},
        )
        world.run([requeued])
    assert world.get(email_id).status == FINISHED
    assert [row.resultcode for row in world.logs(email_id)] == ["SMTP_CONNECT_FAILS", "OK"]


def test_give_up_at_the_max_age_is_e(world: World) -> None:
    world.server(free_port())
    email_id = world.email(inittime="2020-01-01T00:00:00.000Z", attempts=9)
    world.run()
    email = world.get(email_id)
    assert email.status == FAILED
    assert email.attempts == 10
    assert [row.resultcode for row in world.logs(email_id)] == ["SMTP_CONNECT_FAILS"]
    assert world.messages() == []


def test_a_cancelled_email_is_never_sent(world: World) -> None:
    with running_smtpd(Peer()) as peer:
        world.server(peer.port)
        email_id = world.email()
        email = world.get(email_id)
        wiring.email_repository().cancel(email.account_id, email_id, "2026-01-01T00:00:00.000Z", 0, "x")
        assert world.run() == {"batchItemFailures": []}
    assert world.get(email_id).status == CANCELLED
    assert peer.sink.received == []
    assert world.logs(email_id) == []


def test_a_redelivery_after_the_lease_sends_again_with_the_same_message_id(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    with running_smtpd(Peer()) as peer:
        world.server(peer.port)
        email_id = world.email()
        [message] = world.messages()
        # a sender claims it, the server accepts the message, and the sender dies before finishing
        now = int(time.time())
        claimed = wiring.email_repository().claim(email_id, 0, now - 600, now - 300)
        assert claimed is not None
        assert world.run([message]) == {"batchItemFailures": []}  # the lease ran out: taken over
    assert world.get(email_id).status == FINISHED
    assert peer.sink.received[0].message["Message-ID"] == claimed.messageid


def test_the_cool_down_is_seen_by_another_sender(world: World) -> None:
    with running_smtpd(Peer()) as peer:
        dead = world.server(free_port(), priority=1)
        world.server(peer.port, priority=2)
        first = world.email()
        world.run()
        wiring.reset()  # another container: nothing in memory
        second = world.email()
        world.run()
    assert codes(world, first)[0][0] == "SMTP_CONNECT_FAILS"
    assert [code for code, _ in codes(world, second)] == ["OK"]  # the dead one passed over
    assert wiring.smtp_repository().get(dead).faults == 1  # type: ignore[union-attr]


def test_disable_after_faults_in_a_row_disables_the_server(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DISABLE_AFTER", "2")
    monkeypatch.setattr(job_module, "RETRY_FIRST", 1)
    wiring.reset()
    dead = world.server(free_port())
    email_id = world.email()
    world.run()
    repository = wiring.smtp_repository()
    repository.client.update_item(  # its cool-down over
        TableName=wiring.settings().smtps_table,
        Key={"_id": {"S": dead}},
        UpdateExpression="SET cooldown = :past",
        ExpressionAttributeValues={":past": {"N": "1"}},
    )
    world.run([world.turn_message(email_id)])
    server = repository.get(dead)
    assert server is not None
    assert server.status == STATUS_DISABLED
    assert server.nextcheck is not None
    assert server.nextcheck <= time.time()  # due now: the health schedule probes it
    assert server.faults == 2


def test_a_server_at_maxperminute_is_passed_over(world: World) -> None:
    with running_smtpd(Peer()) as limited, running_smtpd(Peer()) as other:
        world.server(limited.port, priority=1, maxperminute=1)
        world.server(other.port, priority=2)
        ids = [world.email() for _ in range(2)]
        for email_id in ids:
            world.run([world.turn_message(email_id)])
            world.messages()
    assert [world.get(email_id).status for email_id in ids] == [FINISHED, FINISHED]
    assert (len(limited.sink.received), len(other.sink.received)) == (1, 1)


def test_every_server_at_its_limit_waits_for_the_window(world: World) -> None:
    with running_smtpd(Peer()) as limited:
        world.server(limited.port, maxperminute=1)
        ids = [world.email() for _ in range(2)]
        world.run()
    statuses = sorted(world.get(email_id).status for email_id in ids)
    assert statuses == [FINISHED, QUEUED]
    waiting = next(world.get(email_id) for email_id in ids if world.get(email_id).status == QUEUED)
    assert waiting.attempts == 0  # a wait is not an attempt
    assert waiting.wakeat is not None
    assert waiting.wakeat <= time.time() + 60 + 120


def test_pacing_holds_across_four_concurrent_senders(world: World) -> None:
    world.set_app(strategy="PRIORITY", timebetweenemails=2)
    peer = Peer()
    with running_smtpd(peer) as server:
        world.server(server.port)
        ids = [world.email() for _ in range(4)]
        pending = {email_id: world.turn_message(email_id) for email_id in ids}
        world.messages()
        deadline = time.time() + 20
        while time.time() < deadline:
            waiting = [e for e in ids if world.get(e).status == QUEUED]
            if not waiting:
                break
            wakes = [world.get(e).paceslot or 0 for e in waiting]
            pause = max(0.0, min(wakes) / 1000 - time.time()) if any(wakes) else 0
            time.sleep(min(pause, 1.0))
            pending = {e: world.turn_message(e) for e in waiting}
            import concurrent.futures

            with concurrent.futures.ThreadPoolExecutor(4) as pool:  # four senders at once
                list(pool.map(lambda m: world.run([m]), pending.values()))
            world.messages()
    assert [world.get(e).status for e in ids] == [FINISHED] * 4
    times = sorted(peer.times)
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    # Measured at the peer, when each transaction's MAIL FROM arrived. Pacing grants are 2 s apart at least
    # (tests/integration/test_sending_state.py proves it on the grants); between a grant and its MAIL FROM
    # come the connection, EHLO and the CPU shared with the other senders: 10% is left for that jitter.
    assert min(gaps) >= 1.8, gaps
    assert all(world.get(e).attempts == 0 for e in ids)


def test_attachments_arrive_byte_identical(world: World) -> None:
    data = bytes(range(256)) * 300
    with running_smtpd(Peer()) as peer:
        world.server(peer.port)
        email_id = world.email(Content("Files", "See attached", (attachment("blob.bin", data),)))
        world.run()
    assert world.get(email_id).status == FINISHED
    [part] = list(peer.sink.received[0].message.iter_attachments())
    assert part.get_filename() == "blob.bin"
    assert part.get_content() == data


def test_a_url_attachment_that_cannot_be_had_is_attachment_problem(world: World) -> None:
    with running_smtpd(Peer()) as peer:
        world.server(peer.port)
        email_id = world.email(
            attachmenttype="URL", urlattachments=[f"https://127.0.0.1:{free_port()}/a.pdf"]
        )
        world.run()
    assert world.get(email_id).status == FAILED
    assert [row.resultcode for row in world.logs(email_id)] == ["ATTACHMENT_PROBLEM"]
    assert peer.sink.received == []


def test_no_secret_in_a_log_row(world: World, ca: Any, trust_test_ca: None) -> None:
    from tests.support.smtp_peers import PASSWORD, USERNAME, server_context

    tls = server_context(ca, "127.0.0.1", "localhost")
    with running_smtpd(Peer(), tls_context=tls, auth_require_tls=True) as peer:
        world.server(peer.port, auth=True, username=USERNAME, password=PASSWORD + "-wrong", priority=1)
        good = world.server(peer.port, auth=True, username=USERNAME, password=PASSWORD, priority=2)
        email_id = world.email(Content("Secret subject 7f3a", "Secret body 9c2e"))
        with log_lines() as lines:
            world.run()
    rows = world.logs(email_id)
    assert [(row.resultcode, row.smtp_id) for row in rows][-1] == ("OK", good)
    assert rows[0].resultcode == "SMTP_AUTH_FAILS"
    # STARTTLS offered: the credentials went over it, though the server's starttls setting is off
    assert peer.sink.received[0].tls
    shown = " ".join(str(row) for row in rows) + lines.getvalue()
    assert "sent" in lines.getvalue()  # the batch's line was captured
    for secret in (PASSWORD, PASSWORD + "-wrong", "Secret subject 7f3a", "Secret body 9c2e"):
        for form in encodings(secret).values():
            assert form not in shown


def test_counts_of_the_log(world: World) -> None:
    with running_smtpd(Peer()) as peer:
        world.server(peer.port)
        ids = [world.email(tos=["a@example.net", "b@example.net"], tonames=[]) for _ in range(3)]
        world.run()
    totals = Counter(row.resultcode for email_id in ids for row in world.logs(email_id))
    assert totals == {"OK": 6}


def test_the_sweep_queues_what_is_due_and_leaves_the_rest(world: World) -> None:
    now = int(time.time())
    due = world.email(wakeat=now + 30)  # within the next minute
    later = world.email(wakeat=now + 3600)
    world.messages()  # the messages emails/send sent: say they were lost
    counts = wiring.send_sweep().run()
    assert counts == {"enqueued": 1, "unheld": 1}
    assert world.get(due).wakeat is None
    assert world.get(later).wakeat == now + 3600
    delayed = world.sqs.get_queue_attributes(
        QueueUrl=world.queue_url, AttributeNames=["ApproximateNumberOfMessagesDelayed"]
    )["Attributes"]
    assert delayed["ApproximateNumberOfMessagesDelayed"] == "1"  # delayed to its own time


def test_the_function_answers_partial_batch_failures(world: World) -> None:
    from local_runtime.loader import load_handler
    from tests.support.lambdas import LambdaContext

    with running_smtpd(Peer()) as peer:
        world.server(peer.port)
        email_id = world.email()
        [message] = world.messages()
        records = [
            {"messageId": "good", "body": message["Body"], "eventSource": "aws:sqs"},
            {"messageId": "bad", "body": "not json", "eventSource": "aws:sqs"},
        ]
        handler = load_handler("functions/emails_sender/")
        answer = handler({"Records": records}, LambdaContext())
    assert answer == {"batchItemFailures": [{"itemIdentifier": "bad"}]}
    assert world.get(email_id).status == FINISHED


def test_a_server_that_never_answers_is_a_timeout_and_the_next_is_tried(world: World) -> None:
    from tests.support.smtp_peers import running_raw, silent

    with running_raw(silent) as mute, running_smtpd(Peer()) as good:
        mute_id = world.server(mute.port, priority=1)
        good_id = world.server(good.port, priority=2)
        email_id = world.email()
        world.run()
    assert codes(world, email_id) == [("SMTP_CONNECT_TIMEOUT", mute_id), ("OK", good_id)]
    assert world.get(email_id).status == FINISHED


def test_with_tracking_each_recipient_gets_a_message_of_its_own_and_a_retry_only_the_rest(
    world: World,
) -> None:
    busy = Peer(rcpt={"bob@example.net": "421 4.7.0 Try again later"})
    with running_smtpd(busy) as server:
        server_id = world.server(server.port)
        email_id = world.email(
            tos=["ann@example.net", "bob@example.net"], tonames=["Ann", "Bob"], includetracking=True
        )
        world.run()
        email = world.get(email_id)
        assert (email.status, email.sentto, email.attempts) == (QUEUED, ["ann@example.net"], 1)
        [to_ann] = busy.received
        assert (to_ann.rcpt_tos, to_ann.message["To"]) == (["ann@example.net"], "Ann <ann@example.net>")
        # bob's mailbox is back, the server's cool-down is over: the next round sends to bob only
        busy.rcpt.clear()
        wiring.smtp_repository().clear_faults(server_id)
        world.run([world.turn_message(email_id)])
    assert world.get(email_id).status == FINISHED
    assert [received.rcpt_tos for received in busy.received] == [["ann@example.net"], ["bob@example.net"]]
    assert busy.received[1].message["To"] == "Bob <bob@example.net>"
    assert busy.received[0].message["Message-ID"] == busy.received[1].message["Message-ID"]
    rows = [(row.to, row.resultcode) for row in world.logs(email_id)]
    assert rows == [
        ("ann@example.net", "OK"),
        ("bob@example.net", "SMTP_TEMPORARY_FAILURE"),
        ("bob@example.net", "OK"),
    ]
