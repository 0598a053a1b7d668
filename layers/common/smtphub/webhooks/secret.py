"""The apps' webhook secrets: one Secrets Manager secret per app, named prefix + app id, each version
`{"webhooksecret": "..."}`, the app's record naming the version that signs its webhooks.

Written as the SMTP passwords are (smtphub.smtps.secrets, whose version-pinning this reuses: one version
per write, each under a label of its own from birth, the record naming the exact version, a lost write's
label taken back). One difference: the tidying (`settle`: AWSCURRENT to the version the record names, the
labels of lost or superseded writes removed) runs in the request that won, not from the table's stream (the
apps table streams keys only, and a webhook secret is set rarely). Requests that finish out of order may
leave AWSCURRENT on an older version until the next settle; nothing reads AWSCURRENT (webhooks are signed
with the version the record names), and labels never pile up: a settle removes every label of a record
version at or below its own but its own version's.

Readers (the webhooks' sender) read by version, cached per container: a version never changes.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from smtphub.aws import error_code
from smtphub.observability import logger
from smtphub.smtps.secrets import SecretRepository

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

    from smtphub.apps.models import App

KEY = "webhooksecret"
_CACHED = 256  # versions kept per container (apps of the batches it signed for)


class WebhookSecretRepository:
    """smtphub.apps.webhooks.WebhookSecrets, and the sender's reads."""

    def __init__(
        self, client: Callable[[], SecretsManagerClient], prefix: str, recovery_days: int = 7
    ) -> None:
        self.pinned = SecretRepository(client, prefix, recovery_days)  # versions, labels and deletion
        self._read: dict[tuple[str, str], str | None] = {}

    def write(self, app: App, value: str) -> str:
        if app.webhook_secret_version is not None:
            return self.pinned.put(app.id, {KEY: value}, app.version)
        version_id = str(uuid.uuid4())
        try:
            self.pinned.client.create_secret(
                Name=self.pinned.name(app.id),
                ClientRequestToken=version_id,
                Description=f"smtp-hub: the webhook secret of app {app.id}",
                SecretString=json.dumps({KEY: value}),
                Tags=[
                    {"Key": "smtp-hub:app", "Value": app.id},
                    {"Key": "smtp-hub:owner", "Value": app.account_id},
                ],
            )
        except ClientError as error:  # left by a save that failed half way: a version of it
            if error_code(error) != "ResourceExistsException":
                raise
            return self.pinned.put(app.id, {KEY: value}, app.version)
        return version_id

    def settle(self, app_id: str, version_id: str, base_version: int) -> None:
        try:
            self.pinned.adopt(app_id, version_id, base_version)
        except Exception:  # the save is done; extra labels wait for the next settle. Trace logged
            logger.warning(
                "could not tidy the labels of a webhook secret", extra={"idapp": app_id}, exc_info=True
            )

    def abandon(self, app_id: str, version_id: str, base_version: int) -> None:
        self.pinned.abandon(app_id, version_id, base_version)

    def delete(self, app_id: str) -> bool:
        return self.pinned.delete(app_id)

    def read(self, app_id: str, version_id: str) -> str | None:
        """The secret of that version (cached: versions never change); None when it is gone."""
        key = (app_id, version_id)
        if key not in self._read:
            values = self.pinned.read(app_id, version_id)
            if len(self._read) >= _CACHED:
                self._read.clear()
            self._read[key] = values.get(KEY) if values is not None else None
        return self._read[key]
