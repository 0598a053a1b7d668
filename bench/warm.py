"""3. Warm overhead: each handler's own time per request, its AWS calls answered by bench.stub.

Run as `python -m bench.warm OUT ITERATIONS` (a process of its own: nothing else loaded, no moto).
The Powertools logger stays on at INFO and writes its JSON line for every request, into a sink that
only counts the bytes (the figure the log cost is computed from).
"""

from __future__ import annotations

import gc
import json
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any


class Sink:
    """A text stream that keeps nothing but the number of bytes written to it."""

    def __init__(self) -> None:
        self.bytes = 0

    def write(self, text: str) -> int:
        self.bytes += len(text.encode("utf-8", "surrogatepass"))
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


# (label, function, params for each call: a list cycled through so that an edit always changes something)
def scenarios(app: str, smtp: str, other_app: str) -> list[tuple[str, str, list[dict[str, Any]]]]:
    smtp_create = {
        "idapp": app,
        "host": "smtp.example.net",
        "port": 587,
        "auth": True,
        "username": "user@example.net",
        "password": "smtp-password-1234",
        "starttls": True,
        "defaultfromemail": "info@example.net",
    }
    return [
        ("smtps/findById", "smtps_find_by_id", [{"idsmtp": smtp}]),
        ("smtps/findByApp (3 servers)", "smtps_find_by_app", [{"idapp": app}]),
        ("smtps/save create, password", "smtps_save", [smtp_create]),
        ("smtps/save edit, no password", "smtps_save", [{"idsmtp": smtp, "priority": p} for p in (5, 6)]),
        ("smtps/save edit, new password", "smtps_save", [{"idsmtp": smtp, "password": "new-password-5678"}]),
        ("smtps/remove", "smtps_remove", [{"idsmtp": smtp}]),
        ("apps/save create", "apps_save", [{"name": "Shop", "testemail": "ops@example.net"}]),
        (
            "apps/save edit",
            "apps_save",
            [{"idapp": other_app, "testemail": f"ops{n}@example.net"} for n in (1, 2)],
        ),
        ("apps/findAll (5 apps)", "apps_find_all", [{"page": 0, "size": 20}]),
        ("apps/findById", "apps_find_by_id", [{"idapp": app}]),
        ("apps/remove (3 servers)", "apps_remove", [{"idapp": app}]),
    ]


def main() -> int:
    out, iterations = sys.argv[1], int(sys.argv[2])
    sink = Sink()
    real_stdout, sys.stdout = sys.stdout, sink  # type: ignore[assignment]

    from bench.lambdas import APPS_TABLE, SMTPS_TABLE, by_name, table_schemas
    from bench.stub import Stubs, seed
    from bench.world import Context, event_for
    from local_runtime import events
    from local_runtime.loader import load_handler

    def fresh() -> Stubs:
        """A new stub per scenario: what one scenario writes does not grow what the next one reads."""
        stubs = Stubs(table_schemas())
        seed(
            stubs,
            account=events.DEMO_ACCOUNT,
            app_id=events._APP,
            smtp_id=events._SMTP,
            apps_table=APPS_TABLE,
            smtps_table=SMTPS_TABLE,
        )
        stubs.install()
        return stubs

    other_app = f"{events._APP[:-4]}0001"
    results: dict[str, Any] = {"iterations": iterations, "scenarios": {}}
    context = Context()
    warmup = max(50, iterations // 10)
    for label, name, param_sets in scenarios(events._APP, events._SMTP, other_app):
        function = by_name(name)
        stubs = fresh()
        if function is None or not stubs.covers(function.services):
            continue
        handler: Callable[[Any, Any], Any] = load_handler(function.code_uri, function.handler)
        calls = [event_for(function, params, events.DEMO_ACCOUNT) for params in param_sets]
        for number in range(warmup):
            handler(calls[number % len(calls)], context)
        stubs.reset_calls()
        sink.bytes = 0
        statuses: dict[int, int] = {}
        times = []
        gc.collect()
        clock = time.perf_counter_ns
        for number in range(iterations):
            event = calls[number % len(calls)]
            started = clock()
            response = handler(event, context)
            times.append((clock() - started) / 1e6)
            statuses[response["statusCode"]] = statuses.get(response["statusCode"], 0) + 1
        results["scenarios"][label] = {
            "function": name,
            "p50_ms": round(statistics.median(times), 4),
            "p99_ms": round(_percentile(times, 0.99), 4),
            "mean_ms": round(statistics.fmean(times), 4),
            "max_ms": round(max(times), 3),
            "statuses": statuses,
            "log_bytes": round(sink.bytes / iterations, 1),
            "stub_calls": {k: v / iterations for k, v in stubs.calls().items()},
        }
    sys.stdout = real_stdout
    with open(out, "w") as stream:
        json.dump(results, stream)
    return 0


if __name__ == "__main__":
    sys.exit(main())
