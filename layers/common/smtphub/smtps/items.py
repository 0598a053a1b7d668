"""The stored forms of the SMTP feature: a server's item (SMTP_CODEC) and a check result's map (its
`lastcheck` attribute, and the `result` of a history item, smtphub.health.history).

A check result is stored as the map every version of this code has written since issue 13: `at`, `ok`,
`stage`, `code`, `message`, `ms`, `mode`, `stages` (`stage`, `ms`, `code` each), `tls` (`mode` since
STARTTLS-when-offered, `version`, `cipher`, `subject`, `issuer`, `notAfter`, `daysLeft`, or null) and
`capabilities`. Written unchanged, so
that functions of the previous release read what this one writes during a deployment. Read leniently: a
map written before issue 13 has only the first six members, and reads as a `send` check with no stages,
no TLS facts and no capabilities (nothing was recorded of them); a member that is missing or null reads as
its default. The names in the map are this module's, not the API's: the JSON the API shows is the edge's
(smtphub.http.responses), which happens to spell them the same today.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from smtphub.codec import Codec
from smtphub.smtps.models import Smtp
from smtphub.smtps.results import CheckResult, StageTime, TlsFacts

SEND = "send"  # the mode of every check stored before there were two


def result_to_map(result: CheckResult) -> dict[str, Any]:
    """A check result as stored (plain values, for smtphub.dynamo.to_attribute)."""
    tls = result.tls
    return {
        "at": result.at,
        "ok": result.ok,
        "stage": result.stage,
        "code": result.code,
        "message": result.message,
        "ms": result.ms,
        "mode": result.mode,
        "stages": [{"stage": s.stage, "ms": s.ms, "code": s.code} for s in result.stages],
        "tls": None
        if tls is None
        else {
            **({"mode": tls.mode} if tls.mode else {}),  # none before STARTTLS-when-offered: none stored
            "version": tls.version,
            "cipher": tls.cipher,
            "subject": tls.subject,
            "issuer": tls.issuer,
            "notAfter": tls.not_after,
            "daysLeft": tls.days_left,
        },
        "capabilities": list(result.capabilities),
    }


def result_from_map(stored: Mapping[str, Any]) -> CheckResult:
    """A stored check result, whichever release wrote it (see the module's docstring)."""
    tls, stages = stored.get("tls"), stored.get("stages") or ()
    return CheckResult(
        at=str(stored.get("at") or ""),
        ok=bool(stored.get("ok")),
        stage=stored.get("stage"),
        code=stored.get("code"),
        message=str(stored.get("message") or ""),
        ms=int(stored.get("ms") or 0),
        mode=str(stored.get("mode") or SEND),
        stages=tuple(StageTime(str(s["stage"]), int(s.get("ms") or 0), s.get("code")) for s in stages),
        tls=None
        if not isinstance(tls, Mapping)
        else TlsFacts(
            mode=tls.get("mode"),
            version=tls.get("version"),
            cipher=tls.get("cipher"),
            subject=tls.get("subject"),
            issuer=tls.get("issuer"),
            not_after=tls.get("notAfter"),
            days_left=tls.get("daysLeft"),
        ),
        capabilities=tuple(str(keyword) for keyword in stored.get("capabilities") or ()),
    )


SMTP_CODEC = Codec(
    Smtp,
    {
        "id": "_id",
        "app_id": "idapp",
        "account_id": "iduser",
        "ssltls": "sslTls",
        "secret_version": "secretVersion",  # nosec B105 - an attribute name, not a secret
    },
    nested={"lastcheck": (result_to_map, result_from_map)},
)
