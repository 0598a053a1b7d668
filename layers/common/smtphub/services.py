"""Domain logic for apps and SMTP servers.

Write ordering across DynamoDB and Secrets Manager, so that a failure half way never leaves a record
pointing at a missing secret, nor a secret that nothing will clean up:

- create:  secret first, then the record (in a transaction with "the app exists"); if the record
           cannot be written, the secret is deleted at once.
- edit:    new secret version first, then the record (conditional on its version); if the record
           cannot be written, the previous secret version is made current again.
- remove:  record first, then the secret (scheduled for deletion, recoverable for a few days and
           then purged by AWS itself).
- app:     flagged `deleting` first (no server can be added from then on), then its servers in
           batches (secrets, then records: a record is what lets a retry find its secret), then the
           app. A retry picks up where a failure stopped.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from functools import cache
from typing import Any

from smtphub import aws
from smtphub.errors import ApiError, AppNotFound, BadRequest, SmtpNotFound
from smtphub.ids import new_id, now_iso
from smtphub.models import App, Smtp
from smtphub.observability import logger
from smtphub.params import app_save_rules, smtp_save_rules, smtp_settings_problems
from smtphub.repositories import AppRepository, SecretRepository, SmtpRepository
from smtphub.settings import get_settings

SECRET_DELETE_CONCURRENCY = 8
REMOVE_BATCH = 25  # servers per step of apps/remove: one BatchWriteItem

# Request parameter -> Smtp attribute, for the fields `save` copies as they are.
_SMTP_PARAMS = {
    "idapp": "app_id",
    "priority": "priority",
    "host": "host",
    "port": "port",
    "username": "username",
    "auth": "auth",
    "starttls": "starttls",
    "ssltls": "ssltls",
    "debug": "debug",
    "defaultfromemail": "defaultfromemail",
    "defaultfromname": "defaultfromname",
}
_SMTP_ITEM_NAMES = {"app_id": "idapp", "ssltls": "sslTls"}
_APP_PARAMS = ("name", "testemail", "defaultfromemail", "defaultfromname", "strategy")


def _validate_smtp(smtp: Smtp, has_password: bool) -> None:
    """Rules across fields, checked on the server as it will be stored (after an edit is applied)."""
    errors = smtp_settings_problems(
        auth=smtp.auth,
        username=smtp.username,
        has_password=has_password,
        starttls=smtp.starttls,
        ssltls=smtp.ssltls,
    )
    if errors:
        raise BadRequest(errors)


class SmtpService:
    def __init__(self, apps: AppRepository, smtps: SmtpRepository, secrets: SecretRepository) -> None:
        self.apps = apps
        self.smtps = smtps
        self.secrets = secrets

    def _owned(self, owner: str, smtp_id: str) -> Smtp:
        smtp = self.smtps.get(smtp_id)
        if smtp is None or smtp.owner != owner:
            raise SmtpNotFound()
        return smtp

    def _owned_app(self, owner: str, app_id: str) -> App:
        app = self.apps.get(owner, app_id)
        if app is None or app.deleting:
            raise AppNotFound()
        return app

    def find_by_id(self, owner: str, smtp_id: str) -> dict[str, Any]:
        return self._owned(owner, smtp_id).to_json()

    def find_by_app(self, owner: str, app_id: str) -> list[dict[str, Any]]:
        self._owned_app(owner, app_id)
        # The index is ordered by rank (priority, created, id); the owner test is belt and braces.
        return [smtp.to_json() for smtp in self.smtps.list_by_app(app_id) if smtp.owner == owner]

    def save(self, owner: str, params: dict[str, Any]) -> dict[str, Any]:
        if "idsmtp" in params:
            return self._edit(owner, params)
        return self._create(owner, params)

    def _create(self, owner: str, params: dict[str, Any]) -> dict[str, Any]:
        problems = smtp_save_rules(params, ())  # the handler reported these already; callers may not
        if problems:
            raise BadRequest(problems)
        now = now_iso()
        values = {attribute: params[name] for name, attribute in _SMTP_PARAMS.items() if name in params}
        password = params.get("password")
        smtp = Smtp(
            id=new_id(), owner=owner, created=now, modified=now, has_password=password is not None, **values
        )
        self._owned_app(owner, smtp.app_id)
        if password is None:
            self.smtps.create(smtp, self.apps.condition_exists(owner, smtp.app_id))
        else:
            self.secrets.create(smtp, password)
            try:
                self.smtps.create(smtp, self.apps.condition_exists(owner, smtp.app_id))
            except ApiError:  # refused (the app went away, say): the record was not written
                self.secrets.delete(smtp.id, recoverable=False)
                raise
            except Exception:  # unknown outcome: drop the secret only once the record is known absent
                self._drop_secret_if_unused(smtp.id)
                raise
        logger.info("smtp created", extra={"idsmtp": smtp.id, "idapp": smtp.app_id})
        return smtp.to_json()

    def _edit(self, owner: str, params: dict[str, Any]) -> dict[str, Any]:
        current = self._owned(owner, params["idsmtp"])
        changes = {
            attribute: params[name]
            for name, attribute in _SMTP_PARAMS.items()
            if name in params and params[name] != getattr(current, attribute)
        }
        password = params.get("password")
        if not changes and password is None:
            return current.to_json()
        edited = replace(current, **changes, modified=now_iso(), version=current.version + 1)
        edited.has_password = current.has_password or password is not None
        _validate_smtp(edited, edited.has_password)
        app_exists = None
        if "app_id" in changes:
            self._owned_app(owner, edited.app_id)
            app_exists = self.apps.condition_exists(owner, edited.app_id)
        changed = [_SMTP_ITEM_NAMES.get(attribute, attribute) for attribute in changes]
        if edited.has_password != current.has_password:
            changed.append("hasPassword")

        new_version = None
        if password is not None and current.has_password:
            new_version = self.secrets.put(current.id, password)
        elif password is not None:
            self.secrets.create(edited, password)
        try:
            self.smtps.update(edited, changed, current.version, app_exists)
        except ApiError:  # refused (a concurrent edit won): the record keeps the password it had
            if new_version is not None:
                self.secrets.restore_previous(current.id, new_version)
            elif password is not None:
                self.secrets.delete(current.id, recoverable=False)
            raise
        except Exception:
            if new_version is None and password is not None:
                self._drop_secret_if_unused(current.id, has_password=True)
            raise
        logger.info("smtp edited", extra={"idsmtp": edited.id, "changed": sorted(changed)})
        return edited.to_json()

    def _drop_secret_if_unused(self, smtp_id: str, *, has_password: bool = False) -> None:
        """After a write of unknown outcome: delete the new secret unless a record now relies on it."""
        try:
            stored = self.smtps.get(smtp_id)
            if stored is None or (has_password and not stored.has_password):
                self.secrets.delete(smtp_id, recoverable=False)
        except Exception:
            logger.exception("could not tidy up a secret after a failed write", extra={"idsmtp": smtp_id})

    def remove(self, owner: str, smtp_id: str) -> None:
        removed = self.smtps.delete(owner, smtp_id)
        if removed is None:
            raise SmtpNotFound()
        if removed.has_password:
            self.secrets.delete(smtp_id)
        logger.info("smtp removed", extra={"idsmtp": smtp_id, "idapp": removed.app_id})


class AppService:
    def __init__(self, apps: AppRepository, smtps: SmtpRepository, secrets: SecretRepository) -> None:
        self.apps = apps
        self.smtps = smtps
        self.secrets = secrets

    def _owned(self, owner: str, app_id: str) -> App:
        app = self.apps.get(owner, app_id)
        if app is None:
            raise AppNotFound()
        return app

    def find_by_id(self, owner: str, app_id: str) -> dict[str, Any]:
        return self._owned(owner, app_id).to_json()

    def find_all(self, owner: str, page: int, size: int) -> dict[str, Any]:
        apps = sorted(self.apps.list_owned(owner), key=lambda app: (app.created, app.id))
        total = len(apps)
        pages = math.ceil(total / size)
        content = apps[page * size : (page + 1) * size]
        return {
            "content": [app.to_json() for app in content],
            "totalElements": total,
            "totalPages": pages,
            "number": page,
            "size": size,
            "first": page == 0,
            "last": page >= pages - 1,
        }

    def save(self, owner: str, params: dict[str, Any]) -> dict[str, Any]:
        values = {name: params[name] for name in _APP_PARAMS if name in params}
        if "idapp" not in params:
            problems = app_save_rules(params, ())
            if problems:
                raise BadRequest(problems)
            now = now_iso()
            app = App(id=new_id(), owner=owner, created=now, modified=now, **values)
            self.apps.create(app)
            logger.info("app created", extra={"idapp": app.id})
            return app.to_json()
        current = self._owned(owner, params["idapp"])
        changes = {name: value for name, value in values.items() if value != getattr(current, name)}
        if not changes:
            return current.to_json()
        edited = replace(current, **changes, modified=now_iso(), version=current.version + 1)
        self.apps.replace(edited, current.version, current.name)
        logger.info("app edited", extra={"idapp": edited.id, "changed": sorted(changes)})
        return edited.to_json()

    def remove(self, owner: str, app_id: str) -> None:
        app = self.apps.mark_deleting(owner, app_id)
        servers = [smtp for smtp in self.smtps.list_by_app(app_id) if smtp.owner == owner]
        # Secrets before their records, a batch at a time: after a failure, the servers not yet deleted
        # are still listed, so a retry finds every secret left (deleting one again is harmless).
        for start in range(0, len(servers), REMOVE_BATCH):
            batch = servers[start : start + REMOVE_BATCH]
            with_secret = [smtp.id for smtp in batch if smtp.has_password]
            if with_secret:
                with ThreadPoolExecutor(max_workers=SECRET_DELETE_CONCURRENCY) as pool:
                    list(pool.map(self.secrets.delete, with_secret))
            self.smtps.delete_many([smtp.id for smtp in batch])
        self.apps.delete(app)
        logger.info("app removed", extra={"idapp": app_id, "smtps": len(servers)})


# --- Default instances for Lambda: built on first use, once per container -----------------------


@cache
def _repositories() -> tuple[AppRepository, SmtpRepository, SecretRepository]:
    settings = get_settings()
    dynamodb = aws.client("dynamodb")
    return (
        AppRepository(dynamodb, settings.apps_table),
        SmtpRepository(dynamodb, settings.smtps_table),
        # Its client is built on its first call: read-only functions never build one.
        SecretRepository(None, settings.secret_prefix, settings.secret_recovery_days),
    )


@cache
def smtp_service() -> SmtpService:
    return SmtpService(*_repositories())


@cache
def app_service() -> AppService:
    return AppService(*_repositories())


def reset() -> None:
    """Forget the cached clients, settings and services (tests call this between cases)."""
    for cached in (_repositories, smtp_service, app_service, get_settings):
        cached.cache_clear()
    aws.reset()
