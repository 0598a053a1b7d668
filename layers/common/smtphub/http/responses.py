"""Domain models to the contract's JSON. The only place that spells response field names."""

from __future__ import annotations

import math
from typing import Any

from smtphub.apps.models import App, AppPage
from smtphub.smtps.models import Smtp

# Smtp attributes with another name in the JSON; attributes not listed in _SMTP_PRIVATE are all shown.
_SMTP_RENAMED = {"id": "_id", "app_id": "idapp", "ssltls": "sslTls"}
_SMTP_PRIVATE = frozenset({"account_id", "version", "secret_version"})
_SMTP_FIELDS = tuple(name for name in Smtp.__dataclass_fields__ if name not in _SMTP_PRIVATE)


def smtp_json(smtp: Smtp) -> dict[str, Any]:
    """An SMTP server as the contract shows it: never a password, nor anything internal."""
    return {_SMTP_RENAMED.get(name, name): _plain(getattr(smtp, name)) for name in _SMTP_FIELDS}


def smtps_json(smtps: list[Smtp]) -> list[dict[str, Any]]:
    return [smtp_json(smtp) for smtp in smtps]


def app_json(app: App) -> dict[str, Any]:
    return {
        "_id": app.id,
        "iduser": app.account_id,
        "name": app.name,
        "strategy": app.strategy,
        "testemail": app.testemail,
        "defaultfromemail": app.defaultfromemail,
        "defaultfromname": app.defaultfromname,
        "created": app.created,
        "modified": app.modified,
        "status": app.status,
    }


def app_page_json(page: AppPage) -> dict[str, Any]:
    """A Spring Data page, as upstream's clients parse it."""
    pages = math.ceil(page.total / page.size)
    return {
        "content": [app_json(app) for app in page.content],
        "totalElements": page.total,
        "totalPages": pages,
        "number": page.number,
        "size": page.size,
        "first": page.number == 0,
        "last": page.number >= pages - 1,
    }


def _plain(value: Any) -> Any:
    """Mappings (lastcheck) as plain dicts, so that json.dumps takes them."""
    if isinstance(value, dict) or hasattr(value, "items"):
        return {key: _plain(item) for key, item in value.items()}
    return value


def login_json(result: Any) -> dict[str, Any]:
    """The contract's login answer (smtphub.accounts.service.LoginResult)."""
    return {
        "token": result.token,
        "role": result.role,
        "userId": result.user_id,
        "username": result.username,
        "clientId": result.client_id,
    }
