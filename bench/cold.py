"""1. Cold start: fresh processes on a Lambda-shaped path, each function beside the floor and the peer.

The processes run under the template's runtime, python3.13, when this machine has one (bench.interpreter;
else this machine's Python, and the figure says so). Each round starts the floor process (import boto3,
build one client), then every function (its layer as built, with bytecode), the textbook peer
(bench/peer) and, for information, one function without bytecode, in a shuffled order, with the floor
again half way. Each process's figure is divided by the mean of its own round's two floors, so drift on
a shared machine hits both sides alike.

What is measured is the CPU time of the process (user + system, every thread) from its start to the
end of init (handler module imported, the boto3 clients it uses built): init is CPU-bound (the page
cache is warm), and unlike the wall clock this does not count the time slices other processes take on
a shared machine. The wall time is kept beside it, for information.

The rounds are done as two independent runs (RUNS), each with its own untimed warm-up pass: a ratio is
the median of the per-process ratios over both runs, given with each run's own median beside it
("1.22x (1.19-1.25)"; the overall median always lies between them). The first request (a real boto3
client, its HTTP send answered in memory by bench.wire) and the peak RSS are read from the same
processes.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench import interpreter as interpreters
from bench import sandbox
from bench.interpreter import Interpreter
from bench.lambdas import (
    BUILD,
    ROOT,
    Function,
    function_environment,
    table_schemas,
)
from bench.wire import InMemoryAws

CHILD = Path(__file__).resolve().parent / "coldchild.py"
RUNS = 2
PEER = "textbook peer"
PEER_OF = "smtps_find_by_id"  # the function the peer does the same work as
# Without bytecode (for information: what the compile step saves), measured for these only.
NO_PYC_SAMPLE = ("smtps_find_by_id",)
SEP = "\x1f"


def sample_event(function: Function) -> dict[str, Any] | None:
    """events/<name>.json (checked in), else the local runtime's sample, else none."""
    path = ROOT / "events" / f"{function.name}.json"
    if path.is_file():
        event: dict[str, Any] = json.loads(path.read_text())
        return event
    from local_runtime import events

    if function.name in events.SAMPLES:
        return events.sample_event(function.name)
    return None


def _seeded() -> dict[str, Any]:
    """The in-memory AWS contents every first request starts from, as JSON for the child processes."""
    from bench import layer

    return layer.items(layer.demo_seed(), table_schemas(), function_environment())


def _invoke_config(function: Function, folder: Path, seeded: dict[str, Any], name: str) -> Path | None:
    """The first request, answered in memory, where bench.wire covers every service the function uses."""
    event = sample_event(function)
    if event is None or not InMemoryAws({}).covers(function.services) or not function.method:
        return None
    config = folder / f"{name}.json"
    config.write_text(
        json.dumps(
            {
                "repo": str(ROOT),
                "schemas": table_schemas(),
                **seeded,
                "event": event,
                "function": function.logical_id,
                "memory": function.memory,
            }
        )
    )
    return config


def _env(function: Function | None) -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "TZ": "UTC"}
    env.update(function_environment(function) if function else function_environment(None))
    return env


def _run(
    python: Interpreter, args: list[str], env: dict[str, str], out: Path, *, importtime: bool = False
) -> dict[str, Any]:
    out.unlink(missing_ok=True)
    flags = ["-S", "-B"] + (["-X", "importtime"] if importtime else [])
    started = time.monotonic()
    done = subprocess.run(
        [python.path, *flags, str(CHILD), str(out), *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
        timeout=120,
    )
    if done.returncode != 0 or not out.is_file():
        raise RuntimeError(f"cold-start process failed ({args[0]}): {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(out.read_text())
    result["wall_s"] = result["init_done"] - started
    result["cpu_s"] = result["init_cpu"]
    if importtime:
        result["importtime"] = done.stderr
    return result


def _importtime(text: str) -> dict[str, int]:
    """module -> self time in microseconds, from python -X importtime."""
    modules = {}
    for line in text.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        fields = line.split(":", 1)[1].split("|")
        modules[fields[2].strip()] = int(fields[0])
    return modules


def _extra_imports(floor: dict[str, int], function: dict[str, int]) -> list[dict[str, Any]]:
    """What a function imports beyond the floor, by top-level package, heaviest first."""
    totals: dict[str, int] = defaultdict(int)
    for module, micros in function.items():
        if module not in floor:
            totals[module.split(".")[0]] += micros
    ranked = sorted(totals.items(), key=lambda kv: -kv[1])
    return [{"package": name, "ms": round(micros / 1000, 1)} for name, micros in ranked if micros >= 500]


MEASURES = (("cpu_s", ""), ("wall_s", "wall_"))


def spread(values: list[float]) -> dict[str, float]:
    return {"low": round(min(values), 2), "high": round(max(values), 2)}


def _plans(
    functions: tuple[Function, ...], paths: dict[str, Any], work: Path
) -> dict[tuple[str, str], tuple[list[str], dict[str, str]]]:
    """(name, variant) -> the child's arguments and environment."""
    seeded = _seeded()
    plans = {}
    for function in functions:
        module, _, attribute = function.handler.rpartition(".")
        config = _invoke_config(function, work, seeded, function.name)
        variants = ("layer", "layer-src") if function.name in NO_PYC_SAMPLE else ("layer",)
        for variant in variants:
            # /opt/python: the shared layer, merged with the function's own layers when it has some.
            opt = (
                paths["layer_of"].get(function.name, paths[variant]) if variant == "layer" else paths[variant]
            )
            search = SEP.join([str(paths["task"] / function.name), str(opt), str(paths["runtime"])])
            args = [f"{module}:{attribute}", search, ",".join(function.services)]
            if config is not None:
                args.append(str(config))
            plans[(function.name, variant)] = (args, _env(function))
    peer = paths["peer"]
    twin = next((function for function in functions if function.name == PEER_OF), None)
    if twin is not None and "task" in peer:
        config = _invoke_config(twin, work, seeded, "peer")
        search = SEP.join([str(peer["task"]), str(peer["deps"]), str(paths["runtime"])])
        # No services: its Table resource builds its client at import time, as the docs teach.
        args = [f"{peer['module']}:lambda_handler", search, ""]
        if config is not None:
            args.append(str(config))
        plans[(PEER, "layer")] = (args, _env(twin))
    return plans


def _one_run(
    python: Interpreter,
    *,
    plans: dict[tuple[str, str], tuple[list[str], dict[str, str]]],
    floor: tuple[list[str], dict[str, str]],
    rounds: int,
    seed_number: int,
    out: Path,
    log: Any,
    label: str,
) -> dict[Any, list[dict[str, Any]]]:
    samples: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    randomizer = random.Random(seed_number)
    # One untimed pass first: the page cache and the runtime's bytecode are warm for everyone.
    _run(python, *floor, out)
    for args, env in plans.values():
        _run(python, args, env, out)
    for number in range(rounds):
        order = list(plans)
        randomizer.shuffle(order)
        half = len(order) // 2
        taken = [("floor", _run(python, *floor, out))]
        taken += [(key, _run(python, *plans[key], out)) for key in order[:half]]
        taken.append(("floor", _run(python, *floor, out)))
        taken += [(key, _run(python, *plans[key], out)) for key in order[half:]]
        # Each process is compared with its own round's floor (the mean of the round's two).
        floors = [sample for key, sample in taken if key == "floor"]
        for key, sample in taken:
            for measure, _ in MEASURES:
                sample[f"floor_{measure}"] = statistics.fmean(f[measure] for f in floors)
            samples[key].append(sample)
        log(f"cold start, {label}: round {number + 1}/{rounds}")
    return samples


def _median_ms(runs: list[dict[str, Any]], name: str) -> float:
    return statistics.median(s[name] for s in runs) * 1000


def _median_ms(samples: list[dict[str, Any]], measure: str) -> float:
    return statistics.median(s[measure] for s in samples) * 1000


class _Samples:
    """Every process's figures, by (name, variant), per run and pooled, and the ratios they give."""

    def __init__(self, per_run: list[dict[Any, list[dict[str, Any]]]]) -> None:
        self.per_run = per_run
        self.pooled: dict[Any, list[dict[str, Any]]] = defaultdict(list)
        for samples in per_run:
            for key, values in samples.items():
                self.pooled[key].extend(values)
        self.floor = {m: _median_ms(self.pooled["floor"], m) for m, _ in MEASURES}
        self.floor_by_run = {m: [_median_ms(run["floor"], m) for run in per_run] for m, _ in MEASURES}

    def figures(self, key: tuple[str, str]) -> dict[str, Any]:
        """The median of each process's ratio to its own round's floor: over both runs (the figure),
        and in each run (the spread; the figure always lies between them)."""
        samples = self.pooled[key]
        entry: dict[str, Any] = {}
        for measure, prefix in MEASURES:

            def ratio(sample: dict[str, Any], measure: str = measure) -> float:
                return float(sample[measure] / sample[f"floor_{measure}"])

            by_run = [statistics.median(ratio(s) for s in run[key]) for run in self.per_run]
            entry[f"{prefix}init_ms"] = round(_median_ms(samples, measure), 1)
            entry[f"{prefix}ratio"] = round(statistics.median(ratio(s) for s in samples), 2)
            entry[f"{prefix}ratio_by_run"] = [round(r, 2) for r in by_run]
            entry[f"{prefix}spread"] = spread(by_run)
        entry["rss_mb"] = round(statistics.median(s["maxrss_kb"] for s in samples) / 1024, 1)
        if "first_request_s" in samples[0]:
            entry["first_request_ms"] = round(_median_ms(samples, "first_request_s"), 1)
            entry["first_request_status"] = samples[0].get("status")
            entry["first_request_aws_calls"] = samples[0].get("aws_calls")
            entry["first_request_signed"] = samples[0].get("signed")
        return entry


def run(functions: tuple[Function, ...], rounds: int, log: Any, runs: int = RUNS) -> dict[str, Any]:
    python = interpreters.cold()
    log(f"cold start: {python.note}")
    try:
        paths = sandbox.build(functions, python)
    except RuntimeError as failure:  # e.g. no package index for python3.13's own wheels
        python = interpreters.this_python(f"the tree could not be built for {python.path} ({failure})")
        log(f"cold start: {python.note}")
        paths = sandbox.build(functions, python)
    work = BUILD / "cold"
    work.mkdir(parents=True, exist_ok=True)
    out = work / "result.json"
    floor_plan = (["floor", str(paths["runtime"]), "dynamodb"], _env(None))
    plans = _plans(functions, paths, work)
    # A function that cannot start is reported as such; the others are still measured.
    failed: dict[str, str] = {}
    for key, (args, env) in list(plans.items()):
        try:
            _run(python, args, env, out)
        except RuntimeError as failure:
            failed[key[0]] = str(failure)[-600:]
            del plans[key]
    samples = _Samples(
        [
            _one_run(
                python,
                plans=plans,
                floor=floor_plan,
                rounds=rounds,
                seed_number=7 + number,
                out=out,
                log=log,
                label=f"run {number + 1}/{runs}",
            )
            for number in range(runs)
        ]
    )
    results: dict[str, Any] = {
        "interpreter": {"path": python.path, "version": python.version, "note": python.note},
        "runtime_version": python.is_runtime,
        "layer_method": paths["layer_method"],
        "function_packages": paths["function_packages"],
        "measure": "CPU time of the process (user + system) from its start to the end of init",
        "floor_ms": round(samples.floor["cpu_s"], 1),
        "floor_ms_by_run": [round(x, 1) for x in samples.floor_by_run["cpu_s"]],
        "floor_wall_ms": round(samples.floor["wall_s"], 1),
        "floor_rss_mb": round(statistics.median(s["maxrss_kb"] for s in samples.pooled["floor"]) / 1024, 1),
        "rounds": rounds,
        "runs": runs,
        "functions": {},
        "failed": failed,
    }
    if "error" in paths["peer"]:
        results["peer_error"] = paths["peer"]["error"]
    for name, variant in plans:
        results["functions"].setdefault(name, {})[variant] = samples.figures((name, variant))

    floor_imports = _importtime(_run(python, *floor_plan, out, importtime=True)["importtime"])

    def extra_imports(name: str) -> list[dict[str, Any]]:
        args, env = plans[(name, "layer")]
        profile = _run(python, args[:3], env, out, importtime=True)
        return _extra_imports(floor_imports, _importtime(profile["importtime"]))

    for function in functions:
        if function.name not in results["functions"]:
            continue
        entry = results["functions"][function.name]
        entry["services"] = function.services
        entry["extra_imports"] = extra_imports(function.name)
        if "layer-src" in entry:
            entry["compile_ms"] = round(entry["layer-src"]["init_ms"] - entry["layer"]["init_ms"], 1)
    if PEER in failed:
        results["peer_error"] = failed[PEER]
    if (PEER, "layer") in plans:
        peer = results["functions"].pop(PEER)
        peer["of"] = PEER_OF
        peer["extra_imports"] = extra_imports(PEER)
        # The peer does the same work: the same JSON for the same item (key order aside).
        ours, theirs = ((samples.pooled[(name, "layer")] or [{}])[0].get("body") for name in (PEER_OF, PEER))
        peer["same_answer"] = bool(ours and theirs and json.loads(ours) == json.loads(theirs))
        results["peer"] = peer
    return results
