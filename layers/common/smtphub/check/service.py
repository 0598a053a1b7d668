"""POST /private/smtps/check: read, converse, record.

1. Take one of the account's checks for this minute (smtphub.accounts.limits: beyond it, RateLimited,
   whatever else the request would have found) while GetItem reads the server (owner, settings, version,
   the secret version that belongs to it): two calls, one round trip.
2. GetItem its app (testemail, From fallback) and, only when auth is on, GetSecretValue of exactly the
   secret versions the server's record names (one, unless its write-only values were sent in separate
   edits: smtphub.smtps.secrets): all run concurrently, one round trip.
3. The SMTP conversation (smtphub.check.converse), under the check's one deadline.
4. One conditional UpdateItem recording the outcome (SmtpRepository.record_check), one log line and one
   metric (smtphub.check.report). A failed check is CheckFailed; a result made stale by an edit during
   the check is not recorded (Conflict).
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Collection, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from smtphub.apps.models import App
from smtphub.apps.repository import AppRepository
from smtphub.check import Deadline, Limits, OAuth, Plan, converse, report
from smtphub.errors import CheckFailed, Conflict, InvalidInput, SmtpNotFound
from smtphub.ids import now_iso
from smtphub.smtps.models import Smtp, SmtpRef, secrets_used
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
        oauth_endpoints: Mapping[str, str] | None = None,
    ) -> None:
        self.apps = apps
        self.smtps = smtps
        self.secrets = secrets
        self.limiter = limiter
        self.limits = limits
        self.allow_private = allow_private
        self.tls_context = tls_context
        self.oauth_endpoints = dict(oauth_endpoints or {})  # the providers' token URLs replaced (local runs)

    def check(self, ref: SmtpRef) -> None:
        """Send the test message; CheckFailed with stage, code and message when the server fails."""
        deadline = Deadline(self.limits.total)
        smtp = self._limited_read(ref)
        app, secrets = self._app_and_secrets(smtp)
        plan = plan_for(smtp, app, secrets)
        at = now_iso()
        outcome = converse(
            plan,
            limits=self.limits,
            deadline=deadline,
            allow_private=self.allow_private,
            tls_context=self.tls_context,
            at=at,
            oauth_endpoints=self.oauth_endpoints,
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

    def _app_and_secrets(self, smtp: Smtp) -> tuple[App, dict[str, str]]:
        """The app, and the write-only values this check sends (or gets its token with), concurrently."""
        needed = secrets_used(smtp, set(smtp.secret_versions)) & set(smtp.secret_versions)
        if not needed:
            return self.apps.get_live(smtp.account_id, smtp.app_id), {}
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="smtp-check-secret") as pool:
            secrets = pool.submit(read_secrets, self.secrets, smtp, needed)
            app = self.apps.get_live(smtp.account_id, smtp.app_id)
            return app, secrets.result()


def read_secrets(
    secrets: SecretRepository, smtp: Smtp, only: Collection[str] | None = None
) -> dict[str, str]:
    """Each write-only value of `smtp` (or those in `only`), from exactly the secret version its record
    names for it (the versions read concurrently). A value whose version is gone is missing: the check
    says so."""
    names_by_version: dict[str, list[str]] = {}
    for name, version in smtp.secret_versions.items():
        if only is None or name in only:
            names_by_version.setdefault(version, []).append(name)
    if not names_by_version:
        return {}
    if len(names_by_version) == 1:
        ((version, names),) = names_by_version.items()
        held = secrets.read(smtp.id, version) or {}
        return {name: held[name] for name in names if name in held}
    values: dict[str, str] = {}
    with ThreadPoolExecutor(
        max_workers=len(names_by_version), thread_name_prefix="smtp-check-secret"
    ) as pool:
        reads = {version: pool.submit(secrets.read, smtp.id, version) for version in names_by_version}
        for version, names in names_by_version.items():
            held = reads[version].result() or {}
            values.update({name: held[name] for name in names if name in held})
    return values


def plan_for(smtp: Smtp, app: App, secrets: Mapping[str, str] | str | None) -> Plan:
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
    values = {"password": secrets} if isinstance(secrets, str) else dict(secrets or {})
    oauth = None
    if smtp.oauthprovider:
        oauth = OAuth(
            provider=smtp.oauthprovider,
            tenant=smtp.oauthtenant,
            client_id=smtp.oauthclientid,
            token_url=smtp.oauthtokenurl,
            client_secret=values.get("oauthclientsecret"),
            refresh_token=values.get("oauthrefreshtoken"),
            service_account=values.get("oauthserviceaccount"),
        )
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
        password=values.get("password"),
        debug=smtp.debug,
        insecure_auth=smtp.insecureauth,
        authmech=smtp.authmech,
        oauth=oauth,
        tls_verify=smtp.tlsverify,
        cacert=smtp.cacert,
        tls_min=smtp.tlsmin,
        helo=smtp.helo,
    )
