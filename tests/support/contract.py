"""The contract's JSON shapes, defined once for every suite."""

from __future__ import annotations

# The contract's JSON fields, exactly (no password nor any other write-only value, nothing internal):
# "More server settings" are all returned, and `has<name>` says which of XOAUTH2's write-only values are set.
SMTP_KEYS = frozenset(
    {"_id", "idapp", "priority", "host", "port", "username", "auth", "starttls", "sslTls", "debug",
     "insecureauth", "defaultfromemail", "defaultfromname", "numerrors", "created", "modified", "status",
     "lastcheck", "authmech", "oauthprovider", "oauthtenant", "oauthclientid", "oauthtokenurl", "tlsverify",
     "cacert", "tlsmin", "helo", "hasoauthclientsecret", "hasoauthrefreshtoken", "hasoauthserviceaccount"}
)  # fmt: skip
APP_KEYS = frozenset(
    {"_id", "iduser", "name", "strategy", "testemail", "defaultfromemail", "defaultfromname",
     "created", "modified", "status"}
)  # fmt: skip
