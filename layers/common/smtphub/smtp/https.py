"""One HTTPS POST of a form to a token endpoint, through smtphub.guardedhttps: resolved once through the
SSRF guard, connected to an address that passed, the certificate verified for the URL's host, every byte
under the check's deadline, the answer at most `MAX_BODY` (and `MAX_READ` with its head)."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from urllib.parse import urlencode

from smtphub.guardedhttps import Bounds, HttpProblem, Request, request
from smtphub.smtp.limits import Deadline, Limits

__all__ = ["MAX_BODY", "MAX_READ", "USER_AGENT", "HttpAnswer", "HttpProblem", "post_form"]

MAX_BODY = 64 * 1024  # a token answer is a few KiB
MAX_READ = 256 * 1024  # status line, headers and body together
USER_AGENT = "smtp-hub-check"


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    """A token endpoint's answer: its status and body (at most `MAX_BODY` bytes)."""

    status: int
    body: bytes


def post_form(
    url: str,
    form: dict[str, str],
    *,
    deadline: Deadline,
    limits: Limits,
    allow_private: bool,
    context: ssl.SSLContext,
) -> HttpAnswer:
    """POST `form` (form-urlencoded) to the https `url`; HttpProblem when no answer comes."""
    bounds = Bounds(
        until=deadline.end,
        out_of_time=f"The {deadline.name} ran out of time ({deadline.seconds:g} s)",
        dns=limits.dns,
        connect=limits.connect,
        reply=limits.reply,
        max_read=MAX_READ,
        max_body=MAX_BODY,
    )
    post = Request(
        url,
        peer="token endpoint",
        method="POST",
        headers={"Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded"},
        body=urlencode(form).encode("ascii"),
        user_agent=USER_AGENT,
    )
    answer = request(post, bounds=bounds, allow_private=allow_private, context=context)
    return HttpAnswer(answer.status, answer.body)
