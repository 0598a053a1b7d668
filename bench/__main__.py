"""`make bench` (python -m bench): every figure of issue 7, side by side in one run.

Prints a table (figure, target, met), then the performance budget's pass or fail, and writes
bench/results/latest.json. Options:
  --rounds N       cold-start rounds in each of the two runs (default 8)
  --runs N         independent cold-start runs, for the spread (default 2)
  --iterations N   warm-overhead calls per scenario in total, split evenly among the warm runs
                   (default 2000: 2 runs of 1000)
  --warm-runs N    warm-overhead runs, each a process of its own, for the spread (default 2)
  --only A,B       run only these parts: cold, calls, warm, scaling, check, size, sweep, runstart,
                   delivery, sendcpu, sendcalls, sendcost
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench import lambdas
from bench.lambdas import BUILD, RESULTS, ROOT

# The layer's package, importable as Lambda (and pytest's pythonpath) make it: /opt/python.
if str(ROOT / "layers" / "common") not in sys.path:
    sys.path.insert(0, str(ROOT / "layers" / "common"))

PARTS = (
    "cold", "calls", "warm", "scaling", "check", "size", "sweep", "runstart", "delivery",
    "sendcpu", "sendcalls", "sendcost",
)  # fmt: skip
SENDING = ("sendcpu", "sendcalls", "sendcost")  # bench.sending's parts (issue 24's sender)


def log(message: str) -> None:
    print(f"  .. {message}", file=sys.stderr, flush=True)


def _subprocess(module: str, *args: str, extra_env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run `python -m bench.<module> OUT args...` in a clean process; its JSON result."""
    out = BUILD / f"{module}.json"
    out.unlink(missing_ok=True)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "LANG": "C.UTF-8",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "layers" / "common"), str(ROOT)]),
        "PYTHONDONTWRITEBYTECODE": "1",
        **lambdas.function_environment(),
        **(extra_env or {}),
    }
    done = subprocess.run(
        [sys.executable, "-m", f"bench.{module}", str(out), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if done.returncode != 0 or not out.is_file():
        raise RuntimeError(f"bench.{module} failed: {done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(out.read_text())
    return result


class Quiet:
    """The handlers' JSON log lines (stdout) are not for the terminal while the bench runs in-process."""

    def __enter__(self) -> None:
        from bench.warm import Sink

        self.saved = sys.stdout
        sys.stdout = Sink()  # type: ignore[assignment]

    def __exit__(self, *exc: object) -> None:
        sys.stdout = self.saved


def _parts(options: argparse.Namespace, functions: Any) -> list[tuple[str, Callable[[], Any]]]:
    """Each part of the run, by name, in the order they run."""

    def cold_part() -> Any:
        from bench import cold

        log(f"cold start: {options.runs} runs of {options.rounds} rounds, every function beside the floor")
        with Quiet():  # its seed data is written through the layer, whose logger binds stdout once
            return cold.run(functions, options.rounds, log, runs=options.runs)

    def calls_part() -> Any:
        from bench import calls

        with Quiet():
            return calls.run(log)

    def warm_part() -> Any:
        from bench import warm  # its measuring processes run on the cold starts' interpreter and tree

        log(f"warm overhead: {options.iterations} calls a scenario in {options.warm_runs} runs")
        return warm.run(functions, options.iterations, log, runs=options.warm_runs)

    def scaling_part() -> Any:
        from bench import scaling

        with Quiet():
            return scaling.run(log)

    def check_part() -> Any:
        log("check: handler beside a bare smtplib session, 200 rounds")
        return _subprocess("checktime", "200")

    def size_part() -> Any:
        from bench import size

        return size.run(functions, log)

    def sweep_part() -> Any:
        from bench import sweep  # the health sweep and one scheduled probe (issue 13)

        with Quiet():
            return sweep.run(log)

    def runstart_part() -> Any:
        from bench import runstart  # make run's start-up and fast requests beside slow checks (issue 12)

        return runstart.run(log)

    def delivery_part() -> Any:
        from bench import delivery  # make run: queued to delivered (issue 24)

        return delivery.run(log)

    return [
        ("cold", cold_part),
        ("calls", calls_part),
        ("warm", warm_part),
        ("scaling", scaling_part),
        ("check", check_part),
        ("size", size_part),
        ("sweep", sweep_part),
        ("runstart", runstart_part),
        ("delivery", delivery_part),
        *((name, _sending_part(name)) for name in SENDING),
    ]


def _sending_part(name: str) -> Callable[[], Any]:
    def part() -> Any:
        from bench import sending  # the sender: CPU beside smtplib, AWS calls, cost (issue 24)

        return sending.PARTS[name][0](log)

    return part


@contextmanager
def _exclusive(log: Any) -> Iterator[None]:
    """One make bench at a time in this tree: build/bench (the cold-start tree, the results) is shared,
    and a second run rebuilding it under the first one's processes would break both."""
    import fcntl

    BUILD.mkdir(parents=True, exist_ok=True)
    with open(BUILD / ".lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log("another make bench is running in this tree: waiting for it to finish")
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def main(argv: list[str] | None = None) -> int:
    with _exclusive(log):
        return _main(argv)


def _modules(results: dict[str, Any]) -> list[Any]:
    """The parts that render their own section (bench.sweep, bench.runstart, bench.delivery) that ran."""
    return [
        importlib.import_module(f"bench.{name}")
        for name in ("sweep", "runstart", "delivery")
        if name in results
    ]


def _rendered(results: dict[str, Any]) -> list[str]:
    from bench import sending

    own = [module.render(results[module.__name__.rsplit(".", 1)[1]]) for module in _modules(results)]
    return [*own, *(sending.render(name, results[name]) for name in SENDING if name in results)]


def _missed(results: dict[str, Any]) -> list[str]:
    from bench import sending

    own = [
        miss
        for module in _modules(results)
        if hasattr(module, "missed")
        for miss in module.missed(results[module.__name__.rsplit(".", 1)[1]])
    ]
    return [
        *own,
        *(miss for name in SENDING if name in results for miss in sending.missed(name, results[name])),
    ]


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--warm-runs", type=int, default=2)
    parser.add_argument("--only", default=",".join(PARTS))
    options = parser.parse_args(argv)
    parts = [p.strip() for p in options.only.split(",") if p.strip()]
    started = time.time()
    BUILD.mkdir(parents=True, exist_ok=True)
    os.environ.update(lambdas.aws_environment())
    functions = lambdas.functions()
    log(f"functions found in template.yaml: {', '.join(f.name for f in functions)}")
    results: dict[str, Any] = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0], "platform": sys.platform},
        "functions": {
            f.name: {"route": f.route, "memory": f.memory, "timeout": f.timeout, "services": f.services}
            for f in functions
        },
    }
    seconds: dict[str, float] = {}
    errors: dict[str, str] = {}
    for name, measure in _parts(options, functions):
        if name in parts:
            began = time.time()
            try:
                results[name] = measure()
            except Exception as failure:  # one broken part does not hide the others' figures
                errors[name] = f"{type(failure).__name__}: {failure}"[-1500:]
                log(f"{name}: FAILED ({errors[name][-300:]})")
            seconds[name] = round(time.time() - began, 1)
    results["errors"] = errors
    results["part_seconds"] = seconds
    if {"calls", "warm", "cold"} <= set(results):
        from bench import report

        results["cost"] = report.costs(results, functions)
    results["seconds"] = round(time.time() - started, 1)

    from bench import report

    text, failures = report.render(results)
    failures = [*failures, *_missed(results)]
    results["targets_missed"] = failures
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "latest.json"
    path.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(text)
    for rendered in _rendered(results):
        print(rendered)
    where = Path(path).relative_to(ROOT)
    took = ", ".join(f"{name} {value:g}" for name, value in seconds.items())
    print(f"\n{len(failures)} target(s) missed. Written: {where} ({results['seconds']} s: {took})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
