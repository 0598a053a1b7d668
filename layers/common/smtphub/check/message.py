"""The test message the check sends (DATA puts it on the wire with smtphub.smtp.client.data_bytes)."""

from __future__ import annotations

from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP, SMTPUTF8
from email.utils import format_datetime, make_msgid

from smtphub.check.plan import Plan

# By how TLS came about (`lastcheck.tls.mode`), None for none.
_ENCRYPTION = {
    "implicit": "implicit TLS",
    "starttls": "STARTTLS",
    "starttls-offered": "STARTTLS (offered by the server)",
    None: "none (plain text)",
}


def needs_smtputf8(plan: Plan) -> bool:
    """True when an address is not ASCII, so MAIL needs the server's SMTPUTF8."""
    return not (plan.sender.isascii() and plan.recipient.isascii())


def build_message(plan: Plan, at: str, tls_mode: str | None) -> EmailMessage:
    """A short, self-explaining test message: which server, which app, how encrypted (`tls_mode`: how TLS
    came about, None without), when; never the password."""
    message = EmailMessage(policy=SMTPUTF8 if needs_smtputf8(plan) else SMTP)
    sender_local, _, sender_domain = plan.sender.rpartition("@")
    message["From"] = Address(plan.sender_name or "", sender_local, sender_domain)
    message["To"] = plan.recipient
    message["Subject"] = f"smtp-hub test of {plan.host}:{plan.port} for app {plan.app_name}"
    message["Date"] = format_datetime(datetime.fromisoformat(at.replace("Z", "+00:00")))
    message["Message-ID"] = make_msgid("smtp-check", domain=sender_domain)
    message["Auto-Submitted"] = "auto-generated"
    body = (
        "This is a test message from smtp-hub: it checks that an SMTP server can send e-mail.\n"
        "\n"
        f"SMTP server:     {plan.host} port {plan.port} (id {plan.smtp_id})\n"
        f"Encryption:      {_ENCRYPTION.get(tls_mode, 'TLS')}\n"
        f"Authentication:  {'as ' + (plan.username or '') if plan.auth else 'none'}\n"
        f"App:             {plan.app_name} (id {plan.app_id})\n"
        f"Sent at:         {at}\n"
        "\n"
        f"The server accepted this message for {plan.recipient}, so it works. No action is needed.\n"
    )
    message.set_content(body, cte="7bit" if body.isascii() else "quoted-printable")
    return message
