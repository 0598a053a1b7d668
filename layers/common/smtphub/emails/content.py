"""What an e-mail says (subject, body, attachments), kept in S3 as one object per e-mail.

The object `content/<idemail>` is a bundle the sender reads with one GetObject: a header line of JSON,

    {"v": 1, "subject": "...", "body": "...", "attachments": [{"name": ..., "contenttype": ..., "length": N}]}

then a newline, then the attachments' bytes, one after the other, in the header's order. JSON escapes every
newline inside its strings, so the first b"\\n" ends the header whatever the text holds. `decode` trusts
nothing: a header that is not that JSON, or whose lengths do not add up to exactly the bytes that follow, is
`CorruptContent`, never a short or overlong attachment.

None of this is in DynamoDB: the e-mail's record holds only the key (smtphub.emails' EmailsTable), so a
subject or a body is never in a table, a stream record or a log line.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from smtphub.aws import LazyClient, error_code
from smtphub.errors import InvalidInput

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

FORMAT = 1
PREFIX = "content/"
# The largest bundle `decode` and `get` accept: API Gateway's 10 MB request (bodies, files) with room for
# the JSON escaping of a body. A bigger object is not one this service wrote.
MAX_BUNDLE = 32 * 1024 * 1024
DELETE_BATCH = 1000  # DeleteObjects' limit


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file of an e-mail: its name as the recipient sees it, its media type, its bytes."""

    name: str
    content_type: str
    data: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class Content:
    """What an e-mail says: everything that is kept out of DynamoDB and out of the logs."""

    subject: str
    body: str
    attachments: tuple[Attachment, ...] = ()

    @property
    def size(self) -> int:
        return sum(len(attachment.data) for attachment in self.attachments)


class ContentError(Exception):
    """The e-mail's content cannot be had; `message` never quotes any of it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ContentMissing(ContentError):
    """No object under the key (deleted, or never written)."""


class CorruptContent(ContentError):
    """An object that is not a bundle this module wrote."""


def key(email_id: str) -> str:
    return PREFIX + email_id


def encode(content: Content) -> bytes:
    """The bundle of `content`. InvalidInput (naming the field) for text that is not valid Unicode (a lone
    surrogate, which no charset can send)."""
    header = {
        "v": FORMAT,
        "subject": content.subject,
        "body": content.body,
        "attachments": [
            {"name": item.name, "contenttype": item.content_type, "length": len(item.data)}
            for item in content.attachments
        ],
    }
    try:
        line = json.dumps(header, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput(_invalid_text(content)) from None
    return b"".join([line, b"\n", *(item.data for item in content.attachments)])


def _invalid_text(content: Content) -> dict[str, str]:
    texts = {"subject": [content.subject], "body": [content.body]}
    texts["attachments"] = [part for item in content.attachments for part in (item.name, item.content_type)]
    return {name: "is not valid text" for name, values in texts.items() if not all(map(_valid, values))}


def _valid(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def decode(bundle: bytes, max_size: int = MAX_BUNDLE) -> Content:
    """The content a bundle holds; CorruptContent for anything `encode` did not write."""
    if len(bundle) > max_size:
        raise CorruptContent(f"The content is larger than {max_size} bytes")
    end = bundle.find(b"\n")
    if end < 0:
        raise CorruptContent("The content has no header line")
    try:
        header = json.loads(bundle[:end].decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise CorruptContent("The content's header is not JSON") from None
    if not isinstance(header, dict) or header.get("v") != FORMAT:
        raise CorruptContent("The content's header is not a version 1 header")
    subject, body, files = header.get("subject"), header.get("body"), header.get("attachments")
    if not (isinstance(subject, str) and isinstance(body, str) and isinstance(files, list)):
        raise CorruptContent("The content's header lacks its subject, body or attachments")
    rest = memoryview(bundle)[end + 1 :]
    attachments = tuple(_attachments(files, rest))
    return Content(subject, body, attachments)


def _attachments(files: list[Any], rest: memoryview) -> Iterator[Attachment]:
    lengths = [_length(item) for item in files]
    if sum(lengths) != len(rest):
        raise CorruptContent(f"The content's header announces {sum(lengths)} bytes of files, not {len(rest)}")
    start = 0
    for item, length in zip(files, lengths, strict=True):
        yield Attachment(item["name"], item["contenttype"], bytes(rest[start : start + length]))
        start += length


def _length(item: Any) -> int:
    if not (
        isinstance(item, dict)
        and isinstance(item.get("name"), str)
        and isinstance(item.get("contenttype"), str)
        and type(item.get("length")) is int
        and item["length"] >= 0
    ):
        raise CorruptContent("An attachment of the content's header lacks its name, type or length")
    return int(item["length"])


class ContentStore(LazyClient["S3Client"]):
    """The bundles in the e-mails' bucket. The S3 client is built on first use (`client`: a builder)."""

    def __init__(self, client: Callable[[], S3Client], bucket: str, max_size: int = MAX_BUNDLE) -> None:
        super().__init__(client)
        self.bucket = bucket
        self.max_size = max_size

    def put(self, email_id: str, content: Content) -> str:
        """Store the e-mail's content; its key (for the record's `contentkey`)."""
        name = key(email_id)
        self.client.put_object(
            Bucket=self.bucket, Key=name, Body=encode(content), ContentType="application/octet-stream"
        )
        return name

    def get(self, name: str) -> Content:
        """The content under `name`: ContentMissing when there is none, CorruptContent if not a bundle."""
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=name)
        except ClientError as error:
            if error_code(error) in ("NoSuchKey", "404"):
                raise ContentMissing("The e-mail's content is gone") from None
            raise
        with answer["Body"] as body:
            if int(answer.get("ContentLength", 0)) > self.max_size:
                raise CorruptContent(f"The content is larger than {self.max_size} bytes")
            return decode(body.read(), self.max_size)

    def delete(self, names: Iterable[str]) -> list[str]:
        """Delete these objects (DeleteObjects, up to 1,000 a call; a missing one counts as deleted). The
        keys S3 could not delete, for the caller to try again; an empty list when all went."""
        pending = list(dict.fromkeys(names))
        failed: list[str] = []
        for start in range(0, len(pending), DELETE_BATCH):
            chunk = pending[start : start + DELETE_BATCH]
            answer = self.client.delete_objects(
                Bucket=self.bucket, Delete={"Objects": [{"Key": name} for name in chunk], "Quiet": True}
            )
            failed.extend(str(error["Key"]) for error in answer.get("Errors", []))
        return failed
