"""The sender's world for its suites: moto's tables, bucket and send queue as the template declares them, an
app with servers pointing at real SMTP peers on 127.0.0.1 (aiosmtpd, tests.support.smtp_peers), e-mails
written as emails/send writes them (record, S3 bundle, queue message), and the sender run on what the
queue holds, as SQS would hand it."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest

from smtphub import wiring
from smtphub.emails.content import Attachment, Content
from smtphub.emails.logs import LogRepository
from smtphub.emails.models import QUEUED, Email, LogEntry
from smtphub.emails.queue import Turn
from smtphub.ids import new_id, now_iso
from smtphub.sending.mime import message_id
from tests.support.api import new_app, ok
from tests.support.aws import EMAIL_LOGS_TABLE, EMAILS_TABLE, SEND_STATE_TABLE, Aws
from tests.support.lambdas import ACCOUNT_A, call
from tests.support.smtp_peers import Sink

BUCKET = "test-emails-bucket"


class Peer(Sink):
    """A sink that answers RCPT and DATA as told, and notes when each transaction began (MAIL FROM)."""

    def __init__(self, rcpt: dict[str, str] | None = None, data_reply: str = "250 2.0.0 Ok") -> None:
        super().__init__(data_reply)
        self.rcpt = rcpt or {}
        self.times: list[float] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # type: ignore[no-untyped-def]
        if address in self.rcpt:
            return self.rcpt[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_MAIL(self, server, session, envelope, address, mail_options):  # type: ignore[no-untyped-def]
        self.times.append(time.time())
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"


@dataclass
class World:
    aws: Aws
    sqs: Any
    s3: Any
    queue_url: str
    app: str = ""
    sent: list[str] = field(default_factory=list)

    def server(self, port: int, **fields: Any) -> str:
        params = {"idapp": self.app, "host": "127.0.0.1", "port": port, "auth": False, **fields}
        return str(ok(call("smtps_save", {k: v for k, v in params.items() if v is not None}))["_id"])

    def set_app(self, **fields: Any) -> None:
        """apps/save of the app with these fields (the others back to their defaults, as upstream's save)."""
        ok(call("apps_save", {"idapp": self.app, "name": "Shop", **fields}))

    def email(self, content: Content | None = None, **changes: Any) -> str:
        """An e-mail as emails/send writes it: content in S3, the record (held: the safety net), a message."""
        email_id = new_id()
        content = content or Content("Hello", "Body text")
        key = wiring.content_store().put(email_id, content)
        fields: dict[str, Any] = {
            "id": email_id,
            "account_id": ACCOUNT_A,
            "created": now_iso(),
            "modified": now_iso(),
            "status": QUEUED,
            "app_id": self.app,
            "sender": "shop@example.com",
            "tos": ["ann@example.net"],
            "tonames": ["Ann"],
            "messageid": message_id(email_id, "shop@example.com"),
            "contentkey": key,
            "inittime": now_iso(),
            "logsdeleledby": now_iso(),
            "expires": int(time.time()) + 86400,
            "attachments": [item.name for item in content.attachments],
            "wakeat": int(time.time()) + 120,
        }
        wiring.email_repository().create(Email(**(fields | changes)))
        wiring.send_queue().send([Turn(email_id, 0)])
        return email_id

    def messages(self) -> list[dict[str, Any]]:
        """What the send queue holds now (delays ignored: moto hands delayed messages only after them)."""
        found: list[dict[str, Any]] = []
        while True:
            answer = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10)
            if not answer.get("Messages"):
                return found
            found.extend(answer["Messages"])

    def run(self, messages: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """The sender on `messages` (default: what the queue holds), as one SQS event."""
        messages = self.messages() if messages is None else messages
        records = [
            {"messageId": m.get("MessageId", str(uuid.uuid4())), "body": m["Body"], "eventSource": "aws:sqs",
             "receiptHandle": "r", "attributes": {}, "messageAttributes": {}}
            for m in messages
        ]  # fmt: skip
        return wiring.sender().handle({"Records": records})

    def turn_message(self, email_id: str) -> dict[str, Any]:
        """The message the e-mail's current turn needs (a wait's delayed message, handed over now)."""
        email = self.get(email_id)
        return {"MessageId": str(uuid.uuid4()), "Body": Turn(email_id, email.turn).body()}

    def get(self, email_id: str) -> Email:
        email = wiring.email_repository().get(email_id)
        assert email is not None
        return email

    def logs(self, email_id: str) -> list[LogEntry]:
        return LogRepository(lambda: self.aws.dynamodb, EMAIL_LOGS_TABLE).of_email(email_id)

    def content_exists(self, email_id: str) -> bool:
        listed = self.s3.list_objects_v2(Bucket=BUCKET, Prefix=f"content/{email_id}")
        return bool(listed.get("KeyCount"))


@pytest.fixture
def world(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> World:
    import boto3

    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.create_queue(QueueName="test-SendQueue")["QueueUrl"]
    for name, value in {
        "EMAILS_TABLE": EMAILS_TABLE,
        "EMAIL_LOGS_TABLE": EMAIL_LOGS_TABLE,
        "EMAILS_BUCKET": BUCKET,
        "SEND_QUEUE_URL": url,
        "SEND_STATE_TABLE": SEND_STATE_TABLE,
        "ALLOW_PRIVATE_ADDRESSES": "true",
        "CHECK_DEADLINE_SECONDS": "3",
    }.items():
        monkeypatch.setenv(name, value)
    wiring.reset()
    world = World(aws, sqs, s3, url)
    world.app = new_app()
    world.set_app(strategy="PRIORITY", timebetweenemails=0)
    return world


def attachment(name: str, data: bytes, content_type: str = "application/octet-stream") -> Attachment:
    return Attachment(name, content_type, data)
