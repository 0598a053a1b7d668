"""1. Cold start: fresh processes on a Lambda-shaped path, each function beside the floor.

Each round starts the floor process, then every function twice (the layer as it is built, with its
bytecode; the same layer without bytecode, for information), in a shuffled order, with the floor
again half way: the floor is measured all along the run, so drift on a shared machine hits both
sides alike. A figure is the median over the rounds of the wall time from starting the process to
the end of init (handler module imported, its boto3 clients built). The first request (answered by
the in-memory stub) and the peak RSS are read from the same processes.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench import sandbox
from bench.lambdas import APPS_TABLE, BUILD, ROOT, SMTPS_TABLE, Function, function_environment, table_schemas
from bench.stub import Stubs

CHILD = Path(__file__).resolve().parent / "coldchild.py"
VARIANTS = ("layer", "layer-src")
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


def seed_arguments() -> dict[str, Any]:
    from local_runtime import events

    return {
        "account": events.DEMO_ACCOUNT,
        "app_id": events._APP,
        "smtp_id": events._SMTP,
        "apps_table": APPS_TABLE,
        "smtps_table": SMTPS_TABLE,
    }


def _invoke_config(function: Function, folder: Path) -> Path | None:
    """The stub-answered first request, where the stub covers every service the function uses."""
    event = sample_event(function)
    if event is None or not Stubs({}).covers(function.services) or not function.method:
        return None
    config = folder / f"{function.name}.json"
    config.write_text(
        json.dumps(
            {
                "repo": str(ROOT),
                "schemas": table_schemas(),
                "seed": seed_arguments(),
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


def _run(args: list[str], env: dict[str, str], out: Path, *, importtime: bool = False) -> dict[str, Any]:
    out.unlink(missing_ok=True)
    flags = ["-S", "-B"] + (["-X", "importtime"] if importtime else [])
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, *flags, str(CHILD), str(out), *args],
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
    result["init_s"] = result["init_done"] - started
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


def run(functions: tuple[Function, ...], rounds: int, log: Any) -> dict[str, Any]:
    paths = sandbox.build(functions)
    work = BUILD / "cold"
    work.mkdir(parents=True, exist_ok=True)
    out = work / "result.json"
    floor_args = ["floor", str(paths["runtime"]), "dynamodb"]
    floor_env = _env(None)

    plans = {}
    for function in functions:
        module, _, attribute = function.handler.rpartition(".")
        config = _invoke_config(function, work)
        for variant in VARIANTS:
            search = SEP.join(
                [str(paths["task"] / function.name), str(paths[variant]), str(paths["runtime"])]
            )
            args = [f"{module}:{attribute}", search, ",".join(function.services)]
            if config is not None:
                args.append(str(config))
            plans[(function.name, variant)] = (args, _env(function))

    samples: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    randomizer = random.Random(7)
    # One untimed pass first: the page cache and the runtime's bytecode are warm for everyone.
    _run(floor_args, floor_env, out)
    for args, env in plans.values():
        _run(args, env, out)
    for number in range(rounds):
        order = list(plans)
        randomizer.shuffle(order)
        half = len(order) // 2
        samples["floor"].append(_run(floor_args, floor_env, out))
        for key in order[:half]:
            samples[key].append(_run(*plans[key], out))
        samples["floor"].append(_run(floor_args, floor_env, out))
        for key in order[half:]:
            samples[key].append(_run(*plans[key], out))
        log(f"cold start: round {number + 1}/{rounds}")

    floor = statistics.median(s["init_s"] for s in samples["floor"])
    floor_imports = _importtime(_run(floor_args, floor_env, out, importtime=True)["importtime"])
    results: dict[str, Any] = {
        "layer_method": paths["layer_method"],
        "floor_ms": round(floor * 1000, 1),
        "floor_rss_mb": round(statistics.median(s["maxrss_kb"] for s in samples["floor"]) / 1024, 1),
        "rounds": rounds,
        "functions": {},
    }
    for function in functions:
        entry: dict[str, Any] = {"services": function.services}
        for variant in VARIANTS:
            runs = samples[(function.name, variant)]
            init = statistics.median(s["init_s"] for s in runs)
            figures: dict[str, Any] = {
                "init_ms": round(init * 1000, 1),
                "ratio": round(init / floor, 2),
                "rss_mb": round(statistics.median(s["maxrss_kb"] for s in runs) / 1024, 1),
            }
            if "first_request_s" in runs[0]:
                figures["first_request_ms"] = round(
                    statistics.median(s["first_request_s"] for s in runs) * 1000, 1
                )
                figures["first_request_status"] = runs[0].get("status")
                figures["first_request_stub_calls"] = runs[0].get("stub_calls")
            entry[variant] = figures
        args, env = plans[(function.name, "layer")]
        profile = _run(args[:3], env, out, importtime=True)
        entry["extra_imports"] = _extra_imports(floor_imports, _importtime(profile["importtime"]))
        entry["compile_ms"] = round(entry["layer-src"]["init_ms"] - entry["layer"]["init_ms"], 1)
        results["functions"][function.name] = entry
    return results
