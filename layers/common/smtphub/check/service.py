"""POST /private/smtps/check: read, converse, record.

1. Take one of the account's checks for this minute (smtphub.accounts.limits: beyond it, RateLimited,
   whatever else the request would have found) while GetItem reads the server (owner, settings, version,
   the secret version that belongs to it): two calls, one round trip.
2. GetItem its app (testemail, From fallback) and, only when auth is on, GetSecretValue of exactly the
   server's pinned secret version: the two run concurrently, one round trip.
3. The SMTP conversation (smtphub.check.converse), under the check's one deadline.
4. One conditional UpdateItem recording the outcome (SmtpRepository.record_check), one log line and one
   metric (smtphub.check.report). A failed check is CheckFailed; a result made stale by an edit during
   the check is not recorded (Conflict).
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from smtphub.apps.models import App
from smtphub.apps.repository import AppRepository
from smtphub.check import Deadline, Limits, Plan, converse, report
from smtphub.errors import CheckFailed, Conflict, InvalidInput, SmtpNotFound
from smtphub.ids import now_iso
from smtphub.smtps.models import Smtp, SmtpRef
from smtphub.smtps.repository import SmtpRepository
from smtphub.smtps.secrets import SecretRepository

if TYPE_CHECKING:
    from smtphub.accounts.limits import CheckLimiter

STALE_MESSAGE = (
    "The SMTP server was edited or checked with other settings while this check ran, so its result "
    "was not recorded: check it again"
)


class CheckService:
    def __init__(
        self,
        apps: AppRepository,
        smtps: SmtpRepository,
        secrets: SecretRepository,
        limiter: CheckLimiter,
        *,
        limits: Limits,
        allow_private: bool,
        tls_context: Callable[[], ssl.SSLContext] = ssl.create_default_context,
    ) -> None:
        self.apps = apps
        self.smtps = smtps
        self.secrets = secrets
        self.limiter = limiter
        self.limits = limits
        self.allow_private = allow_private
        self.tls_context = tls_context

    def check(self, ref: SmtpRef) -> None:
        """Send the test message; CheckFailed with stage, code and message when the server fails."""
        deadline = Deadline(self.limits.total)
        smtp = self._limited_read(ref)
        app, password = self._app_and_password(smtp)
        plan = plan_for(smtp, app, password)
        at = now_iso()
        outcome = converse(
            plan,
            limits=self.limits,
            deadline=deadline,
            allow_private=self.allow_private,
            tls_context=self.tls_context,
            at=at,
        )
        recorded = "error"
        try:
            self.smtps.record_check(smtp, ok=outcome.ok, lastcheck=outcome.lastcheck(at))
            recorded = "yes"
        except Conflict:
            recorded = "stale"
            raise Conflict(STALE_MESSAGE) from None
        except SmtpNotFound:
            recorded = "gone"
            raise
        finally:
            report(plan, outcome, recorded=recorded, total_ms=deadline.elapsed_ms())
        if not outcome.ok:
            raise CheckFailed(outcome.message, stage=outcome.stage, code=outcome.code)

    def _limited_read(self, ref: SmtpRef) -> Smtp:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="smtp-check-limit") as pool:
            taken = pool.submit(self.limiter.take, ref.account_id)
            try:
                return self.smtps.get_owned(ref.account_id, ref.smtp_id)
            finally:
                taken.result()  # RateLimited wins: a flood of checks learns nothing else

    def _app_and_password(self, smtp: Smtp) -> tuple[App, str | None]:
        if not (smtp.auth and smtp.secret_version):
            return self.apps.get_live(smtp.account_id, smtp.app_id), None
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="smtp-check-secret") as pool:
            secret = pool.submit(self.secrets.get, smtp.id, smtp.secret_version)
            app = self.apps.get_live(smtp.account_id, smtp.app_id)
            return app, secret.result()


def plan_for(smtp: Smtp, app: App, password: str | None) -> Plan:
    """The check of `smtp`; InvalidInput naming what is missing when there is no one to send to or from."""
    sender = smtp.defaultfromemail or app.defaultfromemail
    # The name that goes with the address, else the other one's.
    if smtp.defaultfromemail:
        name = smtp.defaultfromname or app.defaultfromname
    else:
        name = app.defaultfromname or smtp.defaultfromname
    missing: dict[str, str] = {}
    if not app.testemail:
        missing["testemail"] = "the app has no testemail to send the test message to: set it with apps/save"
    if not sender:
        missing["defaultfromemail"] = (
            "neither the SMTP server nor its app has a defaultfromemail to send from"
        )
    if missing or not app.testemail or not sender:
        raise InvalidInput(missing, "The check needs the app's testemail and a From address")
    return Plan(
        smtp_id=smtp.id,
        app_id=app.id,
        app_name=app.name,
        host=smtp.host,
        port=smtp.port,
        sender=sender,
        sender_name=name,
        recipient=app.testemail,
        ssltls=smtp.ssltls,
        starttls=smtp.starttls,
        auth=smtp.auth,
        username=smtp.username,
        password=password,
        debug=smtp.debug,
        insecure_auth=smtp.insecureauth,
    )
