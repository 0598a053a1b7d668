"""What the code cannot say about the operations (the API's own words: base.yaml): each one's 200 text,
the domain errors it raises (an example each), example requests, the words of its error answers, and the
samples of its 200's example. Its summary and description are its handler's module docstring."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from smtphub import errors as e
from smtphub.accounts.service import LoginResult
from smtphub.apps.models import App, AppPage
from smtphub.check.plan import CheckOutcome
from smtphub.emails.idempotency import IN_PROGRESS
from smtphub.emails.models import FINISHED, QUEUED, Email, EmailInfo, LogEntry, SendingResult
from smtphub.health.history import HistoryEntry
from smtphub.http.responses.accounts import LoginResultJson, login_json
from smtphub.http.responses.apps import AppJson, AppPageJson, app_json, app_page_json
from smtphub.http.responses.checks import CheckResultJson, history_json
from smtphub.http.responses.emails import (
    EmailInfoJson,
    LogJson,
    SendingResultJson,
    email_info_json,
    logs_json,
    sending_result_json,
)
from smtphub.http.responses.smtps import SmtpJson, smtp_json
from smtphub.smtps.models import PASSWORD_AGAIN, STATUS_DISABLED, Smtp
from smtphub.smtps.results import TlsFacts

# An operation's own error answers, by the status of its errors (`codes`: theirs; `who`: whose limit).
OPERATION_TEXT = {
    400: "A parameter is missing, malformed or out of range, or the request contradicts what is stored: "
    "`fields` names every bad one.",
    403: "Wrong username or password, or an account that cannot sign in this way yet.",
    406: "A specific, expected failure: {codes}.",
    429: "Throttled: by the API's rate or burst limit, or by {who} (with `Retry-After`): retry later.",
}
LARGER = "The body is larger than this operation takes (API Gateway's own answer beyond its 10 MB)."
LIMITED_BY = {True: "Cognito", False: "the account's checks a minute"}
APP_ID = APP = "6741f0a2c3d4e5f6a7b8c9d0"
SMTP_ID = "6741f0b7d1e2f3a4b5c6d7e8"
EMAIL_ID = "6741f1c2a3b4c5d6e7f8a9b0"
ACCOUNT_ID, REQUEST_ID = "5f0c2a1e-7d2b-4c61-9a8e-3b1f2d4c6e80", "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
CREATED, CHECKED = "2026-11-23T10:00:00.000Z", "2026-11-23T10:05:00.000Z"


@dataclass(frozen=True)
class Operation:
    """An operation's 200 text, the domain errors it raises (one example each, beyond a 400), valid
    parameters, and parameters its model refuses (its 400's example; None: the shared 400)."""

    ok: str
    errors: tuple[e.DomainError, ...] = ()
    example: dict[str, Any] = field(default_factory=dict)
    invalid: dict[str, str] | None = field(default_factory=dict)


LOGIN_PASSWORD = "correct-horse-battery-staple"  # noqa: S105  # nosec B105 - the examples' passwords
SMTP_PASSWORD = "smtp-password-1234"  # noqa: S105  # nosec B105
EMPTY = "The body is empty (as upstream)."
GONE = (e.AppNotFound(),)
CHECKS = e.RateLimited("At most 10 checks a minute per account: retry in 42 s", retry_after=42)
TEMPORARY = "This account still has its temporary password: an administrator must set a permanent one"
AUTH = "Authentication failed: 535 5.7.8 Authentication credentials invalid"
STALE = "The SMTP server was edited or checked with other settings while this check ran, so its result was "
NO_TESTEMAIL = "the app has no testemail to send the test message to: set it with apps/save"
NO_ADDRESSES = "The check needs the app's testemail and a From address"
# By path, in the order the description lists them; a route of template.yaml without one stops the generator.
OPERATIONS = {
    "/auth/login": Operation(
        "Logged in.",
        (e.LoginRefused(), e.LoginRefused(TEMPORARY, challenge="NEW_PASSWORD_REQUIRED"),
         e.RateLimited("Too many login attempts; retry later", retry_after=1)),
        {"username": "demo@example.com", "password": LOGIN_PASSWORD},
        {"username": "demo@example.com"},
    ),
    "/private/auth/logout": Operation("Logged out. The body is empty.", invalid=None),
    "/private/apps/save": Operation(
        "The app as saved.",
        (e.AppNotFound(), e.AppNameTaken(), e.Conflict(),
         e.QuotaExceeded("Quota exceeded: at most 50 apps per account")),
        {"name": "My shop", "testemail": "ops@example.net", "defaultfromemail": "noreply@example.net",
         "strategy": "PRIORITY"},
        {"testemail": "ops.example.net", "strategy": "ROUND_ROBIN"},
    ),
    "/private/apps/findAll": Operation(
        "One page of the account's apps.", (), {"page": 0, "size": 20}, {"size": "500"}
    ),
    "/private/apps/findById": Operation("The app.", GONE, {"idapp": APP_ID}, {"idapp": "42"}),
    "/private/apps/remove": Operation(f"Removed. {EMPTY}", (e.AppNotFound(), e.Conflict()), {"idapp": APP}),
    "/private/blacklist/add": Operation(
        "The entry (the one already there when the address was listed).", GONE,
        {"idapp": APP_ID, "email": "unsubscribed@example.org"}, {"idapp": APP_ID, "email": "nobody"},
    ),
    "/private/blacklist/findByApp": Operation(
        "One page of the app's entries, by address.", GONE, {"idapp": APP_ID, "page": 0, "size": 20},
        {"idapp": APP_ID, "size": "500"},
    ),
    "/private/blacklist/isBlackListed": Operation(
        "`true` or `false`.", GONE, {"idapp": APP_ID, "email": "unsubscribed@example.org"},
        {"idapp": APP_ID, "email": "nobody"},
    ),
    "/private/blacklist/remove": Operation(
        f"Removed. {EMPTY}", (e.AppNotFound(), e.EmailNotFound(), e.ListedByRecipient()),
        {"idapp": APP_ID, "email": "unsubscribed@example.org"},
    ),
    "/private/tracking/findByEMail": Operation(
        "The e-mail's opens and clicks, oldest first.", (e.EmailNotFound(),),
        {"idemail": "6741f0c9e8d7c6b5a4f3e2d1"}, {"idemail": "42"},
    ),
    "/private/smtps/save": Operation(
        "The SMTP server as saved (never its password).",
        (e.AppNotFound(), e.SmtpNotFound(), e.Conflict(), e.InvalidInput({"password": PASSWORD_AGAIN}),
         e.CheckFailed("The server rejected the username or password (535)", stage="AUTH", code=535),
         e.QuotaExceeded("Quota exceeded: at most 20 SMTP servers per app"), CHECKS),
        {"idapp": APP_ID, "priority": 10,
         "host": "smtp.example.net", "port": 587, "username": "user@example.net",
         "password": SMTP_PASSWORD, "auth": True, "starttls": True, "ssltls": False, "debug": False,
         "defaultfromemail": "info@example.net", "defaultfromname": "Info"},
        {"idapp": APP_ID, "host": "smtp.example.net", "port": "0", "starttls": "maybe"},
    ),
    "/private/smtps/findByApp": Operation("The app's SMTP servers, in order.", GONE, {"idapp": APP}),
    "/private/smtps/findById": Operation(
        "The SMTP server (never its password).", (e.SmtpNotFound(),), {"idsmtp": SMTP_ID},
        {"idsmtp": "6741f0b7d1e2f3a4b5c6d7e8ff"},
    ),
    "/private/smtps/remove": Operation(f"Removed. {EMPTY}", (e.SmtpNotFound(),), {"idsmtp": SMTP_ID}),
    "/private/smtps/check": Operation(
        f"The server accepted the test e-mail. {EMPTY}",
        (e.CheckFailed(AUTH, stage="AUTH", code=535), e.SmtpNotFound(), e.AppNotFound(),
         e.Conflict(STALE + "not recorded: check it again"), CHECKS,
         e.InvalidInput({"testemail": NO_TESTEMAIL}, NO_ADDRESSES)),
        {"idsmtp": SMTP_ID, "mode": "probe"},
        {"mode": "deliver"},
    ),
    "/private/smtps/history": Operation(
        "The results, newest first (an empty array before the first check).", (e.SmtpNotFound(),),
        {"idsmtp": SMTP_ID, "limit": 20}, {"idsmtp": SMTP_ID, "limit": "51"},
    ),
    "/private/emails/send": Operation(
        "Queued: the sending result, `status` `Q`.",
        (e.AppNotFound(), e.RemoteServerNotAllowed("203.0.113.7"),
         e.RemoteDomainNotAllowed("shop.example.org"), e.NoActiveSmtp(), e.SenderDomainNotFound(),
         e.TrackingWithCc(), e.UnregisterWithCc(), e.InvalidFrom(), e.InvalidTo(), e.InvalidReplyTo(),
         e.ReplyToWithoutMx(), e.NoValidRecipients(), e.AllBlacklisted(), e.MonthlyLimitExceeded(),
         e.IdempotencyKeyReused(), e.Conflict(IN_PROGRESS)),
        {"idapp": APP_ID, "tos": "ana@example.net,bo@example.org", "tonames": "Ana,Bo",
         "subject": "Your order 1001", "body": "<p>Thank you for your order.</p>", "mimetype": "text/html",
         "senddate": "2026-12-24T10:00:00+0100"},
        {"idapp": APP_ID, "tos": "ana@example.net", "subject": "Hi", "body": "Hello",
         "mimetype": "text/markdown", "senddate": "tomorrow"},
    ),
    "/private/emails/info": Operation(
        "The e-mail: its sending result, `finishtime`, `log` and `opened`.", (e.EmailNotFound(),),
        {"idemail": EMAIL_ID}, {"idemail": "1001"},
    ),
    "/private/emails/cancel": Operation(
        "Cancelled: the sending result, `status` `C`.",
        (e.EmailNotFound(), e.AppNotFound(), e.EmailNotCancellable()), {"idemail": EMAIL_ID},
    ),
    "/private/emails/remove": Operation(
        f"Removed, with its log and content. {EMPTY}", (e.EmailNotFound(), e.EmailNotRemovable()),
        {"idemail": EMAIL_ID},
    ),
    "/private/logs/findByEMail": Operation(
        "The e-mail's log rows, oldest first (an empty array before the first attempt).",
        (e.EmailNotFound(),), {"idemail": EMAIL_ID},
    ),
}  # fmt: skip


def sample_app() -> App:
    return App(id=APP_ID, account_id=ACCOUNT_ID, name="My shop", created=CREATED, modified=CREATED,
               strategy="PRIORITY", testemail="ops@example.net", defaultfromemail="noreply@example.net",
               defaultfromname="My shop", useblacklist=True, originserver="shop.example.net,192.0.2.10",
               webhook_sending_error="https://shop.example.net/hooks/mail-error")  # fmt: skip


def sample_smtp() -> Smtp:
    tls = TlsFacts("TLSv1.3", "TLS_AES_256_GCM_SHA384", "CN=smtp.example.net",
                   "C=US, O=Let's Encrypt, CN=R11", "2027-01-20T23:59:59Z", 58, "starttls")  # fmt: skip
    failed = CheckOutcome(False, "AUTH", 535, AUTH, ms=412, mode="probe", tls=tls,
                          timings={"DNS": 12, "CONNECT": 96, "EHLO": 41, "TLS": 118, "AUTH": 145},
                          codes={"CONNECT": 220, "EHLO": 250, "TLS": 220, "AUTH": 535},
                          capabilities=["PIPELINING", "SIZE 35882577", "AUTH PLAIN LOGIN",
                                        "ENHANCEDSTATUSCODES", "8BITMIME"])  # fmt: skip
    return Smtp(id=SMTP_ID, app_id=APP_ID, account_id=ACCOUNT_ID, host="smtp.example.net", port=587,
                created=CREATED, modified=CHECKED, username="user@example.net", auth=True, starttls=True,
                defaultfromemail="info@example.net", defaultfromname="Info", numerrors=1,
                status=STATUS_DISABLED, lastcheck=failed.result(CHECKED),
                secret_version="version-1")  # noqa: S106  # nosec B106 - a sample  # fmt: skip


def sample_email() -> Email:
    return Email(id=EMAIL_ID, account_id=ACCOUNT_ID, created=CREATED, modified=CHECKED, status=FINISHED,
                 app_id=APP_ID, sender="noreply@example.net", tos=["ana@example.net"],
                 tonames=["Ana"], attachments=["invoice-1001.pdf"], inittime=CREATED,
                 finishtime=CHECKED, logsdeleledby="2026-12-23T10:05:00.000Z",
                 notvalidrecipients=["not-an-address"])  # fmt: skip


def sample_log() -> list[LogEntry]:
    """A first server that could not be reached, then a second that took the message."""
    second, reply = "6741f0b7d1e2f3a4b5c6d7e9", "2.0.0 Ok: queued as 4XbT2k1Zq"
    return [LogEntry("6741f1c9a3b4c5d6e7f8a9b1", EMAIL_ID, "2026-11-23T10:05:00.000Z", "ana@example.net",
                     "SMTP_CONNECT_FAILS", SMTP_ID, APP_ID),
            LogEntry("6741f1c9a3b4c5d6e7f8a9b2", EMAIL_ID, "2026-11-23T10:05:01.000Z", "ana@example.net",
                     "OK", second, APP_ID, 250, reply)]  # fmt: skip


def sample_result() -> SendingResult:
    return SendingResult(EMAIL_ID, QUEUED, CREATED, "2026-12-23T10:00:00.000Z", ["invoice-1001.pdf"], [], [],
                         ["not-an-address"])  # fmt: skip


def examples() -> dict[Any, Any]:
    """The 200 examples, by the handlers' return type: the serializers' JSON of the samples."""
    smtp, token = sample_smtp(), "eyJraWQiOiJrMSIsImFsZyI6IlJTMjU2In0.eyJzdWIiOiI1ZjBjMmExZSJ9.c2lnbmF0dXJl"
    login = LoginResult(token, "user", ACCOUNT_ID, "demo@example.com", "4d2uf8p1example0client0id")
    entries = [HistoryEntry(smtp.lastcheck, "scheduled", STATUS_DISABLED)] if smtp.lastcheck else []
    return {
        LoginResultJson: login_json(login),
        AppJson: app_json(sample_app()),
        AppPageJson: app_page_json(AppPage((sample_app(),), 1, 0, 20)),
        SmtpJson: smtp_json(smtp),
        list[SmtpJson]: [smtp_json(smtp)],
        list[CheckResultJson]: history_json(entries),
        SendingResultJson: sending_result_json(sample_result()),
        EmailInfoJson: email_info_json(EmailInfo(sample_email(), sample_log())),
        list[LogJson]: logs_json(sample_log()),
    }


# The public routes (smtphub.http.public): by (method, path), each answer's status, words and media type.
HTML = "text/html"
PAGES: dict[tuple[str, str], dict[int, tuple[str, str]]] = {
    ("GET", "/public/tracking/open"): {
        200: (
            "A 1x1 transparent GIF, never cached, whatever the token (a bad one records nothing).",
            "image/gif",
        )
    },
    ("GET", "/public/tracking/click"): {
        302: ("To the link the token names (`Location`): the one that was in the message.", "text/plain"),
        404: ("A bad, altered or expired token: a plain page, no redirect.", HTML),
    },
    ("GET", "/public/blacklist/unsubscribe"): {
        200: ("The confirmation page: a button that POSTs `List-Unsubscribe=One-Click` here.", HTML),
        404: ("A bad, altered or expired token: a plain page.", HTML),
    },
    ("POST", "/public/blacklist/unsubscribe"): {
        200: ("Unsubscribed (RFC 8058's one-click POST, or the page's button): a plain page.", HTML),
        404: ("A bad, altered or expired token: a plain page; nothing listed.", HTML),
        500: ("Not done (retry): a plain page.", HTML),
    },
}
