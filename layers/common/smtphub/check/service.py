"""POST /private/smtps/check, save's verify=true and the scheduled probes: one core, two modes.

A manual check (`check`):
1. Take one of the account's checks for this minute (smtphub.accounts.limits: beyond it, RateLimited,
   whatever else the request would have found) while GetItem reads the server (owner, settings, version,
   the secret version that belongs to it): two calls, one round trip.
2. GetItem its app (testemail, From fallback) and, only when auth is on, GetSecretValue of exactly the
   secret versions the server's record names (one, unless its write-only values were sent in separate
   edits: smtphub.smtps.secrets): all run concurrently, one round trip.
3. The SMTP conversation (smtphub.check.converse) in the request's `mode`, under the check's one deadline.
4. The result stored (smtphub.health.recorder: one conditional UpdateItem, the history entry, the alerts),
   one log line and one metric (smtphub.check.report). A failed check is CheckFailed; a result made stale
   by an edit during the check is not recorded (Conflict).

`try_settings` (settings instead of, or over, a stored server) and `verify` (save's verify=true) take the
same limit and converse the same way, and store nothing. `scheduled` is the health worker's probe of a
server it holds (smtphub.health.worker): no limit, mode probe, recorded under its lease.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Collection, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from smtphub.apps.models import App
from smtphub.apps.repository import AppRepository
from smtphub.check import Deadline, Limits, converse, report
from smtphub.check.inputs import plan_for, read_secrets
from smtphub.check.plan import PROBE, CheckOutcome, Plan
from smtphub.errors import CheckFailed, Conflict, InvalidInput, NotFound, SmtpNotFound
from smtphub.health.recorder import MANUAL, SCHEDULED
from smtphub.ids import now_iso
from smtphub.smtps.models import CheckSmtp, Smtp, apply_edit, secrets_used
from smtphub.smtps.repository import SmtpRepository
from smtphub.smtps.secrets import SecretRepository

if TYPE_CHECKING:
    from smtphub.accounts.limits import CheckLimiter
    from smtphub.health.recorder import Recorder

__all__ = ["CheckService", "plan_for", "read_secrets"]

STALE_MESSAGE = (
    "The SMTP server was edited or checked with other settings while this check ran, so its result "
    "was not recorded: check it again"
)
VERIFY_NEEDS = "must be given with verify=true: save cannot read the stored one (check first, then save)"
TRIED = "000000000000000000000000"  # the id of a server tried before it exists


class CheckService:
    def __init__(
        self,
        apps: AppRepository,
        smtps: SmtpRepository,
        secrets: SecretRepository,
        limiter: CheckLimiter,
        recorder: Recorder,
        *,
        limits: Limits,
        allow_private: bool,
        tls_context: Callable[[], ssl.SSLContext] = ssl.create_default_context,
        oauth_endpoints: Mapping[str, str] | None = None,
    ) -> None:
        self.apps = apps
        self.smtps = smtps
        self.secrets = secrets
        self.limiter = limiter
        self.recorder = recorder
        self.limits = limits
        self.allow_private = allow_private
        self.tls_context = tls_context
        self.oauth_endpoints = dict(oauth_endpoints or {})  # the providers' token URLs replaced (local runs)

    def check(self, command: CheckSmtp) -> None:
        """Check a stored server (or, given settings, `try_settings`); CheckFailed with stage, code and
        message when the server fails."""
        if command.fields is not None:
            return self.try_settings(command)
        deadline = Deadline(self.limits.total)
        smtp = self._limited_read(command.account_id, str(command.smtp_id))
        app, secrets = self._app_and_secrets(smtp)
        at = now_iso()
        plan = plan_for(smtp, app, secrets, command.mode)
        outcome = self._converse(plan, deadline, at)
        recorded = "error"
        try:
            self.recorder.record(smtp, outcome.result(at), trigger=MANUAL)
            recorded = "yes"
        except Conflict:
            recorded = "stale"
            raise Conflict(STALE_MESSAGE) from None
        except SmtpNotFound:
            recorded = "gone"
            raise
        finally:
            report(plan, outcome, recorded=recorded, total_ms=deadline.elapsed_ms())
        _raise_if_failed(outcome)
        return None

    def try_settings(self, command: CheckSmtp) -> None:
        """Check settings without storing anything: a new server's, or a stored one's with changes (its
        stored secrets reused only where the binding rule lets them go)."""
        deadline = Deadline(self.limits.total)
        fields = dict(command.fields or {})
        if command.smtp_id is None:
            self.limiter.take(command.account_id)
            smtp = Smtp(id=TRIED, account_id=command.account_id, created="", modified="", **fields)  # type: ignore[arg-type]
            app, secrets = self.apps.get_live(command.account_id, smtp.app_id), dict(command.secrets)
        else:
            current = self._limited_read(command.account_id, command.smtp_id)
            smtp, _ = apply_edit(current, fields, set(command.secrets))  # type: ignore[arg-type]
            app, stored = self._app_and_secrets(smtp, skip=set(command.secrets))
            secrets = {**stored, **command.secrets}
        self._run_unrecorded(smtp, app, secrets, command.mode, deadline)

    def verify(self, smtp: Smtp, sent: Mapping[str, str]) -> None:
        """save's verify=true: a probe of `smtp` as it would be stored, with the write-only values `sent`
        (save may not read stored ones: a value the probe needs and was not sent is a 400)."""
        deadline = Deadline(self.limits.total)
        needed = secrets_used(smtp, set(smtp.secret_versions) | set(sent)) - set(sent)
        if needed:
            raise InvalidInput(dict.fromkeys(sorted(needed), VERIFY_NEEDS))
        self.limiter.take(smtp.account_id)
        app = self.apps.get_live(smtp.account_id, smtp.app_id)
        self._run_unrecorded(smtp, app, dict(sent), PROBE, deadline)

    def scheduled(self, smtp: Smtp, lease: int) -> str:
        """The health worker's probe of `smtp`, held until `lease`: what became of it (`recorded`,
        `stale`, `gone`, `unprobeable`: no one to send to or from)."""
        deadline = Deadline(self.limits.total)
        try:
            app, secrets = self._app_and_secrets(smtp)
            plan = plan_for(smtp, app, secrets, PROBE)
        except NotFound:
            return "gone"  # the app is being removed, and its servers with it
        except InvalidInput:
            return "unprobeable"
        at = now_iso()
        outcome = self._converse(plan, deadline, at)
        recorded = "error"
        try:
            self.recorder.record(smtp, outcome.result(at), trigger=SCHEDULED, lease=lease)
            recorded = "yes"
        except (Conflict, SmtpNotFound):
            recorded = "stale"
        finally:
            report(plan, outcome, recorded=recorded, total_ms=deadline.elapsed_ms())
        return "recorded" if recorded == "yes" else recorded

    def _run_unrecorded(
        self, smtp: Smtp, app: App, secrets: Mapping[str, str], mode: str, deadline: Deadline
    ) -> None:
        plan = plan_for(smtp, app, secrets, mode)
        outcome = self._converse(plan, deadline, now_iso())
        report(plan, outcome, recorded="no", total_ms=deadline.elapsed_ms())
        _raise_if_failed(outcome)

    def _converse(self, plan: Plan, deadline: Deadline, at: str) -> CheckOutcome:
        return converse(
            plan,
            limits=self.limits,
            deadline=deadline,
            allow_private=self.allow_private,
            tls_context=self.tls_context,
            at=at,
            oauth_endpoints=self.oauth_endpoints,
        )

    def _limited_read(self, account_id: str, smtp_id: str) -> Smtp:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="smtp-check-limit") as pool:
            taken = pool.submit(self.limiter.take, account_id)
            try:
                return self.smtps.get_owned(account_id, smtp_id)
            finally:
                taken.result()  # RateLimited wins: a flood of checks learns nothing else

    def _app_and_secrets(self, smtp: Smtp, skip: Collection[str] = ()) -> tuple[App, dict[str, str]]:
        """The app, and the stored write-only values this check sends (or gets its token with) but those
        in `skip`, concurrently."""
        needed = secrets_used(smtp, set(smtp.secret_versions)) & set(smtp.secret_versions) - set(skip)
        if not needed:
            return self.apps.get_live(smtp.account_id, smtp.app_id), {}
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="smtp-check-secret") as pool:
            secrets = pool.submit(read_secrets, self.secrets, smtp, needed)
            app = self.apps.get_live(smtp.account_id, smtp.app_id)
            return app, secrets.result()


def _raise_if_failed(outcome: CheckOutcome) -> None:
    if not outcome.ok:
        raise CheckFailed(outcome.message, stage=outcome.stage, code=outcome.code)
