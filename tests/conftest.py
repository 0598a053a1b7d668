"""Fixtures every suite gets: fake AWS credentials and the template's variables, a clean composition root
per test, one botocore loader per run. The shared fixtures and helpers live in tests/support/."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

pytest.register_assert_rewrite("tests.support")

from smtphub import wiring  # noqa: E402
from tests.support.aws import (  # noqa: E402
    ACCOUNTS_TABLE,
    APPS_TABLE,
    BLACKLIST_TABLE,
    EMAILS_TABLE,
    HISTORY_TABLE,
    SECRET_PREFIX,
    SEND_STATE_TABLE,
    SMTPS_TABLE,
    TRACKING_TABLE,
    WEBHOOK_SECRET_PREFIX,
)

pytest_plugins = [
    "tests.support.aws",
    "tests.support.health",
    "tests.support.logs",
    "tests.support.sending",
    "tests.support.outbox",
    "tests.support.smtp_peers",
    "tests.support.xoauth2_checks",
]


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test can reach real AWS: fake credentials, a fixed region, the template's variables."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "APPS_TABLE": APPS_TABLE,
        "SMTPS_TABLE": SMTPS_TABLE,
        "SECRET_PREFIX": SECRET_PREFIX,
        "WEBHOOK_SECRET_PREFIX": WEBHOOK_SECRET_PREFIX,
        "ACCOUNTS_TABLE": ACCOUNTS_TABLE,
        "HISTORY_TABLE": HISTORY_TABLE,
        "SEND_STATE_TABLE": SEND_STATE_TABLE,
        "BLACKLIST_TABLE": BLACKLIST_TABLE,
        "TRACKING_TABLE": TRACKING_TABLE,
        "EMAILS_TABLE": EMAILS_TABLE,
        "POWERTOOLS_SERVICE_NAME": "smtp-hub",
        "POWERTOOLS_METRICS_NAMESPACE": "smtp-hub",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    wiring.reset()
    yield
    wiring.reset()


@pytest.fixture(autouse=True, scope="session")
def shared_botocore_loader() -> Iterator[None]:
    """One botocore data loader for the whole run: each test's fresh boto3 sessions (wiring.reset() drops
    them) would otherwise parse the same JSON service models again, most of a moto test's time."""
    import botocore.loaders
    import botocore.session

    loader = botocore.loaders.create_loader()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(botocore.session, "create_loader", lambda *_args, **_kwargs: loader)
        yield
