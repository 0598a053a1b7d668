"""Apps: create, edit, find, list, and remove with every SMTP server on them.

Removing an app deletes its servers' records; their secrets follow through the SMTP table's stream
(`smtphub.smtps.cleanup`), so no secret outlives its record.
"""

from __future__ import annotations

from dataclasses import replace

from smtphub.apps.models import App, AppPage, AppRef, ListApps, SaveApp
from smtphub.apps.repository import AppRepository
from smtphub.ids import new_id, now_iso
from smtphub.observability import logger
from smtphub.smtps.repository import SmtpRepository

REMOVE_BATCH = 25  # servers per step of apps/remove: one BatchWriteItem


class AppService:
    def __init__(self, apps: AppRepository, smtps: SmtpRepository) -> None:
        self.apps = apps
        self.smtps = smtps

    def find(self, ref: AppRef) -> App:
        return self.apps.get_owned(ref.account_id, ref.app_id)

    def list(self, query: ListApps) -> AppPage:
        apps = sorted(self.apps.list_owned(query.account_id), key=lambda app: (app.created, app.id))
        start = query.page * query.size
        return AppPage(tuple(apps[start : start + query.size]), len(apps), query.page, query.size)

    def save(self, command: SaveApp) -> App:
        if command.app_id is None:
            now = now_iso()
            app = App(id=new_id(), account_id=command.account_id, created=now, modified=now, **command.fields)
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
        """Flag the app `deleting`, delete its servers' records in batches, then the app and its name lock.

        After a failure the app stays flagged (no server can be added) and the servers not yet deleted are
        still listed: a retry finishes.
        """
        app = self.apps.mark_deleting(ref.account_id, ref.app_id)
        servers = [
            smtp.id for smtp in self.smtps.list_by_app(ref.app_id) if smtp.account_id == ref.account_id
        ]
        for start in range(0, len(servers), REMOVE_BATCH):
            self.smtps.delete_many(servers[start : start + REMOVE_BATCH])
        self.apps.delete(app)
        logger.info("app removed", extra={"idapp": ref.app_id, "smtps": len(servers)})
