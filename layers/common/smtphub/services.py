"""Domain logic for apps and SMTP servers.

Write ordering across DynamoDB and Secrets Manager, so that a failure half way never leaves a record
pointing at a missing secret, nor a secret that nothing will clean up. The rule that makes it so: a
secret is named after its server's id, and is only ever created while that server's record exists;
every removal of a record goes through the table's stream to `smtphub.cleanup`, which deletes the
secret of that name (whether or not the record said it had one). So a secret is cleaned up when its
record goes, whatever happened in between, and `hasPassword` is true only once the secret exists.

- create:  the record first, with hasPassword false (one transaction with "the app exists and is not
           being removed"), then the secret, then hasPassword true. The secret failing: the record is
           deleted again. The last step failing: the record stays (its secret is cleaned when it goes).
- edit:    a new secret version (or the secret, for a server without one) first, then the record
           (conditional on its version); if the record write is refused, a new version is undone.
- remove:  the record only (apps/remove: the app is flagged `deleting`, then its servers are deleted
           in batches, then the app); the stream does the secrets.
"""

from __future__ import annotations

import math
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


def _validate_smtp(smtp: Smtp) -> None:
    """Rules across fields, checked on the server as it will be stored (after an edit is applied)."""
    errors = smtp_settings_problems(
        auth=smtp.auth,
        username=smtp.username,
        has_password=smtp.has_password,
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

    def find_by_id(self, owner: str, smtp_id: str) -> dict[str, Any]:
        return self.smtps.get_owned(owner, smtp_id).to_json()

    def find_by_app(self, owner: str, app_id: str) -> list[dict[str, Any]]:
        self.apps.get_live(owner, app_id)
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
        smtp = Smtp(id=new_id(), owner=owner, created=now, modified=now, has_password=False, **values)
        # The app's check is a step of the transaction: AppNotFound comes from its condition.
        self.smtps.create(smtp, self.apps.condition_exists(owner, smtp.app_id))
        if password is not None:
            try:
                self.secrets.create(smtp, password)
            except Exception:
                # No secret, so no server: delete the record (while nobody has edited it). If that fails
                # too, the record stays without a password; had the secret been created after all, the
                # record's removal cleans it up.
                try:
                    self.smtps.delete_new(smtp.id)
                except Exception:
                    logger.exception(
                        "could not undo a create after its secret failed", extra={"idsmtp": smtp.id}
                    )
                raise
            try:
                self.smtps.mark_has_password(smtp.id)
            except SmtpNotFound:
                # Removed meanwhile: its cleanup may have run before the secret existed.
                self._drop_secret_if_record_gone(smtp.id)
                raise
            # Any other failure: the record stays with hasPassword false; its secret, named after it,
            # goes when the record does.
            smtp.has_password = True
        logger.info("smtp created", extra={"idsmtp": smtp.id, "idapp": smtp.app_id})
        return smtp.to_json()

    def _edit(self, owner: str, params: dict[str, Any]) -> dict[str, Any]:
        current = self.smtps.get_owned(owner, params["idsmtp"])
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
        _validate_smtp(edited)
        app_exists = None
        if "app_id" in changes:
            self.apps.get_live(owner, edited.app_id)
            app_exists = self.apps.condition_exists(owner, edited.app_id)
        changed = [_SMTP_ITEM_NAMES.get(attribute, attribute) for attribute in changes]
        if edited.has_password != current.has_password:
            changed.append("hasPassword")

        new_version = None
        if password is not None and current.has_password:
            new_version = self.secrets.put(current.id, password)
        elif password is not None:
            # A secret left by an earlier failure is named after this server: a new version of it is fine.
            new_version = self.secrets.create_or_put(edited, password)
        try:
            self.smtps.update(edited, changed, current.version, app_exists)
        except Exception as error:
            if isinstance(error, ApiError) and new_version is not None:
                # Refused (a concurrent edit won): the record keeps the password it had.
                self.secrets.restore_previous(current.id, new_version)
            elif password is not None and not current.has_password:
                # A secret made for a record that still says it has none stays (it is named after the
                # record, and cleaned up when the record goes), unless the record is gone already.
                self._drop_secret_if_record_gone(current.id)
            raise
        logger.info("smtp edited", extra={"idsmtp": edited.id, "changed": sorted(changed)})
        return edited.to_json()

    def _drop_secret_if_record_gone(self, smtp_id: str) -> None:
        """A secret written for a record that was removed meanwhile: its cleanup may have run before the
        secret existed, so delete it here (best effort: idempotent, and a failure is only logged)."""
        try:
            if self.smtps.get(smtp_id) is None:
                self.secrets.delete(smtp_id)
        except Exception:
            logger.exception("could not tidy up a secret after a failed write", extra={"idsmtp": smtp_id})

    def remove(self, owner: str, smtp_id: str) -> None:
        """One conditional DeleteItem; the secret goes through the table's stream (smtphub.cleanup)."""
        removed = self.smtps.delete(owner, smtp_id)
        if removed is None:
            raise SmtpNotFound()
        logger.info("smtp removed", extra={"idsmtp": smtp_id, "idapp": removed.app_id})


class AppService:
    """Apps; removing one deletes its servers' records, and the table's stream deletes their secrets."""

    def __init__(self, apps: AppRepository, smtps: SmtpRepository) -> None:
        self.apps = apps
        self.smtps = smtps

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
        """Flag the app `deleting`, delete its servers' records in batches, then the app and its name lock.

        The secrets go through the servers' table stream (smtphub.cleanup). After a failure the app stays
        flagged (no server can be added) and the servers not yet deleted are still listed: a retry finishes.
        """
        app = self.apps.mark_deleting(owner, app_id)
        servers = [smtp for smtp in self.smtps.list_by_app(app_id) if smtp.owner == owner]
        for start in range(0, len(servers), REMOVE_BATCH):
            self.smtps.delete_many([smtp.id for smtp in servers[start : start + REMOVE_BATCH]])
        self.apps.delete(app)
        logger.info("app removed", extra={"idapp": app_id, "smtps": len(servers)})


# --- Default instances for Lambda: built on first use, once per container -----------------------


@cache
def secret_repository() -> SecretRepository:
    settings = get_settings()
    # Its client is built on its first call: read-only functions never build one.
    return SecretRepository(None, settings.secret_prefix, settings.secret_recovery_days)


@cache
def _repositories() -> tuple[AppRepository, SmtpRepository, SecretRepository]:
    settings = get_settings()
    dynamodb = aws.client("dynamodb")
    return (
        AppRepository(dynamodb, settings.apps_table),
        SmtpRepository(dynamodb, settings.smtps_table),
        secret_repository(),
    )


@cache
def smtp_service() -> SmtpService:
    return SmtpService(*_repositories())


@cache
def app_service() -> AppService:
    apps, smtps, _ = _repositories()
    return AppService(apps, smtps)


def reset() -> None:
    """Forget the cached clients, settings and services (tests call this between cases)."""
    for cached in (_repositories, secret_repository, smtp_service, app_service, get_settings):
        cached.cache_clear()
    aws.reset()
