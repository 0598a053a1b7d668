"""4. Scaling: smtps/findByApp and apps/remove (the cascade) with 1, 10, 100 and 1,000 servers on an app.

Against moto, in this process: the time each request takes here and every AWS call it makes. Moto is
much slower per call than DynamoDB and has no rate limits, so the real-AWS time of the 1,000-server
cascade is estimated from its call counts (bench.cost.LATENCY_MS) and Secrets Manager's request quota.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

from bench.cost import LATENCY_MS
from bench.counting import counting
from bench.lambdas import by_name
from bench.world import invoke, moto_world, seed_servers, timed

SIZES = (1, 10, 100, 1000)
# Secrets Manager: requests per second an account may make to DeleteSecret (with CreateSecret), by its
# quotas page; the cascade deletes with 8 threads (smtphub.services.SECRET_DELETE_CONCURRENCY).
SECRETS_WRITE_TPS = 50
SLACK = 1.5  # "linear at worst": 10x the servers may cost at most 15x the time


def estimate_cascade_s(detail: dict[str, float], concurrency: int = 8) -> float:
    """Real-AWS seconds: DynamoDB calls one after another, secret deletions `concurrency` at a time
    but never faster than the account's quota."""
    dynamodb_ms = sum(
        count * LATENCY_MS.get(name, LATENCY_MS["dynamodb"])
        for name, count in detail.items()
        if name.startswith("dynamodb")
    )
    deletes = detail.get("secretsmanager:DeleteSecret", 0)
    rate = min(concurrency / (LATENCY_MS["secretsmanager"] / 1000), SECRETS_WRITE_TPS)
    return dynamodb_ms / 1000 + deletes / rate


def _linear(points: dict[int, float]) -> bool:
    sizes = sorted(points)
    for small, large in itertools.pairwise(sizes):
        if points[small] > 0 and points[large] / points[small] > (large / small) * SLACK:
            return False
    return True


def run(log: Any) -> dict[str, Any]:
    if not (by_name("smtps_find_by_app") and by_name("apps_remove") and by_name("apps_save")):
        return {"missing": True}
    rows: dict[int, dict[str, Any]] = {}
    with moto_world() as world:
        for size in SIZES:
            app = invoke("apps_save", {"name": f"Scale {size}"}).json["_id"]
            seed_servers(world, app, size)
            with counting() as find_calls:
                reply, find_s = timed(invoke, "smtps_find_by_app", {"idapp": app})
            if reply.status != 200 or len(reply.json) != size:
                raise RuntimeError(f"findByApp with {size} servers: {reply.body[:200]}")
            with counting() as remove_calls:
                removed, remove_s = timed(invoke, "apps_remove", {"idapp": app})
            if removed.status != 200:
                raise RuntimeError(f"apps/remove with {size} servers: {removed.body[:200]}")
            detail = dict(remove_calls.counts())
            rows[size] = {
                "find_by_app_ms": round(find_s * 1000, 1),
                "find_by_app_calls": find_calls.total(),
                "remove_ms": round(remove_s * 1000, 1),
                "remove_calls": remove_calls.total(),
                "remove_detail": detail,
                "remove_estimate_s": round(estimate_cascade_s(detail), 1),
            }
            log(f"scaling: {size} servers: findByApp {find_s * 1000:.0f} ms, remove {remove_s * 1000:.0f} ms")
    timeout = by_name("apps_remove").timeout  # type: ignore[union-attr]
    largest = rows[max(SIZES)]
    # the flag, the query (+ its pages), transactions of up to 100 deletes with the app's 2 in the last
    expected_calls = {size: 2 + math.ceil((size + 2) / 100) for size in SIZES}
    return {
        "sizes": rows,
        "timeout_s": timeout,
        "calls_linear": _linear({s: r["remove_calls"] for s, r in rows.items()})
        and _linear({s: r["find_by_app_calls"] for s, r in rows.items()}),
        "time_linear": _linear({s: r["remove_ms"] for s, r in rows.items() if s >= 10})
        and _linear({s: r["find_by_app_ms"] for s, r in rows.items() if s >= 10}),
        "expected_remove_calls_without_pages": expected_calls,
        "largest_moto_within_timeout": largest["remove_ms"] / 1000 < timeout,
        "largest_estimate_within_timeout": largest["remove_estimate_s"] < timeout,
        # Secrets deleted after the request by the stream consumer (when there is one), at the quota.
        "cleanup_after_s": {size: round(size / SECRETS_WRITE_TPS, 1) for size in SIZES}
        if by_name("secrets_cleanup")
        else None,
    }
