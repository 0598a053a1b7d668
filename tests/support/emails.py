"""E-mails as the suites drive them: moto's tables, bucket and send queue under the template's names, an app
with an active server, the handlers called as API Gateway would (a form, or the multipart body a client
builds), and what the table, the bucket and the queue hold afterwards."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from smtphub.emails import content
from tests.support.api import new_app, ok
from tests.support.aws import (
    EMAIL_LOGS_TABLE,
    EMAILS_TABLE,
    IDEMPOTENCY_TABLE,
    SEND_STATE_TABLE,
    Aws,
)
from tests.support.lambdas import ACCOUNT_A, Reply, call, load_event

BUCKET = "test-emails-bucket"
QUEUE = "test-send"
TO = "ana@example.net"


@dataclass
class Mail:
    """moto's e-mail resources, and the app (with one active server) the suites send through."""

    aws: Aws
    s3: Any
    sqs: Any
    queue_url: str
    app: str
    smtp: str

    def messages(self) -> list[dict[str, Any]]:
        """Every message on the send queue, delays ignored (each read once: they are deleted)."""
        found: list[dict[str, Any]] = []
        while True:
            answer = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, AttributeNames=["All"], WaitTimeSeconds=0
            )
            batch = answer.get("Messages", [])
            if not batch:
                return found
            for message in batch:
                found.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])

    def record(self, email_id: str) -> dict[str, Any] | None:
        item: dict[str, Any] | None = self.aws.dynamodb.get_item(
            TableName=EMAILS_TABLE, Key={"_id": {"S": email_id}}, ConsistentRead=True
        ).get("Item")
        return item

    def records(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.aws.dynamodb.scan(TableName=EMAILS_TABLE, ConsistentRead=True)[
            "Items"
        ]
        return found

    def objects(self) -> list[str]:
        return [item["Key"] for item in self.s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]

    def content(self, email_id: str) -> content.Content:
        body = self.s3.get_object(Bucket=BUCKET, Key=content.key(email_id))["Body"].read()
        return content.decode(body)


def mail_environment(monkeypatch: pytest.MonkeyPatch, queue_url: str) -> None:
    for name, value in {
        "EMAILS_TABLE": EMAILS_TABLE,
        "EMAIL_LOGS_TABLE": EMAIL_LOGS_TABLE,
        "EMAILS_BUCKET": BUCKET,
        "SEND_QUEUE_URL": queue_url,
        "SEND_STATE_TABLE": SEND_STATE_TABLE,
        "IDEMPOTENCY_TABLE": IDEMPOTENCY_TABLE,
        "DNS_CHECKS": "false",
    }.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def mail(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> Mail:
    return make_mail(aws, monkeypatch)


def make_mail(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> Mail:
    """The `mail` fixture's world, for a test that has its own fixtures (moto's `aws` running)."""
    import boto3

    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    sqs = boto3.client("sqs", region_name="us-east-1")
    queue_url = sqs.create_queue(QueueName=QUEUE)["QueueUrl"]
    mail_environment(monkeypatch, queue_url)
    app = new_app()
    smtp = ok(call("smtps_save", {"idapp": app, "host": "smtp.example.net", "port": 587}))["_id"]
    return Mail(aws, s3, sqs, queue_url, app, smtp)


def send(params: dict[str, Any], account: str = ACCOUNT_A, **options: Any) -> Reply:
    return call("emails_send", params, account=account, **options)


# --- multipart bodies, as clients build them -----------------------------------------------------------


@dataclass(frozen=True)
class FileField:
    name: str  # the field's
    filename: str
    data: bytes
    content_type: str = "application/octet-stream"


def multipart_body(
    fields: Sequence[tuple[str, str]],
    files: Sequence[FileField] = (),
    *,
    charset: str = "UTF-8",
    boundary: str | None = None,
) -> tuple[bytes, str]:
    """A multipart/form-data body (each text part in `charset`, declared on it) and its Content-Type."""
    boundary = boundary or uuid.uuid4().hex
    chunks: list[bytes] = []
    for name, value in fields:
        chunks.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n'
            f"Content-Type: text/plain; charset={charset}\r\n\r\n".encode("ascii")
            + value.encode(charset)
            + b"\r\n"
        )
    for item in files:
        disposition = f'form-data; name="{item.name}"; filename="{item.filename}"'
        head = (
            f"--{boundary}\r\nContent-Disposition: {disposition}\r\nContent-Type: {item.content_type}\r\n\r\n"
        )
        chunks.append(head.encode("utf-8") + item.data + b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode("ascii"))
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


def multipart_event(body: bytes, content_type: str, function: str = "emails_send") -> dict[str, Any]:
    """The event API Gateway gives the function for a multipart body (a binary media type: base64)."""
    import base64

    event = load_event(function)
    event["body"] = base64.b64encode(body).decode("ascii")
    event["isBase64Encoded"] = True
    event["headers"]["Content-Type"] = content_type
    event["multiValueHeaders"]["Content-Type"] = [content_type]
    event["queryStringParameters"] = event["multiValueQueryStringParameters"] = None
    return event


def send_multipart(
    fields: Sequence[tuple[str, str]],
    files: Sequence[FileField] = (),
    *,
    charset: str = "UTF-8",
    **options: Any,
) -> Reply:
    body, content_type = multipart_body(fields, files, charset=charset)
    return call("emails_send", event=multipart_event(body, content_type), **options)


def basic(mail: Mail, **changes: Any) -> dict[str, Any]:
    """A valid send of the app: one recipient, a subject and a body."""
    params: dict[str, Any] = {"idapp": mail.app, "tos": TO, "subject": "Your order", "body": "Thank you."}
    return {k: v for k, v in {**params, **changes}.items() if v is not None}
