"""What a check is made of: the write-only values it uses (from exactly the secret versions the server's
record names: smtphub.smtps.secrets.read_secrets) and its `Plan` (the server, its app's addresses, the
mode)."""

from __future__ import annotations

from collections.abc import Mapping

from smtphub.apps.models import App
from smtphub.check.plan import SEND, Plan
from smtphub.errors import InvalidInput
from smtphub.smtp.endpoint import endpoint_fields
from smtphub.smtps.models import Smtp
from smtphub.smtps.secrets import read_secrets

__all__ = ["plan_for", "read_secrets"]


def plan_for(smtp: Smtp, app: App, secrets: Mapping[str, str] | str | None, mode: str = SEND) -> Plan:
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
    return Plan(
        smtp_id=smtp.id,
        app_id=app.id,
        app_name=app.name,
        sender=sender,
        sender_name=name,
        recipient=app.testemail,
        mode=mode,
        **endpoint_fields(smtp, values),
    )
