"""3. Warm overhead: each handler's time per request, with the real boto3 client, only the HTTP send
answered in memory (bench.wire).

Run as `python -m bench.warm OUT ITERATIONS` (a process of its own: nothing else loaded, no moto).
What is timed is what a warm Lambda spends on the CPU for a request, less the network: the process's CPU
time (every thread; the wall clock is recorded beside it, but on a shared machine it also counts other
processes' time slices), spent on the handler's own
work (parsing, domain logic, item mapping, logging) and the SDK's (parameter validation, serialization,
endpoint resolution, SigV4 signing, retry handlers, response parsing), plus the in-memory answer that
stands in for the HTTP exchange (its own share is measured and reported: `answer_ms`). The SDK's share
(`sdk_ms`: CPU time inside botocore's `_make_api_call`, the answer included) is measured beside it.
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


class SdkClock:
    """Adds up the CPU time spent inside botocore's `BaseClient._make_api_call` (every client, every call)."""

    def __init__(self) -> None:
        from botocore.client import BaseClient

        self.ns = 0
        self.original = BaseClient._make_api_call
        original, clock = self.original, time.process_time_ns

        def timed(client: Any, operation: str, params: dict[str, Any]) -> Any:
            started = clock()
            try:
                return original(client, operation, params)
            finally:
                self.ns += clock() - started

        BaseClient._make_api_call = timed  # type: ignore[method-assign]

    def stop(self) -> None:
        from botocore.client import BaseClient

        BaseClient._make_api_call = self.original  # type: ignore[method-assign]


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

    from bench import layer
    from bench.lambdas import by_name
    from bench.wire import InMemoryAws, use_in_layer
    from bench.world import Context, event_for
    from local_runtime import events
    from local_runtime.loader import load_handler

    seed = layer.demo_seed()

    def fresh() -> InMemoryAws:
        """New in-memory AWS per scenario (what one scenario writes does not grow what the next reads),
        and new clients in the layer, answered by it."""
        return use_in_layer(layer.in_memory(seed))

    sdk = SdkClock()

    other_app = f"{events._APP[:-4]}0001"
    results: dict[str, Any] = {"iterations": iterations, "scenarios": {}}
    context = Context()
    warmup = max(50, iterations // 10)
    for label, name, param_sets in scenarios(events._APP, events._SMTP, other_app):
        function = by_name(name)
        aws = fresh()
        if function is None or not aws.covers(function.services):
            continue
        handler: Callable[[Any, Any], Any] = load_handler(function.code_uri, function.handler)
        calls = [event_for(function, params, events.DEMO_ACCOUNT) for params in param_sets]
        for number in range(warmup):
            handler(calls[number % len(calls)], context)
        aws.reset_calls()
        sdk.ns = 0
        sink.bytes = 0
        statuses: dict[int, int] = {}
        wall: list[float] = []
        cpu: list[float] = []
        gc.collect()
        clock, cpu_clock = time.perf_counter_ns, time.process_time_ns
        for number in range(iterations):
            event = calls[number % len(calls)]
            started, started_cpu = clock(), cpu_clock()
            response = handler(event, context)
            cpu.append((cpu_clock() - started_cpu) / 1e6)
            wall.append((clock() - started) / 1e6)
            statuses[response["statusCode"]] = statuses.get(response["statusCode"], 0) + 1
        results["scenarios"][label] = {
            "function": name,
            # CPU time of the process (every thread): what the request costs, whatever else this
            # machine runs meanwhile; the wall clock beside it.
            "p50_ms": round(statistics.median(cpu), 4),
            "p99_ms": round(_percentile(cpu, 0.99), 4),
            "mean_ms": round(statistics.fmean(cpu), 4),
            "max_ms": round(max(cpu), 3),
            "wall_p50_ms": round(statistics.median(wall), 4),
            "wall_p99_ms": round(_percentile(wall, 0.99), 4),
            "statuses": statuses,
            "sdk_ms": round(sdk.ns / iterations / 1e6, 4),
            "answer_ms": round(aws.answer_ns / iterations / 1e6, 4),
            "sends": aws.sends / iterations,
            "all_signed": aws.signed == aws.sends,
            "log_bytes": round(sink.bytes / iterations, 1),
            "aws_calls": {k: v / iterations for k, v in aws.calls().items()},
        }
    sdk.stop()
    sys.stdout = real_stdout
    with open(out, "w") as stream:
        json.dump(results, stream)
    return 0


if __name__ == "__main__":
    sys.exit(main())
