"""URL attachments (`attachmenttype=URL`): fetched by the sender, through the SSRF guard, bounded.

Decisions (upstream accepts any URL and says nothing of bounds):
- https only. An http URL would carry the attachment in the clear, and let anyone on the path replace it;
  smtphub.emails.rules.url_problem says so when the e-mail is sent, so nothing is queued that cannot be
  fetched. A URL with a user name or password is refused too (it would sit in the e-mail's record).
- Every host is resolved once and judged by smtphub.netguard (public addresses only, unless the deployment
  allows private ones, as `make run` does), and the connection goes to the address that passed.
- Redirects: up to `MAX_REDIRECTS`, each to an https URL that goes through the guard again (a redirect to
  the metadata service or a private address is refused like the URL itself), within the same bounds.
  Downloads behind a redirect are common (release assets, share links, presigned URLs); more hops than that
  are a loop or an abuse.
- Bounds per e-mail, all its URL attachments together: `max_total` bytes (10 MiB: with base64 and the rest
  of the message, under the 25 MB most providers accept) and `seconds` (20 s: a sender's batch must end well
  within its Lambda timeout); each DNS lookup and connect within 5 s. A server that drips its answer is cut
  at the deadline.
- The name: the answer's Content-Disposition `filename*`/`filename`, else the last segment of the URL's path
  (percent-decoded), else "attachment"; only its last path component, without control characters, at most
  255 characters. The media type: the answer's Content-Type, else guessed from the name.
- A failure is `AttachmentProblem` (the sender logs it as `ATTACHMENT_PROBLEM`); its message shows the URL
  without its query or fragment, so a presigned URL's signature never reaches a log line.
"""

from __future__ import annotations

import mimetypes
import ssl
import time
import unicodedata
from collections.abc import Callable, Sequence
from email.message import Message
from posixpath import basename
from urllib.parse import unquote, urljoin, urlsplit

from smtphub import netguard
from smtphub.emails.content import Attachment
from smtphub.emails.rules import shown, url_problem
from smtphub.guardedhttps import Answer, Bounds, HttpProblem, Request, Resolve, request, size

RESULT_CODE = "ATTACHMENT_PROBLEM"
MAX_TOTAL = 10 * 1024 * 1024
SECONDS = 20.0
MAX_REDIRECTS = 3
MAX_NAME = 255
PEER = "attachment's server"
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_HEAD_ROOM = 64 * 1024  # status line and headers, beyond the body's bound


class AttachmentProblem(Exception):
    """A URL attachment that could not be fetched; `message` is safe to log and show."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UrlFetcher:
    """Fetches one e-mail's URL attachments within one budget. Safe to share between threads."""

    def __init__(
        self,
        *,
        allow_private: bool = False,
        max_total: int = MAX_TOTAL,
        seconds: float = SECONDS,
        tls_context: Callable[[], ssl.SSLContext] = ssl.create_default_context,
        resolve: Resolve = netguard.resolve,
    ) -> None:
        self.allow_private = allow_private
        self.max_total = max_total
        self.seconds = seconds
        self.tls_context = tls_context
        self.resolve = resolve
        self._context: ssl.SSLContext | None = None  # built once: loading the CAs costs milliseconds

    def fetch_all(self, urls: Sequence[str]) -> list[Attachment]:
        """Every URL's attachment, in order; AttachmentProblem for the first that cannot be had."""
        until = time.monotonic() + self.seconds
        fetched: list[Attachment] = []
        for url in urls:
            left = self.max_total - sum(len(attachment.data) for attachment in fetched)
            fetched.append(self.fetch(url, until=until, max_bytes=left))
        return fetched

    def fetch(self, url: str, *, until: float, max_bytes: int) -> Attachment:
        """One URL's attachment, following at most MAX_REDIRECTS redirects, by `until` (time.monotonic)."""
        problem = url_problem(url)
        if problem:
            raise AttachmentProblem(f"{shown(url)}: the attachment URL {problem}")
        current = url.strip()
        for _ in range(MAX_REDIRECTS + 1):
            answer = self._get(current, url, until, max_bytes)
            location = answer.headers.get("Location")
            if answer.status not in _REDIRECTS or not location:
                break
            current = urljoin(current, location.strip())
            if url_problem(current):
                raise AttachmentProblem(
                    f"{shown(url)}: redirected to a URL that is not https ({shown(current)})"
                )
        else:
            raise AttachmentProblem(f"{shown(url)}: more than {MAX_REDIRECTS} redirects")
        if not 200 <= answer.status < 300:
            raise AttachmentProblem(f"{shown(url)}: the {PEER} answered {answer.status}")
        encoding = (answer.headers.get("Content-Encoding") or "identity").strip().lower()
        if encoding != "identity":
            raise AttachmentProblem(f"{shown(url)}: the {PEER} sent it compressed ({encoding[:20]})")
        name = file_name(answer.headers.get("Content-Disposition"), url)
        return Attachment(name, content_type(answer.headers.get("Content-Type"), name), answer.body)

    def _get(self, url: str, asked: str, until: float, max_bytes: int) -> Answer:
        bounds = Bounds(
            until=until,
            out_of_time=f"The attachments took longer than {self.seconds:g} s",
            max_read=max_bytes + _HEAD_ROOM,
            max_body=max_bytes,
            reply=self.seconds,
        )
        get = Request(url, peer=PEER, headers={"Accept": "*/*", "Accept-Encoding": "identity"})
        try:
            return request(
                get,
                bounds=bounds,
                allow_private=self.allow_private,
                context=self._tls(),
                resolve=self.resolve,
            )
        except HttpProblem as error:
            if error.kind == "size":
                message = f"the URL attachments are larger than {size(self.max_total)} together"
                raise AttachmentProblem(f"{shown(asked)}: {message}") from None
            raise AttachmentProblem(f"{shown(asked)}: {error.message}") from None

    def _tls(self) -> ssl.SSLContext:
        if self._context is None:
            context = self.tls_context()
            context.minimum_version = max(context.minimum_version, ssl.TLSVersion.TLSv1_2)
            self._context = context
        return self._context


def file_name(disposition: str | None, url: str) -> str:
    """The attachment's name: Content-Disposition's, else the URL path's last segment, else "attachment"."""
    named = ""
    if disposition:
        header = Message()
        header["Content-Disposition"] = disposition
        named = header.get_filename() or ""
    if not named:
        named = unquote(basename(urlsplit(url).path), errors="replace")
    name = basename(named.replace("\\", "/"))
    name = "".join(c for c in name if unicodedata.category(c) not in ("Cc", "Cf", "Zl", "Zp", "Cs")).strip()
    return name[:MAX_NAME] or "attachment"


def content_type(declared: str | None, name: str) -> str:
    """The answer's media type (sending.mime keeps only a well-formed one), else one guessed from the name."""
    if declared and declared.strip():
        return declared.strip()
    guessed, _ = mimetypes.guess_type(name, strict=False)
    return guessed or "application/octet-stream"
