"""QueueMail's Java client (queuemail/docs-and-examples, `queuemail-client`) as bytes on the wire, and the
shapes its DTOs need in the answers.

The client posts with Apache HttpClient 4.5's fluent API: `Request.Post(url).bodyForm(Form.form().add(...)
.build())`. That makes a `UrlEncodedFormEntity` in ISO-8859-1, so every POST carries
`Content-Type: application/x-www-form-urlencoded; charset=ISO-8859-1` and a body written by
`URLEncodedUtils.format`: names and values percent-encoded in ISO-8859-1 (a character the charset cannot
hold becomes `?`, i.e. `%3F`), a space as `+`, only `a-z A-Z 0-9 _ - . *` as they are, upper-case hex; a
parameter added with a null value is its bare name, without `=`. The request's own headers come first
(`Authorization`), then the ones HttpClient's interceptors add, in their order: Content-Length,
Content-Type, Host, Connection, User-Agent, Accept-Encoding.

Nothing here is the client's code: the rules above are re-stated from HttpClient's documented behaviour,
and the requests from what `BasicService.java` sends.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

FORM_CHARSET = "ISO-8859-1"
FORM_CONTENT_TYPE = f"application/x-www-form-urlencoded; charset={FORM_CHARSET}"
USER_AGENT = "Apache-HttpClient/4.5.14 (Java/17.0.15)"
_UNRESERVED = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.*")

Pairs = Sequence[tuple[str, str | None]]


def encode_form_field(text: str, charset: str = FORM_CHARSET) -> str:
    """One name or value as URLEncodedUtils.encodeFormFields writes it."""
    out: list[str] = []
    for character in text:
        if character in _UNRESERVED:
            out.append(character)
        elif character == " ":
            out.append("+")
        else:
            # Java's encoder replaces an unmappable character with the charset's replacement, "?".
            raw = character.encode(charset, errors="replace")
            out.extend(f"%{byte:02X}" for byte in raw)
    return "".join(out)


def form_body(pairs: Pairs, charset: str = FORM_CHARSET) -> bytes:
    """URLEncodedUtils.format(pairs, '&', charset): a null value is the bare name."""
    fields = []
    for name, value in pairs:
        encoded = encode_form_field(name, charset)
        if value is not None:
            encoded += "=" + encode_form_field(value, charset)
        fields.append(encoded)
    return "&".join(fields).encode("ascii")


def java_string(value: object) -> str | None:
    """`""+value` for the client's boxed parameters (`retaindata==null?null:(""+retaindata)`)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# --- the requests BasicService makes ------------------------------------------------------------------
# Each form lists its parameters in the order the client adds them (keyword-only arguments here).


def login_form(username: str, password: str) -> Pairs:
    return [("username", username), ("password", password)]


def create_app_form(
    name: str | None,
    *,
    retaindata: bool | None = None,
    strategy: str | None = None,
    originserver: str | None = None,
    origindomain: str | None = None,
    defaultfromemail: str | None = None,
    defaultfromname: str | None = None,
    testemail: str | None = None,
    timebetweenemails: int | None = None,
    useblacklist: bool | None = None,
    useautoblacklist: bool | None = None,
    webhook_sending_finished: str | None = None,
    webhook_sending_error: str | None = None,
    webhook_tracking_opened: str | None = None,
    webhook_tracking_clicked: str | None = None,
    webhook_blacklisted_added: str | None = None,
) -> Pairs:
    return [
        ("name", name),
        ("retaindata", java_string(retaindata)),
        ("strategy", strategy),
        ("originserver", originserver),
        ("origindomain", origindomain),
        ("defaultfromemail", defaultfromemail),
        ("defaultfromname", defaultfromname),
        ("testemail", testemail),
        ("timebetweenemails", java_string(timebetweenemails)),
        ("useblacklist", java_string(useblacklist)),
        ("useautoblacklist", java_string(useautoblacklist)),
        ("webhook_sending_finished", webhook_sending_finished),
        ("webhook_sending_error", webhook_sending_error),
        ("webhook_tracking_opened", webhook_tracking_opened),
        ("webhook_tracking_clicked", webhook_tracking_clicked),
        ("webhook_blacklisted_added", webhook_blacklisted_added),
    ]


def create_smtp_form(
    idapp: str,
    *,
    priority: int | None,
    host: str,
    port: int | None,
    username: str | None,
    password: str | None,
    auth: bool | None,
    starttls: bool | None,
    ssl_tls: bool | None,
    debug: bool | None,
    defaultfromemail: str | None,
    defaultfromname: str | None,
) -> Pairs:
    return [
        ("idapp", idapp),
        ("priority", java_string(priority)),
        ("host", host),
        ("port", java_string(port)),
        ("username", username),
        ("password", password),
        ("auth", java_string(auth)),
        ("starttls", java_string(starttls)),
        ("sslTls", java_string(ssl_tls)),
        ("debug", java_string(debug)),
        ("defaultfromemail", defaultfromemail),
        ("defaultfromname", defaultfromname),
    ]


def post_request(host: str, path: str, pairs: Pairs, token: str | None = None) -> bytes:
    """`Request.Post(url)[.addHeader("Authorization", ...)].bodyForm(form).execute()`, byte for byte."""
    return _post(host, path, form_body(pairs), FORM_CONTENT_TYPE, token)


def multipart_request(
    host: str,
    path: str,
    fields: Sequence[tuple[str, str]],
    token: str,
    boundary: str,
    *,
    files: Sequence[tuple[str, bytes]] = (),
) -> bytes:
    """An `HttpPost` with `MultipartEntityBuilder.create().addPart(name, new StringBody(value,
    ContentType.TEXT_PLAIN))...build()`, as the client's sendEmail builds one: the builder's default (strict)
    mode writes each part's Content-Disposition, Content-Type (text/plain; charset=ISO-8859-1) and
    Content-Transfer-Encoding (8bit), the value in ISO-8859-1, CRLF line ends. `files` (file name, bytes)
    come first, as sendEmail adds them: `addPart("attachments", new FileBody(file))`, a FileBody's
    Content-Type application/octet-stream and Content-Transfer-Encoding binary (sendEmail names every file
    `<random UUID>.tmp`: multipartToFile)."""
    delimiter = f"--{boundary}\r\n".encode("ascii")
    body = b""
    for filename, data in files:
        headers = (
            f'Content-Disposition: form-data; name="attachments"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n"
            "Content-Transfer-Encoding: binary\r\n\r\n"
        )
        body += delimiter + headers.encode("ascii") + data + b"\r\n"
    for name, value in fields:
        headers = (
            f'Content-Disposition: form-data; name="{name}"\r\n'
            f"Content-Type: text/plain; charset={FORM_CHARSET}\r\n"
            "Content-Transfer-Encoding: 8bit\r\n\r\n"
        )
        body += delimiter + headers.encode("ascii") + value.encode(FORM_CHARSET) + b"\r\n"
    body += f"--{boundary}--\r\n".encode("ascii")
    return _post(host, path, body, f"multipart/form-data; boundary={boundary}", token)


def send_email_fields(idapp: str, **values: str | None) -> list[tuple[str, str]]:
    """sendEmail's text parts in its order, a null argument left out (`if(from!=null) mpeb.addPart(...)`);
    `to` and `toname` are sent as `tos` and `tonames`."""
    order = ("from", "fromname", "to", "toname", "ccs", "bccs", "replyto", "subject", "subjectencoding",
             "body", "bodyencoding", "mimetype", "attachmenttype", "urlattachments", "includetracking",
             "includeunregisterlink")  # fmt: skip
    wire = {"to": "tos", "toname": "tonames"}
    unknown = set(values) - set(order)
    assert not unknown, unknown
    present = [(wire.get(name, name), values[name]) for name in order if values.get(name) is not None]
    return [("idapp", idapp), *((name, str(value)) for name, value in present)]


def _post(host: str, path: str, body: bytes, content_type: str, token: str | None) -> bytes:
    headers = [("Authorization", f"Bearer {token}")] if token is not None else []
    headers += [
        ("Content-Length", str(len(body))),
        ("Content-Type", content_type),
        *_client_headers(host),
    ]
    return _request_line("POST", path) + _header_block(headers) + body


def get_request(host: str, path_and_query: str, token: str) -> bytes:
    """`Request.Get(url).addHeader("Authorization", ...).execute()`, byte for byte."""
    headers = [("Authorization", f"Bearer {token}"), *_client_headers(host)]
    return _request_line("GET", path_and_query) + _header_block(headers)


def _client_headers(host: str) -> list[tuple[str, str]]:
    return [
        ("Host", host),
        ("Connection", "Keep-Alive"),
        ("User-Agent", USER_AGENT),
        ("Accept-Encoding", "gzip,deflate"),
    ]


def _request_line(method: str, target: str) -> bytes:
    return f"{method} {target} HTTP/1.1\r\n".encode("ascii")


def _header_block(headers: Sequence[tuple[str, str]]) -> bytes:
    return "".join(f"{name}: {value}\r\n" for name, value in headers).encode("ascii") + b"\r\n"


@dataclass
class Answer:
    status: int
    headers: dict[str, str]  # names lower-cased
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


def send(address: tuple[str, int], request: bytes, timeout: float = 30) -> Answer:
    """Write `request` as it is on a new connection to `address` (loopback only) and read one answer."""
    assert address[0] in ("127.0.0.1", "localhost", "::1"), address
    with socket.create_connection(address, timeout=timeout) as connection:
        connection.sendall(request)
        method = request.split(b" ", 1)[0].decode("ascii")
        response = http.client.HTTPResponse(connection, method=method)
        response.begin()
        body = response.read()
        headers = {name.lower(): value for name, value in response.getheaders()}
        return Answer(response.status, headers, body)


# --- what the client's DTOs need of an answer ---------------------------------------------------------

# Jackson's JavaTimeModule reads LocalDateTime from ISO-8601 text; a trailing Z is accepted (lenient).
_LOCAL_DATE_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d{1,9})?)?Z?")
_INT_RANGE = (-(2**31), 2**31 - 1)
_LONG_RANGE = (-(2**63), 2**63 - 1)

# Java type of each DTO property. A boxed Boolean/Long/Integer would take null, but the client's callers
# unbox them (`if (app.getRetaindata())`): the contract never sends null for them.
APP_DTO: Mapping[str, str] = {
    "_id": "String",
    "iduser": "String",
    "name": "String",
    "retaindata": "Boolean",
    "strategy": "String",
    "originserver": "String",
    "origindomain": "String",
    "defaultfromemail": "String",
    "defaultfromname": "String",
    "testemail": "String",
    "timebetweenemails": "Long",
    "useblacklist": "Boolean",
    "useautoblacklist": "Boolean",
    "webhook_sending_finished": "String",
    "webhook_sending_error": "String",
    "webhook_tracking_opened": "String",
    "webhook_tracking_clicked": "String",
    "webhook_blacklisted_added": "String",
    "created": "LocalDateTime",
    "modified": "LocalDateTime",
    "status": "String",
}
SMTP_DTO: Mapping[str, str] = {
    "_id": "String",
    "idapp": "String",
    "priority": "Integer",
    "host": "String",
    "port": "Integer",
    "username": "String",
    "password": "String",  # write-only here: absent, which Jackson reads as null
    "auth": "Boolean",
    "starttls": "Boolean",
    "sslTls": "Boolean",
    "debug": "Boolean",
    "defaultfromemail": "String",
    "defaultfromname": "String",
    "numerrors": "Integer",
    "created": "LocalDateTime",
    "modified": "LocalDateTime",
    "status": "String",
}
LOGIN_DTO: Mapping[str, str] = {
    "token": "String",
    "role": "String",
    "userId": "String",
    "username": "String",
    "clientId": "String",
}
# RestResponsePageDTO's @JsonCreator properties (primitives: int, boolean; Long; JsonNode).
PAGE_DTO: Mapping[str, str] = {
    "content": "List",
    "number": "int",
    "size": "int",
    "totalElements": "Long",
    "pageable": "JsonNode",
    "last": "boolean",
    "totalPages": "int",
    "sort": "JsonNode",
    "first": "boolean",
    "numberOfElements": "int",
}
# What Spring Data's PageImpl serializes (a generic Spring client binds these).
SPRING_SORT = {"sorted": bool, "unsorted": bool, "empty": bool}
SPRING_PAGEABLE = {"pageNumber": int, "pageSize": int, "offset": int, "paged": bool, "unpaged": bool}
# SendingResultDTO (JsonInclude NON_NULL; `error` only in upstream's own failures) and LogDTO.
SENDING_RESULT_DTO: Mapping[str, str] = {
    "id": "String",
    "status": "String",
    "inittime": "LocalDateTime",
    "logsdeleledby": "LocalDateTime",
    "attachments": "List",
    "blacklisted": "List",
    "autoblacklisted": "List",
    "notvalidrecipients": "List",
}
EMAIL_INFO_DTO: Mapping[str, str] = {**SENDING_RESULT_DTO, "log": "List", "opened": "List",
                                     "finishtime": "LocalDateTime?"}  # fmt: skip
LOG_DTO: Mapping[str, str] = {
    "_id": "String",
    "idsending": "String",
    "idsmtp": "String",
    "idapp": "String",
    "to": "String",
    "resultcode": "String",
    "created": "LocalDateTime",
}
OPTIONAL = frozenset({"password"})  # absent on purpose (the contract's departures)


def _is_int(value: Any, bounds: tuple[int, int]) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and bounds[0] <= value <= bounds[1]


def dto_problems(document: Any, shape: Mapping[str, str]) -> list[str]:
    """Why Jackson (as the client configures it) could not bind `document` to `shape`, or a boxed field
    would be null: [] when it binds. Unknown properties are fine (FAIL_ON_UNKNOWN_PROPERTIES is off)."""
    if not isinstance(document, dict):
        return [f"not a JSON object: {type(document).__name__}"]
    problems = []
    for name, kind in shape.items():
        if name not in document:
            if name not in OPTIONAL:
                problems.append(f"{name}: missing")
            continue
        value = document[name]
        fine = {
            "String": value is None or isinstance(value, str),
            "Boolean": isinstance(value, bool),
            "boolean": isinstance(value, bool),
            "Integer": _is_int(value, _INT_RANGE),
            "int": _is_int(value, _INT_RANGE),
            "Long": _is_int(value, _LONG_RANGE),
            "LocalDateTime": isinstance(value, str) and bool(_LOCAL_DATE_TIME.fullmatch(value)),
            "LocalDateTime?": value is None
            or (isinstance(value, str) and bool(_LOCAL_DATE_TIME.fullmatch(value))),
            "List": isinstance(value, list),
            "JsonNode": isinstance(value, dict),
        }[kind]
        if not fine:
            problems.append(f"{name}: {value!r} is not a {kind}")
    return problems


def page_problems(document: Any, item_shape: Mapping[str, str]) -> list[str]:
    """RestResponsePageDTO<T> (PageRequest.of(number, size) needs size >= 1), each item as T, and the
    members a generic Spring `Page` client reads."""
    problems = dto_problems(document, PAGE_DTO)
    if problems:
        return problems
    if document["size"] < 1:
        problems.append("size: PageRequest.of needs at least 1")
    for index, item in enumerate(document["content"]):
        problems += [f"content[{index}].{problem}" for problem in dto_problems(item, item_shape)]
    if not isinstance(document.get("empty"), bool):
        problems.append("empty: not a boolean")
    sorts = [("sort", document["sort"]), ("pageable.sort", document["pageable"].get("sort"))]
    for where, sort in sorts:
        if not isinstance(sort, dict) or {k: type(v) for k, v in sort.items()} != SPRING_SORT:
            problems.append(f"{where}: {sort!r} is not Spring's Sort")
    pageable = {k: v for k, v in document["pageable"].items() if k != "sort"}
    if {k: type(v) for k, v in pageable.items()} != SPRING_PAGEABLE:
        problems.append(f"pageable: {pageable!r} is not Spring's Pageable")
    return problems
