"""smtphub.sending.attachments against an HTTPS file server on 127.0.0.1 (tests/support/file_server.py).

`files.example` stands for a public host: the resolver handed to the fetcher maps it to 127.0.0.1 as an
allowed address and asks the real guard (smtphub.netguard) about every other host, so the guard's refusals
are the real ones (127.0.0.1 itself is loopback, refused unless private addresses are allowed)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
import trustme

from smtphub import netguard
from smtphub.emails.content import Attachment
from smtphub.emails.rules import shown, url_problem
from smtphub.sending.attachments import AttachmentProblem, UrlFetcher, file_name
from tests.support.file_server import FileServer, Route, running_file_server

pytestmark = pytest.mark.usefixtures("trust_test_ca")
PDF = b"%PDF-1.7\n" + bytes(range(256)) * 40


def resolve(host: str, port: int, *, allow_private: bool, timeout: float) -> list[netguard.Address]:
    if host == "files.example":
        return [netguard.Address(socket.AF_INET, ("127.0.0.1", port))]
    return netguard.resolve(host, port, allow_private=allow_private, timeout=timeout)


@pytest.fixture
def files(ca: trustme.CA) -> Iterator[FileServer]:
    with running_file_server(ca) as server:
        server.routes.update(
            {
                "/report.pdf": Route(body=PDF, headers={"Content-Type": "application/pdf"}),
                "/download": Route(
                    body=b"hello",
                    headers={
                        "Content-Type": "text/plain; charset=utf-8",
                        "Content-Disposition": "attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.txt",
                    },
                ),
            }
        )
        yield server


def fetcher(**options: Any) -> UrlFetcher:
    return UrlFetcher(resolve=resolve, **options)


def test_a_url_is_fetched_with_its_name_and_type(files: FileServer) -> None:
    (attachment,) = fetcher().fetch_all([files.url("/report.pdf?X-Amz-Signature=secret")])

    assert attachment == Attachment("report.pdf", "application/pdf", PDF)
    path, headers = files.requests[0]
    assert path == "/report.pdf?X-Amz-Signature=secret"
    assert headers["Host"] == f"files.example:{files.port}"
    assert headers["Accept-Encoding"] == "identity"


def test_content_disposition_names_the_file(files: FileServer) -> None:
    (attachment,) = fetcher().fetch_all([files.url("/download")])

    assert attachment == Attachment("r\u00e9sum\u00e9.txt", "text/plain; charset=utf-8", b"hello")


def test_several_urls_come_in_order(files: FileServer) -> None:
    attachments = fetcher().fetch_all([files.url("/download"), files.url("/report.pdf")])

    assert [a.name for a in attachments] == ["r\u00e9sum\u00e9.txt", "report.pdf"]


def test_a_redirect_is_followed_through_the_guard(files: FileServer) -> None:
    files.routes["/share/abc"] = Route(302, headers={"Location": "/report.pdf"})
    files.routes["/moved"] = Route(301, headers={"Location": files.url("/share/abc")})

    (attachment,) = fetcher().fetch_all([files.url("/moved")])

    assert attachment.data == PDF
    assert attachment.name == "moved"  # the name of the URL asked for, the answer giving none
    assert [path for path, _ in files.requests] == ["/moved", "/share/abc", "/report.pdf"]


def problem(urls: list[str], **options: Any) -> str:
    with pytest.raises(AttachmentProblem) as failed:
        fetcher(**options).fetch_all(urls)
    return failed.value.message


def test_a_redirect_to_a_private_address_is_refused(files: FileServer) -> None:
    files.routes["/evil"] = Route(302, headers={"Location": files.url("/report.pdf", host="127.0.0.1")})

    message = problem([files.url("/evil")])

    assert "not publicly routable (loopback)" in message
    assert [path for path, _ in files.requests] == ["/evil"]


def test_a_redirect_to_http_or_in_a_loop_is_refused(files: FileServer) -> None:
    files.routes["/down"] = Route(302, headers={"Location": f"http://files.example:{files.port}/report.pdf"})
    files.routes["/loop"] = Route(302, headers={"Location": "/loop"})

    assert "redirected to a URL that is not https" in problem([files.url("/down")])
    assert problem([files.url("/loop")]).endswith("more than 3 redirects")
    assert len(files.requests) == 1 + 4


def test_a_private_address_is_refused_unless_allowed(files: FileServer) -> None:
    url = files.url("/report.pdf", host="127.0.0.1")

    assert "127.0.0.1 resolves to an address that is not publicly routable (loopback)" in problem([url])
    assert files.requests == []
    assert fetcher(allow_private=True).fetch_all([url])[0].data == PDF


def test_too_large_is_refused_with_or_without_a_length(files: FileServer) -> None:
    files.routes["/chunked.pdf"] = Route(body=PDF, chunked=True)

    assert problem([files.url("/report.pdf")], max_total=1000).endswith(
        "the URL attachments are larger than 1000 bytes together"
    )
    assert "larger than" in problem([files.url("/chunked.pdf")], max_total=1000)
    # The bound is for all of an e-mail's URL attachments together.
    assert "larger than" in problem([files.url("/report.pdf")] * 2, max_total=len(PDF) + 10)
    assert len(fetcher(max_total=2 * len(PDF)).fetch_all([files.url("/report.pdf")] * 2)) == 2
    files.routes["/huge.bin"] = Route(body=b"x" * (10 * 1024 * 1024 + 1))
    assert problem([files.url("/huge.bin")]).endswith("the URL attachments are larger than 10 MiB together")


def test_too_slow_is_cut_at_the_bound(files: FileServer) -> None:
    files.routes["/slow.pdf"] = Route(body=PDF, drip=0.05)
    started = time.monotonic()

    message = problem([files.url("/slow.pdf")], seconds=0.5)

    assert "did not answer in time" in message
    assert time.monotonic() - started < 2.0


def test_an_answer_that_is_not_a_file_is_a_problem(files: FileServer) -> None:
    files.routes["/gone"] = Route(404, b"Not Found")
    files.routes["/packed"] = Route(body=b"\x1f\x8b", headers={"Content-Encoding": "gzip"})

    assert problem([files.url("/gone")]).endswith("the attachment's server answered 404")
    assert "compressed (gzip)" in problem([files.url("/packed")])


def test_an_untrusted_certificate_is_refused(files: FileServer, ca: trustme.CA) -> None:
    with running_file_server(trustme.CA()) as stranger:
        stranger.routes["/report.pdf"] = Route(body=PDF)
        message = problem([stranger.url("/report.pdf")])

    assert "certificate is not valid for files.example" in message
    assert stranger.requests == []


def test_a_problem_never_shows_the_query(files: FileServer) -> None:
    message = problem([files.url("/gone?X-Amz-Signature=s3cr3t&token=abc#frag")])

    assert message.startswith(f"https://files.example:{files.port}/gone: ")
    assert "s3cr3t" not in message
    assert "abc" not in message


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://files.example/a.pdf", None),
        ("HTTPS://files.example:8443/a.pdf?x=1", None),
        ("http://files.example/a.pdf", "must be an https URL"),
        ("ftp://files.example/a.pdf", "must be an https URL"),
        ("https:///a.pdf", "must be an https URL"),
        ("https://files.example:99999/a.pdf", "must be an https URL"),
        ("https://user:pw@files.example/a.pdf", "must not hold a user name or password"),
        ("https://files.example/" + "a" * 2048, "must be at most 2048 characters"),
    ],
)
def test_url_problem_says_what_is_wrong_before_anything_is_queued(url: str, expected: str | None) -> None:
    assert url_problem(url) == expected


def test_an_url_that_is_not_https_is_refused_without_a_request(files: FileServer) -> None:
    assert problem([f"http://files.example:{files.port}/report.pdf"]).endswith("must be an https URL")
    assert files.requests == []


@pytest.mark.parametrize(
    ("disposition", "url", "name"),
    [
        (None, "https://h/docs/Q3%20report.pdf", "Q3 report.pdf"),
        ('attachment; filename="a.txt"', "https://h/x", "a.txt"),
        ('attachment; filename="../../etc/passwd"', "https://h/x", "passwd"),
        ('attachment; filename="C:\\\\temp\\\\b.txt"', "https://h/x", "b.txt"),
        ('attachment; filename="a\u0007b.txt"', "https://h/x", "ab.txt"),
        (None, "https://h/", "attachment"),
        (None, "https://h/%0d%0a", "attachment"),
    ],
)
def test_the_name_is_a_plain_file_name(disposition: str | None, url: str, name: str) -> None:
    assert file_name(disposition, url) == name


def test_shown_drops_user_info_query_and_fragment() -> None:
    assert shown("https://u:p@files.example:8443/a/b.pdf?sig=1#x") == "https://files.example:8443/a/b.pdf"
    assert shown("https://[::1:bad/") == "(a URL that is not one)"


def test_the_tls_context_is_built_once(files: FileServer) -> None:
    built: list[int] = []

    def context() -> Any:
        import ssl

        built.append(1)
        return ssl.create_default_context()

    def fetch() -> list[Attachment]:
        return UrlFetcher(resolve=resolve, tls_context=context).fetch_all([files.url("/report.pdf")])

    shared = UrlFetcher(resolve=resolve, tls_context=context)
    shared.fetch_all([files.url("/report.pdf")])
    shared.fetch_all([files.url("/download")])
    assert built == [1]
    fetch()
    assert built == [1, 1]
