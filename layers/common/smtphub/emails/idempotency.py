"""emails/send's Idempotency-Key, with Powertools' Idempotency utility on DynamoDB (IdempotencyTable).

One record per account and key (Powertools keys it `emails/send#<md5 of [account, key]>`: two accounts'
equal keys are two records), kept 24 hours (the table's TTL, `expiration`):
- the first request with a key runs, and its result is stored with a digest of what it asked for
  (`SendEmail.fingerprint`: every parameter and attachment byte);
- a retry with the same key and the same request answers that result again and sends nothing;
- the same key with another request is IdempotencyKeyReused (406 `IDEMPOTENCY_KEY_REUSED`);
- the same key while the first request is still running is Conflict (retry in a moment); a request that died
  holds the key only until its Lambda invocation would have timed out (Powertools' in-progress expiry).
A request that fails (a 406, a 500) stores nothing: its retry runs again.

The record holds the result (the e-mail's id, status, times and the recipients it listed), never the
content. Powertools (and jmespath) is imported with the first request that has a key, not before.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from smtphub.emails.models import SendingResult
from smtphub.errors import Conflict, IdempotencyKeyReused
from smtphub.settings import SettingsError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

KEPT_SECONDS = 24 * 3600
UNKNOWN_REMAINING_MS = 30_000  # API Gateway's bound, when the invocation's own is not known
IN_PROGRESS = "A request with this Idempotency-Key is still being processed: retry in a few seconds"


class _Remaining:
    """What Powertools asks of a Lambda context: the time left in the invocation."""

    def __init__(self, remaining_ms: Callable[[], int] | None) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms() if self.remaining_ms else UNKNOWN_REMAINING_MS


class Idempotency:
    def __init__(self, client: Callable[[], DynamoDBClient], table: str) -> None:
        """`table`: IdempotencyTable's name (required when a request has a key: SettingsError otherwise)."""
        self._client = client
        self.table = table
        self._run: Any = None
        self._config: Any = None

    def _build(self) -> None:
        from aws_lambda_powertools.utilities.idempotency import (  # noqa: PLC0415 - with the first key
            DynamoDBPersistenceLayer,
            IdempotencyConfig,
            idempotent_function,
        )

        self._config = IdempotencyConfig(
            event_key_jmespath="[account, key]",
            payload_validation_jmespath="request",
            raise_on_no_idempotency_key=True,
            expires_after_seconds=KEPT_SECONDS,
        )
        store = DynamoDBPersistenceLayer(table_name=self.table, boto3_client=self._client())

        def run(*, data: dict[str, str], work: Callable[[], SendingResult]) -> dict[str, Any]:
            return dataclasses.asdict(work())

        once: Any = idempotent_function(
            data_keyword_argument="data",
            persistence_store=store,
            config=self._config,
            key_prefix="emails/send",
        )
        self._run = once(run)

    def once(
        self,
        account_id: str,
        key: str,
        fingerprint: str,
        work: Callable[[], SendingResult],
        remaining_ms: Callable[[], int] | None = None,
    ) -> SendingResult:
        """`work()`'s result, run only for the first request with this account's `key` (see the module)."""
        from aws_lambda_powertools.utilities.idempotency.exceptions import (  # noqa: PLC0415
            IdempotencyAlreadyInProgressError,
            IdempotencyValidationError,
        )

        if self._run is None:
            if not self.table:
                raise SettingsError("IDEMPOTENCY_TABLE is required")
            self._build()
        self._config.register_lambda_context(_Remaining(remaining_ms))
        try:
            answer = self._run(data={"account": account_id, "key": key, "request": fingerprint}, work=work)
        except IdempotencyValidationError:
            raise IdempotencyKeyReused() from None
        except IdempotencyAlreadyInProgressError:
            raise Conflict(IN_PROGRESS) from None
        return SendingResult(**answer)
