"""OAUTH_ENDPOINT_OVERRIDES: the providers' token URLs replaced, for the local runtime and the tests only
(the template never sets it: a deployment always talks to Microsoft's and Google's own endpoints)."""

from __future__ import annotations

from pathlib import Path

import pytest

from smtphub import wiring
from smtphub.settings import Settings, SettingsError

ENV = {"APPS_TABLE": "apps", "SMTPS_TABLE": "smtps", "SECRET_PREFIX": "stack/api/smtp/"}
LOCAL = "https://127.0.0.1:8443"


def test_absent_means_the_providers_own_endpoints() -> None:
    assert Settings.from_environ(ENV).oauth_endpoint_overrides == ()


def test_each_provider_s_url_can_be_replaced() -> None:
    raw = f"microsoft={LOCAL}/{{tenant}}/oauth2/v2.0/token, google={LOCAL}/google/token"
    settings = Settings.from_environ({**ENV, "OAUTH_ENDPOINT_OVERRIDES": raw})
    assert dict(settings.oauth_endpoint_overrides) == {
        "microsoft": f"{LOCAL}/{{tenant}}/oauth2/v2.0/token",
        "google": f"{LOCAL}/google/token",
    }


@pytest.mark.parametrize(
    "raw",
    [
        f"yahoo={LOCAL}/token",  # an unknown provider
        f"generic={LOCAL}/token",  # generic's URL is the server's own oauthtokenurl
        "google=http://127.0.0.1:8080/token",  # never in clear
        "google",
        f"google={LOCAL}/a,google={LOCAL}/b",
    ],
)
def test_anything_else_is_refused_at_start(raw: str) -> None:
    with pytest.raises(SettingsError, match="OAUTH_ENDPOINT_OVERRIDES"):
        Settings.from_environ({**ENV, "OAUTH_ENDPOINT_OVERRIDES": raw})


def test_the_check_service_gets_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OAUTH_ENDPOINT_OVERRIDES", f"google={LOCAL}/google/token")
    assert wiring.check_service().oauth_endpoints == {"google": f"{LOCAL}/google/token"}


def test_the_template_never_sets_it() -> None:
    assert "OAUTH_ENDPOINT_OVERRIDES" not in (Path(__file__).parents[2] / "template.yaml").read_text()
