"""POST /private/smtps/save: create an SMTP server, or edit one (idsmtp) keeping what is omitted."""

from typing import Any

from smtphub import wiring
from smtphub.http import Request, api
from smtphub.http.requests.smtps import SmtpSave
from smtphub.http.responses import smtp_json
from smtphub.smtps.models import CreateSmtp


@api(SmtpSave)
def lambda_handler(request: Request[SmtpSave]) -> dict[str, Any]:
    command = request.params.command(request.account_id)
    service = wiring.smtp_service()
    smtp = service.create(command) if isinstance(command, CreateSmtp) else service.edit(command)
    return smtp_json(smtp)
