"""bench.wire's SQS and S3 (issue 24: emails/send puts the content and the id; the sender gets, deletes).

SQS speaks JSON (X-Amz-Target `AmazonSQS.<Operation>`), answered as DynamoDB is. S3 speaks REST-XML: the
request's method, bucket and key (virtual-hosted or path style) choose the operation, the answer is the
XML or bytes S3 sends. Sends are kept (messages per queue URL, objects per bucket and key) so a test can
look; nothing is received back from the queue here (the sender's batch is handed over as Lambda's event).
Standard library only.
"""

from __future__ import annotations

import hashlib
import html
import itertools
import re
from collections import Counter
from typing import Any
from urllib.parse import unquote, urlsplit

_KEY = re.compile(rb"<Key>(.*?)</Key>", re.DOTALL)


def _md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


class FakeSQS:
    """The queue operations smtphub uses, each message kept by queue URL."""

    def __init__(self) -> None:
        self.messages: dict[str, list[str]] = {}
        self.calls: Counter[str] = Counter()
        self._ids = itertools.count(1)

    def _sent(self, url: str, body: str) -> dict[str, str]:
        self.messages.setdefault(url, []).append(body)
        return {
            "MessageId": f"00000000-0000-4000-9000-{next(self._ids):012d}",
            "MD5OfMessageBody": _md5(body.encode()),
        }

    def send_message(self, *, QueueUrl: str, MessageBody: str, **_: Any) -> dict[str, Any]:
        self.calls["SendMessage"] += 1
        return self._sent(QueueUrl, MessageBody)

    def send_message_batch(self, *, QueueUrl: str, Entries: list[dict[str, Any]], **_: Any) -> dict[str, Any]:
        self.calls["SendMessageBatch"] += 1
        done = [{"Id": e["Id"], **self._sent(QueueUrl, e["MessageBody"])} for e in Entries]
        return {"Successful": done, "Failed": []}

    def delete_message(self, **_: Any) -> dict[str, Any]:
        self.calls["DeleteMessage"] += 1
        return {}

    def delete_message_batch(self, *, Entries: list[dict[str, Any]], **_: Any) -> dict[str, Any]:
        self.calls["DeleteMessageBatch"] += 1
        return {"Successful": [{"Id": e["Id"]} for e in Entries], "Failed": []}

    def change_message_visibility(self, **_: Any) -> dict[str, Any]:
        self.calls["ChangeMessageVisibility"] += 1
        return {}


def _unchunked(body: bytes) -> bytes:
    """An aws-chunked body (botocore's trailing checksum) as its data."""
    data, rest = b"", body
    while rest:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        data, rest = data + rest[:size], rest[size + 2 :]
    return data


class FakeS3:
    """PutObject, GetObject, DeleteObject and DeleteObjects, on bytes kept by (bucket, key)."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], bytes] = {}
        self.calls: Counter[str] = Counter()

    @staticmethod
    def location(url: str) -> tuple[str, str, str]:
        """(bucket, key, query) of a request URL, virtual-hosted or path style."""
        parts = urlsplit(url)
        host, path = parts.hostname or "", unquote(parts.path)
        if ".s3" in host and not host.startswith("s3"):
            return host.split(".s3", 1)[0], path.lstrip("/"), parts.query
        bucket, _, key = path.lstrip("/").partition("/")
        return bucket, key, parts.query

    def answer(self, method: str, url: str, headers: Any, body: bytes) -> tuple[int, dict[str, str], bytes]:
        bucket, key, query = self.location(url)
        if "aws-chunked" in str(headers.get("Content-Encoding") or ""):
            body = _unchunked(body)
        if method == "PUT":
            self.calls["PutObject"] += 1
            self.objects[bucket, key] = body
            return 200, {"ETag": f'"{_md5(body)}"'}, b""
        if method == "GET":
            self.calls["GetObject"] += 1
            found = self.objects.get((bucket, key))
            if found is None:
                error = b"<Error><Code>NoSuchKey</Code><Message>No such key.</Message></Error>"
                return 404, {"Content-Type": "application/xml"}, error
            return 200, {"ETag": f'"{_md5(found)}"', "Content-Type": "binary/octet-stream"}, found
        if method == "DELETE":
            self.calls["DeleteObject"] += 1
            self.objects.pop((bucket, key), None)
            return 204, {}, b""
        if method == "POST" and "delete" in query:
            self.calls["DeleteObjects"] += 1
            keys = [html.unescape(k.decode()) for k in _KEY.findall(body)]
            for name in keys:
                self.objects.pop((bucket, name), None)
            deleted = "".join(f"<Deleted><Key>{html.escape(name)}</Key></Deleted>" for name in keys)
            return (
                200,
                {"Content-Type": "application/xml"},
                f"<DeleteResult>{deleted}</DeleteResult>".encode(),
            )
        error = (
            f"<Error><Code>NotImplemented</Code><Message>{method} {query} is not modelled</Message></Error>"
        )
        return 501, {"Content-Type": "application/xml"}, error.encode()
