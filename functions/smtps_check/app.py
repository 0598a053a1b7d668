"""POST /private/smtps/check: check an SMTP server: one real test e-mail to the app's `testemail` (or,
`mode=probe`, up to `RCPT TO`); or try settings before saving them.

`mode=send` (the default) sends the test e-mail; `mode=probe` stops after `RCPT TO` (`RSET`, `QUIT`: no
message). Instead of `idsmtp` alone, the request may give a server's settings as `save` takes them
(`idapp`, `host`, `port`, ...; over the stored server's when `idsmtp` is given too, whose stored password
is reused only where the binding rule lets it go): they are tried and nothing is stored. From the
server's `defaultfromemail`, else the app's. Stages, in the order of `CheckStage` (`TOKEN` for XOAUTH2's
access token, `TLS` implicit when `sslTls` and STARTTLS when `starttls`, the certificate verified; `AUTH`
when `auth`, and never over a connection that is not encrypted unless `insecureauth`). Bounded well
inside API Gateway's 29 s. Success: 200, `status` becomes `A`, `numerrors` 0. Failure: 406
`SMTP_CHECK_FAILED` with `stage` and `code` (the SMTP reply code when there is one); `status` becomes `D`
and `numerrors` grows by one. Either way `lastcheck` records the outcome. Addresses that are not globally
routable are refused at stage `DNS` unless the deployment allows them. A 400 names `testemail` or
`defaultfromemail` when there is no one to send to or from. An account has a number of checks a minute
(the template's `CheckRateLimitPerMinute`): beyond it, a 429 with `Retry-After`.
"""

# The conversation, its bounds and its scrubbing: smtphub.check.
from smtphub import wiring
from smtphub.http import Request, api
from smtphub.http.requests.checks import SmtpCheck


@api(SmtpCheck)
def lambda_handler(request: Request[SmtpCheck]) -> None:
    wiring.check_service().check(request.params.command(request.account_id))
