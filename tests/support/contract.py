"""The contract's JSON shapes, defined once for every suite."""

from __future__ import annotations

# The contract's JSON fields, exactly (no password nor any other write-only value, nothing internal):
# "More server settings" are all returned, and `has<name>` says which of XOAUTH2's write-only values are set.
SMTP_KEYS = frozenset(
    {"_id", "idapp", "priority", "host", "port", "username", "auth", "starttls", "sslTls", "debug",
     "insecureauth", "defaultfromemail", "defaultfromname", "numerrors", "created", "modified", "status",
     "lastcheck", "authmech", "oauthprovider", "oauthtenant", "oauthclientid", "oauthtokenurl", "tlsverify",
     "cacert", "tlsmin", "helo", "hasoauthclientsecret", "hasoauthrefreshtoken", "hasoauthserviceaccount",
     "maxperminute", "maxperday"}
)  # fmt: skip
# The app's own fields and upstream's AppDTO members (booleans and numbers never null).
APP_KEYS = frozenset(
    {"_id", "iduser", "name", "strategy", "testemail", "defaultfromemail", "defaultfromname",
     "created", "modified", "status", "retaindata", "useblacklist", "useautoblacklist", "timebetweenemails",
     "originserver", "origindomain", "webhook_sending_finished", "webhook_sending_error",
     "webhook_tracking_opened", "webhook_tracking_clicked", "webhook_blacklisted_added", "haswebhooksecret"}
)  # fmt: skip
# apps/save's answer: the app, and the webhook secret it generated (null but that once).
APP_SAVED_KEYS = APP_KEYS | {"webhooksecret"}


def as_read(saved: dict[str, object]) -> dict[str, object]:
    """apps/save's answer as apps/findById answers it: without the one-time `webhooksecret`."""
    return {name: value for name, value in saved.items() if name != "webhooksecret"}
