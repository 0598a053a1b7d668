"""Tracking and unsubscribing through the real handlers, against moto: an opened HTML e-mail's pixel and a
clicked link recorded once each (and their notices), forged or altered tokens refused, no redirect to a URL
that was not in the message, tracking/findByEMail (its tenancy, the Java client's TrackingDTO), and
unsubscribing by one-click POST and by the confirmation page, after which the send seam skips the address."""

from __future__ import annotations

import base64
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from smtphub import wiring
from smtphub.emails.models import QUEUED, Email
from smtphub.http.public import GIF
from smtphub.ids import new_id
from smtphub.tracking.links import Links, rewrite_html
from smtphub.tracking.tokens import CLICK, Tokens
from tests.support.api import error, new_app, ok
from tests.support.aws import TRACKING_TABLE
from tests.support.lambdas import ACCOUNT_A, ACCOUNT_B, Reply, call, load_event
from tests.support.outbox import Bus, Recording
from tests.support.queuemail_client import dto_problems

KEY = b"tracking-key-of-this-test-stack-0123456789"
ANN, BOB = "ann@example.net", "bob@example.net"
SALE, BLOG = "https://shop.example/sale?a=1&b=2", "https://blog.example/post"
ESCAPED = SALE.replace("&", "&amp;")
HTML = f'<html><body><p><a href="{ESCAPED}">Sale</a> <a href="{BLOG}">Blog</a></p></body></html>'
EXPIRES = 1_900_000_000
# QueueMail's TrackingDTO (the Java client's getTracking binds a list of them).
TRACKING_DTO = {
    "_id": "String",
    "idsending": "String",
    "email": "String",
    "type": "String",
    "url": "String",
    "created": "LocalDateTime",
    "ip": "String",
}


# Every function here has WEBHOOK_QUEUE_URL (template.yaml): the real outbox, on moto's queue and bus,
# unless a test records its notices instead (`outbox`).
pytestmark = pytest.mark.usefixtures("bus")


@pytest.fixture(autouse=True)
def key() -> Tokens:
    tokens = Tokens(KEY)
    wiring.override("tracking_tokens", tokens)
    return tokens


def stored_email(idapp: str, account: str = ACCOUNT_A) -> Email:
    email = Email(
        id=new_id(),
        account_id=account,
        created="2026-11-24T10:00:00.000Z",
        modified="2026-11-24T10:00:00.000Z",
        status=QUEUED,
        app_id=idapp,
        sender="shop@example.com",
        tos=[ANN, BOB],
        tonames=["", ""],
        mimetype="text/html",
        includetracking=True,
        includeunregisterlink=True,
        messageid="<x@smtp-hub>",
        contentkey="content/x",
        inittime="2026-11-24T10:00:00.000Z",
        logsdeleledby="2026-12-24T10:00:00.000Z",
        expires=EXPIRES,
    )
    wiring.email_repository().create(email)
    return email


def copy_for(email: Email, recipient: str, key: Tokens) -> str:
    """The HTML the sender would write for `recipient` (smtphub.tracking.links)."""
    links = Links("https://links.example.com/api", key, email.id, recipient, (email.account_id, email.app_id))
    return rewrite_html(HTML, links, track=True, unsubscribe=True)


def token(url: str) -> str:
    return parse_qs(urlsplit(url.replace("&amp;", "&")).query)["t"][0]


def urls(html: str, path: str) -> list[str]:
    return [url for url in re.findall(r'(?:href|src)="([^"]*)"', html) if f"/public/{path}?" in url]


def visit(function: str, t: str, method: str = "GET", body: str | None = None) -> Reply:
    event = load_event(function)
    event["queryStringParameters"] = {"t": t}
    event["multiValueQueryStringParameters"] = {"t": [t]}
    event["httpMethod"] = method
    if body is not None:
        event["body"] = body
        event["headers"]["Content-Type"] = "application/x-www-form-urlencoded"
    return call(function, event=event, account=None)


def events(email: Email, account: str = ACCOUNT_A) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = ok(call("tracking_find_by_email", {"idemail": email.id}, account=account))
    return found


def assert_pixel(reply: Reply) -> None:
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "image/gif"
    assert "no-store" in reply.headers["Cache-Control"]
    assert base64.b64decode(reply.text) == GIF


def test_an_open_is_recorded_once_per_recipient(aws: Any, key: Tokens, outbox: Recording) -> None:
    email = stored_email(new_app())
    (pixel,) = urls(copy_for(email, ANN, key), "tracking/open")
    for _ in range(3):  # the recipient's client, then image proxies fetching again
        assert_pixel(visit("tracking_open", token(pixel)))
    (opened,) = events(email)
    assert not dto_problems(opened, TRACKING_DTO)
    assert {k: opened[k] for k in ("idsending", "idemailing", "email", "type", "url")} == {
        "idsending": email.id,
        "idemailing": None,
        "email": ANN,
        "type": "OPEN",
        "url": None,
    }
    assert opened["ip"]  # the event's source IP
    assert outbox.events == [("tracking_opened", {"qm_idsending": email.id, "qm_email": ANN})]
    # another recipient's open is theirs
    (bobs,) = urls(copy_for(email, BOB, key), "tracking/open")
    assert_pixel(visit("tracking_open", token(bobs)))
    assert [(e["email"], e["type"]) for e in events(email)] == [(ANN, "OPEN"), (BOB, "OPEN")]
    item = aws.dynamodb.scan(TableName=TRACKING_TABLE)["Items"][0]
    assert int(item["expires"]["N"]) == EXPIRES  # goes with its e-mail


def test_a_click_redirects_to_its_link_and_is_recorded_once_per_link(
    aws: Any, key: Tokens, outbox: Recording
) -> None:
    email = stored_email(new_app())
    sale, blog = urls(copy_for(email, ANN, key), "tracking/click")
    for _ in range(2):
        reply = visit("tracking_click", token(sale))
        assert (reply.status, reply.headers["Location"]) == (302, SALE)
    assert visit("tracking_click", token(blog)).headers["Location"] == BLOG
    clicks = [(e["type"], e["url"]) for e in events(email)]
    assert clicks == [("CLICK", SALE), ("CLICK", BLOG)]
    assert outbox.events == [
        ("tracking_clicked", {"qm_idsending": email.id, "qm_email": ANN, "qm_url": SALE}),
        ("tracking_clicked", {"qm_idsending": email.id, "qm_email": ANN, "qm_url": BLOG}),
    ]


def test_forged_and_altered_tokens_are_refused(aws: Any, key: Tokens, outbox: Recording) -> None:
    email = stored_email(new_app())
    (pixel,) = urls(copy_for(email, ANN, key), "tracking/open")
    sale, _ = urls(copy_for(email, ANN, key), "tracking/click")
    good = token(sale)
    # a token of another key naming a URL that was not in the message: the open redirect an attacker wants
    elsewhere = Tokens(b"an attacker's own key, 32 bytes long").make(
        CLICK, email.id, ANN, "https://evil.example/"
    )
    for bad in (elsewhere, good[:-3] + "AAA", good.split(".")[0], "nonsense", token(pixel)):
        reply = visit("tracking_click", bad)
        assert reply.status == 404, bad
        assert "Location" not in reply.headers
        assert reply.headers["Content-Type"].startswith("text/html")
    assert_pixel(visit("tracking_open", token(pixel)[:-3] + "AAA"))  # a bad token still gets the pixel
    assert_pixel(visit("tracking_open", ""))
    assert events(email) == []
    assert outbox.told == []


def test_an_event_of_a_removed_email_is_not_recorded_but_the_link_still_works(aws: Any, key: Tokens) -> None:
    email = stored_email(new_app())
    sale, _ = urls(copy_for(email, ANN, key), "tracking/click")
    aws.dynamodb.delete_item(TableName="test-EmailsTable", Key={"_id": {"S": email.id}})
    assert visit("tracking_click", token(sale)).headers["Location"] == SALE
    assert aws.dynamodb.scan(TableName=TRACKING_TABLE)["Items"] == []


def test_find_by_email_is_the_accounts_own(aws: Any) -> None:
    email = stored_email(new_app())
    body = error(
        call("tracking_find_by_email", {"idemail": email.id}, account=ACCOUNT_B), 406, "EMAIL_NOT_FOUND"
    )
    assert body["message"] == "Email not found"
    error(call("tracking_find_by_email", {"idemail": "0" * 24}), 406, "EMAIL_NOT_FOUND")


def test_unsubscribe_by_one_click_post(aws: Any, key: Tokens, outbox: Recording) -> None:
    idapp = new_app()
    email = stored_email(idapp)
    (link,) = urls(copy_for(email, ANN, key), "blacklist/unsubscribe")
    reply = visit("blacklist_unsubscribe", token(link), "POST", "List-Unsubscribe=One-Click")
    assert reply.status == 200
    assert "Unsubscribed" in reply.text
    listed = ok(call("blacklist_is_black_listed", {"idapp": idapp, "email": ANN}))
    assert listed is True
    (entry,) = ok(call("blacklist_find_by_app", {"idapp": idapp}))["content"]
    assert {k: entry[k] for k in ("email", "addedby", "idsending")} == {
        "email": ANN,
        "addedby": "RECIPIENT",
        "idsending": email.id,
    }
    assert outbox.events == [("blacklisted_added", {"qm_email": ANN, "qm_idsending": email.id})]
    # the next send to that address is skipped (emails/send's blacklist seam)
    assert wiring.blacklist_service().listed(idapp, [ANN, BOB]) == {ANN}
    # and the account cannot undo the recipient's choice
    error(call("blacklist_remove", {"idapp": idapp, "email": ANN}), 406, "LISTED_BY_RECIPIENT")


def test_unsubscribe_by_the_confirmation_page(aws: Any, key: Tokens) -> None:
    idapp = new_app()
    email = stored_email(idapp)
    (link,) = urls(copy_for(email, BOB, key), "blacklist/unsubscribe")
    page = visit("blacklist_unsubscribe", token(link))
    assert page.status == 200
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    assert '<form method="post">' in page.text
    assert '<input type="hidden" name="List-Unsubscribe" value="One-Click">' in page.text
    assert not re.search(r"<(script|link|img|iframe|style)\b", page.text)
    assert (
        ok(call("blacklist_is_black_listed", {"idapp": idapp, "email": BOB})) is False
    )  # GET changes nothing
    # the page's button posts its form to the page's own URL
    assert visit("blacklist_unsubscribe", token(link), "POST", "List-Unsubscribe=One-Click").status == 200
    assert ok(call("blacklist_is_black_listed", {"idapp": idapp, "email": BOB})) is True
    assert wiring.blacklist_service().listed(idapp, [ANN, BOB]) == {BOB}


def test_an_unsubscribe_token_cannot_be_reused_for_another_address(aws: Any, key: Tokens) -> None:
    idapp = new_app()
    email = stored_email(idapp)
    (link,) = urls(copy_for(email, ANN, key), "blacklist/unsubscribe")
    payload, _, signature = token(link).partition(".")
    other = base64.urlsafe_b64encode(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).replace(ANN.encode(), BOB.encode())
    ).rstrip(b"=")
    for bad in (f"{other.decode()}.{signature}", "nonsense"):
        assert visit("blacklist_unsubscribe", bad, "POST", "List-Unsubscribe=One-Click").status == 404
        assert visit("blacklist_unsubscribe", bad).status == 404
    assert wiring.blacklist_service().listed(idapp, [ANN, BOB]) == set()


def test_unsubscribing_from_a_removed_app_is_done_and_lists_nothing(aws: Any, key: Tokens) -> None:
    idapp = new_app()
    email = stored_email(idapp)
    (link,) = urls(copy_for(email, ANN, key), "blacklist/unsubscribe")
    ok(call("apps_remove", {"idapp": idapp}))
    assert visit("blacklist_unsubscribe", token(link), "POST", "List-Unsubscribe=One-Click").status == 200
    assert aws.dynamodb.scan(TableName="test-BlacklistTable")["Items"] == []


def test_a_failure_still_answers_the_pixel(aws: Any, key: Tokens, json_logs: Any) -> None:
    email = stored_email(new_app())
    (pixel,) = urls(copy_for(email, ANN, key), "tracking/open")
    wiring.override("tracking_repository", None)  # anything that breaks
    assert_pixel(visit("tracking_open", token(pixel)))
    assert [line for line in json_logs() if line["message"] == "unexpected error"]
    assert not any(token(pixel) in str(line) for line in json_logs())  # no token (it names the recipient)


def test_opens_clicks_unsubscribes_and_additions_reach_the_webhook_queue_and_the_bus(bus: Bus) -> None:
    """Through the real outbox (moto's WebhookQueue and default bus), as each function is deployed."""
    idapp = new_app()
    hooks = {f"webhook_{event}": f"https://hooks.example.org/{event}" for event in
             ("tracking_opened", "tracking_clicked", "blacklisted_added")}  # fmt: skip
    ok(call("apps_save", {"idapp": idapp, "name": "Shop", **hooks}))
    email = stored_email(idapp)
    tokens = wiring.tracking_tokens()
    (pixel,) = urls(copy_for(email, ANN, tokens), "tracking/open")
    sale, _ = urls(copy_for(email, ANN, tokens), "tracking/click")
    (leave,) = urls(copy_for(email, BOB, tokens), "blacklist/unsubscribe")
    assert_pixel(visit("tracking_open", token(pixel)))
    assert visit("tracking_click", token(sale)).status == 302
    assert visit("blacklist_unsubscribe", token(leave), "POST", "List-Unsubscribe=One-Click").status == 200
    ok(call("blacklist_add", {"idapp": idapp, "email": "carol@example.org"}))

    expected = ["tracking_opened", "tracking_clicked", "blacklisted_added", "blacklisted_added"]
    queued = bus.take(bus.webhooks)
    assert sorted(str(delivery["event"]) for delivery in queued) == sorted(expected)
    put = bus.take(bus.sink)
    assert sorted(str(event["detail"]["event"]) for event in put) == sorted(expected)  # type: ignore[index]
