"""Domain models to the contract's JSON. The only place that spells response field names."""

from __future__ import annotations

import math
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the models are imported with the first server's JSON: auth/login never loads them
    from smtphub.apps.models import App, AppPage
    from smtphub.health.history import HistoryEntry
    from smtphub.smtps.models import Smtp
    from smtphub.smtps.results import CheckResult

# Smtp attributes with another name in the JSON; attributes not listed in _SMTP_PRIVATE are all shown.
_SMTP_RENAMED = {"id": "_id", "app_id": "idapp", "ssltls": "sslTls"}
_SMTP_PRIVATE = frozenset({"account_id", "version", "secret_version", "secretfields", "nextcheck", "checks"})
# The members follow the model's fields, but for those every record has (smtphub.record.Record, declared
# first), which stand where the JSON has always had them: each after the member named here.
_SMTP_PLACED = {"created": "port", "modified": "created", "status": "numerrors"}


@cache
def _smtp_fields() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The JSON's members from the model, in order; the XOAUTH2 write-only values that get a `has<name>`."""
    from smtphub.smtps.models import WRITE_ONLY, Smtp  # noqa: PLC0415

    names = [name for name in Smtp.__dataclass_fields__ if name not in _SMTP_PRIVATE | _SMTP_PLACED.keys()]
    for name, after in _SMTP_PLACED.items():
        names.insert(names.index(after) + 1, name)
    return tuple(names), tuple(name for name in WRITE_ONLY if name != "password")


def smtp_json(smtp: Smtp) -> dict[str, Any]:
    """An SMTP server as the contract shows it: never a password or another write-only value, nor anything
    internal. `has<name>` says which of XOAUTH2's write-only values are set (hasoauthclientsecret,
    hasoauthrefreshtoken, hasoauthserviceaccount); the password has none, as before them: a server with
    `auth` has one (save requires it), and the JSON never holds the word."""
    members, flagged = _smtp_fields()
    body = {_SMTP_RENAMED.get(name, name): getattr(smtp, name) for name in members}
    if smtp.lastcheck is not None:
        body["lastcheck"] = lastcheck_json(smtp.lastcheck)
    stored = smtp.secret_versions
    return body | {f"has{name}": name in stored for name in flagged}


def lastcheck_json(result: CheckResult) -> dict[str, Any]:
    """A check's result as `lastcheck` shows it."""
    tls = result.tls
    return {
        "at": result.at,
        "ok": result.ok,
        "stage": result.stage,
        "code": result.code,
        "message": result.message,
        "ms": result.ms,
        "mode": result.mode,
        "stages": [{"stage": s.stage, "ms": s.ms, "code": s.code} for s in result.stages],
        "tls": None
        if tls is None
        else {
            "version": tls.version,
            "cipher": tls.cipher,
            "subject": tls.subject,
            "issuer": tls.issuer,
            "notAfter": tls.not_after,
            "daysLeft": tls.days_left,
        },
        "capabilities": list(result.capabilities),
    }


def history_json(entries: list[HistoryEntry]) -> list[dict[str, Any]]:
    """smtps/history: each result (lastcheck's members), `trigger` and the `status` it left."""
    return [
        {**lastcheck_json(entry.result), "trigger": entry.trigger, "status": entry.status}
        for entry in entries
    ]


def smtps_json(smtps: list[Smtp]) -> list[dict[str, Any]]:
    return [smtp_json(smtp) for smtp in smtps]


# App attributes as the JSON names them, in the order of upstream's AppDTO (then this service's `status`).
_APP_FIELDS = (
    ("_id", "id"),
    ("iduser", "account_id"),
    ("name", "name"),
    ("retaindata", "retaindata"),
    ("strategy", "strategy"),
    ("originserver", "originserver"),
    ("origindomain", "origindomain"),
    ("defaultfromemail", "defaultfromemail"),
    ("defaultfromname", "defaultfromname"),
    ("testemail", "testemail"),
    ("timebetweenemails", "timebetweenemails"),
    ("useblacklist", "useblacklist"),
    ("useautoblacklist", "useautoblacklist"),
    ("webhook_sending_finished", "webhook_sending_finished"),
    ("webhook_sending_error", "webhook_sending_error"),
    ("webhook_tracking_opened", "webhook_tracking_opened"),
    ("webhook_tracking_clicked", "webhook_tracking_clicked"),
    ("webhook_blacklisted_added", "webhook_blacklisted_added"),
    ("created", "created"),
    ("modified", "modified"),
    ("status", "status"),
)
# Spring Data's Sort of an unsorted page (apps are listed oldest first, which Spring calls unsorted).
_UNSORTED = {"sorted": False, "unsorted": True, "empty": True}


def app_json(app: App) -> dict[str, Any]:
    """An app as upstream's AppDTO reads it: every field present, booleans and numbers never null."""
    return {name: getattr(app, attribute) for name, attribute in _APP_FIELDS}


def app_page_json(page: AppPage) -> dict[str, Any]:
    """A Spring Data `Page` as PageImpl serializes it (member order included), which upstream's
    RestResponsePageDTO and a generic Spring client both parse."""
    pages = math.ceil(page.total / page.size)
    return {
        "content": [app_json(app) for app in page.content],
        "pageable": {
            "sort": dict(_UNSORTED),
            "offset": page.number * page.size,
            "pageNumber": page.number,
            "pageSize": page.size,
            "paged": True,
            "unpaged": False,
        },
        "last": page.number >= pages - 1,
        "totalPages": pages,
        "totalElements": page.total,
        "size": page.size,
        "number": page.number,
        "sort": dict(_UNSORTED),
        "first": page.number == 0,
        "numberOfElements": len(page.content),
        "empty": not page.content,
    }


def login_json(result: Any) -> dict[str, Any]:
    """The contract's login answer (smtphub.accounts.service.LoginResult)."""
    return {
        "token": result.token,
        "role": result.role,
        "userId": result.user_id,
        "username": result.username,
        "clientId": result.client_id,
    }
