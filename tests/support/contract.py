"""The contract's JSON shapes, defined once for every suite."""

from __future__ import annotations

# The contract's JSON fields, exactly (no password, nothing internal).
SMTP_KEYS = frozenset(
    {"_id", "idapp", "priority", "host", "port", "username", "auth", "starttls", "sslTls", "debug",
     "insecureauth", "defaultfromemail", "defaultfromname", "numerrors", "created", "modified", "status",
     "lastcheck"}
)  # fmt: skip
APP_KEYS = frozenset(
    {"_id", "iduser", "name", "strategy", "testemail", "defaultfromemail", "defaultfromname",
     "created", "modified", "status"}
)  # fmt: skip
