"""Schemathesis against the local runtime: every operation of openapi.yaml (generated from the code by
`make openapi`), authenticated.

The test starts `python -m local_runtime` (behind a guard that refuses any lookup or connection
beyond 127.0.0.1, with the API's throttles and the account's checks per minute set out of the way),
logs in through it, seeds a few apps and SMTP servers with known passwords, and runs `st run` on the
description the runtime serves, with a bounded number of examples per operation (`make test`), or
many more (`make fuzz`, FUZZ_MAX_EXAMPLES). It fails on any 5xx, any response the description does
not allow (status, content type, headers, body schema), any private route that answers without a
token, and any response that contains a password (the custom check `no_stored_password`).

When schemathesis imports this module as its hooks module (SCHEMATHESIS_HOOKS), the bottom of the
file registers the hooks: the Bearer token (a fresh one after each `logout`, which revokes the
account's earlier ones), known ids swapped into requests so that they reach real resources, every
password sent marked so that an echo is recognisable, the check, and a log of the answers. One POST body
in four also declares a charset (issue 22): a name of Python's whole codec registry (every module of the
`encodings` package and every alias: character encodings, bytes-to-bytes and text transforms, Python's own
codecs) or a junk name, in the Content-Type of a form or JSON body, or as a multipart body's `_charset_`
field; the run must answer none of them with a 5xx, and must have answered such requests both 200 and 415.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import secrets
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
OPENAPI = ROOT / "openapi.yaml"
# `make test`: this many examples per operation and generation mode, and a fixed seed (under a minute).
CI_EXAMPLES = 40
# `make test` runs the explicit examples and the generated requests; `make fuzz` (FUZZ_MAX_EXAMPLES set)
# adds schemathesis' coverage phase (every boundary and type variation of every parameter, about 2,000
# more requests: two minutes) and its stateful phase.
CI_PHASES = "examples,fuzzing"
ALL_PHASES = "examples,coverage,fuzzing,stateful"
CI_SEED = 20261124
HOOKS_ENV = "SMTPHUB_FUZZ"  # JSON handed to the hooks: ids, marker, credentials, log path
CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "ignored_auth",
    "no_stored_password",
]
# Throttling off for the run: the fuzzer is not the attacker the template's limits are for.
UNTHROTTLED = [
    "ThrottlingRateLimit=100000",
    "ThrottlingBurstLimit=100000",
    "LoginThrottlingRateLimit=100000",
    "LoginThrottlingBurstLimit=100000",
]
CHECKS_PER_MINUTE = "10000"  # an account's checks a minute (the template's CheckRateLimitPerMinute at most)

# Runs the local runtime with a network guard: name lookups and connections beyond loopback fail.
BOOT = r"""
import ipaddress, runpy, socket, sys

def _loopback(host):
    if isinstance(host, bytes):
        host = host.decode()
    if host in (None, "localhost"):
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False

_getaddrinfo = socket.getaddrinfo
def getaddrinfo(host, *args, **kwargs):
    if not _loopback(host):
        raise socket.gaierror(socket.EAI_NONAME, f"fuzz guard: no lookup of {host!r}")
    return _getaddrinfo(host, *args, **kwargs)
socket.getaddrinfo = getaddrinfo

for _name in ("connect", "connect_ex"):
    def _guarded(self, address, _real=getattr(socket.socket, _name)):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _loopback(address[0]):
            raise ConnectionRefusedError(f"fuzz guard: no connection to {address[0]}")
        return _real(self, address)
    setattr(socket.socket, _name, _guarded)

sys.argv = ["local_runtime", *sys.argv[1:]]
runpy.run_module("local_runtime", run_name="__main__", alter_sys=True)
"""


# --- the pytest side ---------------------------------------------------------------------------


@dataclass
class Runtime:
    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)
    api: str = ""
    username: str = ""
    password: str = ""
    idapp: str = ""
    idsmtp: str = ""

    @property
    def output(self) -> str:
        return "\n".join(self.lines)


def start_runtime() -> Runtime:
    args = ["--port", "0", "--sink-port", "0", "--quiet"]
    for parameter in UNTHROTTLED:
        args += ["--parameter", parameter]
    args += ["--parameter", f"CheckRateLimitPerMinute={CHECKS_PER_MINUTE}"]
    environ = {k: v for k, v in os.environ.items() if k not in ("LOCAL_USERS", "PORT", "SMTP_SINK_PORT")}
    process = subprocess.Popen(
        [sys.executable, "-c", BOOT, *args],
        cwd=ROOT,
        env={**environ, "PYTHONUNBUFFERED": "1", "CHECKS_PER_MINUTE": CHECKS_PER_MINUTE},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    runtime = Runtime(process)

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            runtime.lines.append(line.rstrip("\n"))

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + 90
    while "Ctrl-C to stop." not in runtime.lines:
        if process.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"the local runtime did not start:\n{runtime.output[-4000:]}")
        time.sleep(0.1)
    found = {
        "api": r"smtp-hub is running on (\S+)",
        "account": r"Account +(\S+) +password (\S+)",
        "idapp": r"Demo data +app ([0-9a-f]{24})",
        "idsmtp": r"SMTP server ([0-9a-f]{24}) -> the sink",
    }
    matches = {key: re.search(pattern, runtime.output) for key, pattern in found.items()}
    assert all(matches.values()), runtime.output[-4000:]
    runtime.api = matches["api"].group(1)  # type: ignore[union-attr]
    runtime.username, runtime.password = matches["account"].groups()  # type: ignore[union-attr]
    runtime.idapp = matches["idapp"].group(1)  # type: ignore[union-attr]
    runtime.idsmtp = matches["idsmtp"].group(1)  # type: ignore[union-attr]
    return runtime


def stop_runtime(runtime: Runtime) -> None:
    if runtime.process.poll() is None:
        runtime.process.terminate()
        try:
            runtime.process.wait(15)
        except subprocess.TimeoutExpired:
            runtime.process.kill()
            runtime.process.wait()


def seed(runtime: Runtime, token: str, marker: str) -> dict[str, Any]:
    """What the fuzzer's requests are pointed at, besides the demo app and its SMTP server (the sink)."""
    import requests

    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"

    def post(path: str, **data: Any) -> dict[str, Any]:
        reply = session.post(f"{runtime.api}{path}", data=data, timeout=30)
        assert reply.status_code == 200, reply.text
        body: dict[str, Any] = reply.json()
        return body

    sink = session.get(f"{runtime.api}/private/smtps/findById", params={"idsmtp": runtime.idsmtp}, timeout=30)
    assert sink.status_code == 200, sink.text
    server = {"host": sink.json()["host"], "port": sink.json()["port"]}
    edited = post("/private/apps/save", name="Fuzz: edited", testemail="fuzz@example.com")
    doomed = post("/private/apps/save", name="Fuzz: removed", testemail="fuzz@example.com")
    # Sends go to an app of their own, whose one server (the sink, no auth) no request checks, edits or
    # removes: the other apps' servers may end up disabled by a failed check, or by the sender's faults.
    sending = post("/private/apps/save", name="Fuzz: sending", testemail="fuzz@example.com")
    post("/private/smtps/save", idapp=sending["_id"], **server, defaultfromemail="fuzz@example.com")

    def smtp(idapp: str, n: int) -> str:
        created = post(
            "/private/smtps/save",
            idapp=idapp,
            **server,
            auth="true",
            username="fuzz@example.com",
            password=f"{marker}seeded-{n}",
            defaultfromemail="fuzz@example.com",
        )
        return str(created["_id"])

    def email(n: int, **later: str) -> str:
        params = {"idapp": runtime.idapp, "tos": f"fuzz{n}@example.com", "subject": "Fuzz", "body": "Seeded."}
        return str(post("/private/emails/send", **params, **later)["id"])

    # An hour ahead, so the local sender cannot take them before they are cancelled.
    hour_ahead = time.strftime("%Y-%m-%dT%H:%M:%S+0000", time.gmtime(time.time() + 3600))
    cancelled = [email(n, senddate=hour_ahead) for n in (2, 3)]
    for idemail in cancelled:
        post("/private/emails/cancel", idemail=idemail)  # C: removable
    return {
        # Read and cancelled: e-mails of the demo app, due in an hour; removed: cancelled ones.
        "emails": [email(0, senddate=hour_ahead), email(1, senddate=hour_ahead)],
        "emails_to_remove": cancelled,
        # Read, edited, checked: the apps and servers a request may be pointed at, by what it does.
        "apps": [runtime.idapp, edited["_id"]],
        "apps_to_remove": [doomed["_id"]],
        "smtps": [runtime.idsmtp, smtp(runtime.idapp, 1), smtp(edited["_id"], 2)],
        # Only these are ever checked: they point at the local sink (an edit cannot move them).
        "smtps_to_check": [runtime.idsmtp, smtp(runtime.idapp, 3)],
        "sending": [sending["_id"]],
        "smtps_to_edit": [smtp(edited["_id"], 4)],
        "smtps_to_remove": [smtp(doomed["_id"], 5), smtp(runtime.idapp, 6)],
        # Where a check of settings (or save's verify=true) may go: the sink, whatever host it names.
        "sink": [str(server["host"]), str(server["port"])],
        **tracked(runtime, session),
    }


def tracked(runtime: Runtime, session: Any) -> dict[str, list[str]]:
    """An e-mail of the demo app written as its record in the runtime's table (queued, as emails/send leaves
    it, but never sent: no queue message), and its links' tokens signed with the runtime's own key."""
    import boto3

    from smtphub.emails.models import QUEUED, Email
    from smtphub.emails.repository import EmailRepository
    from smtphub.ids import new_id
    from smtphub.tracking.tokens import CLICK, OPEN, UNSUBSCRIBE, Tokens

    moto = re.search(r"AWS        moto on (\S+)", runtime.output).group(1)  # type: ignore[union-attr]
    aws = {"endpoint_url": moto, "region_name": "us-east-1"}
    app = session.get(
        f"{runtime.api}/private/apps/findById", params={"idapp": runtime.idapp}, timeout=30
    ).json()
    email = Email(
        id=new_id(),
        account_id=app["iduser"],
        created="2026-11-24T10:00:00.000Z",
        modified="2026-11-24T10:00:00.000Z",
        inittime="2026-11-24T10:00:00.000Z",
        logsdeleledby="2026-12-24T10:00:00.000Z",
        status=QUEUED,
        app_id=runtime.idapp,
        sender="fuzz@example.com",
        tos=["reader@example.net"],
        tonames=[""],
        expires=1_900_000_000,
    )
    EmailRepository(boto3.client("dynamodb", **aws), "smtp-hub-local-EmailsTable").create(email)
    secret = boto3.client("secretsmanager", **aws).get_secret_value(
        SecretId="smtp-hub-local-TrackingKeySecret"
    )
    tokens, reader = Tokens(secret["SecretString"].encode()), "reader@example.net"
    return {
        "tracked_emails": [email.id],
        "open": [tokens.make(OPEN, email.id, reader)],
        "click": [tokens.make(CLICK, email.id, reader, "https://shop.example/")],
        "unsubscribe": [tokens.make(UNSUBSCRIBE, email.id, reader, f"{app['iduser']}/{runtime.idapp}")],
    }


def served_description(api: str) -> None:
    """The runtime serves openapi.yaml as it is, and a self-contained page made from it."""
    import requests

    described = requests.get(f"{api}/openapi.yaml", timeout=30)
    assert described.status_code == 200
    assert described.headers["Content-Type"].startswith("application/yaml")
    assert described.content == OPENAPI.read_bytes()
    page = requests.get(f"{api}/docs", timeout=30)
    assert page.status_code == 200
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert page.headers["Content-Security-Policy"].startswith("default-src 'none'")
    for operation in operations():
        _, path = operation.split(" ", 1)
        assert f"<code>{path}</code>" in page.text
    assert not re.search(r"<script|<link|<img|<iframe|src=|@import|url\(", page.text, re.IGNORECASE)


def logged_in(runtime: Runtime) -> str:
    """The token of the runtime's account."""
    import requests

    login = requests.post(
        f"{runtime.api}/auth/login",
        data={"username": runtime.username, "password": runtime.password},
        timeout=30,
    )
    assert login.status_code == 200, login.text
    return str(login.json()["token"])


def st_command(api: str, max_examples: int, seed_value: int, report: Path) -> list[str]:
    """`st run` against the description as the runtime serves it, its report to `report`."""
    return [
        str(Path(sys.executable).with_name("st")),
        "run",
        f"{api}/openapi.yaml",  # the description as the runtime serves it
        "--url",
        api,
        "--checks",
        ",".join(CHECKS),
        "--mode",
        "all",
        "--max-examples",
        str(max_examples),
        "--phases",
        ALL_PHASES if os.environ.get("FUZZ_MAX_EXAMPLES") else CI_PHASES,
        "--seed",
        str(seed_value),
        "--request-timeout",
        "30",
        "--report",
        "json",
        "--report-json-path",
        str(report),
        "--no-color",
    ]


def charset_names() -> list[str]:
    """What the fuzzer declares as a charset: every name Python's codec registry knows, and junk."""
    import encodings
    import encodings.aliases
    import pkgutil

    names = {module.name for module in pkgutil.iter_modules(encodings.__path__)}
    names |= set(encodings.aliases.aliases) | set(encodings.aliases.aliases.values())
    junk = ["no-such-charset", "utf-9", "x" * 41, "\u00e9", "utf 8", "..", "encodings.utf_8", "__init__"]
    junk += ["aliases", "%", "'", "utf-8;", "hex_codec,utf-8", "UTF-8\t", "mbcs", "oem", "cp65001"]
    return sorted(names) + junk


def run_schemathesis(max_examples: int, seed_value: int, report_dir: Path) -> dict[str, Any]:
    """Start the runtime, log in, seed, run `st run`; the figures of the run, failing on any finding."""
    runtime = start_runtime()
    try:
        token = logged_in(runtime)
        marker = f"pw{secrets.token_hex(6)}-"
        report_dir.mkdir(parents=True, exist_ok=True)
        answers = report_dir / "answers.ndjson"
        answers.unlink(missing_ok=True)
        report = report_dir / "report.json"
        settings = {
            "marker": marker,
            "watched": [marker, runtime.password],
            "login": {"username": runtime.username, "password": runtime.password},
            "api": runtime.api,
            "token": token,
            "ids": seed(runtime, token, marker),
            "answers": str(answers),
            "seed": seed_value,
            "charsets": charset_names(),
        }
        environ = {
            **os.environ,
            HOOKS_ENV: json.dumps(settings),
            "SCHEMATHESIS_HOOKS": "tests.e2e.test_fuzz_api",
            "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "layers" / "common")]),
        }
        served_description(runtime.api)
        command = st_command(runtime.api, max_examples, seed_value, report)
        started = time.monotonic()
        result = subprocess.run(  # noqa: PLW1510 - the return code is asserted below, with the output
            command, cwd=report_dir, env=environ, capture_output=True, text=True, timeout=1800
        )
        elapsed = time.monotonic() - started
        assert result.returncode == 0, (
            f"schemathesis found problems:\n{result.stdout[-12000:]}\n{result.stderr}"
        )
        # No password in what the runtime printed either (function logs, sink, gateway lines).
        assert marker not in runtime.output
    finally:
        stop_runtime(runtime)
    figures: dict[str, Any] = json.loads(report.read_text())
    lines = [json.loads(line) for line in answers.read_text().splitlines()]
    figures["answers"] = Counter(f"{line['operation']} {line['status']}" for line in lines)
    figures["charsets"] = Counter(line["status"] for line in lines if line.get("charset") is not None)
    figures["requests"] = len(lines)
    figures["seconds"] = round(elapsed, 1)
    return figures


def operations() -> set[str]:
    import yaml

    document = yaml.safe_load(OPENAPI.read_text())
    return {f"{method.upper()} {path}" for path, item in document["paths"].items() for method in item}


def summary(figures: dict[str, Any]) -> str:
    """The run in a few lines: totals, then the statuses each operation answered."""
    cases = figures["test_cases"]
    described = operations()
    per_operation: dict[str, list[str]] = {}
    undescribed: Counter[str] = Counter()
    for key, count in sorted(figures["answers"].items()):
        operation, status = key.rsplit(" ", 1)
        if operation in described:
            per_operation.setdefault(operation, []).append(f"{status}x{count}")
        else:  # the coverage phase's methods that no route has (TRACE, PUT, ...)
            undescribed[status] += count
    rows = [f"  {operation:<30} {' '.join(statuses)}" for operation, statuses in per_operation.items()]
    other = " ".join(f"{status}x{count}" for status, count in sorted(undescribed.items()))
    return "\n".join(
        [
            f"schemathesis {figures['schemathesis_version']}, seed {figures['seed']}: "
            f"{cases['generated']} test cases, {figures['requests']} requests in {figures['seconds']} s, "
            f"{len(figures['failures'])} failures, {len(figures['errors'])} errors",
            *rows,
            f"  {'a charset declared':<30} "
            + " ".join(f"{status}x{count}" for status, count in sorted(figures["charsets"].items())),
            f"  {'undescribed methods':<30} {other}",
        ]
    )


def test_schemathesis_finds_nothing_against_the_local_runtime(tmp_path: Path) -> None:
    max_examples = int(os.environ.get("FUZZ_MAX_EXAMPLES") or CI_EXAMPLES)
    seed = os.environ.get("FUZZ_SEED") or str(CI_SEED)  # `make test` replays one run; `make fuzz` explores
    seed_value = secrets.randbelow(2**31) if seed == "random" else int(seed)
    # A directory of its own: another `make test` in the same tree must not mix its answers with ours.
    report_dir = Path(os.environ.get("FUZZ_REPORT_DIR") or tmp_path).resolve()
    figures = run_schemathesis(max_examples, seed_value, report_dir)
    print(summary(figures))
    assert figures["failures"] == []
    assert figures["errors"] == []
    assert figures["operations"]["tested"] == figures["operations"]["total"] == len(operations())
    # (a tracked link's success is its redirect)
    succeeded = {
        key for key in figures["answers"] if key.endswith(" 200") or key == "GET /public/tracking/click 302"
    }
    reached = {key.rsplit(" ", 1)[0] for key in succeeded}
    # Not vacuous: every operation was answered 200 at least once (the hooks point requests at real data).
    assert reached == operations(), sorted(operations() - reached)
    # The charset dimension was sent: some declared charsets were read (200), some refused (415), and none
    # was a 5xx (not_a_server_error above).
    assert {200, 415} <= set(figures["charsets"]), figures["charsets"]


# --- the schemathesis side (imported by `st run` through SCHEMATHESIS_HOOKS) ----------------------

if HOOKS_ENV in os.environ:  # pragma: no branch
    import schemathesis

    FUZZ: dict[str, Any] = json.loads(os.environ[HOOKS_ENV])
    IDS: dict[str, list[str]] = FUZZ["ids"]
    # Where each operation's ids may point (besides whatever the fuzzer made up).
    TARGETS: dict[str, dict[str, list[str]]] = {
        "GET /private/apps/findById": {"idapp": IDS["apps"] + IDS["apps_to_remove"]},
        "GET /private/smtps/findByApp": {"idapp": IDS["apps"] + IDS["apps_to_remove"]},
        "GET /private/smtps/findById": {
            "idsmtp": IDS["smtps"] + IDS["smtps_to_check"] + IDS["smtps_to_edit"]
        },
        "POST /private/apps/save": {"idapp": IDS["apps"]},
        "POST /private/apps/remove": {"idapp": IDS["apps_to_remove"]},
        "POST /private/smtps/save": {"idsmtp": IDS["smtps_to_edit"], "idapp": IDS["apps"]},
        "POST /private/smtps/remove": {"idsmtp": IDS["smtps_to_remove"], "idapp": IDS["smtps_to_remove"]},
        "POST /private/smtps/check": {"idsmtp": IDS["smtps_to_check"], "idapp": IDS["smtps_to_check"]},
        "GET /private/smtps/history": {"idsmtp": IDS["smtps"] + IDS["smtps_to_check"]},
        "POST /private/emails/send": {"idapp": IDS["sending"]},
        "GET /private/emails/info": {"idemail": IDS["emails"] + IDS["emails_to_remove"]},
        "GET /private/logs/findByEMail": {"idemail": IDS["emails"] + IDS["emails_to_remove"]},
        "POST /private/emails/cancel": {"idemail": IDS["emails"]},
        "POST /private/emails/remove": {"idemail": IDS["emails_to_remove"]},
        "GET /private/tracking/findByEMail": {"idemail": IDS["tracked_emails"]},
        "GET /public/tracking/open": {"t": IDS["open"]},
        "GET /public/tracking/click": {"t": IDS["click"]},
        "GET /public/blacklist/unsubscribe": {"t": IDS["unsubscribe"]},
        "POST /public/blacklist/unsubscribe": {"t": IDS["unsubscribe"]},
    }

    # What must outlive the run (the rest of TARGETS' ids), and the operations that would end it.
    KEPT = {*IDS["apps"], *IDS["smtps"], *IDS["smtps_to_check"], *IDS["smtps_to_edit"], *IDS["emails"]}
    REMOVALS = {"POST /private/apps/remove", "POST /private/smtps/remove", "POST /private/emails/remove"}

    def _rng(case: schemathesis.Case) -> random.Random:
        """Choices that depend only on the case and the seed, so a run can be replayed."""
        text = json.dumps([FUZZ["seed"], case.method, case.path, case.body, case.query], default=str)
        return random.Random(hashlib.sha256(text.encode()).hexdigest())

    @schemathesis.hook
    def before_call(context: Any, case: schemathesis.Case, kwargs: dict[str, Any]) -> None:
        operation = f"{case.method.upper()} {case.path}"
        rng = _rng(case)
        public = case.path.startswith("/public/")  # a token in the query, whatever the method
        params = case.body if case.method.upper() == "POST" and not public else case.query
        if not isinstance(params, dict):
            return
        for name, choices in TARGETS.get(operation, {}).items():
            # The description's examples use the demo data's ids: a removal never gets to them.
            kept = operation in REMOVALS and isinstance(params.get(name), str) and params[name] in KEPT
            if name in params and (kept or rng.random() < 0.7):
                params[name] = rng.choice(choices)
        contacts = operation == "POST /private/smtps/check" or (
            operation == "POST /private/smtps/save" and "verify" in params
        )
        if contacts and ("host" in params or "port" in params):  # a try: the sink, never elsewhere
            params["host"], params["port"] = IDS["sink"][0], int(IDS["sink"][1])
        if operation == "POST /auth/login" and rng.random() < 0.3:
            params.update(FUZZ["login"])
        elif isinstance(params.get("password"), str):
            params["password"] = FUZZ["marker"] + params["password"]
        if case.method.upper() == "POST" and rng.random() < 0.25:
            declare_charset(case, params, rng.choice(FUZZ["charsets"]), rng.random() < 0.5)

    def declare_charset(case: schemathesis.Case, params: dict[str, Any], charset: str, quoted: bool) -> None:
        """The body says it is in `charset`: in its Content-Type (a form, JSON), or a multipart field."""
        media = (case.media_type or "").split(";")[0].strip().lower()
        if media == "multipart/form-data":
            params["_charset_"] = charset
        elif media in ("application/x-www-form-urlencoded", "application/json"):
            value = '"' + charset.replace("\\", "\\\\").replace('"', '\\"') + '"' if quoted else charset
            case.headers = {**(case.headers or {}), "Content-Type": f"{media}; charset={value}"}

    def declared_charset(case: schemathesis.Case) -> str | None:
        if isinstance(case.body, dict) and "_charset_" in case.body:
            return str(case.body["_charset_"])
        content_type = {k.lower(): v for k, v in (case.headers or {}).items()}.get("content-type", "")
        return content_type.partition("charset=")[2] or None

    TOKEN = {"current": FUZZ["token"]}

    @schemathesis.auth(refresh_interval=None)
    class Bearer:
        """The current token on every request (schemathesis leaves it out to test `ignored_auth`)."""

        def get(self, case: schemathesis.Case, context: Any) -> str:
            return TOKEN["current"]

        def set(self, case: schemathesis.Case, data: str, context: Any) -> None:
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}

    @schemathesis.hook
    def after_call(context: Any, case: schemathesis.Case, response: Any) -> None:
        operation = f"{case.method.upper()} {case.path}"
        with open(FUZZ["answers"], "a", encoding="utf-8") as log:
            line = {"operation": operation, "status": response.status_code, "charset": declared_charset(case)}
            log.write(json.dumps(line) + "\n")
        if operation == "POST /private/auth/logout" and response.status_code == 200:
            import requests  # the logout revoked every earlier token of the account: log in again

            login = requests.post(f"{FUZZ['api']}/auth/login", data=FUZZ["login"], timeout=30)
            login.raise_for_status()
            TOKEN["current"] = login.json()["token"]

    @schemathesis.check
    def no_stored_password(ctx: Any, response: Any, case: schemathesis.Case) -> bool | None:
        """No response, body or header, contains a password that was stored or sent."""
        seen = response.content.decode("utf-8", "replace") + json.dumps(dict(response.headers))
        for password in FUZZ["watched"]:
            if password in seen:
                raise AssertionError("A password appears in the response")
        return None
