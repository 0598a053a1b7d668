"""The local runtime's execution environments (local_runtime/functions.py, local_runtime/worker.py): each
function in processes of its own, as Lambda runs it. Small functions written to a temporary folder, run
through the real zygote; no AWS, no HTTP."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local_runtime.functions import ExecutionEnvironments, LocalFunction, concurrency_of, concurrency_setting

PROBE = """
import os, time

CALLS = []  # module state: per execution environment
IMPORTED_WITH = os.environ.get("PROBE_NAME")


def lambda_handler(event, context):
    CALLS.append(event.get("n"))
    if event.get("sleep"):
        time.sleep(event["sleep"])
    if event.get("raise"):
        raise ValueError(event["raise"])
    if event.get("exit"):
        os._exit(3)
    if event.get("unmarshallable"):
        return {"value": object()}
    if event.get("set"):
        os.environ["PROBE_SET"] = event["set"]
    return {
        "pid": os.getpid(),
        "name": os.environ.get("PROBE_NAME"),
        "imported_with": IMPORTED_WITH,
        "calls": list(CALLS),
        "set": os.environ.get("PROBE_SET"),
        "cwd": os.getcwd(),
        "function": context.function_name,
        "remaining": context.get_remaining_time_in_millis(),
        "event": event,
    }
"""


@pytest.fixture(scope="module")
def environments() -> Iterator[ExecutionEnvironments]:
    zygote = ExecutionEnvironments(share_botocore_data=False)
    zygote.start()
    yield zygote
    zygote.stop()


@pytest.fixture
def make(tmp_path: Path, environments: ExecutionEnvironments) -> Iterator[Any]:
    made: list[LocalFunction] = []

    def build(name: str, code: str = PROBE, *, timeout: float = 5, concurrency: int = 4) -> LocalFunction:
        folder = tmp_path / name
        folder.mkdir()
        (folder / "app.py").write_text(code)
        function = LocalFunction(
            name,
            f"local-{name}",
            folder,
            "app.lambda_handler",
            {"PROBE_NAME": name, "PATH": os.environ.get("PATH", "")},
            timeout=timeout,
            memory=128,
            environments=environments,
            concurrency=concurrency,
            log=lambda line: None,
        )
        made.append(function)
        return function

    yield build
    for function in made:
        function.stop()


def test_a_cold_start_then_the_same_environment_while_warm(make: Any) -> None:
    probe = make("Probe")
    first = probe.invoke({"n": 1})
    assert first.ok, first.error
    assert first.cold_start_ms is not None
    assert first.cold_start_ms > 0
    second = probe.invoke({"n": 2})
    assert second.cold_start_ms is None
    assert second.value["pid"] == first.value["pid"] != os.getpid()
    assert second.value["calls"] == [1, 2]  # module state kept between calls of one environment
    assert second.value["event"] == {"n": 2}
    assert second.value["function"] == "local-Probe"
    assert 0 < second.value["remaining"] <= 5000
    assert Path(second.value["cwd"]).name == "Probe"  # the function's folder, as /var/task


def test_each_function_has_its_own_variables_and_module_state(make: Any) -> None:
    one, two = make("One"), make("Two")
    assert one.invoke({"n": 1, "set": "by-one"}).ok
    answer = two.invoke({"n": 2})
    assert (answer.value["name"], answer.value["imported_with"]) == ("Two", "Two")
    assert answer.value["calls"] == [2]
    assert answer.value["set"] is None  # a variable one function sets is not another's
    assert one.invoke({"n": 3}).value["set"] == "by-one"


def test_concurrent_calls_get_environments_of_their_own_up_to_the_limit(make: Any) -> None:
    probe = make("Pool", concurrency=2)
    answers: list[Any] = []

    def call() -> None:
        answers.append(probe.invoke({"sleep": 0.6}))

    threads = [threading.Thread(target=call) for _ in range(3)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    assert all(answer.ok for answer in answers), answers
    assert len({answer.value["pid"] for answer in answers}) == 2  # two environments, one reused
    assert sum(answer.cold_start_ms is not None for answer in answers) == 2
    assert elapsed >= 1.2  # the third call waited for a free environment
    assert probe.live == 2


def test_a_function_never_waits_on_another(make: Any) -> None:
    slow, fast = make("Slow", concurrency=1), make("Fast", concurrency=1)
    assert fast.invoke({}).ok  # warm
    background = threading.Thread(target=slow.invoke, args=({"sleep": 2},))
    background.start()
    time.sleep(0.3)
    started = time.monotonic()
    assert fast.invoke({}).ok
    assert time.monotonic() - started < 1
    background.join()


def test_the_timeout_kills_the_environment_and_the_next_call_starts_a_new_one(make: Any) -> None:
    probe = make("Timeout", timeout=1)
    pid = probe.invoke({}).value["pid"]
    started = time.monotonic()
    outcome = probe.invoke({"sleep": 5})
    assert outcome.timed_out
    assert time.monotonic() - started < 2.5
    after = probe.invoke({"n": 1})
    assert after.cold_start_ms is not None
    assert after.value["pid"] != pid
    assert after.value["calls"] == [1]  # a new environment: new module state
    deadline = time.monotonic() + 5
    while _alive(pid):  # killed by the zygote (and reaped by it)
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_a_caller_limit_shorter_than_the_timeout_lets_the_call_run_on(make: Any, tmp_path: Path) -> None:
    marker = tmp_path / "finished"
    code = PROBE.replace(
        'if event.get("raise"):',
        f'if event.get("mark"):\n        open({str(marker)!r}, "w").close()\n    if event.get("raise"):',
    )
    probe = make("Limited", code, timeout=5, concurrency=1)
    probe.invoke({})
    started = time.monotonic()
    outcome = probe.invoke({"sleep": 1.5, "mark": True}, limit=0.5)
    assert outcome.timed_out  # API Gateway gave up
    assert time.monotonic() - started < 1.2
    deadline = time.monotonic() + 5
    while not marker.exists():  # ... and the function ran on, as in AWS
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert probe.invoke({}).cold_start_ms is None  # its environment is free and warm again


def test_errors_are_the_handlers_message_and_the_environment_stays(make: Any) -> None:
    probe = make("Errors")
    pid = probe.invoke({}).value["pid"]
    assert probe.invoke({"raise": "Unauthorized"}).error == "Unauthorized"
    marshal = probe.invoke({"unmarshallable": True})
    assert marshal.error is not None
    assert "Unable to marshal response" in marshal.error
    assert probe.invoke({}).value["pid"] == pid


def test_an_environment_that_exits_is_replaced(make: Any) -> None:
    probe = make("Exits")
    pid = probe.invoke({}).value["pid"]
    outcome = probe.invoke({"exit": True})
    assert outcome.error is not None
    assert outcome.error.startswith("Runtime.ExitError")
    after = probe.invoke({})
    assert after.ok
    assert after.cold_start_ms is not None
    assert after.value["pid"] != pid


def test_an_import_error_fails_the_call_and_the_next_call_tries_again(make: Any) -> None:
    broken = make(
        "Broken", "import no_such_module_here\n\ndef lambda_handler(event, context):\n    return 1\n"
    )
    outcome = broken.invoke({})
    assert outcome.error is not None
    assert outcome.error.startswith("Runtime.ImportModuleError: No module named 'no_such_module_here'")
    assert broken.live == 0
    with pytest.raises(ImportError, match="no module 'app'"):
        _missing(broken).check()


def test_check_finds_a_missing_handler_without_importing(make: Any) -> None:
    assert make("Fine").check() is None
    with pytest.raises(AttributeError, match="defines no lambda_handler"):
        make("NoHandler", "import no_such_module_here\nhandler = 1\n").check()
    with pytest.raises(SyntaxError):
        make("Syntax", "def lambda_handler(:\n").check()


def test_concurrency_settings() -> None:
    assert concurrency_setting(None) == concurrency_setting("") == 4
    assert concurrency_setting(" 8 ") == 8
    for bad in ("0", "-1", "two", "1.5"):
        with pytest.raises(ValueError, match="LOCAL_CONCURRENCY"):
            concurrency_setting(bad)
    assert concurrency_of({}, 4) == 4
    assert concurrency_of({"ReservedConcurrentExecutions": 2}, 4) == 2
    assert concurrency_of({"ReservedConcurrentExecutions": "10"}, 4) == 4
    assert concurrency_of({"ReservedConcurrentExecutions": 0}, 4) == 4


def test_stopping_the_zygote_ends_every_environment(tmp_path: Path) -> None:
    zygote = ExecutionEnvironments(share_botocore_data=False)
    zygote.start()
    (tmp_path / "app.py").write_text(PROBE)
    probe = LocalFunction(
        "Stopped",
        "local-Stopped",
        tmp_path,
        "app.lambda_handler",
        {},
        timeout=5,
        memory=128,
        environments=zygote,
    )
    pid = probe.invoke({}).value["pid"]
    zygote.stop()
    deadline = time.monotonic() + 5
    while _alive(pid):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    probe.stop()
    assert probe.invoke({}).error is not None  # nothing can start any more


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _missing(function: LocalFunction) -> LocalFunction:
    function.code_dir = function.code_dir / "nowhere"
    return function


GATEWAY_PROBE = """
import json, time


def lambda_handler(event, context):
    time.sleep(float(event["queryStringParameters"]["sleep"]))
    with open(event["queryStringParameters"]["marker"], "w") as marker:
        marker.write("done")
    return {"statusCode": 200, "body": json.dumps({"slept": True})}
"""


def test_api_gateway_answers_504_at_its_limit_while_the_function_runs_on(
    make: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The gateway's 29 s (INTEGRATION_TIMEOUT_SECONDS, shortened here) under a longer function Timeout."""
    from local_runtime import server
    from local_runtime.gateway import GatewayResponses, Throttle

    monkeypatch.setattr(server, "INTEGRATION_TIMEOUT_SECONDS", 0.5)
    function = make("Gateway", GATEWAY_PROBE, timeout=5)
    stage = server.Stage(
        "api", [server.ApiRoute("GET", "/probe", function)], GatewayResponses(), Throttle(None)
    )
    gateway = server.Gateway([stage])
    marker = tmp_path / "marker"

    def request(sleep: float) -> tuple[Any, str]:
        target = f"/api/probe?sleep={sleep}&marker={marker}"
        return gateway.handle(server.HttpRequest("GET", target, [("Host", "local")], None))

    warm, answered_by = request(0)
    assert warm.status == 200
    assert answered_by.startswith("Gateway, cold start ")
    marker.unlink()
    started = time.monotonic()
    reply, answered_by = request(1.5)
    assert (reply.status, answered_by) == (504, "gateway")
    assert time.monotonic() - started < 1.2
    deadline = time.monotonic() + 5
    while not marker.exists():  # the function was not stopped: it finishes after API Gateway gave up
        assert time.monotonic() < deadline
        time.sleep(0.05)
