"""`make run`'s execution environments end to end: each function in processes of its own, a cold start on
first use shown on the request line, reused while warm, at most LOCAL_CONCURRENCY at once, killed and
replaced at the function's Timeout, and no function waiting on another.

A copy of template.yaml with two public test functions, and LOCAL_CONCURRENCY=2.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support.runtime import Running, copy_template, gateway_status

pytestmark = pytest.mark.e2e
TIMEOUT = 30
CONCURRENCY = 2

PROBE = """
import json, os, time

CALLS = 0


def lambda_handler(event, context):
    global CALLS
    CALLS += 1
    time.sleep(float((event.get("queryStringParameters") or {}).get("sleep") or 0))
    body = {"pid": os.getpid(), "calls": CALLS, "who": os.environ.get("WHO"), "cwd": os.getcwd()}
    return {"statusCode": 200, "body": json.dumps(body)}
"""


def _add_functions(document: dict[str, Any], folder: Path) -> None:
    for name, timeout in (("Probe", 2), ("Other", 10)):
        document["Resources"][f"{name}Function"] = {
            "Type": "AWS::Serverless::Function",
            "Properties": {
                "CodeUri": str(folder),
                "Timeout": timeout,
                "Environment": {"Variables": {"WHO": name}},
                "Events": {
                    "Api": {
                        "Type": "Api",
                        "Properties": {
                            "RestApiId": {"Ref": "Api"},
                            "Path": f"/test/{name.lower()}",
                            "Method": "GET",
                            "Auth": {"Authorizer": "NONE"},
                        },
                    }
                },
            },
        }


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    folder = tmp_path_factory.mktemp("processes")
    code = folder / "probe"
    code.mkdir()
    (code / "app.py").write_text(PROBE)
    path = copy_template(folder, lambda document: _add_functions(document, code))
    running = Running(
        ["--template", str(path), "--port", "0", "--sink-port", "0"],
        env={"LOCAL_CONCURRENCY": str(CONCURRENCY)},
    )
    try:
        yield running.wait_ready()
    finally:
        assert running.stop() == 0, running.output[-3000:]


def get(runtime: Running, name: str, sleep: float = 0) -> dict[str, Any]:
    reply = requests.get(f"{runtime.api}/test/{name}", params={"sleep": str(sleep)}, timeout=TIMEOUT)
    assert reply.status_code == 200, reply.text
    answer: dict[str, Any] = reply.json()
    return answer


def request_lines(runtime: Running, name: str) -> list[str]:
    return [line for line in runtime.lines if line.startswith(f"[api] GET /api/test/{name} -> ")]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_cold_start_on_the_request_line_then_the_same_warm_process(runtime: Running) -> None:
    first = get(runtime, "probe")
    second = get(runtime, "probe")
    assert first["pid"] == second["pid"] != runtime.process.pid
    assert (first["calls"], second["calls"]) == (1, 2)  # module state kept while warm
    assert first["who"] == "Probe"
    assert Path(first["cwd"]).name == "probe"
    runtime.wait_for(lambda line: len(request_lines(runtime, "probe")) >= 2)
    cold, warm = request_lines(runtime, "probe")[:2]
    assert "(ProbeFunction, cold start " in cold
    assert "cold start" not in warm
    assert warm.startswith("[api] GET /api/test/probe -> 200 (ProbeFunction, ")


def test_each_function_has_its_own_process_variables_and_state(runtime: Running) -> None:
    probe = get(runtime, "probe")
    other = get(runtime, "other")
    assert other["pid"] != probe["pid"]
    assert other["who"] == "Other"
    assert other["calls"] == 1  # its module's counter, not the probe's


def test_at_most_local_concurrency_processes_and_no_function_waits_on_another(runtime: Running) -> None:
    get(runtime, "other")  # warm
    answers: list[dict[str, Any]] = []

    def slow() -> None:
        answers.append(get(runtime, "probe", sleep=1))

    threads = [threading.Thread(target=slow) for _ in range(CONCURRENCY + 1)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    time.sleep(0.3)
    other_started = time.monotonic()
    get(runtime, "other")
    other_took = time.monotonic() - other_started
    for thread in threads:
        thread.join()
    assert other_took < 0.8  # not behind the probe's calls
    assert len({answer["pid"] for answer in answers}) == CONCURRENCY
    assert time.monotonic() - started >= 2  # the third waited for one of the two


def test_a_call_past_the_timeout_is_api_gateways_answer_and_its_process_is_replaced(runtime: Running) -> None:
    before = get(runtime, "probe")["pid"]
    started = time.monotonic()
    reply = requests.get(f"{runtime.api}/test/probe", params={"sleep": "10"}, timeout=TIMEOUT)
    assert reply.status_code == gateway_status("INTEGRATION_TIMEOUT", 504), reply.text
    assert time.monotonic() - started < 4  # the function's Timeout (2 s), not its sleep
    # The environment that timed out (the one used just before: the most recently used goes first) is
    # killed; the calls after it get others, or a new one.
    pids = {get(runtime, "probe")["pid"] for _ in range(CONCURRENCY + 1)}
    assert before not in pids
    deadline = time.monotonic() + 5
    while alive(before):
        assert time.monotonic() < deadline, f"process {before} still runs"
        time.sleep(0.05)
    runtime.wait_for(lambda line: "ProbeFunction: task timed out after 2 s: environment killed" in line)
