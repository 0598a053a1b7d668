"""POST /private/smtps/check: one real SMTP conversation with a stored server, safe and bounded.

`converse(plan, ...)` runs the conversation and returns a `CheckOutcome` (never raises for what the
server or the network does); `report` writes its log line and metric. Reading the server, its app and
its password from AWS and recording the outcome is smtphub.check.service's job (the only part that
touches boto3; this package's `__init__` does not import it).

The conversation itself (session, commands, TLS, XOAUTH2's token, scrubbing, bounds) is the SMTP client
the check shares with the sender, one floor down: smtphub.smtp. This package says what a check is and
what comes of it:

    plan.py          Plan (what to check: an smtphub.smtp endpoint, its app's addresses, the mode) and
                     CheckOutcome (what came of it)
    inputs.py        a stored server's Plan and the secret versions it names
    conversation.py  converse: login (smtphub.smtp.client), then MAIL, RCPT, DATA or the probe's RSET
    message.py       the test message
    report.py        report: one log line, one metric
    service.py       read, converse, record (AWS)
"""

from __future__ import annotations

from smtphub.check.conversation import converse
from smtphub.check.plan import CheckOutcome, Plan
from smtphub.check.report import METRIC, report
from smtphub.smtp.endpoint import OAuth
from smtphub.smtp.limits import Deadline, Limits
from smtphub.smtp.stages import AUTH, CONNECT, DATA, DNS, EHLO, MAIL, RCPT, STAGES, TLS, TOKEN, StageFailure

__all__ = [
    "AUTH",
    "CONNECT",
    "DATA",
    "DNS",
    "EHLO",
    "MAIL",
    "METRIC",
    "RCPT",
    "STAGES",
    "TLS",
    "TOKEN",
    "CheckOutcome",
    "Deadline",
    "Limits",
    "OAuth",
    "Plan",
    "StageFailure",
    "converse",
    "report",
]
