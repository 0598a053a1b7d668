"""SMTP servers: create, edit, find, list, remove.

Write ordering across DynamoDB and Secrets Manager, so that a failure half way never leaves a record
pointing at a missing secret, nor a secret that nothing will clean up, nor a record holding another edit's
password. A secret is named after its server's id and only ever created while that record exists; every
removal of a record reaches `smtphub.smtps.cleanup` through the table's stream, which deletes the secret of
that name. A record names the exact secret version that holds each of its write-only values (the password,
XOAUTH2's secrets: `secretVersion` for the newest write, `secretfields` for the rest; smtphub.smtps.secrets).

- create: the record first, without a secret version (one transaction with "the app is live" and its
          quota slots; it lists the values the secret will hold, which count only once a version is
          named), then the secret, then the record's `secretVersion`. The secret failing: the record is
          deleted again, its slots given back in the same transaction. The last step failing: the record
          stays without a password (its secret goes when the record does).
- edit:   a new secret version (holding the values sent, only) under a label of its own first, then the
          record naming it for those values and the older versions for the others (conditional on the
          record's version); the record write refused: the version loses its label. Won: that is all the
          request does (3 calls); the table's stream then has smtphub.smtps.cleanup tidy the labels
          (SecretRepository.adopt: AWSCURRENT moves to it, the older versions still named keep a label,
          the labels of the rest go). Nothing depends on that: the version is labelled from birth.
- remove: the record (read, then deleted with its quota slots in one transaction); the stream does the
          secret.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Protocol

from smtphub.apps.repository import AppRepository
from smtphub.errors import SmtpNotFound
from smtphub.ids import new_id, now_iso
from smtphub.observability import logger
from smtphub.smtps.models import CreateSmtp, EditSmtp, Smtp, SmtpRef, apply_edit
from smtphub.smtps.repository import SmtpRepository
from smtphub.smtps.secrets import SecretRepository

# save's verify=true: probe the server as it would be stored, with the write-only values sent; raises when
# it must not be stored (smtphub.check.service.CheckService.verify).
Verifier = Callable[[Smtp, Mapping[str, str]], None]


class FirstProbe(Protocol):
    """When a new server is probed first: the health schedule's (smtphub.health.schedule.Schedule, handed in
    by the composition root; the schedule's feature records checks on servers, so it is not imported)."""

    def now(self) -> int: ...

    def first(self, smtp_id: str, now: int) -> int | None: ...


class SmtpService:
    def __init__(
        self,
        apps: AppRepository,
        smtps: SmtpRepository,
        secrets: SecretRepository,
        schedule: FirstProbe | None = None,
    ) -> None:
        self.apps = apps
        self.smtps = smtps
        self.secrets = secrets
        self.schedule = schedule  # a new server's first scheduled probe (smtphub.health.schedule)

    def find(self, ref: SmtpRef) -> Smtp:
        return self.smtps.get_owned(ref.account_id, ref.smtp_id)

    def list_by_app(self, account_id: str, app_id: str) -> list[Smtp]:
        """The app's servers; AppNotFound when the account has no live app of that id. The app is read first:
        listed servers do not prove it. The byApp index is eventually consistent, so a server created just
        before its app's removal may be missed by the removal's query and outlive the app; such a server is
        never listed as an app's."""
        self.apps.get_live(account_id, app_id)
        return self.smtps.list_by_app(account_id, app_id)

    def create(self, command: CreateSmtp, verify: Verifier | None = None) -> Smtp:
        now = now_iso()
        smtp = Smtp(id=new_id(), account_id=command.account_id, created=now, modified=now, **command.fields)
        first = self.schedule.first(smtp.id, self.schedule.now()) if self.schedule is not None else None
        smtp = replace(smtp, secretfields=_named({}, command.secrets, ""), nextcheck=first)
        if verify is not None:
            verify(smtp, command.secrets)  # CheckFailed (or InvalidInput, RateLimited): nothing is written
        self.smtps.create(smtp)  # AppNotFound from the transaction's app condition
        if not command.secrets:
            logger.info("smtp created", extra={"idsmtp": smtp.id, "idapp": smtp.app_id})
            return smtp
        try:
            version = self.secrets.create(smtp, command.secrets)
        except Exception:  # whatever failed is re-raised (the edge logs its trace): undo the record first
            # No secret, so no server: delete the record (while nobody has edited it). If that fails too,
            # the record stays without a password; had the secret been created after all, the record's
            # removal cleans it up.
            try:
                self.smtps.delete_new(smtp)
            except Exception:  # the undo must not hide the secret's failure: logged with its trace
                logger.exception("could not undo a create after its secret failed", extra={"idsmtp": smtp.id})
            raise
        try:
            self.smtps.attach_secret(smtp.id, version)
        except SmtpNotFound:
            self._drop_secret_if_record_gone(smtp.id)  # removed meanwhile: its cleanup may have run first
            raise
        logger.info("smtp created", extra={"idsmtp": smtp.id, "idapp": smtp.app_id})
        return replace(smtp, secret_version=version)

    def edit(self, command: EditSmtp, verify: Verifier | None = None) -> Smtp:
        current = self.smtps.get_owned(command.account_id, command.smtp_id)  # ownership before any rule
        sent = dict(command.secrets)
        edited, changes = apply_edit(current, command.changes, sent)
        if not changes and not sent:
            return current
        edited = replace(edited, modified=now_iso(), version=current.version + 1)
        app_moved = "app_id" in changes
        if app_moved:
            self.apps.get_live(command.account_id, edited.app_id)
        if verify is not None:
            verify(edited, sent)  # CheckFailed (or InvalidInput, RateLimited): nothing is written
        changed = sorted(changes)
        if sent:
            version = self.secrets.write(current, sent, current.version)
            named = _named(current.secret_versions, sent, version)
            edited = replace(edited, secret_version=version, secretfields=named)
            changed += ["secret_version", "secretfields"]
        try:
            moved_from = current.app_id if app_moved else None
            self.smtps.update(edited, changed, current.version, moved_from=moved_from)
        except Exception:  # whatever failed is re-raised (the edge logs its trace): unlabel the version first
            if sent and edited.secret_version is not None:
                self.secrets.abandon(current.id, edited.secret_version, current.version)
                if not current.has_secret:
                    self._drop_secret_if_record_gone(current.id)
            raise
        # Won: the labels are tidied off the request path, from the table's stream (smtphub.smtps.cleanup).
        logger.info("smtp edited", extra={"idsmtp": edited.id, "changed": changed})
        return edited

    def _drop_secret_if_record_gone(self, smtp_id: str) -> None:
        """A secret written for a record that was removed meanwhile: its cleanup may have run before the
        secret existed, so delete it here (best effort: idempotent, and a failure is only logged)."""
        try:
            if self.smtps.get(smtp_id) is None:
                self.secrets.delete(smtp_id)
        except Exception:  # best effort beside the error being raised: logged with its trace, never hides it
            logger.exception("could not tidy up a secret after a failed write", extra={"idsmtp": smtp_id})

    def remove(self, ref: SmtpRef) -> None:
        """The record, its quota slots given back in the same transaction (smtphub.smtps.slots); the
        secret goes through the table's stream (smtphub.smtps.cleanup)."""
        removed = self.smtps.delete(ref.account_id, ref.smtp_id)
        if removed is None:
            raise SmtpNotFound()
        logger.info("smtp removed", extra={"idsmtp": ref.smtp_id, "idapp": removed.app_id})


def _named(before: Mapping[str, str], sent: Mapping[str, str], version: str) -> dict[str, str] | None:
    """The record's `secretfields` once `version` holds the values `sent`: each value's version, "" for
    `version` itself (the record's `secretVersion`). None when that says no more than "the password, in
    `secretVersion`", as records written before XOAUTH2 say it, so that those need no migration."""
    named = {name: ("" if name in sent else held) for name, held in {**before, **sent}.items()}
    named = {name: ("" if held == version else held) for name, held in named.items()}
    return None if named in ({}, {"password": ""}) else dict(sorted(named.items()))  # nosec B105 - a name
