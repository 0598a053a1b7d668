"""`make run` under load: 100 concurrent mixed requests while 4 checks talk to an SMTP peer that drips its
replies (each check takes 15 s or more). Every fast request is answered before the first check ends (none
waits on them), nothing is reset, nothing answers 5xx, and afterwards the data is exactly what the
successful requests wrote: among them failed transactions (an unknown app, a name taken) and an app
removed while servers are added to it, so moto's transactions are exercised (local_runtime/
moto_transactions.py) and the SMTP table's stream must still schedule every removed server's secret for
deletion.

Bounded: one runtime on loopback (throttles and CHECKS_PER_MINUTE out of the way), 100 requests and 4
checks at once, about 20 s in all. How fast the fast requests are is a figure of `make bench`
(bench/runstart.py), not an assertion.
"""

from __future__ import annotations

import random
import re
import socket
import statistics
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
import requests

from tests.support.runtime import Running
from tests.support.smtp_peers import running_raw

pytestmark = pytest.mark.e2e
TIMEOUT = 40
DRIP = 1.0  # seconds between two lines of the peer's replies: a check's SMTP session takes 15 s
CHECKS = 4
UNTHROTTLED = [
    "ThrottlingRateLimit=100000",
    "ThrottlingBurstLimit=100000",
    "LoginThrottlingRateLimit=100000",
    "LoginThrottlingBurstLimit=100000",
]
MISSING_APP = "6741f0a2c3d4e5f6a7b8c9d0"[::-1]  # a well-formed id no app has
INBOX = "inbox@example.com"


def dripping(conn: socket.socket, stop: threading.Event, lines: list[bytes]) -> None:
    """An SMTP server that answers everything right, one line every DRIP seconds: a 5-line greeting, a
    6-line EHLO, then MAIL, RCPT, DATA and the message's acceptance a line each: 15 lines, 15 s (inside
    the check's 20 s deadline, CHECK_DEADLINE_SECONDS)."""
    reader = conn.makefile("rb")

    def reply(*texts: str) -> bool:
        for text in texts:
            if stop.wait(DRIP):
                return False
            conn.sendall(text.encode() + b"\r\n")
        return True

    if not reply("220-slow.example.net", *["220-still greeting"] * 3, "220 ready"):
        return
    while line := reader.readline():
        lines.append(line)
        verb = line[:4].upper()
        if verb in (b"EHLO", b"HELO"):
            answered = reply("250-slow.example.net", *["250-8BITMIME"] * 4, "250 SIZE 10000000")
        elif verb == b"DATA":
            answered = reply("354 go ahead")
            while reader.readline() not in (b".\r\n", b""):
                pass
            answered = answered and reply("250 queued")
        elif verb == b"QUIT":
            conn.sendall(b"221 bye\r\n")
            return
        else:
            answered = reply("250 ok")
        if not answered:
            return


@dataclass
class World:
    """What exists before the burst: the ids the requests name."""

    load: str  # the app that gets new servers, and the 4 dripping ones
    doomed: str  # the app removed during the burst
    doomed_servers: list[str]
    removable: list[str]  # servers of `load` removed during the burst
    slow: list[str] = field(default_factory=list)  # the dripping servers, checked during the burst
    apps_before: set[str] = field(default_factory=set)


@dataclass
class Call:
    label: str
    method: str
    path: str
    data: dict[str, Any] = field(default_factory=dict)
    token: bool = True
    status: int | None = None
    body: Any = None
    error: str | None = None
    started: float = 0.0
    ended: float = 0.0

    @property
    def seconds(self) -> float:
        return self.ended - self.started


@pytest.fixture(scope="module")
def runtime() -> Iterator[Running]:
    args = ["--port", "0", "--sink-port", "0"]
    for parameter in UNTHROTTLED:
        args += ["--parameter", parameter]
    # The load app has up to 24 servers at once (beyond SmtpsPerApp's default, 20): not what is measured.
    args += ["--parameter", "SmtpsPerApp=100"]
    # Checks without the per-account limit, and no health sweep in the middle of the figures.
    running = Running(args, env={"CHECKS_PER_MINUTE": "1000", "HEALTH_SWEEP_SECONDS": "3600"})
    try:
        yield running.wait_ready()
    finally:
        code = running.stop()
    assert code == 0, running.output[-3000:]


class Api:
    def __init__(self, runtime: Running) -> None:
        self.base = runtime.api
        account = re.search(r"Account    (\S+)  password (\S+)", runtime.output)
        assert account, runtime.output
        self.credentials = {"username": account.group(1), "password": account.group(2)}
        self.token = self.login()

    def login(self) -> str:
        reply = requests.post(f"{self.base}/auth/login", data=self.credentials, timeout=TIMEOUT)
        assert reply.status_code == 200, reply.text
        token: str = reply.json()["token"]
        return token

    def send(self, call: Call) -> Call:
        """One request on a connection of its own; what happened, and when."""
        headers = {"Authorization": f"Bearer {self.token}", "Connection": "close"} if call.token else {}
        call.started = time.monotonic()
        try:
            if call.method == "GET":
                reply = requests.get(
                    self.base + call.path, params=call.data, headers=headers, timeout=TIMEOUT
                )
            else:
                reply = requests.post(self.base + call.path, data=call.data, headers=headers, timeout=TIMEOUT)
            call.status = reply.status_code
            call.body = reply.json() if reply.text else None
        except Exception as error:  # a reset, a timeout: what the test is about
            call.error = f"{type(error).__name__}: {error}"
        call.ended = time.monotonic()
        return call

    def ok(self, method: str, path: str, **data: Any) -> Any:
        call = self.send(Call("setup", method, path, data))
        assert call.status == 200, (path, call.status, call.body, call.error)
        return call.body


def server(idapp: str, number: int, **changes: Any) -> dict[str, Any]:
    fields = {
        "idapp": idapp,
        "host": "127.0.0.1",  # loopback only, even if something probed it
        "port": str(20000 + number),
        "priority": str(number),
        "auth": "true",
        "starttls": "true",
        "username": f"user{number}@example.net",
        "password": f"Load-password-{number}",
    }
    fields.update(changes)
    return fields


def test_fast_requests_never_wait_on_slow_checks_and_the_data_is_exactly_what_was_written(
    runtime: Running,
) -> None:
    api = Api(runtime)
    # given an app with servers to remove, an app to remove with servers, and 4 servers that drip
    load = api.ok("POST", "/private/apps/save", name="Load shop", testemail=INBOX)["_id"]
    doomed = api.ok("POST", "/private/apps/save", name="Doomed shop", testemail=INBOX)["_id"]
    world = World(
        load,
        doomed,
        doomed_servers=[api.ok("POST", "/private/smtps/save", **server(doomed, n))["_id"] for n in range(3)],
        removable=[api.ok("POST", "/private/smtps/save", **server(load, 100 + n))["_id"] for n in range(5)],
    )
    world.apps_before = {a["name"] for a in api.ok("GET", "/private/apps/findAll", size="100")["content"]}
    with running_raw(dripping) as peer:
        world.slow = [
            api.ok(
                "POST",
                "/private/smtps/save",
                idapp=load,
                host="127.0.0.1",
                port=str(peer.port),
                auth="false",
                starttls="false",
                priority=str(50 + n),
            )["_id"]
            for n in range(CHECKS)
        ]
        checks = [Call("check", "POST", "/private/smtps/check", {"idsmtp": i}) for i in world.slow]
        fast = fast_calls(world)
        # when they all go at once
        run_together(api, checks + fast)
    # then
    assert [call for call in checks + fast if call.error] == []  # no reset, no timeout
    assert [(c.label, c.status, c.body) for c in checks + fast if (c.status or 500) >= 500] == []
    assert [(c.status, c.body) for c in checks] == [(200, None)] * CHECKS
    first_check_end = min(call.ended for call in checks)
    assert all(call.seconds >= 15 for call in checks), [round(c.seconds, 1) for c in checks]
    late = [(c.label, round(c.seconds, 1)) for c in fast if c.ended >= first_check_end]
    assert late == []  # every fast request answered before the first check ended
    expected_statuses(fast)
    the_data_is_what_was_written(runtime, api, world, fast)
    seconds = sorted(call.seconds for call in fast)
    shortest = min(c.seconds for c in checks)
    print(
        f"\n{len(fast)} fast requests beside {CHECKS} checks of {shortest:.1f} s or more: "
        f"median {statistics.median(seconds) * 1000:.0f} ms, "
        f"p95 {seconds[int(len(seconds) * 0.95) - 1] * 1000:.0f} ms, max {seconds[-1] * 1000:.0f} ms"
    )


def fast_calls(world: World) -> list[Call]:
    load, doomed, slow = world.load, world.doomed, world.slow
    calls = [Call("login", "POST", "/auth/login", {}, token=False) for _ in range(10)]
    calls += [
        Call("app", "POST", "/private/apps/save", {"name": f"Burst app {n}", "testemail": INBOX})
        for n in range(12)
    ]
    calls += [Call("app name taken", "POST", "/private/apps/save", {"name": "Load shop"}) for _ in range(3)]
    calls += [Call("server", "POST", "/private/smtps/save", server(load, n)) for n in range(15)]
    calls += [
        Call("server, no app", "POST", "/private/smtps/save", server(MISSING_APP, 200 + n)) for n in range(5)
    ]
    calls += [Call("remove server", "POST", "/private/smtps/remove", {"idsmtp": i}) for i in world.removable]
    calls += [Call("remove app", "POST", "/private/apps/remove", {"idapp": doomed})]
    calls += [
        Call("server, app going", "POST", "/private/smtps/save", server(doomed, 300 + n)) for n in range(4)
    ]
    calls += [Call("list apps", "GET", "/private/apps/findAll", {"size": "100"}) for _ in range(15)]
    calls += [Call("list servers", "GET", "/private/smtps/findByApp", {"idapp": load}) for _ in range(10)]
    calls += [
        Call("read server", "GET", "/private/smtps/findById", {"idsmtp": slow[n % len(slow)]})
        for n in range(10)
    ]
    calls += [Call("read app", "GET", "/private/apps/findById", {"idapp": load}) for _ in range(5)]
    calls += [
        Call(
            "read server, app going",
            "GET",
            "/private/smtps/findById",
            {"idsmtp": world.doomed_servers[n % 3]},
        )
        for n in range(5)
    ]
    assert len(calls) == 100
    random.Random(12).shuffle(calls)
    return calls


def run_together(api: Api, calls: list[Call]) -> None:
    start = threading.Barrier(len(calls))
    credentials = api.credentials

    def go(call: Call) -> None:
        if call.label == "login":
            call.data = dict(credentials)
        start.wait()
        api.send(call)

    threads = [threading.Thread(target=go, args=(call,), daemon=True) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT + 5)


def expected_statuses(fast: list[Call]) -> None:
    allowed = {
        "login": {200},
        "app": {200},
        "app name taken": {406},
        "server": {200},
        "server, no app": {406},
        "remove server": {200},
        "remove app": {200},
        "server, app going": {200, 406},  # before or after the app's removal began
        "list apps": {200},
        "list servers": {200},
        "read server": {200},
        "read app": {200},
        "read server, app going": {200, 406},
    }
    wrong = [(c.label, c.status, c.body) for c in fast if c.status not in allowed[c.label]]
    assert wrong == []
    errors = {c.label: c.body["error"] for c in fast if c.status == 406}
    assert errors.get("app name taken") == "APP_NAME_TAKEN"
    assert errors.get("server, no app") == "APP_NOT_FOUND"


def the_data_is_what_was_written(runtime: Running, api: Api, world: World, fast: list[Call]) -> None:
    load, doomed, slow = world.load, world.doomed, world.slow
    created = {call.body["_id"]: call.data for call in fast if call.label == "server"}
    apps = {app["name"] for app in api.ok("GET", "/private/apps/findAll", size="100")["content"]}
    assert apps == world.apps_before - {"Doomed shop"} | {f"Burst app {n}" for n in range(12)}
    listed = api.ok("GET", "/private/smtps/findByApp", idapp=load)
    assert {item["_id"] for item in listed} == set(created) | set(slow)
    for item in listed:
        if item["_id"] in created:
            sent = created[item["_id"]]
            assert (item["host"], item["port"], item["priority"], item["username"], item["auth"]) == (
                sent["host"],
                int(sent["port"]),
                int(sent["priority"]),
                sent["username"],
                True,
            )
        else:
            assert item["lastcheck"]["ok"] is True, item
    gone_app = api.send(Call("after", "GET", "/private/smtps/findByApp", {"idapp": doomed}))
    assert (gone_app.status, gone_app.body["error"]) == (406, "APP_NOT_FOUND")
    racing = [call.body["_id"] for call in fast if call.label == "server, app going" and call.status == 200]
    gone = world.removable + world.doomed_servers + racing
    for idsmtp in gone:
        after = api.send(Call("after", "GET", "/private/smtps/findById", {"idsmtp": idsmtp}))
        assert (after.status, after.body["error"]) == (406, "SMTP_NOT_FOUND"), idsmtp
    # In moto itself: the tables hold exactly that, and the stream scheduled every removed secret's deletion.
    endpoint = re.search(r"AWS        moto on (\S+)", runtime.output).group(1)  # type: ignore[union-attr]
    session = boto3.session.Session(
        aws_access_key_id="local", aws_secret_access_key="local", region_name="us-east-1"
    )
    dynamodb = session.client("dynamodb", endpoint_url=endpoint)
    items = dynamodb.scan(TableName="smtp-hub-local-SmtpsTable", ConsistentRead=True)["Items"]
    ours = {item["_id"]["S"] for item in items if item["idapp"]["S"] in (load, doomed, MISSING_APP)}
    assert ours == set(created) | set(slow)
    secrets = session.client("secretsmanager", endpoint_url=endpoint)
    deadline = time.monotonic() + 15
    waiting = set(gone)
    while waiting:
        waiting = {i for i in waiting if "DeletedDate" not in secret(secrets, i)}
        assert time.monotonic() < deadline, f"secrets not scheduled for deletion: {sorted(waiting)}"
        time.sleep(0.2)
    for idsmtp in created:
        assert "DeletedDate" not in secret(secrets, idsmtp)


def secret(client: Any, idsmtp: str) -> dict[str, Any]:
    found: dict[str, Any] = client.describe_secret(SecretId=f"smtp-hub-local/api/smtp/{idsmtp}")
    return found
