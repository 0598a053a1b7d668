"""POST /private/smtps/save: create an SMTP server, or edit one (`idsmtp`) keeping what is omitted.

Create: `idapp`, `host` and `port` are required; `username` and `password` are required when `auth` is
true. Edit: `idsmtp` plus any of the fields; omitted fields keep their value and an omitted `password`
keeps the stored one, unless the edit changes `host`, `port`, `username` or `auth`, or lowers the
encryption (`ssltls` or `starttls` to neither, `insecureauth` to true): a stored password only goes where
it was given for, so such an edit must send it again (else a 400 naming `password`). Ownership is
decided first: another account's server stays a 406. `starttls` and `ssltls` cannot both be true. The
password is stored in AWS Secrets Manager and never returned. With `verify=true` the settings as they
would be stored are probed first (stages up to `RCPT`, no message; one of the account's checks): a
failure is a 406 `SMTP_CHECK_FAILED` and nothing changes. Quotas (the template's `SmtpsPerApp`, 20, and
`SmtpsPerAccount`, 200, by default): a create, or a move to another app (`idapp`), beyond one is a 406
`QUOTA_EXCEEDED` naming it, and nothing changes.
"""

from smtphub import wiring
from smtphub.http import Request, api
from smtphub.http.requests.smtps import SmtpSave
from smtphub.http.responses.smtps import SmtpJson, smtp_json
from smtphub.smtps.models import CreateSmtp


@api(SmtpSave)
def lambda_handler(request: Request[SmtpSave]) -> SmtpJson:
    command = request.params.command(request.account_id)
    service = wiring.smtp_service()
    verify = wiring.check_service().verify if command.verify else None
    smtp = (
        service.create(command, verify) if isinstance(command, CreateSmtp) else service.edit(command, verify)
    )
    return smtp_json(smtp)
