"""E-mail addresses and host names, judged alike wherever they come in: a request's fields (smtphub.http) and
an e-mail's recipients (smtphub.emails, whose invalid addresses are upstream's 406s, not 400s).

Pragmatic, as the contract says: one @, a local part of at most 64 characters without spaces or the
specials that would need quoting, a domain that is a DNS name with a dot (internationalized domains in their
ASCII form, `xn--`). No quoted local parts, no IP literals: what an SMTP server of an app can be asked to
deliver to without surprises.
"""

from __future__ import annotations

import re

MAX_HOST = 253
MAX_EMAIL = 320
_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
_EMAIL = re.compile(r"[^@\s<>()\[\],;:\"]{1,64}@([^@\s]+)")


def is_dns_name(value: str) -> bool:
    name = value[:-1] if value.endswith(".") else value
    if not name or len(name) > MAX_HOST:
        return False
    labels = name.split(".")
    # An all-numeric last label would be an IPv4 literal in disguise (e.g. 127.1): not a DNS name.
    return all(_LABEL.fullmatch(label) for label in labels) and not labels[-1].isdigit()


def is_address(text: str) -> bool:
    """Whether `text` (already trimmed) is an e-mail address this service sends to or from."""
    if len(text) > MAX_EMAIL or not text.isprintable():
        return False
    match = _EMAIL.fullmatch(text)
    if match is None:
        return False
    return is_dns_name(match.group(1)) and "." in match.group(1).strip(".")


def domain_of(address: str) -> str:
    """The domain of an address `is_address` accepted, lower-cased, without a trailing dot."""
    return address.rpartition("@")[2].rstrip(".").lower()
