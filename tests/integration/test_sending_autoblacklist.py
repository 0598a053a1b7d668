"""Auto-blacklisting through the real sender (issue 25): a recipient a real SMTP peer on 127.0.0.1 refuses
for good (550) is listed in the app's blacklist (addedby AUTOMATIC, the e-mail as its sending), told to the
app (`blacklisted_added`), recorded on the e-mail (`autoblacklisted`) and in an AUTOBLACKLISTED log row;
only for an app with useautoblacklist, and never for a 421 or a server that does not answer."""

from __future__ import annotations

from smtphub import wiring
from smtphub.blacklists.models import AUTOMATIC
from smtphub.emails.models import FINISHED, QUEUED
from tests.support.outbox import Recording
from tests.support.sending import Peer, World
from tests.support.smtp_peers import free_port, running_smtpd

ANN, BOB = "ann@example.net", "bob@example.net"


def send_to_both(world: World, peer: Peer) -> str:
    with running_smtpd(peer) as server:
        world.server(server.port)
        email_id = world.email(tos=[ANN, BOB], tonames=[])
        world.run()
    return email_id


def test_a_550_lists_the_recipient_when_the_app_uses_its_auto_blacklist(
    world: World, outbox: Recording
) -> None:
    world.set_app(strategy="PRIORITY", timebetweenemails=0, useautoblacklist=True)
    email_id = send_to_both(world, Peer(rcpt={BOB: "550 5.1.1 <bob@example.net>: User unknown"}))

    email = world.get(email_id)
    assert email.status == FINISHED
    assert email.autoblacklisted == [BOB]
    listed = wiring.blacklist_repository().get(world.app, BOB)
    assert listed is not None
    assert (listed.addedby, listed.sending_id) == (AUTOMATIC, email_id)
    assert wiring.blacklist_repository().get(world.app, ANN) is None
    assert outbox.events == [("blacklisted_added", {"qm_email": BOB, "qm_idsending": email_id})]
    rows = [(row.to, row.resultcode, row.code) for row in world.logs(email_id)]
    assert sorted(rows) == sorted(
        [(ANN, "OK", 250), (BOB, "RECIPIENT_REJECTED", 550), (BOB, "AUTOBLACKLISTED", 550)]
    )


def test_an_app_without_auto_blacklist_lists_nobody(world: World, outbox: Recording) -> None:
    email_id = send_to_both(world, Peer(rcpt={BOB: "550 5.1.1 <bob@example.net>: User unknown"}))

    assert world.get(email_id).autoblacklisted == []
    assert wiring.blacklist_repository().get(world.app, BOB) is None
    assert outbox.told == []
    assert "AUTOBLACKLISTED" not in {row.resultcode for row in world.logs(email_id)}


def test_a_421_or_a_dead_server_lists_nobody(world: World, outbox: Recording) -> None:
    world.set_app(strategy="PRIORITY", timebetweenemails=0, useautoblacklist=True)
    busy_id = send_to_both(world, Peer(rcpt={BOB: "421 4.3.2 Service not available, closing channel"}))
    assert world.get(busy_id).status == QUEUED  # a server fault: retried, not rejected

    world.server(free_port(), priority=0)  # nobody listens there
    dead_id = world.email(tos=[BOB])
    world.run()

    assert world.get(dead_id).autoblacklisted == []
    assert wiring.blacklist_repository().get(world.app, BOB) is None
    assert outbox.told == []
