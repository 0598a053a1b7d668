"""The demo account's data: one app and one SMTP server pointing at the local SMTP sink, under the fixed
ids the sample events name (`events/*.json`, `local_runtime.events.DEMO_APP_ID`, `DEMO_SMTP_ID`), so that
`sam local invoke -e events/<function>.json` against `make aws` finds them (200, not 406).

Written with the layer's own repositories (the same items, name lock and conditions as apps/save and
smtps/save write), straight to the embedded AWS: a handler would give them random ids.
"""

from __future__ import annotations

from typing import Any

from local_runtime.events import DEMO_APP_ID, DEMO_SMTP_ID

DEMO_SENDER = "shop@example.com"


def seed(
    dynamodb: Any, tables: tuple[str, str, str], account: str, sink: tuple[str, int], inbox: str
) -> tuple[str, str]:
    """The demo app (test mails go to `inbox`) and its SMTP server (the sink: no auth, no password) in the
    apps and SMTP `tables` (counted in the accounts table's quotas, the third); their ids."""
    from smtphub.accounts.quotas import QuotaLimits, Quotas  # noqa: PLC0415 - the layer is importable once the runtime added it
    from smtphub.apps.models import App  # noqa: PLC0415
    from smtphub.apps.repository import AppRepository  # noqa: PLC0415
    from smtphub.ids import now_iso  # noqa: PLC0415
    from smtphub.settings import APPS_PER_ACCOUNT, SMTPS_PER_ACCOUNT, SMTPS_PER_APP  # noqa: PLC0415
    from smtphub.smtps.models import Smtp  # noqa: PLC0415
    from smtphub.smtps.repository import SmtpRepository  # noqa: PLC0415

    apps_table, smtps_table, accounts_table = tables
    now = now_iso()
    quotas = Quotas(accounts_table, QuotaLimits(APPS_PER_ACCOUNT[0], SMTPS_PER_APP[0], SMTPS_PER_ACCOUNT[0]))
    apps = AppRepository(dynamodb, apps_table, quotas)
    apps.create(
        App(
            id=DEMO_APP_ID,
            account_id=account,
            name="Demo shop",
            created=now,
            modified=now,
            testemail=inbox,
            defaultfromemail=DEMO_SENDER,
            defaultfromname="Demo shop",
            # Upstream's default is 60 s between two e-mails of an app: the demo sends to the sink, which
            # takes anything, so nothing paces it and a second send from the banner's session does not
            # wait a minute (README, "What make run runs").
            timebetweenemails=0,
        )
    )
    host, port = sink
    server = Smtp(
        id=DEMO_SMTP_ID,
        app_id=DEMO_APP_ID,
        account_id=account,
        host=host,
        port=port,
        created=now,
        modified=now,
        defaultfromname="smtp-hub local sink",
    )
    SmtpRepository(dynamodb, smtps_table, apps.live_condition, quotas).create(server)
    return DEMO_APP_ID, DEMO_SMTP_ID
