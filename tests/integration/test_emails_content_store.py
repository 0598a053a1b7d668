"""smtphub.emails.content.ContentStore against moto's S3: one object per e-mail under content/<idemail>,
read back whole, refused when missing, oversized or not a bundle, deleted many at a time."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from smtphub import aws
from smtphub.emails import content
from smtphub.emails.content import (
    Attachment,
    Content,
    ContentMissing,
    ContentStore,
    CorruptContent,
    encode,
)

BUCKET = "test-emails-bucket"
CONTENT = Content(
    "Caf\u00e9 report",
    "Hello\n",
    (
        Attachment("r\u00e9sum\u00e9.pdf", "application/pdf", b"%PDF-1.7\x00\xff"),
        Attachment("b.txt", "text/plain", b""),
    ),
)


@pytest.fixture
def s3() -> Iterator[Any]:
    from moto import mock_aws

    with mock_aws():
        client = aws.client("s3")
        client.create_bucket(Bucket=BUCKET)
        yield client


@pytest.fixture
def store(s3: Any) -> ContentStore:
    return ContentStore(lambda: aws.client("s3"), BUCKET)


def keys(s3: Any) -> list[str]:
    return [item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]


def test_content_is_stored_under_its_emails_key_and_read_back_whole(store: ContentStore, s3: Any) -> None:
    key = store.put("65a1b2c3d4e5f60718293a4b", CONTENT)

    assert key == "content/65a1b2c3d4e5f60718293a4b"
    assert keys(s3) == [key]
    assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == encode(CONTENT)
    assert store.get(key) == CONTENT


def test_the_client_is_built_on_first_use_only() -> None:
    built: list[str] = []
    store = ContentStore(lambda: built.append("s3") or None, BUCKET)

    assert built == []
    assert store.client is None
    assert built == ["s3"]


def test_a_missing_object_is_content_missing(store: ContentStore) -> None:
    with pytest.raises(ContentMissing):
        store.get("content/65a1b2c3d4e5f60718293a4b")


def test_an_object_that_is_not_a_bundle_or_too_large_is_corrupt(store: ContentStore, s3: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key="content/a", Body=b"not a bundle\n")
    s3.put_object(Bucket=BUCKET, Key="content/b", Body=encode(CONTENT))
    small = ContentStore(lambda: s3, BUCKET, max_size=10)

    with pytest.raises(CorruptContent):
        store.get("content/a")
    with pytest.raises(CorruptContent, match="larger than 10 bytes"):
        small.get("content/b")


def test_many_are_deleted_a_batch_a_call_missing_ones_included(
    store: ContentStore, s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert content.DELETE_BATCH == 1000  # DeleteObjects' limit; 4 here, so that few objects make batches
    monkeypatch.setattr(content, "DELETE_BATCH", 4)
    names = [store.put(f"{number:024x}", CONTENT) for number in range(9)]
    calls: list[int] = []
    s3.meta.events.register(
        "before-call.s3.DeleteObjects", lambda params, **_: calls.append(params["body"].count(b"<Key>"))
    )

    assert store.delete([*names, "content/never-written", names[0]]) == []
    assert keys(s3) == []
    assert calls == [4, 4, 2]


def test_the_keys_s3_could_not_delete_are_returned() -> None:
    class Refusing:
        def delete_objects(self, **request: Any) -> dict[str, Any]:
            objects = request["Delete"]["Objects"]
            return {
                "Errors": [{"Key": objects[0]["Key"], "Code": "AccessDenied", "Message": "Access Denied"}]
            }

    store = ContentStore(Refusing, BUCKET)

    assert store.delete(["content/a", "content/b"]) == ["content/a"]
    assert store.delete([]) == []
