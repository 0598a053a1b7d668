"""POST /private/smtps/save: create an SMTP server, or edit one (idsmtp) keeping what is omitted; with
verify=true, only once a probe of the new settings passes (else 406 SMTP_CHECK_FAILED, nothing stored)."""

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
    verify = wiring.check_service().verify if command.verify else None
    smtp = (
        service.create(command, verify) if isinstance(command, CreateSmtp) else service.edit(command, verify)
    )
    return smtp_json(smtp)
