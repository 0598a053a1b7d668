"""2. AWS calls per request, counted with bench.counting against moto, one scenario at a time.

Each scenario is one request through the real handler; every AWS call it makes is counted (from any
thread), checked against the issue's budget, against "no Secrets Manager call on a read path", and
against the function's IAM policy in template.yaml (moto does not enforce IAM: a call the policy does
not allow would pass here and fail in AWS).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench import smtp
from bench.counting import counting
from bench.lambdas import by_name, required_permissions
from bench.world import ACCOUNT, Context, World, invoke, moto_world


@dataclass
class Scenario:
    label: str
    function: str
    params: Callable[[dict[str, Any]], dict[str, Any]]
    target: int | None  # at most this many AWS calls
    exact: bool = False  # exactly `target`
    read: bool = False  # a read path: no Secrets Manager call
    no_secrets: bool = False  # no Secrets Manager call either (removes: the stream consumer deletes secrets)
    keep: str | None = None  # store the answer's _id under this name
    account: bool = True


SCENARIOS = [
    Scenario(
        "apps/save create",
        "apps_save",
        lambda s: {"name": "Bench", "testemail": "ops@example.net"},
        3,
        keep="app",
    ),
    Scenario("apps/save create (2nd app)", "apps_save", lambda s: {"name": "Other"}, 3, keep="app2"),
    Scenario("apps/save edit (rename)", "apps_save", lambda s: {"idapp": s["app2"], "name": "Renamed"}, 3),
    Scenario(
        "smtps/save create, password",
        "smtps_save",
        lambda s: {
            "idapp": s["app"],
            "host": s["smtp_host"],
            "port": s["smtp_port"],
            "auth": True,
            "username": smtp.USERNAME,
            "password": smtp.PASSWORD,
            # The loopback SMTP server has no TLS: AUTH in the clear must be allowed for the check.
            "insecureauth": True,
            "defaultfromemail": "info@example.net",
        },
        3,
        keep="smtp",
    ),
    Scenario(
        "smtps/save create, no password",
        "smtps_save",
        lambda s: {"idapp": s["app"], "host": "relay.example.net", "port": 25},
        1,
        exact=True,
        keep="smtp2",
    ),
    Scenario("smtps/save edit, no password", "smtps_save", lambda s: {"idsmtp": s["smtp"], "priority": 5}, 3),
    Scenario(
        "smtps/save edit, new password",
        "smtps_save",
        lambda s: {"idsmtp": s["smtp"], "password": smtp.PASSWORD},
        3,
    ),
    Scenario(
        "smtps/save edit, first password",
        "smtps_save",
        lambda s: {"idsmtp": s["smtp2"], "auth": True, "username": "u@example.net", "password": "pw-2"},
        3,
    ),
    Scenario(
        "smtps/save edit, other app", "smtps_save", lambda s: {"idsmtp": s["smtp2"], "idapp": s["app2"]}, 3
    ),
    Scenario("smtps/findById", "smtps_find_by_id", lambda s: {"idsmtp": s["smtp"]}, 1, exact=True, read=True),
    Scenario("smtps/findByApp", "smtps_find_by_app", lambda s: {"idapp": s["app"]}, 2, read=True),
    Scenario("apps/findAll", "apps_find_all", lambda s: {"page": 0, "size": 20}, 2, read=True),
    Scenario("apps/findById", "apps_find_by_id", lambda s: {"idapp": s["app"]}, None, read=True),
    Scenario("smtps/check (ok)", "smtps_check", lambda s: {"idsmtp": s["smtp"]}, 3),
    # The record read (its app: whose quota slot it gives back), then deleted with its slots.
    Scenario(
        "smtps/remove, password",
        "smtps_remove",
        lambda s: {"idsmtp": s["smtp"]},
        2,
        exact=True,
        no_secrets=True,
    ),
    Scenario(
        "smtps/remove, no password",
        "smtps_remove",
        lambda s: {"idsmtp": s["smtp3"]},
        2,
        exact=True,
        no_secrets=True,
    ),
    Scenario("apps/remove (1 server)", "apps_remove", lambda s: {"idapp": s["app2"]}, None, no_secrets=True),
    Scenario(
        "auth/login",
        "auth_login",
        lambda s: {"username": s["username"], "password": s["password"]},
        1,
        exact=True,
        account=False,
    ),
]
# After the authorizer's rows: a logout revokes the account's tokens, the authorizer's included.
LATE_SCENARIOS = [Scenario("auth/logout", "auth_logout", lambda s: {}, None)]


def _setup(world: World, state: dict[str, Any]) -> None:
    from bench.world import PASSWORD, USERNAME

    state.update(username=USERNAME, password=PASSWORD)
    if by_name("smtps_save"):
        # The third server, removed by "remove, no password" (created here, not counted).
        pass


class _CountedRevocations:
    """The authorizer's revocation lookup (its own signed HTTP GetItem, not boto3), counting its reads."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.reads = 0

    def revoked_before(self, account_id: str) -> int | None:
        self.reads += 1
        found: int | None = self.inner.revoked_before(account_id)
        return found


def _authorizer(world: World) -> list[dict[str, Any]]:
    """The authorizer: AWS calls and JWKS fetches on its first call, then on later calls.

    It reads the account's revocation time with a GetItem of its own (SigV4 over http.client, no
    boto3), which moto's in-process mock cannot see: it is sent to a moto server on 127.0.0.1 that
    shares the mock's tables, and counted where the function asks for it (its Revocations seam).
    """
    function = by_name("authorizer")
    if function is None or world.jwks is None or by_name("auth_login") is None:
        return []
    import os

    from bench.world import moto_server
    from local_runtime.loader import load_module

    module = load_module(function.code_uri, function.handler.rpartition(".")[0])
    handler = module.lambda_handler
    try:
        token = world.login_token()
    except RuntimeError as failure:  # the authorizer needs a real token: say why there is none
        return [
            {
                "label": "authorizer",
                "function": "authorizer",
                "status": 500,
                "calls": 0,
                "met": False,
                "iam_ok": True,
                "error": str(failure)[:300],
            }
        ]
    arn = "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/api/GET/private/smtps/findByApp"
    event = {"type": "TOKEN", "authorizationToken": f"Bearer {token}", "methodArn": arn}
    rows = []
    with moto_server() as endpoint:
        environ = {**os.environ, "AWS_ENDPOINT_URL_DYNAMODB": endpoint}
        module.reset()
        revocations = _CountedRevocations(module.AccountsTable.from_environ(environ))
        module.configure(environ=environ, revocations=revocations)
        accounts_table = environ.get("ACCOUNTS_TABLE", "")
        for label, repeat in (("authorizer, first call", 1), ("authorizer, next 100 calls", 100)):
            fetches, reads = world.jwks.fetches, revocations.reads
            started = time.perf_counter()
            with counting() as calls:
                answers = [handler(event, None) for _ in range(repeat)]
            elapsed_ms = (time.perf_counter() - started) * 1000 / repeat
            allowed = all(a["policyDocument"]["Statement"][0]["Effect"] == "Allow" for a in answers)
            gets = (revocations.reads - reads) / repeat
            aws_calls = calls.total() / repeat + gets
            jwks = (world.jwks.fetches - fetches) / repeat
            needed = (
                required_permissions("dynamodb", "GetItem", {"TableName": accounts_table}) if gets else []
            )
            denied = sorted(f"{a} on {r}" for a, r in needed if not function.allows(a, r))
            rows.append(
                {
                    "label": label,
                    "function": "authorizer",
                    "status": 200 if allowed else 403,
                    "calls": aws_calls,
                    "jwks_fetches": jwks,
                    "detail": {**dict(calls.counts()), **({"dynamodb:GetItem": gets} if gets else {})},
                    "target": None if repeat == 1 else 1,
                    "exact": True,
                    # After the first call: the keys are cached, one GetItem (the revocation check).
                    "met": None if repeat == 1 else (allowed and aws_calls == 1 and jwks == 0 and not denied),
                    "secrets_calls": 0,
                    "iam_ok": not denied,
                    "denied": denied,
                    "ms": round(elapsed_ms, 3),
                }
            )
        module.reset()
    return rows


def _measure(scenario: Scenario, state: dict[str, Any], mail: Any, log: Any) -> dict[str, Any]:
    """One request through the real handler, its AWS calls counted and checked against the policy."""
    function = by_name(scenario.function)
    if function is None:
        return {"label": scenario.label, "function": scenario.function, "missing": True}
    if scenario.label == "smtps/remove, no password":
        setup = invoke("smtps_save", {"idapp": state["app"], "host": "relay.example.net", "port": 25})
        state["smtp3"] = setup.json["_id"]
    try:
        params = scenario.params(state)
    except KeyError as needed:  # what an earlier scenario should have made is not there
        return {
            "label": scenario.label,
            "function": scenario.function,
            "status": "-",
            "calls": 0,
            "met": False,
            "iam_ok": True,
            "error": f"not run: needs {needed}, which an earlier scenario failed to make",
        }
    mail.messages.clear()
    with counting() as calls:
        reply = invoke(scenario.function, params, account=ACCOUNT if scenario.account else None)
    if scenario.keep and reply.status == 200:
        state[scenario.keep] = reply.json["_id"]
    total = calls.total()
    secrets_calls = calls.total("secretsmanager")
    needed = {p for c in calls.calls for p in required_permissions(c.service, c.operation, c.params)}
    denied = sorted(
        f"{action} on {resource}" for action, resource in needed if not function.allows(action, resource)
    )
    iam_ok = not denied
    met = reply.status == 200 and iam_ok
    if scenario.target is not None:
        met = met and (total == scenario.target if scenario.exact else total <= scenario.target)
    if scenario.read or scenario.no_secrets:
        met = met and secrets_calls == 0
    row: dict[str, Any] = {
        "label": scenario.label,
        "function": scenario.function,
        "status": reply.status,
        "calls": total,
        "detail": dict(calls.counts()),
        "target": scenario.target,
        "exact": scenario.exact,
        "read": scenario.read,
        "secrets_calls": secrets_calls,
        "iam_ok": iam_ok,
        "denied": denied,
        "met": met,
        "units": units(calls.calls),
    }
    if scenario.function == "smtps_check":
        row["smtp_messages"] = len(mail.messages)
    if reply.status != 200:
        row["error"] = reply.body[:300]
    log(f"calls: {scenario.label}: {total} ({reply.status})")
    return row


def run(log: Any) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    with smtp.server() as mail, moto_world(**smtp.check_environment()) as world:
        state: dict[str, Any] = {"smtp_host": mail.host, "smtp_port": mail.port}
        _setup(world, state)
        for scenario in SCENARIOS:
            rows.append(_measure(scenario, state, mail, log))
        rows.extend(_authorizer(world))
        for scenario in LATE_SCENARIOS:
            rows.append(_measure(scenario, state, mail, log))
        rows.extend(_cleanup(world, state))
        rows.extend(_apps_cleanup())
    return {"scenarios": rows}


def _cleanup(world: World, state: dict[str, Any]) -> list[dict[str, Any]]:
    """The stream consumer (SecretsCleanupFunction): calls for the records of the scenarios above that the
    template's filter lets through (an edit that named a new secret version: its labels tidied; a change
    that named none: skipped without a call), then for batches of REMOVE records."""
    import copy

    loaded = _stream_consumer("secrets_cleanup")
    if loaded is None or "smtp" not in state:
        return []
    function, handler, template_record = loaded
    rows = []
    edit, unchanged = _stream_samples(world, state["smtp"])
    for label, records, target, exact in (
        ("secrets cleanup, 1 password edit (labels tidied)", [edit] if edit else [], 3, False),
        ("secrets cleanup, 1 update naming no new version", [unchanged] if unchanged else [], 0, True),
    ):
        if records:
            rows.append(_cleanup_row(label, function, handler, records, target=target, exact=exact))
    for label, ids in (
        ("secrets cleanup, 1 removed server", [state["smtp"]]),
        ("secrets cleanup, batch of 10", [f"{n:024x}" for n in range(1, 11)]),
    ):
        records = []
        for ident in ids:
            record = copy.deepcopy(template_record)
            record["dynamodb"]["Keys"] = {"_id": {"S": ident}}
            record["dynamodb"]["OldImage"]["_id"] = {"S": ident}
            records.append(record)
        rows.append(_cleanup_row(label, function, handler, records, target=len(ids), exact=False))
    return rows


def _apps_cleanup() -> list[dict[str, Any]]:
    """The apps table's stream consumer (AppsCleanupFunction): a removed app whose removal missed nothing,
    the usual case (one Query), and a rename's name lock (no call)."""
    import copy

    loaded = _stream_consumer("apps_cleanup")
    if loaded is None:
        return []
    function, handler, removed = loaded  # the sample's time is long past: no wait
    renamed = copy.deepcopy(removed)
    renamed["dynamodb"]["Keys"]["_id"] = {"S": "#name#shop"}
    return [
        _cleanup_row(
            "apps cleanup, 1 removed app (nothing missed)", function, handler, [removed], target=1, exact=True
        ),
        _cleanup_row(
            "apps cleanup, 1 renamed app (its name lock)", function, handler, [renamed], target=0, exact=True
        ),
    ]


def _stream_consumer(name: str) -> tuple[Any, Any, dict[str, Any]] | None:
    """A stream consumer of the template: its Function, its handler and the first record of its sample
    event (events/<name>.json); None when the template or the events have none."""
    import json

    from bench.lambdas import ROOT
    from local_runtime.loader import load_handler

    function = by_name(name)
    sample = ROOT / "events" / f"{name}.json"
    if function is None or not sample.is_file():
        return None
    record: dict[str, Any] = json.loads(sample.read_text())["Records"][0]
    return function, load_handler(function.code_uri, function.handler), record


def _stream_samples(world: World, smtp_id: str) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """From SmtpsTable's stream on moto, as the event source mapping delivers it (the template's filters):
    the server's MODIFY that replaced its secretVersion by another (the edit with a new password), and
    one that left it as it was (the check's update)."""
    import boto3
    from botocore.config import Config

    from bench.lambdas import tables
    from local_runtime import template
    from local_runtime.streams import StreamPoller

    arn = world.dynamodb.describe_table(TableName=tables()["SmtpsTable"])["Table"]["LatestStreamArn"]
    (source,) = [s for s in template.stream_sources(template.default()) if s.table == "SmtpsTable"]
    client = boto3.client(
        "dynamodbstreams", region_name="us-east-1", config=Config(account_id_endpoint_mode="disabled")
    )
    poller = StreamPoller(source.name, client, arn, lambda event: None, source.properties)
    poller.fetch()
    edit = unchanged = None
    for record in poller.pending:
        images = record["dynamodb"]
        if record["eventName"] != "MODIFY" or images["Keys"]["_id"]["S"] != smtp_id:
            continue
        old = (images.get("OldImage") or {}).get("secretVersion")
        new = images["NewImage"]["secretVersion"]
        if old and old != new and edit is None:
            edit = record
        elif old == new and unchanged is None:
            unchanged = record
    return edit, unchanged


def _cleanup_row(
    label: str, function: Any, handler: Any, records: list[dict[str, Any]], *, target: int, exact: bool
) -> dict[str, Any]:
    with counting() as calls:
        answer = handler({"Records": records}, Context())
    needed = {p for c in calls.calls for p in required_permissions(c.service, c.operation, c.params)}
    denied = sorted(f"{a} on {r}" for a, r in needed if not function.allows(a, r))
    failures = (answer or {}).get("batchItemFailures", [])
    total = calls.total()
    return {
        "label": label,
        "function": function.name,
        "status": 200 if not failures else 500,
        "calls": total,
        "detail": dict(calls.counts()),
        "target": target,
        "exact": exact,
        "met": not failures and not denied and (total == target if exact else total <= target),
        "secrets_calls": calls.total("secretsmanager"),
        "iam_ok": not denied,
        "denied": denied,
        "units": units(calls.calls),
    }


def units(calls: list[Any]) -> dict[str, float]:
    """DynamoDB read/write request units and Secrets Manager API calls of a request (see bench.cost)."""
    from bench.cost import request_units

    return request_units(calls)
