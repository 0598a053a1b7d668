"""make bench's own machinery: the call counter, the in-memory AWS behind real boto3 clients, the textbook
peer's answer, the cold-start tree's interpreter stamp and the budget's verdicts."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, ParamValidationError

from bench import lambdas, layer, report, sandbox, wire
from bench.counting import counting
from bench.interpreter import Interpreter
from local_runtime import events
from local_runtime.loader import load_handler
from tests.support.aws import APPS_TABLE, SMTPS_TABLE, Aws
from tests.support.lambdas import call

# --- the call counter (moto) ---------------------------------------------------------------------


def test_counts_exactly_the_calls_of_a_known_sequence(aws: Aws) -> None:
    for number in range(3):
        aws.dynamodb.put_item(
            TableName=APPS_TABLE, Item={"iduser": {"S": "owner"}, "_id": {"S": f"{number:024x}"}}
        )
    key = {"iduser": {"S": "owner"}, "_id": {"S": f"{0:024x}"}}

    with counting() as calls:
        aws.dynamodb.get_item(TableName=APPS_TABLE, Key=key)
        aws.dynamodb.get_item(TableName=APPS_TABLE, Key=key)
        pages = aws.dynamodb.get_paginator("query").paginate(
            TableName=APPS_TABLE,
            KeyConditionExpression="iduser = :o",
            ExpressionAttributeValues={":o": {"S": "owner"}},
            Limit=2,
        )
        items = [item for page in pages for item in page["Items"]]
        aws.secrets.create_secret(Name="bench/one", SecretString=json.dumps({"password": "x"}))

    assert len(items) == 3
    # Limit=2 over 3 items: two pages, each one request.
    assert calls.counts() == {
        "dynamodb:GetItem": 2,
        "dynamodb:Query": 2,
        "secretsmanager:CreateSecret": 1,
    }
    assert calls.total() == 5
    assert calls.total("secretsmanager") == 1
    assert calls.services() == {"dynamodb", "secretsmanager"}
    assert sum(call.items for call in calls.calls if call.operation == "Query") == 3


def test_calls_outside_the_block_are_not_counted_and_failures_are(aws: Aws) -> None:
    aws.dynamodb.list_tables()
    with counting() as calls, contextlib.suppress(aws.secrets.exceptions.ResourceNotFoundException):
        aws.secrets.get_secret_value(SecretId="bench/missing")
    aws.dynamodb.list_tables()

    assert calls.counts() == {"secretsmanager:GetSecretValue": 1}
    assert calls.calls[0].error == "ResourceNotFoundException"


def test_calls_from_worker_threads_are_counted(aws: Aws) -> None:
    with counting() as calls, ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda n: aws.secrets.create_secret(Name=f"bench/{n}", SecretString="{}"), range(8)))

    assert calls.counts() == {"secretsmanager:CreateSecret": 8}


def test_counts_what_a_handler_does(aws: Aws) -> None:
    app = call("apps_save", {"name": "Shop", "testemail": "ops@example.net"})
    smtp = call("smtps_save", {"idapp": app.json["_id"], "host": "smtp.example.net", "port": 25})

    with counting() as calls:
        found = call("smtps_find_by_id", {"idsmtp": smtp.json["_id"]})

    assert found.status == 200
    assert calls.counts() == {"dynamodb:GetItem": 1}


# --- real boto3 clients, the HTTP send answered in memory (bench.wire) -----------------------------


@pytest.fixture
def memory() -> Iterator[wire.InMemoryAws]:
    """In-memory AWS behind every client built meanwhile; any real HTTP send fails the test."""
    aws = wire.InMemoryAws({SMTPS_TABLE: {"key": ["_id"], "indexes": {"byApp": ["idapp", "rank"]}}})
    with pytest.MonkeyPatch.context() as patch, wire.installed(aws):
        patch.setattr("botocore.endpoint.Endpoint._send", _no_network)
        yield aws


def _no_network(*_args: Any, **_kwargs: Any) -> Any:
    raise AssertionError("an HTTP request left the process")


def test_a_real_client_is_answered_in_memory_after_validation_signing_and_before_parsing(
    memory: wire.InMemoryAws,
) -> None:
    dynamodb = boto3.session.Session().client("dynamodb", region_name="us-east-1")
    dynamodb.put_item(TableName=SMTPS_TABLE, Item={"_id": {"S": "a"}, "port": {"N": "25"}})

    found = dynamodb.get_item(TableName=SMTPS_TABLE, Key={"_id": {"S": "a"}})
    with pytest.raises(ParamValidationError):  # botocore's validation: never sent
        dynamodb.get_item(TableName=SMTPS_TABLE)  # type: ignore[call-arg]

    assert found["Item"] == {"_id": {"S": "a"}, "port": {"N": "25"}}
    assert found["ResponseMetadata"]["HTTPStatusCode"] == 200  # parsed by botocore from the HTTP answer
    assert memory.calls() == {"dynamodb:PutItem": 1, "dynamodb:GetItem": 1}
    assert memory.sends == memory.signed == 2  # every request arrived SigV4-signed


def test_errors_arrive_as_botocore_raises_them(memory: wire.InMemoryAws) -> None:
    secrets = boto3.session.Session().client("secretsmanager", region_name="us-east-1")

    with pytest.raises(ClientError) as raised:
        secrets.get_secret_value(SecretId="bench/missing")

    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert isinstance(raised.value, secrets.exceptions.ResourceNotFoundException)


def test_pinned_secret_versions_and_labels_behave_as_secrets_manager(memory: wire.InMemoryAws) -> None:
    secrets = boto3.session.Session().client("secretsmanager", region_name="us-east-1")
    first = "11111111-1111-4111-8111-111111111111"
    second = "22222222-2222-4222-8222-222222222222"
    secrets.create_secret(Name="s", SecretString="one", ClientRequestToken=first)
    secrets.put_secret_value(
        SecretId="s", SecretString="two", ClientRequestToken=second, VersionStages=["mine"]
    )

    current_before = secrets.get_secret_value(SecretId="s")["SecretString"]
    secrets.update_secret_version_stage(
        SecretId="s", VersionStage="AWSCURRENT", MoveToVersionId=second, RemoveFromVersionId=first
    )

    assert current_before == "one"
    assert secrets.get_secret_value(SecretId="s", VersionId=second)["SecretString"] == "two"
    # The first version lost its only label: purged, as AWS does with unlabelled versions.
    assert secrets.describe_secret(SecretId="s")["VersionIdsToStages"] == {second: ["AWSCURRENT", "mine"]}


def test_labels_stay_on_one_version_each_among_many_and_survive_a_reload(memory: wire.InMemoryAws) -> None:
    # Given a secret with 50 more versions, each under a label of its own (as edits leave them before
    # the stream tidies up)
    secrets = boto3.session.Session().client("secretsmanager", region_name="us-east-1")
    first = secrets.create_secret(Name="s", SecretString="zero")["VersionId"]
    ids = [
        secrets.put_secret_value(SecretId="s", SecretString=f"p{n}", VersionStages=[f"v{n}"])["VersionId"]
        for n in range(50)
    ]

    # When AWSCURRENT moves to the last one and the label of the eleventh is removed
    secrets.update_secret_version_stage(
        SecretId="s", VersionStage="AWSCURRENT", MoveToVersionId=ids[49], RemoveFromVersionId=first
    )
    secrets.update_secret_version_stage(SecretId="s", VersionStage="v10", RemoveFromVersionId=ids[10])

    # Then the versions that lost their only label are gone, every other label is where it was put
    stages = secrets.describe_secret(SecretId="s")["VersionIdsToStages"]
    assert first not in stages
    assert ids[10] not in stages
    assert stages[ids[49]] == ["AWSCURRENT", "v49"]
    assert all(stages[ids[n]] == [f"v{n}"] for n in range(49) if n != 10)
    assert secrets.get_secret_value(SecretId="s")["SecretString"] == "p49"
    assert secrets.get_secret_value(SecretId="s", VersionStage="v7")["SecretString"] == "p7"
    # and a copy loaded from the contents finds them too, and moves them as the original would
    copy = wire.InMemoryAws({}).load(memory.contents()).services["secretsmanager"]
    assert copy.get_secret_value(SecretId="s", VersionStage="v20")["SecretString"] == "p20"
    copy.update_secret_version_stage(SecretId="s", VersionStage="v20", MoveToVersionId=ids[21])
    assert copy.versions["s"][ids[21]]["labels"] == {"v20", "v21"}
    assert ids[20] not in copy.versions["s"]


def test_updates_apply_set_if_not_exists_add_and_remove() -> None:
    fake = wire.FakeDynamoDB({"T": {"key": ["pk"], "indexes": {}}})
    request = {
        "TableName": "T",
        "Key": {"pk": {"S": "k"}},
        "UpdateExpression": "ADD #count :one SET #expires = if_not_exists(#expires, :exp), gone = :x "
        "REMOVE old",
        "ExpressionAttributeNames": {"#count": "count", "#expires": "expires"},
        "ExpressionAttributeValues": {":one": {"N": "1"}, ":exp": {"N": "60"}, ":x": {"S": "x"}},
    }
    fake.put("T", {"pk": {"S": "k"}, "old": {"S": "o"}, "expires": {"N": "30"}})

    fake.update_item(**request)
    fake.update_item(**request)

    assert fake.items["T"][("k",)] == {
        "pk": {"S": "k"},
        "count": {"N": "2"},
        "expires": {"N": "30"},
        "gone": {"S": "x"},
    }


def test_queries_on_an_index_come_back_in_its_order() -> None:
    fake = wire.FakeDynamoDB({SMTPS_TABLE: {"key": ["_id"], "indexes": {"byApp": ["idapp", "rank"]}}})
    for rank in ("b", "a"):
        fake.put_item(
            TableName=SMTPS_TABLE, Item={"_id": {"S": rank}, "idapp": {"S": "x"}, "rank": {"S": rank}}
        )

    found = fake.query(
        TableName=SMTPS_TABLE,
        IndexName="byApp",
        KeyConditionExpression="idapp = :app",
        ExpressionAttributeValues={":app": {"S": "x"}},
    )

    assert [item["_id"]["S"] for item in found["Items"]] == ["a", "b"]
    assert fake.calls == {"PutItem": 2, "Query": 1}


def test_a_projection_is_answered_with_the_attributes_it_names_only() -> None:
    """As DynamoDB does: apps/remove's Query for the servers' ids gets ids, not whole servers to parse."""
    fake = wire.FakeDynamoDB({SMTPS_TABLE: {"key": ["_id"], "indexes": {"byApp": ["idapp", "rank"]}}})
    fake.put_item(TableName=SMTPS_TABLE, Item={"_id": {"S": "a"}, "idapp": {"S": "x"}, "host": {"S": "h"}})
    key = {
        "TableName": SMTPS_TABLE,
        "ProjectionExpression": "#id",
        "ExpressionAttributeNames": {"#id": "_id"},
    }
    query = {"IndexName": "byApp", "KeyConditionExpression": "idapp = :app"}

    found = fake.query(**key, **query, ExpressionAttributeValues={":app": {"S": "x"}})
    got = fake.get_item(**key, Key={"_id": {"S": "a"}})

    assert found["Items"] == [{"_id": {"S": "a"}}]
    assert got["Item"] == {"_id": {"S": "a"}}
    assert fake.get_item(TableName=SMTPS_TABLE, Key={"_id": {"S": "a"}})["Item"]["host"] == {"S": "h"}


@pytest.fixture
def bench_world(monkeypatch: pytest.MonkeyPatch) -> Iterator[wire.InMemoryAws]:
    """The functions' environment as make bench sets it, the demo data written by the layer itself."""
    for name, value in lambdas.function_environment().items():
        monkeypatch.setenv(name, value)
    aws = layer.in_memory(layer.demo_seed())
    with pytest.MonkeyPatch.context() as patch, wire.installed(aws):
        patch.setattr("botocore.endpoint.Endpoint._send", _no_network)
        # boto3's default session, if an earlier test made one, predates the in-memory handler (it is
        # given to sessions made from now on): the peer's `boto3.resource` must get a fresh one, as in a
        # new Lambda process.
        patch.setattr("boto3.DEFAULT_SESSION", None)
        wire.use_in_layer(aws)
        yield aws
    layer.reset()


def _sample(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((events.EVENTS_DIR / f"{name}.json").read_text())
    return event


class _Context:
    function_name = "bench"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    aws_request_id = "00000000-0000-4000-8000-0000000000aa"


def test_the_textbook_peer_answers_what_find_by_id_answers(
    bench_world: wire.InMemoryAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    function = lambdas.by_name("smtps_find_by_id")
    assert function is not None
    ours = load_handler(function.code_uri, function.handler)(_sample("smtps_find_by_id"), _Context())
    source = Path(sandbox.PEER_SOURCE)
    spec = importlib.util.spec_from_file_location("bench_textbook_peer", source)
    assert spec is not None
    assert spec.loader is not None
    peer = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(
        sys.modules, spec.name, peer
    )  # as an import would (pydantic resolves its types there)
    spec.loader.exec_module(peer)
    theirs = peer.lambda_handler(_sample("smtps_find_by_id"), _Context())

    assert ours["statusCode"] == theirs["statusCode"] == 200
    assert json.loads(ours["body"]) == json.loads(theirs["body"])
    assert json.loads(ours["body"])["_id"] == events._SMTP
    assert bench_world.calls() == {"dynamodb:GetItem": 2}  # one each


# --- the cold-start tree and the report ------------------------------------------------------------


def test_a_build_stamped_by_one_interpreter_is_not_reused_by_another(tmp_path: Path) -> None:
    py311 = Interpreter(path="/usr/bin/python3.11", version="3.11.7", cache_tag="cpython-311", note="")
    py313 = Interpreter(
        path="/opt/python3.13/bin/python3.13", version="3.13.0", cache_tag="cpython-313", note=""
    )
    moved = Interpreter(path="/elsewhere/python3.13", version="3.13.0", cache_tag="cpython-313", note="")
    (tmp_path / ".stamp").write_text(f"{py311.stamp()}\nboto3==1.0")

    assert sandbox._fresh(tmp_path, f"{py311.stamp()}\nboto3==1.0")
    assert not sandbox._fresh(tmp_path, f"{py313.stamp()}\nboto3==1.0")
    assert py313.stamp() != moved.stamp()  # the same version elsewhere is another interpreter


def _cold(ratios: dict[str, float], peer: float) -> dict[str, Any]:
    def figures(ratio: float) -> dict[str, Any]:
        return {"init_ms": 100 * ratio, "ratio": ratio, "spread": {"low": ratio - 0.03, "high": ratio + 0.03}}

    return {
        "runtime_version": True,
        "functions": {name: {"layer": figures(ratio)} for name, ratio in ratios.items()},
        "peer": {"layer": figures(peer)},
    }


def test_the_budget_passes_and_fails_on_its_three_rules() -> None:
    warm = {"iterations": 10, "scenarios": {"findById": {"p99_ms": 1.2, "statuses": {"200": 10}, "sends": 1}}}
    passing = report.budget({"cold": _cold({"a": 1.2, "b": 1.3}, peer=1.5), "warm": warm})
    too_slow = {"findById": {"p99_ms": 1.6, "statuses": {"200": 10}, "sends": 1}}
    failing = report.budget(
        {"cold": _cold({"a": 1.2, "b": 1.46}, peer=1.55), "warm": {**warm, "scenarios": too_slow}}
    )

    assert [line.split(":")[1].split()[0] for line in passing[1:]] == ["PASS", "PASS", "PASS"]
    assert [line.split(":")[1].split()[0] for line in failing[1:]] == ["FAIL", "FAIL", "FAIL"]
    assert "b 1.46x (1.43-1.49)" in failing[1]  # the worst, with its spread
    assert "b +0.09x" in failing[2]  # closest to the peer


def test_the_warm_budget_is_per_aws_call() -> None:
    """1 ms for the handler's own work, 0.5 ms for each AWS call it makes: 2.5 ms for 3 calls."""
    three = {"p99_ms": 2.4, "statuses": {"200": 10}, "sends": 3.0}
    assert report.warm_target(three) == 2.5
    assert report._warm_met({"iterations": 10}, three)
    assert not report._warm_met({"iterations": 10}, {**three, "p99_ms": 2.6})
    scenarios = {"remove": {**three, "p99_ms": 2.6}, "find": {**three, "p99_ms": 2.55, "sends": 4.0}}
    (line,) = [
        line for line in report.budget({"warm": {"iterations": 10, "scenarios": scenarios}}) if "warm" in line
    ]
    assert "FAIL" in line
    assert "closest: remove 2.6" in line  # the furthest over its own target, not the slowest


# --- the warm overhead: its interpreter and tree, its runs and their spread ------------------------


@pytest.fixture
def interpreters(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """bench.interpreter with its choice forgotten before and after (it is cached for the process)."""
    from bench import interpreter

    interpreter.cold.cache_clear()
    yield interpreter
    interpreter.cold.cache_clear()


def test_warm_runs_under_the_cold_starts_interpreter_python313_when_there_is_one(
    interpreters: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    found = Interpreter(path="/opt/py/bin/python3.13", version="3.13.0", cache_tag="cpython-313", note="3.13")
    monkeypatch.setattr(interpreters, "python313", lambda: found)

    assert interpreters.warm() == interpreters.cold() == found
    assert interpreters.warm().is_runtime


def test_without_python313_warm_falls_back_to_this_python_as_cold_does(
    interpreters: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(interpreters, "python313", lambda: None)

    chosen = interpreters.warm()

    assert chosen == interpreters.cold()
    assert chosen.path == sys.executable
    assert "no python3.13 found" in chosen.note


_PY313 = Interpreter(path="/opt/py/bin/python3.13", version="3.13.0", cache_tag="cpython-313", note="3.13")


def test_a_tree_that_cannot_be_built_for_python313_falls_back_to_this_python(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    built: list[str] = []

    def build(functions: Any, interpreter: Interpreter, *, peer: bool = True) -> dict[str, Any]:
        built.append(interpreter.path)
        if interpreter.path == _PY313.path:
            raise RuntimeError("no wheel for cp313")
        return {"layer": "L"}

    monkeypatch.setattr(sandbox, "build", build)

    python, paths = sandbox.build_or_fall_back((), _PY313, peer=False)

    assert built == [_PY313.path, sys.executable]
    assert python.path == sys.executable
    assert "could not be built for /opt/py/bin/python3.13 (no wheel for cp313)" in python.note
    assert paths == {"layer": "L"}


def test_the_tree_is_built_once_a_process_and_the_peer_only_when_asked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    builds: list[str] = []
    peers: list[str] = []
    monkeypatch.setattr(sandbox, "_BUILT", {})
    monkeypatch.setattr(
        sandbox, "_build", lambda functions, python: builds.append(python.path) or {"layer": "L"}
    )
    monkeypatch.setattr(sandbox, "_peer", lambda python: peers.append(python.path) or {"task": "T"})

    warm = sandbox.build((), _PY313, peer=False)  # the warm overhead first: no peer
    cold = sandbox.build((), _PY313)  # then the cold starts: the same tree, the peer added
    again = sandbox.build((), _PY313)
    other = sandbox.build(
        (), Interpreter(path="/usr/bin/python3.11", version="3.11.7", cache_tag="cpython-311", note="")
    )

    assert builds == [_PY313.path, "/usr/bin/python3.11"]
    assert peers == [_PY313.path, "/usr/bin/python3.11"]
    assert warm is cold is again
    assert cold["peer"] == {"task": "T"}
    assert other is not cold


def test_a_tree_that_failed_to_build_is_not_built_again_in_the_same_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    attempts: list[str] = []

    def fail(functions: Any, python: Interpreter) -> dict[str, Any]:
        attempts.append(python.path)
        raise RuntimeError("no wheel for cp313")

    monkeypatch.setattr(sandbox, "_BUILT", {})
    monkeypatch.setattr(sandbox, "_FAILED", {})
    monkeypatch.setattr(sandbox, "_build", fail)

    for _ in range(2):  # the cold starts, then the warm overhead
        with pytest.raises(RuntimeError, match="no wheel for cp313"):
            sandbox.build((), _PY313)

    assert attempts == [_PY313.path]


def test_a_measuring_process_runs_on_the_tree_with_no_site_packages(tmp_path: Path) -> None:
    from bench import warm

    paths = {"layer": tmp_path / "layer" / "python", "runtime": tmp_path / "runtime"}
    args, env = warm.command(_PY313, paths, tmp_path / "plan.json", tmp_path / "out.json", 1000)

    assert args[:5] == [_PY313.path, "-S", "-P", "-B", "-m"]
    assert args[5:] == ["bench.warm", str(tmp_path / "plan.json"), str(tmp_path / "out.json"), "1000"]
    # The layer, then the runtime's boto3, then the repository (the bench's own modules): never the
    # layer's sources nor a site-packages.
    assert env["PYTHONPATH"].split(":") == [str(paths["layer"]), str(paths["runtime"]), str(lambdas.ROOT)]
    assert env["SMTPS_TABLE"] == lambdas.SMTPS_TABLE
    tree = tmp_path
    assert (
        warm._outside(
            {"smtphub": str(tree / "layer/python/smtphub"), "boto3": str(tree / "runtime/boto3")}, tree
        )
        == {}
    )
    assert warm._outside({"boto3": "/work/.venv/lib/python3.11/site-packages/boto3"}, tree) == {
        "boto3": "/work/.venv/lib/python3.11/site-packages/boto3"
    }


def _run(p99: float, p50: float = 1.0, *, calls: int = 1000, ok: int | None = None) -> dict[str, Any]:
    row = {
        "function": "smtps_save",
        "p50_ms": p50,
        "p99_ms": p99,
        "mean_ms": p50,
        "max_ms": p99 * 2,
        "wall_p50_ms": p50,
        "wall_p99_ms": p99,
        "statuses": {"200": calls if ok is None else ok, **({} if ok is None else {"500": calls - ok})},
        "sdk_ms": 0.8,
        "answer_ms": 0.1,
        "sends": 3.0,
        "all_signed": True,
        "log_bytes": 900.0,
        "aws_calls": {"dynamodb:GetItem": 1.0},
    }
    return {"iterations": calls, "scenarios": {"smtps/save edit, new password": row}}


def test_the_warm_runs_are_combined_by_median_with_each_runs_p99_as_the_spread() -> None:
    from bench import warm

    combined = warm.combine([_run(2.9, p50=1.7), _run(4.6, p50=1.8)])
    row = combined["scenarios"]["smtps/save edit, new password"]

    assert (combined["iterations"], combined["runs"], combined["calls_per_run"]) == (2000, 2, 1000)
    assert row["p99_ms"] == 3.75  # the median of two runs: their mean
    assert row["p50_ms"] == 1.75
    assert row["p99_by_run"] == [2.9, 4.6]
    assert row["p99_spread"] == {"low": 2.9, "high": 4.6}
    assert row["statuses"] == {"200": 2000}  # every request of every run
    assert row["max_ms"] == 9.2
    assert row["aws_calls"] == {"dynamodb:GetItem": 1.0}  # per request, not summed over the runs


def test_the_warm_table_gives_the_median_p99_and_each_runs_and_judges_the_median() -> None:
    from bench import warm

    one_slow_run = warm.combine([_run(2.1), _run(2.7)])  # median 2.4: met (3 calls: 2.5), one run over
    slow = warm.combine([_run(2.3), _run(2.9)])  # median 2.6: not met, though one run was under
    failed = warm.combine([_run(1.0), _run(1.0, ok=999)])  # fast, but one request failed

    def render(part: dict[str, Any]) -> tuple[str, list[str]]:
        return report.render(
            {"warm": {**part, "runtime_version": True, "interpreter": {"note": "3.13 here"}}}
        )

    text, missed = render(one_slow_run)
    line = next(line for line in text.splitlines() if line.startswith("smtps/save edit, new password"))
    assert "2.40 (2.10-2.70)" in line
    assert "2.50 (3)" in line  # its target, for its 3 AWS calls
    assert line.split()[-1] == "yes"
    assert not missed
    assert "median of 2 runs x 1000 calls" in text
    assert "interpreter: 3.13 here" in text
    assert "the median p99 is under the target" in text
    assert "PASS (closest: smtps/save edit, new password 2.40 (2.10-2.70) ms, target 2.5)" in text
    assert "(median of 2 runs), real SDK, CPU time, python3.13: PASS" in text

    text, missed = render(slow)
    assert missed == ["warm smtps/save edit, new password"]
    assert "FAIL (closest: smtps/save edit, new password 2.60 (2.30-2.90) ms, target 2.5)" in text

    text, missed = render(failed)
    assert missed == ["warm smtps/save edit, new password"]
    assert "some requests did not answer 200" in text


def test_a_warm_run_not_under_python313_says_its_figures_are_indicative() -> None:
    from bench import warm

    part = {**warm.combine([_run(1.0), _run(1.1)]), "runtime_version": False}
    part["interpreter"] = {"version": "3.11.7", "note": "no python3.13 found: this machine's Python 3.11.7"}

    text, _ = report.render({"warm": part})

    assert "interpreter: no python3.13 found" in text
    assert "not the runtime's python3.13: the figures are indicative only" in text
    assert "CPU time, python 3.11.7: PASS" in text


def test_one_warm_run_measures_each_planned_scenario_with_the_real_sdk(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bench import warm

    for name, value in lambdas.function_environment().items():
        monkeypatch.setenv(name, value)
    plan = warm.plan(lambdas.functions(), lambdas.ROOT / "functions")
    labels = [scenario["label"] for scenario in plan["scenarios"]]
    plan["scenarios"] = [s for s in plan["scenarios"] if s["label"] in ("smtps/findById", "apps/save edit")]
    sink = warm.Sink()
    monkeypatch.setattr("botocore.endpoint.Endpoint._send", _no_network)
    monkeypatch.setattr("boto3.DEFAULT_SESSION", None)
    monkeypatch.setattr(sys, "stdout", sink)
    try:
        measured = warm.measure(json.loads(json.dumps(plan)), 20, sink)  # as the process reads it
    finally:
        layer.reset()

    assert "smtps/save edit, new password" in labels
    assert measured["iterations"] == 20
    assert set(measured["scenarios"]) == {"smtps/findById", "apps/save edit"}
    found = measured["scenarios"]["smtps/findById"]
    assert found["statuses"] == {200: 20}
    assert found["aws_calls"] == {"dynamodb:GetItem": 1.0}
    assert found["all_signed"]
    assert 0 < found["p50_ms"] <= found["p99_ms"] <= found["max_ms"]
    assert measured["scenarios"]["apps/save edit"]["statuses"] == {200: 20}
    assert (
        Path(measured["imported_from"]["smtps_find_by_id"]) == lambdas.ROOT / "functions" / "smtps_find_by_id"
    )
    assert Path(measured["imported_from"]["smtphub"]) == lambdas.ROOT / "layers" / "common" / "smtphub"


# --- delivery: queued to delivered in make run (issue 24) -----------------------------------------------


def test_delivery_is_not_measured_until_the_template_has_emails_send_and_the_sender() -> None:
    from bench import delivery
    from local_runtime import template

    document = template.load()  # a copy of its own: template.default() is shared by every test
    for name in ("EmailsSendFunction", "EmailsSenderFunction"):  # as before issue 24's functions
        document["Resources"].pop(name, None)
    assert delivery.missing(document) == ["emails_send", "EmailsSenderFunction"]
    document["Resources"]["EmailsSenderFunction"] = {
        "Type": "AWS::Serverless::Function",
        "Properties": {"CodeUri": "functions/emails_sender/"},
    }
    document["Resources"]["EmailsSendFunction"] = {
        "Type": "AWS::Serverless::Function",
        "Properties": {
            "CodeUri": "functions/emails_send/",
            "Events": {
                "Api": {"Type": "Api", "Properties": {"Path": "/private/emails/send", "Method": "POST"}}
            },
        },
    }
    assert delivery.missing(document) == []
    text = delivery.render({"measured": False, "missing": ["emails_send", "EmailsSenderFunction"]})
    assert "not measured: emails_send, EmailsSenderFunction missing" in text
    assert delivery.missed({"measured": False, "missing": ["emails_send"]}) == []


def test_delivery_judges_every_e_mail_against_the_target() -> None:
    from bench import delivery

    fast = delivery.figures(1.9, [0.4, 0.3, 0.5])
    assert (fast["median_s"], fast["max_s"], fast["cold_s"], fast["met"]) == (0.4, 0.5, 1.9, True)
    assert delivery.missed(fast) == []
    assert "median 0.400 s, max 0.500 s (the first, a cold start: 1.900 s)" in delivery.render(fast)
    slow = delivery.figures(0.5, [0.4, 2.0])
    assert slow["met"] is False  # one e-mail at the target misses it
    assert delivery.missed(slow) == ["make run: queued to delivered"]
    assert "MISSED" in delivery.render(slow)


def test_the_wire_answers_sqs_and_s3_through_the_real_sdk_signed() -> None:
    """What emails/send and the sender call (issue 24): SendMessage(Batch), DeleteMessageBatch, PutObject,
    GetObject, DeleteObjects, through botocore's serialization, signing and parsing (its MD5 check of a
    sent message included)."""
    import boto3

    aws = wire.InMemoryAws({})
    with wire.installed(aws):
        session = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
        )
        sqs, s3 = session.client("sqs"), session.client("s3")
        url = "https://sqs.us-east-1.amazonaws.com/123456789012/smtp-hub-send"
        assert sqs.send_message(QueueUrl=url, MessageBody='{"idemail":"a","turn":0}')["MessageId"]
        batch = sqs.send_message_batch(
            QueueUrl=url, Entries=[{"Id": "1", "MessageBody": "b", "DelaySeconds": 5}]
        )
        assert [entry["Id"] for entry in batch["Successful"]] == ["1"]
        assert sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": "x", "ReceiptHandle": "h"}])[
            "Successful"
        ]
        s3.put_object(Bucket="smtp-hub-local-emailsbucket", Key="content/a", Body=b"\x00bundle\xff")
        got = s3.get_object(Bucket="smtp-hub-local-emailsbucket", Key="content/a")["Body"].read()
        assert got == b"\x00bundle\xff"
        deleted = s3.delete_objects(
            Bucket="smtp-hub-local-emailsbucket", Delete={"Objects": [{"Key": "content/a"}], "Quiet": False}
        )
        assert [d["Key"] for d in deleted["Deleted"]] == ["content/a"]
        with pytest.raises(s3.exceptions.NoSuchKey):
            s3.get_object(Bucket="smtp-hub-local-emailsbucket", Key="content/a")
    assert aws.services["sqs"].messages[url] == ['{"idemail":"a","turn":0}', "b"]
    assert aws.calls() == {
        "sqs:SendMessage": 1,
        "sqs:SendMessageBatch": 1,
        "sqs:DeleteMessageBatch": 1,
        "s3:PutObject": 1,
        "s3:GetObject": 2,
        "s3:DeleteObjects": 1,
    }
    assert aws.signed == aws.sends == 7


def test_a_streamed_body_used_as_a_context_manager_closes_its_raw_stream() -> None:
    """smtphub.emails.content reads S3's body in `with answer["Body"]`: botocore closes the raw stream."""
    aws = wire.InMemoryAws({})
    with wire.installed(aws):
        s3 = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
        ).client("s3")
        s3.put_object(Bucket="smtp-hub-local-emailsbucket", Key="content/b", Body=b"bundle")
        with s3.get_object(Bucket="smtp-hub-local-emailsbucket", Key="content/b")["Body"] as body:
            assert body.read() == b"bundle"


# --- the sender's parts (issue 24): bench.sendtime and bench.sending ------------------------------------


def test_the_slow_peer_waits_before_every_reply_greeting_included(monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio
    import smtplib

    from bench import smtp

    waits: list[float] = []
    real_sleep = asyncio.sleep

    async def recorded(seconds: float, *args: Any) -> Any:
        waits.append(seconds)
        return await real_sleep(0, *args)

    monkeypatch.setattr(asyncio, "sleep", recorded)
    with smtp.server(delay=0.05) as mail:
        waits.clear()  # the controller's own readiness probe was greeted too
        with smtplib.SMTP(mail.host, mail.port, timeout=10) as client:
            client.ehlo()
            client.login(smtp.USERNAME, smtp.PASSWORD)
            client.sendmail(smtp.SENDER, [smtp.RECIPIENT], b"Subject: x\r\n\r\nbody\r\n")
    # greeting, EHLO, AUTH, MAIL, RCPT, DATA's 354, the message's 250, QUIT: each after the wait
    assert len(waits) >= 8
    assert set(waits) == {0.05}
    assert len(mail.messages) == 1


@pytest.fixture
def sender_rig(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """bench.sendtime's rig on a live local peer: emails/send and the sender, their AWS in memory."""
    from bench import sendtime, smtp

    for name, value in {**lambdas.aws_environment(), **lambdas.function_environment()}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("ALLOW_PRIVATE_ADDRESSES", "true")
    monkeypatch.setenv("DNS_CHECKS", "false")
    monkeypatch.setattr("botocore.endpoint.Endpoint._send", _no_network)
    with smtp.server() as mail:
        try:
            rig = sendtime.Rig(mail.port)
            rig.mail = mail
            yield rig
        finally:
            wire.uninstall()
            layer.reset()


def test_the_rig_delivers_a_batch_through_the_real_sender_and_counts_its_calls(sender_rig: Any) -> None:
    from bench import sendtime

    params = [sendtime.message_params(sender_rig.app, "t", n) for n in range(sendtime.BATCH)]
    event, send_calls, _ = sender_rig.seed(params)
    assert len(event["Records"]) == 10
    assert {json.loads(r["body"])["turn"] for r in event["Records"]} == {0}
    assert sum(c.name == "s3:PutObject" for c in send_calls) == 10
    stored = dict(sender_rig.aws.services["s3"].objects)
    assert len(stored) == 10

    answer, calls, _, _ = sender_rig.deliver(event)

    assert answer == {"batchItemFailures": []}
    assert sender_rig.statuses() == {"F": 10}
    assert sorted(
        m.content.split(b"Subject: ", 1)[1].split(b"\r\n", 1)[0] for m in sender_rig.mail.messages
    ) == sorted(p["subject"].encode() for p in params)
    assert sender_rig.aws.services["s3"].objects == {}  # the content deleted once sent
    names = [c.name for c in calls]
    assert names.count("s3:GetObject") == 10
    assert names.count("s3:DeleteObjects") == 1
    assert names.count("dynamodb:GetItem") == 1  # the app, read once for the batch
    assert names.count("dynamodb:UpdateItem") == 20  # claim and finish; the seeded app does not pace
    assert sender_rig.denied(calls) == []
    assert sender_rig.denied([*calls, *send_calls])  # emails/send's PutObject is not the sender's to make


def test_deleting_objects_in_a_batch_needs_iam_s_delete_object() -> None:
    assert lambdas.required_permissions("s3", "DeleteObjects", {}) == [("s3:DeleteObject", "*")]
    sender = lambdas.by_name("emails_sender")
    info = lambdas.by_name("emails_info")
    assert sender is not None
    assert info is not None
    assert sender.allows("s3:DeleteObject")
    assert not info.allows("s3:DeleteObject")


def _sendtime_run(**changes: Any) -> dict[str, Any]:
    run: dict[str, Any] = {
        "rounds": 2,
        "batch": 10,
        "delay_ms": 50.0,
        "delivered_ok": True,
        "statuses": {"F": 50},
        "sender_cpu_ms_per_email": [3.0, 5.0],
        "bare_cpu_ms_per_email": [1.0, 2.0],
        "bare_apart_cpu_ms_per_email": [1.5, 2.5],
        "answer_ms_per_email": 0.1,
        "beyond_ms_per_email": [2.0, 3.0],
        "wall_ms_per_batch": [1000.2, 900.0, 1100.0],
        "calls_per_email": 4.4,
        "detail": {"dynamodb:UpdateItem": 3.0, "s3:GetObject": 1.0, "sqs:SendMessage": 0.5},
        "units_per_email": {"rru": 0.2, "wru": 6.0, "secrets_calls": 0, "cognito_calls": 0},
        "denied": [],
        "send": {
            "calls_per_email": 6.0,
            "detail": {"dynamodb:GetItem": 2.0, "s3:PutObject": 1.0, "sqs:SendMessageBatch": 1.0},
            "units_per_email": {"rru": 2.0, "wru": 5.0, "secrets_calls": 0, "cognito_calls": 0},
            "cpu_ms_per_email": 10.0,
        },
        "s3": {"put_class": 1.1, "get_class": 1.0, "free": 0.0},
        "load_average": [1.0, 1.0, 1.0],
    }
    run.update(changes)
    return run


def test_the_cost_bills_the_batchs_wall_time_by_the_ms_and_every_request_counted() -> None:
    from bench import sending
    from bench.cost import PRICES

    figures = sending.cost_figures(_sendtime_run(), 256, 256)
    assert figures["billed_ms_per_email"] == 100.1  # the median batch, 1000.2 ms, billed as 1001 ms / 10
    sender_lambda = 0.25 * 0.1001 * PRICES["lambda_arm64_gb_second"] * 1000 + PRICES["lambda_request"] * 100
    assert figures["items"]["sender_lambda"] == pytest.approx(sender_lambda, abs=1e-6)
    # SQS: the sender's 0.5 and the send's 1 a message, and the poller's receive and delete per batch of 10
    assert figures["items"]["sqs"] == pytest.approx(1.7 * 0.40 / 1000, abs=1e-6)
    assert figures["items"]["s3"] == pytest.approx((1.1 * 0.005 + 1.0 * 0.0004), abs=1e-6)
    assert figures["items"]["send_api_gateway"] == pytest.approx(0.0035, abs=1e-6)
    assert figures["total"] == pytest.approx(sum(figures["items"].values()), abs=1e-4)
    assert figures["met"] is True
    assert sending.missed("sendcost", figures) == []
    assert "beside Amazon SES's $0.10: PASS" in sending.render("sendcost", figures)
    undelivered = sending.cost_figures(_sendtime_run(delivered_ok=False), 256, 256)
    assert undelivered["met"] is False
    assert sending.missed("sendcost", undelivered) == ["sender cost per 1,000 e-mails"]
    dear = sending.cost_figures(_sendtime_run(wall_ms_per_batch=[400_000.0]), 256, 256)
    assert dear["total"] > 0.10
    assert "FAIL" in sending.render("sendcost", dear)


def test_the_sender_cpu_is_the_median_over_every_batch_of_the_runs_each_runs_own_beside_it() -> None:
    from bench import sending

    runs = [
        _sendtime_run(beyond_ms_per_email=[1.0, 1.2, 1.4]),
        _sendtime_run(beyond_ms_per_email=[1.3, 1.6, 1.7]),
    ]
    figures = sending.cpu_figures(runs)
    assert figures["beyond_ms"] == 1.35
    assert figures["runs_ms"] == [1.2, 1.6]
    assert figures["met"] is True
    assert "1.35 ms (runs 1.20, 1.60;" in sending.render("sendcpu", figures)
    over = sending.cpu_figures([_sendtime_run(beyond_ms_per_email=[1.5, 1.7])])
    assert over["met"] is False
    assert sending.missed("sendcpu", over) == ["sender CPU beyond smtplib"]
    undelivered = sending.cpu_figures([*runs, _sendtime_run(delivered_ok=False)])
    assert undelivered["met"] is False


def test_the_sender_calls_are_judged_on_the_count_and_the_policy() -> None:
    from bench import sending

    assert sending.calls_figures(_sendtime_run())["met"] is True
    assert sending.calls_figures(_sendtime_run(calls_per_email=6.1))["met"] is False
    denied = sending.calls_figures(_sendtime_run(denied=["s3:DeleteObject on *"]))
    assert denied["met"] is False
    assert "IAM allows: NO s3:DeleteObject on *" in sending.render("sendcalls", denied)


def test_a_failed_sender_part_is_reported_alone_and_the_others_still_render(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bench import __main__ as bench_main
    from bench import sending

    def broken(log: Any) -> dict[str, Any]:
        raise RuntimeError("peer did not start")

    monkeypatch.setitem(sending.PARTS, "sendcpu", (broken, *sending.PARTS["sendcpu"][1:]))
    monkeypatch.setitem(
        sending.PARTS,
        "sendcalls",
        (lambda log: sending.calls_figures(_sendtime_run()), *sending.PARTS["sendcalls"][1:]),
    )
    parts = dict(bench_main._parts(bench_main.argparse.Namespace(), ()))
    with pytest.raises(RuntimeError):
        parts["sendcpu"]()
    results = {"sendcalls": parts["sendcalls"]()}
    assert bench_main._missed(results) == []
    assert "SENDER AWS CALLS" in "".join(bench_main._rendered(results))
