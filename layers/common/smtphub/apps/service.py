"""Apps: create, edit, find, list, and remove with every SMTP server on them.

A new app takes upstream's defaults: its test recipient and its sender are the account's e-mail unless
given (so that `smtps/check` has somewhere to send). Webhook URLs at a non-public IP literal are refused
unless the deployment allows private addresses (`smtphub.apps.webhooks`).

Removing an app deletes its servers' records; their secrets follow through the SMTP table's stream
(`smtphub.smtps.cleanup`), so no secret outlives its record.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from smtphub.apps.models import ACCOUNT_DEFAULTS, App, AppPage, AppRef, ListApps, SaveApp
from smtphub.apps.repository import AppRepository
from smtphub.apps.servers import AppServers
from smtphub.apps.webhooks import webhook_problems
from smtphub.errors import InvalidInput
from smtphub.ids import new_id, now_iso
from smtphub.observability import logger


class AppService:
    def __init__(self, apps: AppRepository, smtps: AppServers, *, allow_private: bool = False) -> None:
        self.apps = apps
        self.smtps = smtps
        self.allow_private = allow_private  # webhooks may point at non-public IP literals (local runs)

    def find(self, ref: AppRef) -> App:
        return self.apps.get_owned(ref.account_id, ref.app_id)

    def list(self, query: ListApps) -> AppPage:
        apps = sorted(self.apps.list_owned(query.account_id), key=lambda app: (app.created, app.id))
        start = query.page * query.size
        return AppPage(tuple(apps[start : start + query.size]), len(apps), query.page, query.size)

    def save(self, command: SaveApp) -> App:
        problems = webhook_problems(command.fields, allow_private=self.allow_private)
        if problems:
            raise InvalidInput(problems)
        if command.app_id is None:
            now = now_iso()
            fields: dict[str, Any] = dict(command.fields)
            if command.account_email:
                for name in ACCOUNT_DEFAULTS:
                    fields.setdefault(name, command.account_email)
            app = App(id=new_id(), account_id=command.account_id, created=now, modified=now, **fields)
            self.apps.create(app)
            logger.info("app created", extra={"idapp": app.id})
            return app
        current = self.apps.get_owned(command.account_id, command.app_id)
        changes = {name: value for name, value in command.fields.items() if value != getattr(current, name)}
        if not changes:
            return current
        edited = replace(current, **changes, modified=now_iso(), version=current.version + 1)  # type: ignore[arg-type]
        self.apps.replace(edited, current.version, current.name)
        logger.info("app edited", extra={"idapp": edited.id, "changed": sorted(changes)})
        return edited

    def remove(self, ref: AppRef) -> None:
        """Flag the app `deleting`, then delete its servers' records and, in the last transaction with them,
        the app and its name lock.

        Each transaction gives back the quota slots of what it deletes (smtphub.smtps.slots). Up to 96
        servers that is one transaction. After a failure the app stays flagged (no server can be
        added) and the servers not yet deleted are still listed: a retry finishes. A server the query did
        not see (the byApp index lags behind a create) goes from the apps table's stream
        (smtphub.apps.cleanup); one moved to another app meanwhile stays.
        """
        app = self.apps.mark_deleting(ref.account_id, ref.app_id)
        servers = self.smtps.ids_by_app(ref.account_id, ref.app_id)
        removal = self.apps.removal(app)
        self.smtps.delete_of_app(ref.account_id, ref.app_id, servers, removal, app_counted=app.counted)
        logger.info("app removed", extra={"idapp": ref.app_id, "smtps": len(servers)})
