"""Request models of the check routes: smtps/check (a stored server, or settings tried before saving them)
and smtps/history."""

from __future__ import annotations

from typing import Annotated, ClassVar, cast

from pydantic import ConfigDict, Field, PlainValidator, WithJsonSchema

from smtphub.http.fields import Id, integer, integer_schema, one_of
from smtphub.http.requests import REQUIRED, RequestModel
from smtphub.http.requests.smtps import SmtpSettings
from smtphub.smtps.models import CheckSmtp, SmtpRef

CheckMode = Annotated[
    str,
    PlainValidator(one_of("send", "probe")),
    WithJsonSchema({"type": "string", "enum": ["send", "probe"]}),
]
HistoryLimit = Annotated[int, PlainValidator(integer(1, 50)), integer_schema(1, 50)]
_TARGET = ("smtp_id", "app_id", "mode")  # what names the server to check rather than its settings


class SmtpCheck(SmtpSettings):
    """smtps/check: `idsmtp` (upstream's page names it `idapp`: read so when alone), or a server's settings as
    save takes them, to try them without saving anything (over the stored server's when `idsmtp` is given)."""

    CONTROLS: ClassVar[tuple[str, ...]] = ("mode",)
    model_config = ConfigDict(
        json_schema_extra={"anyOf": [{"required": ["idsmtp"]}, {"required": ["idapp"]}]}, defer_build=True
    )

    app_id: Id | None = Field(
        None,
        alias="idapp",
        description="With settings (`host`, `port`, ...): the app of the server tried (its testemail, its "
        "From fallback). Alone: read as the SMTP server's id when `idsmtp` is absent (as the upstream page "
        "does).",
    )
    mode: CheckMode | None = Field(
        None,
        description="`send` (the default): a real test e-mail to the app's `testemail`. `probe`: the "
        "conversation up to `RCPT TO`, then `RSET` and `QUIT`: no message is sent.",
    )

    def trying(self) -> bool:
        """Whether the request gives settings (tried without saving) rather than naming a stored server."""
        return any(name not in _TARGET for name in self.model_fields_set)

    def problems(self) -> dict[str, str]:
        if self.trying():
            return super().problems()
        return {"idsmtp": REQUIRED} if self.smtp_id is None and self.app_id is None else {}

    def command(self, account_id: str) -> CheckSmtp:
        mode = self.mode or "send"
        if not self.trying():
            return CheckSmtp(account_id, cast(str, self.smtp_id or self.app_id), mode)
        return CheckSmtp(account_id, self.smtp_id, mode, self._fields(), self._secrets())


class SmtpHistory(RequestModel):
    smtp_id: Id = Field(alias="idsmtp", description="The SMTP server's id.")
    limit: HistoryLimit = Field(20, description="How many results, newest first: 1-50 (default 20).")

    def command(self, account_id: str) -> tuple[SmtpRef, int]:
        return SmtpRef(account_id, self.smtp_id), self.limit
