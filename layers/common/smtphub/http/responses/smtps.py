"""The JSON of an SMTP server: never a password or another write-only value, nor anything internal."""

from typing import TYPE_CHECKING, Annotated

from annotated_types import Ge, Le
from typing_extensions import TypedDict

from smtphub.http import authfields, fields
from smtphub.http.responses import Id, OneOf, Timestamp
from smtphub.http.responses.checks import LastCheckJson, lastcheck_json

if TYPE_CHECKING:
    from smtphub.smtps.models import Smtp


class SmtpJson(TypedDict):
    """An SMTP server. Its password is write-only and never part of it."""

    _id: Id
    idapp: Id
    """The app it belongs to."""
    host: str
    port: fields.Port
    created: Timestamp
    modified: Timestamp
    priority: fields.Priority
    """Lower is tried first."""
    username: str | None
    auth: bool
    starttls: bool
    sslTls: bool
    """Implicit TLS (the parameter `ssltls`)."""
    debug: bool
    insecureauth: bool
    """Whether `check` may send the credentials over a connection that is not encrypted."""
    defaultfromemail: str | None
    defaultfromname: str | None
    numerrors: Annotated[int, Ge(0)]
    """Failed checks since the last success."""
    status: Annotated[str, OneOf("smtphub.smtps.models", "STATUS_ACTIVE", "STATUS_DISABLED")]
    """`A` active, `D` disabled (by a failed check)."""
    lastcheck: LastCheckJson | None
    """The last check's outcome; null until the first check."""
    authmech: authfields.AuthMech
    """How `check` authenticates."""
    oauthprovider: authfields.OAuthProvider | None
    """XOAUTH2's token source."""
    oauthtenant: str | None
    """microsoft: the tenant's id or domain."""
    oauthclientid: str | None
    """XOAUTH2: the OAuth client id."""
    oauthtokenurl: str | None
    """generic: the token endpoint (https)."""
    tlsverify: bool
    """Whether the certificate is verified."""
    cacert: str | None
    """PEM certificates trusted for this server instead of the public CAs."""
    tlsmin: authfields.TlsMin
    helo: str | None
    """The EHLO name (null: the sender's domain)."""
    hasoauthclientsecret: bool
    """Whether a `oauthclientsecret` is stored (write-only)."""
    hasoauthrefreshtoken: bool
    """Whether a `oauthrefreshtoken` is stored (write-only)."""
    hasoauthserviceaccount: bool
    """Whether a `oauthserviceaccount` is stored (write-only)."""
    maxperminute: Annotated[int, Ge(1), Le(1_000_000)] | None
    """At most this many messages through the server per minute (null: no limit)."""
    maxperday: Annotated[int, Ge(1), Le(1_000_000)] | None
    """At most this many messages through the server per UTC day (null: no limit)."""


def smtp_json(smtp: "Smtp") -> SmtpJson:
    """An SMTP server as the contract shows it. `has<name>` says which of XOAUTH2's write-only values are
    set; the password has none, as before them: a server with `auth` has one (save requires it), and the
    JSON never holds the word."""
    stored = smtp.secret_versions
    return {
        "_id": smtp.id,
        "idapp": smtp.app_id,
        "host": smtp.host,
        "port": smtp.port,
        "created": smtp.created,
        "modified": smtp.modified,
        "priority": smtp.priority,
        "username": smtp.username,
        "auth": smtp.auth,
        "starttls": smtp.starttls,
        "sslTls": smtp.ssltls,
        "debug": smtp.debug,
        "insecureauth": smtp.insecureauth,
        "defaultfromemail": smtp.defaultfromemail,
        "defaultfromname": smtp.defaultfromname,
        "numerrors": smtp.numerrors,
        "status": smtp.status,
        "lastcheck": None if smtp.lastcheck is None else lastcheck_json(smtp.lastcheck),
        "authmech": smtp.authmech,
        "oauthprovider": smtp.oauthprovider,
        "oauthtenant": smtp.oauthtenant,
        "oauthclientid": smtp.oauthclientid,
        "oauthtokenurl": smtp.oauthtokenurl,
        "tlsverify": smtp.tlsverify,
        "cacert": smtp.cacert,
        "tlsmin": smtp.tlsmin,
        "helo": smtp.helo,
        "hasoauthclientsecret": "oauthclientsecret" in stored,
        "hasoauthrefreshtoken": "oauthrefreshtoken" in stored,
        "hasoauthserviceaccount": "oauthserviceaccount" in stored,
        "maxperminute": smtp.maxperminute,
        "maxperday": smtp.maxperday,
    }


def smtps_json(smtps: "list[Smtp]") -> list[SmtpJson]:
    return [smtp_json(smtp) for smtp in smtps]
