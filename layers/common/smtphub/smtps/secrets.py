"""The servers' secrets: one secret per SMTP server, named prefix + server id, each version a JSON object
of write-only values by name: {"password": ...}, and XOAUTH2's "oauthclientsecret", "oauthrefreshtoken",
"oauthserviceaccount" (smtphub.smtps.models.WRITE_ONLY).

One version per write. A version holds what the write was given, and only that: the functions that write
secrets may not read them (only the check may), so an edit that sends one value cannot copy the others
into its version. The record names, for each value it has, the version that holds it (`Smtp.secret_versions`:
`secretVersion` for the newest write, `secretfields` for the others), and a check reads exactly those.

Version pinning. Every write makes a new version whose VersionId this code chooses (ClientRequestToken),
and the server's record names the one version that belongs to it (`secretVersion`, written under the
record's own `version` condition). A check reads that version, never "whatever is current", so concurrent
edits cannot cross a record with another edit's password, whatever order their writes land in.

Labels keep pinned versions alive: Secrets Manager may delete versions that carry no staging label. A
version written by an edit carries its own label `sh-r<record version it edits>-<token>` from the moment
it exists, so correctness never waits for anything else. When the edit's record write loses, `abandon`
(in the request, on that failure path only) removes its label and AWS purges the version later. When it
wins, the tidying is `adopt`'s, called off the request path by the table's stream consumer
(smtphub.smtps.cleanup, for each MODIFY that names a new `secretVersion`): AWSCURRENT moves to the
version the record now names, and the labels of every version based on an older record version go (those
edits lost, or were superseded). A record may name older versions too (values it was not sent again):
`adopt` keeps their labels, and gives one of ours (`sh-r<record version - 1>-<id>`) to a version that has
none yet (a create's, labelled AWSCURRENT only until a later version takes that label). A version a record
stops naming is never named again (a record only adds the version its own write made), so removing the
labels of versions that the record does not name, written for record versions before its own, cannot
unlabel one a later record names. So every version a record points at is always labelled, and at most a
few labels are ever attached (a secret holds 20; a record names at most 4).

Order. The stream delivers one item's changes in the order they were made, so adopts apply in record
version order and AWSCURRENT ends on the version the newest record names, whatever order concurrent edits'
requests finished in. A replay (Lambda retrying a batch from a failed record) applies the same adopts
again, in the same order, to the same end; the labels it gives or keeps are never those an older adopt
removes (see `adopt`).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Collection, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import ClientError

from smtphub.aws import LazyClient, error_code
from smtphub.observability import logger
from smtphub.smtps.models import Smtp

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

CURRENT = "AWSCURRENT"
_LABEL = re.compile(r"sh-r(\d+)-[0-9a-f]{12}")


def _label(base_version: int, version_id: str) -> str:
    return f"sh-r{base_version}-{version_id.replace('-', '')[:12]}"


Values = Mapping[str, str] | str  # write-only values by name; a str alone is a password


def _json(values: Values) -> str:
    return json.dumps({"password": values} if isinstance(values, str) else dict(values))


class SecretRepository(LazyClient["SecretsManagerClient"]):
    def __init__(
        self, client: Callable[[], SecretsManagerClient], prefix: str, recovery_days: int = 7
    ) -> None:
        super().__init__(client)  # called on first use: functions that only read servers never build one
        self.prefix = prefix
        self.recovery_days = recovery_days

    def name(self, smtp_id: str) -> str:
        return self.prefix + smtp_id

    def create(self, smtp: Smtp, values: Values) -> str:
        """A new secret for `smtp` holding `values`; its first version's id (labelled AWSCURRENT)."""
        version_id = str(uuid.uuid4())
        self.client.create_secret(
            Name=self.name(smtp.id),
            ClientRequestToken=version_id,
            Description=f"smtp-hub: credentials of SMTP server {smtp.id}",
            SecretString=_json(values),
            Tags=[
                {"Key": "smtp-hub:smtp", "Value": smtp.id},
                {"Key": "smtp-hub:app", "Value": smtp.app_id},
                {"Key": "smtp-hub:owner", "Value": smtp.account_id},
            ],
        )
        return version_id

    def put(self, smtp_id: str, values: Values, base_version: int) -> str:
        """A new version for an edit of record version `base_version`, under a label of its own (AWSCURRENT
        does not move until `adopt`, from the table's stream); its id."""
        version_id = str(uuid.uuid4())
        self.client.put_secret_value(
            SecretId=self.name(smtp_id),
            ClientRequestToken=version_id,
            SecretString=_json(values),
            VersionStages=[_label(base_version, version_id)],
        )
        return version_id

    def write(self, smtp: Smtp, values: Values, base_version: int) -> str:
        """A version for an edit: a new version of the server's secret, or the secret itself when there is
        none yet (a secret left by an earlier failure is named after this very server: a version of it)."""
        if smtp.has_secret:
            return self.put(smtp.id, values, base_version)
        try:
            return self.create(smtp, values)
        except ClientError as error:
            if error_code(error) != "ResourceExistsException":
                raise
        return self.put(smtp.id, values, base_version)

    def read(self, smtp_id: str, version_id: str) -> dict[str, str] | None:
        """The values of exactly that version; None when the secret or the version is gone."""
        try:
            value = self.client.get_secret_value(SecretId=self.name(smtp_id), VersionId=version_id)
        except ClientError as error:
            if error_code(error) == "ResourceNotFoundException":
                return None
            raise
        values = json.loads(value["SecretString"])
        return {str(name): str(item) for name, item in values.items()}

    def adopt(self, smtp_id: str, version_id: str, base_version: int, named: Collection[str] = ()) -> bool:
        """Tidy the labels once the record names `version_id` (and the older versions `named`, which hold the
        values it was not sent again), written for record version `base_version` (the record is now at
        `base_version + 1`): the `named` ones keep a label of ours (given one, `sh-r<base_version>-<id>`,
        when they have none), AWSCURRENT moves to `version_id`, and the labels of other versions based on
        record versions up to `base_version` (lost or superseded edits, versions no longer named) are
        removed. Labels are given before any is taken, so a failure half way leaves extra labels, never a
        named version without one; it raises (the stream consumer reports it, and Lambda retries).

        Idempotent, and safe to replay out of date: a label given here is numbered `base_version`, and an
        older record's adopt removes only labels numbered below its own record version.

        False when there is nothing to tidy: the secret is gone or scheduled for deletion (its server was
        removed since; its REMOVE record follows)."""
        try:
            # (its type says every key is always there: DeletedDate is only there once deletion is scheduled)
            described: Mapping[str, Any] = self.client.describe_secret(SecretId=self.name(smtp_id))
        except ClientError as error:
            if error_code(error) == "ResourceNotFoundException":
                return False
            raise
        if "DeletedDate" in described:
            return False
        stages = described.get("VersionIdsToStages", {})
        keep = {version_id, *named}
        for other in sorted(keep - {version_id}):
            if not any(_LABEL.fullmatch(label) for label in stages.get(other, [])):
                self._move(smtp_id, _label(base_version, other), to=other, away_from=None)
        holder = next((v for v, labels in stages.items() if CURRENT in labels), None)
        if holder != version_id:
            self._move(smtp_id, CURRENT, to=version_id, away_from=holder)
        for other, labels in stages.items():
            for label in labels:
                match = _LABEL.fullmatch(label)
                if other not in keep and match and int(match.group(1)) <= base_version:
                    self._move(smtp_id, label, to=None, away_from=other)
        return True

    def abandon(self, smtp_id: str, version_id: str, base_version: int) -> None:
        """An edit lost its record write: its version loses its label (AWS purges unlabelled versions)."""
        try:
            self._move(smtp_id, _label(base_version, version_id), to=None, away_from=version_id)
        except Exception:  # called while the edit's error is raised: must not hide it; trace logged
            logger.warning(
                "could not unlabel a lost secret version", extra={"idsmtp": smtp_id}, exc_info=True
            )

    def _move(self, smtp_id: str, label: str, *, to: str | None, away_from: str | None) -> None:
        request: dict[str, str] = {"SecretId": self.name(smtp_id), "VersionStage": label}
        if to:
            request["MoveToVersionId"] = to
        if away_from:
            request["RemoveFromVersionId"] = away_from
        self.client.update_secret_version_stage(**request)

    def delete(self, smtp_id: str, *, recoverable: bool = True) -> bool:
        """Schedule deletion (recoverable for some days) or delete at once; False when nothing was to do.

        Idempotent: a secret that is gone, or already scheduled for deletion, is done with. (Secrets Manager
        answers InvalidRequestException for the latter; with the parameters used here, and secrets that have
        no replicas, that is its only cause.)
        """
        try:
            if recoverable:
                self.client.delete_secret(
                    SecretId=self.name(smtp_id), RecoveryWindowInDays=self.recovery_days
                )
            else:
                self.client.delete_secret(SecretId=self.name(smtp_id), ForceDeleteWithoutRecovery=True)
        except ClientError as error:
            code = error_code(error)
            if code == "ResourceNotFoundException" or (recoverable and code == "InvalidRequestException"):
                return False
            raise
        return True


class VersionReader(Protocol):
    """What reads one version of a server's secret (SecretRepository, or a cache in front of it)."""

    def read(self, smtp_id: str, version_id: str) -> dict[str, str] | None: ...


def read_secrets(secrets: VersionReader, smtp: Smtp, only: Collection[str] | None = None) -> dict[str, str]:
    """Each write-only value of `smtp` (or those in `only`), from exactly the secret version its record
    names for it (the versions read concurrently). A value whose version is gone is missing: the check
    says so."""
    names_by_version: dict[str, list[str]] = {}
    for name, version in smtp.secret_versions.items():
        if only is None or name in only:
            names_by_version.setdefault(version, []).append(name)
    if not names_by_version:
        return {}
    if len(names_by_version) == 1:
        ((version, names),) = names_by_version.items()
        held = secrets.read(smtp.id, version) or {}
        return {name: held[name] for name in names if name in held}
    values: dict[str, str] = {}
    with ThreadPoolExecutor(max_workers=len(names_by_version), thread_name_prefix="smtp-secret") as pool:
        reads = {version: pool.submit(secrets.read, smtp.id, version) for version in names_by_version}
        for version, names in names_by_version.items():
            held = reads[version].result() or {}
            values.update({name: held[name] for name in names if name in held})
    return values
