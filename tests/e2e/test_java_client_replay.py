"""QueueMail's Java client, byte for byte, against `make run` (issue 11).

Each request is what `queuemail-client`'s BasicService sends through Apache HttpClient 4.5 (method, path
and query, headers in HttpClient's order, `Content-Type: application/x-www-form-urlencoded;
charset=ISO-8859-1`, the body as URLEncodedUtils writes it, a null parameter as its bare name), written as
raw bytes on a socket to the local runtime; every answer must bind to the client's DTOs (AppDTO, SMTPDTO,
LoginResponseDTO, RestResponsePageDTO): the keys and JSON types they need, booleans and numbers never null.
The request builders are pinned to literal bytes first, so the replay cannot drift from the rules.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.support.queuemail_client import (
    APP_DTO,
    EMAIL_INFO_DTO,
    FORM_CONTENT_TYPE,
    LOG_DTO,
    LOGIN_DTO,
    SENDING_RESULT_DTO,
    SMTP_DTO,
    Answer,
    create_app_form,
    create_smtp_form,
    dto_problems,
    form_body,
    get_request,
    login_form,
    multipart_request,
    page_problems,
    post_request,
    send,
    send_email_fields,
)
from tests.support.runtime import Running

pytestmark = pytest.mark.e2e
ACCOUNT = re.compile(r"Account    (\S+)  password (\S+)")
WEBHOOK = "https://hooks.example.com/queuemail"


# --- the bytes, pinned --------------------------------------------------------------------------------


def test_the_login_request_byte_for_byte() -> None:
    request = post_request(
        "127.0.0.1:3000", "/api/auth/login", login_form("demo@example.com", "Demo-password-1!")
    )
    assert request == (
        b"POST /api/auth/login HTTP/1.1\r\n"
        b"Content-Length: 55\r\n"
        b"Content-Type: application/x-www-form-urlencoded; charset=ISO-8859-1\r\n"
        b"Host: 127.0.0.1:3000\r\n"
        b"Connection: Keep-Alive\r\n"
        b"User-Agent: Apache-HttpClient/4.5.14 (Java/17.0.15)\r\n"
        b"Accept-Encoding: gzip,deflate\r\n"
        b"\r\n"
        b"username=demo%40example.com&password=Demo-password-1%21"
    )


def test_create_app_with_nulls_byte_for_byte() -> None:
    """createApp(token, "Café Shop", null, ...): every null parameter is its bare name."""
    assert form_body(create_app_form("Caf\u00e9 Shop")) == (
        b"name=Caf%E9+Shop&retaindata&strategy&originserver&origindomain&defaultfromemail&defaultfromname"
        b"&testemail&timebetweenemails&useblacklist&useautoblacklist&webhook_sending_finished"
        b"&webhook_sending_error&webhook_tracking_opened&webhook_tracking_clicked&webhook_blacklisted_added"
    )


def test_create_smtp_byte_for_byte() -> None:
    pairs = create_smtp_form(
        "6741f0a2c3d4e5f6a7b8c9d0",
        priority=10,
        host="smtp.example.net",
        port=587,
        username="user@example.net",
        password="p\u00e4ss w\u20acrd*~",  # the euro sign has no ISO-8859-1 byte: Java sends "?"
        auth=True,
        starttls=True,
        ssl_tls=False,
        debug=None,
        defaultfromemail=None,
        defaultfromname="B\u00fcro",
    )
    assert form_body(pairs) == (
        b"idapp=6741f0a2c3d4e5f6a7b8c9d0&priority=10&host=smtp.example.net&port=587"
        b"&username=user%40example.net&password=p%E4ss+w%3Frd*%7E&auth=true&starttls=true&sslTls=false"
        b"&debug&defaultfromemail&defaultfromname=B%FCro"
    )


def test_a_get_byte_for_byte() -> None:
    assert get_request("127.0.0.1:3000", "/api/private/apps/findAll?page=0&size=100", "t0k3n") == (
        b"GET /api/private/apps/findAll?page=0&size=100 HTTP/1.1\r\n"
        b"Authorization: Bearer t0k3n\r\n"
        b"Host: 127.0.0.1:3000\r\n"
        b"Connection: Keep-Alive\r\n"
        b"User-Agent: Apache-HttpClient/4.5.14 (Java/17.0.15)\r\n"
        b"Accept-Encoding: gzip,deflate\r\n"
        b"\r\n"
    )


def test_send_email_byte_for_byte() -> None:
    """sendEmail(token, idapp, from=null, ..., to, ..., subject, body, attachments=[one file]): the file part
    first, then the text parts it was given, each in ISO-8859-1."""
    fields = send_email_fields("a1", to="ana@example.net", subject="Gr\u00fc\u00dfe", body="Cr\u00e8me")
    request = multipart_request(
        "h:1", "/api/private/emails/send", fields, "t0k3n", "B0und4ry", files=[("f.tmp", b"\x00\xff")]
    )
    text = b"Content-Type: text/plain; charset=ISO-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
    body = (
        b"--B0und4ry\r\n"
        b'Content-Disposition: form-data; name="attachments"; filename="f.tmp"\r\n'
        b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n"
        b"\x00\xff\r\n"
        b'--B0und4ry\r\nContent-Disposition: form-data; name="idapp"\r\n' + text + b"a1\r\n"
        b'--B0und4ry\r\nContent-Disposition: form-data; name="tos"\r\n' + text + b"ana@example.net\r\n"
        b'--B0und4ry\r\nContent-Disposition: form-data; name="subject"\r\n' + text + b"Gr\xfc\xdfe\r\n"
        b'--B0und4ry\r\nContent-Disposition: form-data; name="body"\r\n' + text + b"Cr\xe8me\r\n"
        b"--B0und4ry--\r\n"
    )
    assert request == (
        b"POST /api/private/emails/send HTTP/1.1\r\n"
        b"Authorization: Bearer t0k3n\r\n"
        + f"Content-Length: {len(body)}\r\n".encode()
        + b"Content-Type: multipart/form-data; boundary=B0und4ry\r\n"
        b"Host: h:1\r\n"
        b"Connection: Keep-Alive\r\n"
        b"User-Agent: Apache-HttpClient/4.5.14 (Java/17.0.15)\r\n"
        b"Accept-Encoding: gzip,deflate\r\n"
        b"\r\n" + body
    )


# --- the client against make run ----------------------------------------------------------------------


class Client:
    """BasicService's calls on `make run`: raw bytes out, the answer as HttpClient reads it."""

    def __init__(self, runtime: Running) -> None:
        url = urlsplit(runtime.api)
        assert url.hostname == "127.0.0.1"
        assert url.port is not None
        self.address = (url.hostname, url.port)
        self.host = url.netloc
        self.base = url.path  # /api
        self.token: str | None = None

    def post(self, path: str, pairs: Any) -> Answer:
        return send(self.address, post_request(self.host, self.base + path, pairs, self.token))

    def get(self, path_and_query: str) -> Answer:
        assert self.token is not None
        return send(self.address, get_request(self.host, self.base + path_and_query, self.token))

    def multipart(
        self, path: str, fields: list[tuple[str, str]], files: Sequence[tuple[str, bytes]] = ()
    ) -> Answer:
        assert self.token is not None
        boundary = (
            "hOH3wXdp1kSOy2p-qBNYmVIK_Kc_6JAjrEgH"  # as MultipartEntityBuilder's: 30-40 of [-_0-9a-zA-Z]
        )
        request = multipart_request(self.host, self.base + path, fields, self.token, boundary, files=files)
        return send(self.address, request)


def ok_json(answer: Answer) -> Any:
    assert answer.status == 200, answer.body
    assert answer.headers["content-type"].startswith("application/json")
    return answer.json


def ok_empty(answer: Answer) -> None:
    assert (answer.status, answer.body) == (200, b""), answer.body


@pytest.fixture(scope="module")
def client(runtime: Running) -> Client:
    client = Client(runtime)
    username, password = ACCOUNT.search(runtime.output).groups()  # type: ignore[union-attr]
    login = ok_json(client.post("/auth/login", login_form(username, password)))
    assert dto_problems(login, LOGIN_DTO) == []
    assert login["username"] == username
    client.token = login["token"]
    return client


def test_create_app_with_only_a_name(client: Client) -> None:
    """The reported defects: `Caf\\uFFFD Shop`, null booleans, and no testemail (every check a 400)."""
    app = ok_json(client.post("/private/apps/save", create_app_form("Caf\u00e9 Shop")))
    assert dto_problems(app, APP_DTO) == []
    assert app["name"] == "Caf\u00e9 Shop"
    assert (app["retaindata"], app["useblacklist"], app["useautoblacklist"]) == (False, False, False)
    assert (app["strategy"], app["timebetweenemails"]) == ("RANDOM", 60)
    assert (app["testemail"], app["defaultfromemail"], app["defaultfromname"]) == ("demo@example.com",) * 3


def test_create_app_with_every_parameter(client: Client) -> None:
    pairs = create_app_form(
        "Cr\u00e8me br\u00fbl\u00e9e",
        retaindata=True,
        strategy="PRIORITY",
        originserver="myserver.com,192.168.0.1",
        origindomain="example.com",
        defaultfromemail="info@example.net",
        defaultfromname="S\u00f6ren \u00c5berg",
        testemail="ops@example.net",
        timebetweenemails=30,
        useblacklist=True,
        useautoblacklist=False,
        webhook_sending_finished=f"{WEBHOOK}/sent",
        webhook_sending_error=f"{WEBHOOK}/failed",
        webhook_tracking_opened=f"{WEBHOOK}/opened",
        webhook_tracking_clicked=f"{WEBHOOK}/clicked",
        webhook_blacklisted_added=f"{WEBHOOK}/blacklisted",
    )
    app = ok_json(client.post("/private/apps/save", pairs))
    assert dto_problems(app, APP_DTO) == []
    sent = {name: value for name, value in pairs if name != "name"}
    assert {name: app[name] for name in sent} == {
        **sent,
        "retaindata": True,
        "timebetweenemails": 30,
        "useblacklist": True,
        "useautoblacklist": False,
    }
    assert app["name"] == "Cr\u00e8me br\u00fbl\u00e9e"


def test_get_apps_binds_to_the_clients_page(client: Client) -> None:
    page = ok_json(client.get("/private/apps/findAll?page=0&size=100"))
    assert page_problems(page, APP_DTO) == []
    names = [app["name"] for app in page["content"]]
    assert {"Caf\u00e9 Shop", "Cr\u00e8me br\u00fbl\u00e9e"} <= set(names)
    assert (page["size"], page["number"], page["numberOfElements"]) == (100, 0, len(names))


def app_id(client: Client, name: str) -> str:
    page = ok_json(client.get("/private/apps/findAll?page=0&size=100"))
    (found,) = [app["_id"] for app in page["content"] if app["name"] == name]
    return str(found)


def test_smtp_create_find_check_remove_as_the_client_calls_them(client: Client, runtime: Running) -> None:
    idapp = app_id(client, "Caf\u00e9 Shop")
    pairs = create_smtp_form(
        idapp,
        priority=None,
        host="127.0.0.1",
        port=runtime.sink_port,  # make run's SMTP sink
        username=None,
        password=None,
        auth=False,
        starttls=False,
        ssl_tls=False,
        debug=False,
        defaultfromemail=None,
        defaultfromname="B\u00fcro Caf\u00e9",
    )
    smtp = ok_json(client.post("/private/smtps/save", pairs))
    assert dto_problems(smtp, SMTP_DTO) == []
    assert (smtp["defaultfromname"], smtp["priority"], smtp["auth"]) == ("B\u00fcro Caf\u00e9", 10, False)
    listed = ok_json(client.get(f"/private/smtps/findByApp?idapp={idapp}"))
    assert [server["_id"] for server in listed] == [smtp["_id"]]
    assert all(dto_problems(server, SMTP_DTO) == [] for server in listed)
    # Upstream's page names the check's and the removal's parameter `idapp` (the SMTP id).
    ok_empty(client.post("/private/smtps/check", [("idapp", smtp["_id"])]))
    runtime.wait_for(lambda line: "To: demo@example.com" in line)  # the app's testemail: the account's
    ok_empty(client.post("/private/smtps/remove", [("idapp", smtp["_id"])]))
    assert ok_json(client.get(f"/private/smtps/findByApp?idapp={idapp}")) == []


def test_an_app_saved_from_a_multipart_body_as_httpclient_builds_it(client: Client) -> None:
    answer = client.multipart(
        "/private/apps/save",
        [("name", "Multipart caf\u00e9"), ("strategy", "PRIORITY"), ("retaindata", "true")],
    )
    app = ok_json(answer)
    assert dto_problems(app, APP_DTO) == []
    assert (app["name"], app["strategy"], app["retaindata"]) == ("Multipart caf\u00e9", "PRIORITY", True)


def test_an_app_edit_keeps_what_the_client_leaves_null(client: Client) -> None:
    idapp = app_id(client, "Cr\u00e8me br\u00fbl\u00e9e")
    edit = [("idapp", idapp), *create_app_form(None, useautoblacklist=True)]  # the rest null
    app = ok_json(client.post("/private/apps/save", edit))
    assert dto_problems(app, APP_DTO) == []
    assert (app["useautoblacklist"], app["retaindata"], app["timebetweenemails"]) == (True, True, 30)
    assert app["webhook_sending_finished"] == f"{WEBHOOK}/sent"


def test_an_empty_200_has_no_json_content_type(client: Client) -> None:
    idapp = ok_json(client.post("/private/apps/save", create_app_form("Removed soon")))["_id"]
    answer = client.post("/private/apps/remove", [("idapp", idapp)])
    ok_empty(answer)
    assert not answer.headers.get("content-type", "").startswith("application/json")
    assert answer.headers["content-type"] == "text/plain; charset=utf-8"


def test_send_email_then_its_info_and_logs_as_the_client_calls_them(client: Client, runtime: Running) -> None:
    """sendEmail's multipart body in ISO-8859-1 with a binary file (API Gateway hands it over base64: the
    template's BinaryMediaTypes), then getEmailInfo and getLogs, each bound to the client's DTOs."""
    idapp = ok_json(client.post("/private/apps/save", create_app_form("Sending caf\u00e9")))["_id"]
    server = create_smtp_form(idapp, priority=None, host="127.0.0.1", port=runtime.sink_port, username=None,
                              password=None, auth=False, starttls=False, ssl_tls=False, debug=False,
                              defaultfromemail=None, defaultfromname=None)  # fmt: skip
    ok_json(client.post("/private/smtps/save", server))
    fields = send_email_fields(
        idapp, fromname="B\u00fcro Caf\u00e9", to="ana@example.net,not-an-address", toname="Ana M\u00fcller",
        subject="Gr\u00fc\u00dfe aus K\u00f6ln", body="Cr\u00e8me br\u00fbl\u00e9e", mimetype="text/plain",
    )  # fmt: skip
    tmp = "0b6f7a4e-3c1d-4f7b-9a51-2f1e8d9c0a11.tmp"
    sent = ok_json(client.multipart("/private/emails/send", fields, files=[(tmp, bytes(range(256)) * 40)]))
    assert dto_problems(sent, SENDING_RESULT_DTO) == []
    assert (sent["status"], sent["attachments"], sent["notvalidrecipients"]) == (
        "Q",
        [tmp],
        ["not-an-address"],
    )

    info = ok_json(client.get(f"/private/emails/info?idemail={sent['id']}"))
    assert dto_problems(info, EMAIL_INFO_DTO) == []
    assert info["id"] == sent["id"]
    assert info["status"] in ("Q", "R", "F")  # the sender may already be at it
    logs = ok_json(client.get(f"/private/logs/findByEMail?idemail={sent['id']}"))
    assert isinstance(logs, list)
    assert all(dto_problems(row, LOG_DTO) == [] for row in logs)
    missing = client.get(f"/private/emails/info?idemail={'0' * 24}")
    assert (missing.status, missing.json["message"]) == (406, "Email not found")


def test_the_content_type_the_client_sends_is_the_one_replayed() -> None:
    """A guard on this module: every POST above carries HttpClient's form type with its charset."""
    request = post_request("h", "/p", [("a", "b")])
    assert f"Content-Type: {FORM_CONTENT_TYPE}\r\n".encode() in request


# --- getTracking (issue 25) ---------------------------------------------------------------------------

TRACKING_DTO = {
    "_id": "String",
    "idsending": "String",
    "email": "String",
    "type": "String",
    "url": "String",
    "created": "LocalDateTime",
    "ip": "String",
}


def test_get_tracking_binds_to_the_clients_tracking_dtos(client: Client, runtime: Running) -> None:
    """An e-mail of the client's app opened and clicked through the public routes (tokens signed with the
    runtime's own key), then BasicService.getTracking's GET, byte for byte."""
    import boto3

    from smtphub.emails.models import QUEUED, Email
    from smtphub.emails.repository import EmailRepository
    from smtphub.ids import new_id
    from smtphub.tracking.links import Links
    from smtphub.tracking.tokens import Tokens

    moto = re.search(r"AWS        moto on (\S+)", runtime.output).group(1)  # type: ignore[union-attr]
    aws = {"endpoint_url": moto, "region_name": "us-east-1"}
    key = boto3.client("secretsmanager", **aws).get_secret_value(SecretId="smtp-hub-local-TrackingKeySecret")
    app = ok_json(client.post("/private/apps/save", create_app_form("Tracked")))
    email = Email(
        id=new_id(),
        account_id=app["iduser"],
        created="2026-11-24T10:00:00.000Z",
        modified="2026-11-24T10:00:00.000Z",
        status=QUEUED,
        app_id=app["_id"],
        sender="shop@example.com",
        tos=["ann@example.net"],
        tonames=[""],
        includetracking=True,
        inittime="2026-11-24T10:00:00.000Z",
        logsdeleledby="2026-12-24T10:00:00.000Z",
        expires=1_900_000_000,
    )
    EmailRepository(boto3.client("dynamodb", **aws), "smtp-hub-local-EmailsTable").create(email)
    links = Links(runtime.api, Tokens(key["SecretString"].encode()), email.id, "ann@example.net", ("", ""))
    for url in (links.pixel(), links.click("https://shop.example/sale")):
        target = urlsplit(url)
        answer = send(
            client.address,
            f"GET {target.path}?{target.query} HTTP/1.1\r\nHost: {client.host}\r\n\r\n".encode(),
        )
        assert answer.status in (200, 302), answer.body
    request = get_request(
        client.host, f"{client.base}/private/tracking/findByEMail?idemail={email.id}", client.token or ""
    )
    assert request.startswith(
        f"GET /api/private/tracking/findByEMail?idemail={email.id} HTTP/1.1\r\n".encode()
    )
    tracked = ok_json(send(client.address, request))
    assert [(item["type"], item["url"]) for item in tracked] == [
        ("OPEN", None),
        ("CLICK", "https://shop.example/sale"),
    ]
    for item in tracked:
        assert dto_problems(item, TRACKING_DTO) == []
