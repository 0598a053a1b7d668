"""The composition root: every repository and service, built once per container on first use.

Handlers ask here for the service they call; nothing else builds a client, a repository or a service.
Imports are local to each builder, so a function loads only the features it uses (make bench, "Cold
start"). Tests call `reset()` between cases (settings, clients, everything built), and may replace a
builder's product with `override(name, instance)`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar

from smtphub import aws
from smtphub.settings import Settings, SettingsError, forget_settings, get_settings

if TYPE_CHECKING:
    from smtphub.accounts.limits import CheckLimiter, ProbeBudget
    from smtphub.accounts.quotas import Quotas
    from smtphub.accounts.service import AccountService
    from smtphub.apps.models import App
    from smtphub.apps.repository import AppRepository
    from smtphub.apps.service import AppService
    from smtphub.blacklists.repository import BlacklistRepository
    from smtphub.blacklists.service import BlacklistService
    from smtphub.check.service import CheckService
    from smtphub.emails.content import ContentStore
    from smtphub.emails.dns import Resolver
    from smtphub.emails.logs import LogRepository
    from smtphub.emails.models import Email, Opened
    from smtphub.emails.queue import SendQueue
    from smtphub.emails.repository import EmailRepository
    from smtphub.emails.send import SendService
    from smtphub.emails.service import EmailService
    from smtphub.health.alerts import Alerts
    from smtphub.health.history import HistoryRepository, HistoryService
    from smtphub.health.recorder import Recorder
    from smtphub.health.schedule import Schedule
    from smtphub.health.sweep import Sweep
    from smtphub.health.worker import HealthWorker
    from smtphub.sending.sender import Sender
    from smtphub.sending.sweep import SendSweep
    from smtphub.smtps.repository import SmtpRepository
    from smtphub.smtps.secrets import SecretRepository
    from smtphub.smtps.service import SmtpService
    from smtphub.tracking.repository import TrackingRepository
    from smtphub.tracking.service import TrackingService
    from smtphub.tracking.tokens import Tokens
    from smtphub.webhooks.notified import Notified
    from smtphub.webhooks.outbox import Outbox
    from smtphub.webhooks.secret import WebhookSecretRepository
    from smtphub.webhooks.sender import WebhookSender

T = TypeVar("T")
_BUILT: list[Callable[..., Any]] = []
_OVERRIDES: dict[str, Any] = {}


def _component(build: Callable[[], T]) -> Callable[[], T]:
    """A builder whose product is made once per container (or taken from `override`)."""
    cached = cache(build)
    _BUILT.append(cached)

    def get() -> T:
        if build.__name__ in _OVERRIDES:
            return _OVERRIDES[build.__name__]  # type: ignore[no-any-return]
        return cached()

    get.__name__ = build.__name__
    get.__doc__ = build.__doc__
    return get


def settings() -> Settings:
    return get_settings()


def _required(value: str, variable: str) -> str:
    if not value:
        raise SettingsError(f"{variable} is required")
    return value


def _accounts_table() -> str:
    return _required(settings().accounts_table, "ACCOUNTS_TABLE")


@_component
def quotas() -> Quotas:
    from smtphub.accounts.quotas import QuotaLimits, Quotas  # noqa: PLC0415

    config = settings()
    limits = QuotaLimits(config.apps_per_account, config.smtps_per_app, config.smtps_per_account)
    return Quotas(_accounts_table(), limits)


@_component
def app_repository() -> AppRepository:
    from smtphub.apps.repository import AppRepository  # noqa: PLC0415

    return AppRepository(aws.client("dynamodb"), settings().apps_table, quotas())


@_component
def smtp_repository() -> SmtpRepository:
    from smtphub.smtps.repository import SmtpRepository  # noqa: PLC0415

    # An SMTP write that must not outlive its app carries the apps table's condition in its transaction,
    # and every create, move and delete the accounts table's quota counters.
    table, live = settings().smtps_table, app_repository().live_condition
    return SmtpRepository(aws.client("dynamodb"), table, live, quotas())


@_component
def secret_repository() -> SecretRepository:
    from smtphub.smtps.secrets import SecretRepository  # noqa: PLC0415

    config = settings()
    # The client is built on the first call that needs it: read-only functions never build one.
    return SecretRepository(
        lambda: aws.client("secretsmanager"), config.secret_prefix, config.secret_recovery_days
    )


@_component
def smtp_service() -> SmtpService:
    from smtphub.smtps.service import SmtpService  # noqa: PLC0415

    return SmtpService(app_repository(), smtp_repository(), secret_repository(), schedule())


@_component
def clock() -> Callable[[], float]:
    """The wall clock the health schedule reads (tests replace it with `override("clock", ...)`)."""
    import time  # noqa: PLC0415

    return time.time


@_component
def schedule() -> Schedule:
    from smtphub.health.schedule import Schedule  # noqa: PLC0415

    config = settings()
    return Schedule(
        config.health_interval_hours, config.health_backoff_seconds, config.disable_after, clock=clock()
    )


def _history_table() -> str:
    return _required(settings().history_table, "HISTORY_TABLE")


@_component
def history_repository() -> HistoryRepository:
    from smtphub.health.history import HistoryRepository  # noqa: PLC0415

    return HistoryRepository(lambda: aws.client("dynamodb"), _history_table())


@_component
def history_service() -> HistoryService:
    from smtphub.health.history import HistoryService  # noqa: PLC0415

    return HistoryService(smtp_repository(), history_repository())


@_component
def alerts() -> Alerts:
    from smtphub.health.alerts import Alerts  # noqa: PLC0415

    return Alerts(lambda: aws.client("events"))


@_component
def recorder() -> Recorder:
    from smtphub.health.recorder import Recorder  # noqa: PLC0415

    return Recorder(smtp_repository(), history_repository(), alerts(), schedule())


@_component
def health_sweep() -> Sweep:
    from smtphub.health.sweep import HealthQueue, Sweep  # noqa: PLC0415

    if not settings().health_queue_url:
        raise SettingsError("HEALTH_QUEUE_URL is required")
    queue = HealthQueue(lambda: aws.client("sqs"), settings().health_queue_url)
    return Sweep(smtp_repository(), queue, schedule())


@_component
def probe_budget() -> ProbeBudget:
    from smtphub.accounts.limits import ProbeBudget  # noqa: PLC0415

    return ProbeBudget(aws.client("dynamodb"), _accounts_table(), settings().probe_budget, clock=clock())


@_component
def health_worker() -> HealthWorker:
    from smtphub.health.worker import HealthWorker  # noqa: PLC0415

    # The probe is the check's: health does not import it (the check records its results through health).
    return HealthWorker(smtp_repository(), check_service(), schedule(), probe_budget())


@_component
def app_service() -> AppService:
    from smtphub.apps.service import AppService  # noqa: PLC0415

    return AppService(
        app_repository(),
        smtp_repository(),
        webhook_secrets(),
        allow_private=settings().allow_private_addresses,
    )


@_component
def webhook_secrets() -> WebhookSecretRepository:
    from smtphub.webhooks.secret import WebhookSecretRepository  # noqa: PLC0415

    config = settings()
    prefix = _required(config.webhook_secret_prefix, "WEBHOOK_SECRET_PREFIX")
    # The client is built on the first call that needs it: apps/findAll never builds one.
    return WebhookSecretRepository(lambda: aws.client("secretsmanager"), prefix, config.secret_recovery_days)


@_component
def outbox() -> Outbox:
    """What tracking, blacklists and the e-mails' outcomes fire their events through:
    `outbox().notify(app, event, params, key=...)` (smtphub.webhooks.outbox)."""
    from smtphub.webhooks.outbox import Outbox  # noqa: PLC0415
    from smtphub.webhooks.queue import DeliveryQueue  # noqa: PLC0415

    queue = DeliveryQueue(
        lambda: aws.client("sqs"), _required(settings().webhook_queue_url, "WEBHOOK_QUEUE_URL")
    )
    return Outbox(queue, lambda: aws.client("events"), clock=clock())


class _OutboxOnFirstNotice:
    """The outbox, built on the first notice: a function that never fires one (blacklist/findByApp,
    isBlackListed, remove; tracking/findByEMail; emails/remove) needs no WEBHOOK_QUEUE_URL."""

    def notify(self, app: App, event: str, params: Mapping[str, str], *, key: str | None = None) -> None:
        outbox().notify(app, event, params, key=key)


@_component
def notified() -> Notified:
    from smtphub.webhooks.notified import Notified  # noqa: PLC0415

    table = _required(settings().send_state_table, "SEND_STATE_TABLE")
    return Notified(aws.client("dynamodb"), table, clock=clock())


@_component
def webhook_sender() -> WebhookSender:
    from smtphub.webhooks.queue import DeliveryQueue  # noqa: PLC0415
    from smtphub.webhooks.sender import Poster, WebhookSender  # noqa: PLC0415

    config = settings()
    queue = _required(config.webhook_queue_url, "WEBHOOK_QUEUE_URL")
    dead = _required(config.webhook_dead_letter_queue_url, "WEBHOOK_DEAD_LETTER_QUEUE_URL")
    return WebhookSender(
        app_repository(),
        webhook_secrets(),
        DeliveryQueue(lambda: aws.client("sqs"), queue),
        DeliveryQueue(lambda: aws.client("sqs"), dead),
        Poster(allow_private=config.allow_private_addresses),
        waits=config.webhook_backoff_seconds,
        clock=clock(),
    )


@_component
def check_limiter() -> CheckLimiter:
    from smtphub.accounts.limits import CheckLimiter  # noqa: PLC0415

    return CheckLimiter(aws.client("dynamodb"), _accounts_table(), settings().checks_per_minute)


@_component
def check_service() -> CheckService:
    from smtphub.check.service import CheckService  # noqa: PLC0415
    from smtphub.smtp.limits import Limits  # noqa: PLC0415

    config = settings()
    return CheckService(
        app_repository(),
        smtp_repository(),
        secret_repository(),
        check_limiter(),
        recorder(),
        limits=Limits.within(config.check_deadline_seconds),
        allow_private=config.allow_private_addresses,
        oauth_endpoints=dict(config.oauth_endpoint_overrides),
    )


@_component
def account_service() -> AccountService:
    import os  # noqa: PLC0415

    from smtphub.accounts.repository import AccountsRepository, CognitoRepository  # noqa: PLC0415
    from smtphub.accounts.service import AccountService  # noqa: PLC0415

    missing = [name for name in ("USER_POOL_ID", "USER_POOL_CLIENT_ID") if not os.environ.get(name)]
    if missing:
        raise SettingsError(f"missing environment variables: {', '.join(missing)}")
    # Each client is built on the first call that needs it: login never builds DynamoDB's, logout never
    # Cognito's.
    cognito = CognitoRepository(
        lambda: aws.client("cognito-idp"), os.environ["USER_POOL_ID"], os.environ["USER_POOL_CLIENT_ID"]
    )
    return AccountService(
        cognito, AccountsRepository(lambda: aws.client("dynamodb"), settings().accounts_table)
    )


@_component
def blacklist_repository() -> BlacklistRepository:
    from smtphub.blacklists.repository import BlacklistRepository  # noqa: PLC0415

    table = _required(settings().blacklist_table, "BLACKLIST_TABLE")
    return BlacklistRepository(aws.client("dynamodb"), table)


@_component
def blacklist_service() -> BlacklistService:
    from smtphub.blacklists.service import BlacklistService  # noqa: PLC0415

    return BlacklistService(app_repository(), blacklist_repository(), _OutboxOnFirstNotice())


def email_repository() -> EmailRepository:
    from smtphub.emails.repository import EmailRepository  # noqa: PLC0415

    return EmailRepository(aws.client("dynamodb"), _required(settings().emails_table, "EMAILS_TABLE"))


@_component
def log_repository() -> LogRepository:
    from smtphub.emails.logs import LogRepository  # noqa: PLC0415

    table = _required(settings().email_logs_table, "EMAIL_LOGS_TABLE")
    return LogRepository(lambda: aws.client("dynamodb"), table)


@_component
def content_store() -> ContentStore:
    from smtphub.emails.content import ContentStore  # noqa: PLC0415

    return ContentStore(lambda: aws.client("s3"), _required(settings().emails_bucket, "EMAILS_BUCKET"))


@_component
def send_queue() -> SendQueue:
    from smtphub.emails.queue import SendQueue  # noqa: PLC0415

    return SendQueue(lambda: aws.client("sqs"), _required(settings().send_queue_url, "SEND_QUEUE_URL"))


@_component
def sender() -> Sender:
    from smtphub.sending.attachments import UrlFetcher  # noqa: PLC0415
    from smtphub.sending.copies import TrackedCopies  # noqa: PLC0415
    from smtphub.sending.delivery import Connection  # noqa: PLC0415
    from smtphub.sending.job import Job  # noqa: PLC0415
    from smtphub.sending.sender import SecretCache, Sender  # noqa: PLC0415
    from smtphub.sending.servers import ServerState  # noqa: PLC0415
    from smtphub.sending.state import Pacer, Windows  # noqa: PLC0415
    from smtphub.smtp.limits import Limits  # noqa: PLC0415

    config = settings()
    copies = TrackedCopies(config.public_base_url, tracking_tokens)  # the key read on the first copy
    state_table = _required(config.send_state_table, "SEND_STATE_TABLE")
    dynamodb, now = aws.client("dynamodb"), clock()
    connection = Connection(
        limits=Limits.within(config.check_deadline_seconds),
        seconds=config.check_deadline_seconds,
        allow_private=config.allow_private_addresses,
        oauth_endpoints=dict(config.oauth_endpoint_overrides),
    )
    servers = ServerState(smtp_repository(), alerts(), config.disable_after, clock=now)
    pacer, windows = Pacer(dynamodb, state_table, now), Windows(dynamodb, state_table, now)

    def job(sources: Any) -> Job:
        def rejected(email: Email, recipient: str, code: int) -> bool:
            """Auto-blacklisting: the app as the batch read it (add_automatic checks the code again)."""
            app, _ = sources.app(email)
            if app is None or not app.useautoblacklist:  # builds nothing for an app that does not use it
                return False
            return blacklist_service().add_automatic(app, recipient, email.id, code)

        return Job(
            sources, pacer, windows, servers, connection, config.send_max_age_hours,
            rejected=rejected, personalize=copies, clock=now,
        )  # fmt: skip

    return Sender(
        email_repository(),
        log_repository(),
        content_store(),
        send_queue(),
        app_repository(),
        smtp_repository(),
        SecretCache(secret_repository()),
        UrlFetcher(allow_private=config.allow_private_addresses),
        job,
        clock=now,
    )


@_component
def resolver() -> Resolver:
    """DNS for emails/send's checks (dnspython), or none where the deployment turns them off."""
    from smtphub.emails.dns import DnsResolver, NoDns  # noqa: PLC0415

    config = settings()
    return DnsResolver(config.dns_nameservers) if config.dns_checks else NoDns()


@_component
def send_service() -> SendService:
    from smtphub.accounts.monthly import MonthlyCounter  # noqa: PLC0415
    from smtphub.blacklists.service import BlacklistService  # noqa: PLC0415
    from smtphub.emails.idempotency import Idempotency  # noqa: PLC0415
    from smtphub.emails.send import SendService, max_days_ahead  # noqa: PLC0415
    from smtphub.sending.mime import message_id  # noqa: PLC0415
    from smtphub.sending.state import Pacer  # noqa: PLC0415

    config = settings()
    pacer = (
        Pacer(aws.client("dynamodb"), config.send_state_table, clock()) if config.send_state_table else None
    )
    return SendService(
        app_repository(),
        smtp_repository(),
        email_repository(),
        content_store(),
        queue=send_queue(),
        monthly=MonthlyCounter(_accounts_table(), config.monthly_email_limit),
        resolver=resolver(),
        message_id=message_id,
        pace=pacer,
        # The app's blacklist, read only (BatchGetItem): a send lists nobody, so it tells no outbox.
        blacklist=BlacklistService(app_repository(), blacklist_repository()),
        idempotency=Idempotency(lambda: aws.client("dynamodb"), config.idempotency_table),
        max_days=max_days_ahead(config.content_max_age_days),
        clock=clock(),
    )


@_component
def send_sweep() -> SendSweep:
    from smtphub.sending.sweep import SendSweep  # noqa: PLC0415

    return SendSweep(email_repository(), send_queue(), clock=clock())


class _EmailTracking:
    """emails/info's `opened` and emails/remove's forgetting, on TrackingTable reached on first use
    (emails/cancel and logs/findByEMail never need TRACKING_TABLE)."""

    def opens(self, email_id: str) -> list[Opened]:
        """The e-mail's opens, oldest first (its clicks are tracking/findByEMail's)."""
        from smtphub.tracking.models import OPENED  # noqa: PLC0415

        return [event for event in tracking_repository().of_email(email_id) if event.type == OPENED]

    def forget(self, email_id: str) -> int:
        return tracking_repository().delete_of_email(email_id)


@_component
def email_service() -> EmailService:
    from smtphub.emails.service import EmailService  # noqa: PLC0415

    return EmailService(
        app_repository(), email_repository(), log_repository(), content_store(),
        tracking=_EmailTracking(), clock=clock(),
    )  # fmt: skip


@_component
def tracking_repository() -> TrackingRepository:
    from smtphub.tracking.repository import TrackingRepository  # noqa: PLC0415

    return TrackingRepository(aws.client("dynamodb"), _required(settings().tracking_table, "TRACKING_TABLE"))


@_component
def tracking_tokens() -> Tokens:
    """The tracking links' signer, its key read once per container (TrackingKeySecret)."""
    from smtphub.tracking.key import read_key  # noqa: PLC0415
    from smtphub.tracking.tokens import Tokens  # noqa: PLC0415

    secret = _required(settings().tracking_key_secret, "TRACKING_KEY_SECRET")
    return Tokens(read_key(aws.client("secretsmanager"), secret), clock=clock())


@_component
def tracking_service() -> TrackingService:
    from smtphub.tracking.service import TrackingService  # noqa: PLC0415

    return TrackingService(
        tracking_tokens,
        email_repository(),
        app_repository(),
        tracking_repository(),
        blacklist_service(),
        _OutboxOnFirstNotice(),
    )


def override(name: str, instance: Any) -> None:
    """Tests: make builder `name` return `instance` until the next `reset()`."""
    _OVERRIDES[name] = instance


def reset() -> None:
    """Forget everything built, the settings and the clients (tests call this between cases)."""
    for built in _BUILT:
        built.cache_clear()  # type: ignore[attr-defined]
    _OVERRIDES.clear()
    forget_settings()
    aws.reset()
