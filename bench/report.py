"""The terminal table and the cost estimate, from the results of one run."""

from __future__ import annotations

from typing import Any

from bench.cost import PRICES, per_million
from bench.lambdas import Function

# The performance budget (issue "One typed boundary"): cold start under the runtime's python3.13 at most
# COLD_TARGET times the floor, and at least PEER_MARGIN (in floor units) below the textbook peer in the
# same run. Warm p99 of every CRUD handler, with the real SDK (the median over the warm runs of each run's
# own p99), below WARM_BASE_MS plus WARM_PER_CALL_MS for each AWS call it makes (issue "Responses declared
# once": a handler's own work, and what the SDK spends on each call).
COLD_TARGET = 1.45
PEER_MARGIN = 0.15
WARM_BASE_MS = 1.0
WARM_PER_CALL_MS = 0.5
CHECK_TARGET = 1.2
# A real SMTP conversation over the internet with TLS (connect, STARTTLS, EHLO, AUTH, MAIL, RCPT, DATA),
# for the check's cost estimate: an assumption, not measured here.
SMTP_SESSION_MS = 800.0
UNMEASURED_HANDLER_MS = 1.0

# endpoint -> (calls scenario, warm scenario)
ENDPOINTS = {
    "smtps/save (create, password)": (
        "smtps_save",
        "smtps/save create, password",
        "smtps/save create, password",
    ),
    "smtps/save (edit)": ("smtps_save", "smtps/save edit, no password", "smtps/save edit, no password"),
    "smtps/findByApp": ("smtps_find_by_app", "smtps/findByApp", "smtps/findByApp (3 servers)"),
    "smtps/findById": ("smtps_find_by_id", "smtps/findById", "smtps/findById"),
    "smtps/remove": ("smtps_remove", "smtps/remove, password", "smtps/remove"),
    "smtps/check": ("smtps_check", "smtps/check (ok)", None),
    "apps/save (create)": ("apps_save", "apps/save create", "apps/save create"),
    "apps/findAll": ("apps_find_all", "apps/findAll", "apps/findAll (5 apps)"),
    "apps/findById": ("apps_find_by_id", "apps/findById", "apps/findById"),
    "apps/remove (1 server)": ("apps_remove", "apps/remove (1 server)", "apps/remove (3 servers)"),
    "auth/login": ("auth_login", "auth/login", None),
}


def _mark(met: bool | None) -> str:
    return "-" if met is None else ("yes" if met else "NO")


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    cells = [[str(c) for c in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def costs(results: dict[str, Any], functions: tuple[Function, ...]) -> dict[str, Any]:
    scenarios = {row["label"]: row for row in results["calls"]["scenarios"] if not row.get("missing")}
    warm = results["warm"]["scenarios"]
    memory = {f.name: f.memory for f in functions}
    endpoints = {}
    for endpoint, (function, calls_label, warm_label) in ENDPOINTS.items():
        row = scenarios.get(calls_label)
        if row is None or function not in memory:
            continue
        extra = 0.0
        if warm_label and warm_label in warm:
            handler_ms, log_bytes = warm[warm_label]["p50_ms"], warm[warm_label]["log_bytes"]
            source = "warm p50, real SDK"
        elif function == "smtps_check" and "handler_ms" in results.get("check", {}):
            handler_ms, log_bytes = results["check"]["handler_ms"], results["check"]["log_bytes"]
            extra = SMTP_SESSION_MS
            source = "check median, real SDK, SMTP session assumed"
        else:
            handler_ms, log_bytes = UNMEASURED_HANDLER_MS, 900.0
            source = "assumed"
        units = dict(row["units"])
        cleanup = scenarios.get("secrets cleanup, 1 removed server")
        if cleanup and function in ("smtps_remove", "apps_remove"):
            # The removed server's secret is deleted by the stream consumer, after the request.
            units["secrets_calls"] += cleanup["units"]["secrets_calls"]
        estimate = per_million(
            units=units,
            detail=row["detail"],
            handler_ms=handler_ms,
            memory_mb=memory[function],
            log_bytes=log_bytes,
            extra_ms=extra,
        )
        endpoints[endpoint] = {**estimate, "units": units, "handler_ms": handler_ms, "cpu_source": source}
    authorizer = next(
        (r for r in results["calls"]["scenarios"] if r.get("label") == "authorizer, next 100 calls"), None
    )
    extra_rows: dict[str, Any] = {}
    if authorizer and "ms" in authorizer and "authorizer" in memory:
        # Its revocation check: one strongly consistent GetItem of one small item (1 read unit). The
        # measured time includes that GetItem's round trip to a local moto server: an upper bound.
        reads = authorizer.get("detail", {}).get("dynamodb:GetItem", 0)
        one = per_million(
            units={"rru": float(reads), "wru": 0, "secrets_calls": 0, "cognito_calls": 0},
            detail=authorizer.get("detail", {}),
            handler_ms=authorizer["ms"],
            memory_mb=memory["authorizer"],
            log_bytes=0,
        )
        items = one["items"]
        own = items["lambda_requests"] + items["lambda_duration"] + items["logs"] + items["dynamodb"]
        extra_rows["authorizer_per_million_invocations"] = round(own, 4)
    return {
        "prices": PRICES,
        "assumptions": {
            "smtp_session_ms": SMTP_SESSION_MS,
            "unmeasured_handler_ms": UNMEASURED_HANDLER_MS,
        },
        "endpoints": endpoints,
        **extra_rows,
        "secret_per_smtp_server_month": PRICES["secrets_manager_secret_month"],
    }


def render(results: dict[str, Any]) -> tuple[str, list[str]]:  # noqa: PLR0912, PLR0915 - one table per part
    out: list[str] = []
    missed: list[str] = []

    def check(name: str, met: bool | None) -> str:
        if met is False:
            missed.append(name)
        return _mark(met)

    if "cold" in results:
        out.extend(_cold(results["cold"], check))

    if "calls" in results:
        out.append("\n2. AWS CALLS PER REQUEST (moto; every call counted, from any thread)")
        rows = []
        for row in results["calls"]["scenarios"]:
            if row.get("missing"):
                rows.append([row["label"], "-", "not built", "-", "-", "-", "-"])
                continue
            target = row.get("target")
            bound = "-" if target is None else (f"= {target}" if row.get("exact") else f"<= {target}")
            detail = ", ".join(f"{k.split(':')[1]} {v:g}" for k, v in row.get("detail", {}).items())
            if "jwks_fetches" in row:
                detail = ", ".join(
                    [
                        *(f"{k.split(':')[1]} {v:g}" for k, v in row.get("detail", {}).items()),
                        f"JWKS fetches {row['jwks_fetches']:g}",
                        *([f"{row['ms']} ms/call"] if "ms" in row else []),
                    ]
                )
            secrets = (
                ("0" if row.get("secrets_calls", 0) == 0 else str(row["secrets_calls"]))
                if row.get("read")
                else "-"
            )
            rows.append(
                [
                    row["label"],
                    f"{row['calls']:g}",
                    detail,
                    bound,
                    secrets,
                    "yes" if row.get("iam_ok") else "NO " + ", ".join(row.get("denied", [])),
                    f"{row.get('status')} " + check(f"calls {row['label']}", row.get("met")),
                ]
            )
        out.append(
            _table(["request", "calls", "which", "target", "SM on read", "IAM allows", "status / met"], rows)
        )

    if "warm" in results:
        out.extend(_warm(results["warm"], check))

    if "scaling" in results and not results["scaling"].get("missing"):
        scaling = results["scaling"]
        out.append(
            f"\n4. SCALING (moto; one app with N servers, each with a password; apps/remove timeout "
            f"{scaling['timeout_s']} s)"
        )
        rows = [
            [
                size,
                r["find_by_app_ms"],
                r["find_by_app_calls"],
                r["remove_ms"],
                r["remove_calls"],
                r["remove_estimate_s"],
            ]
            for size, r in scaling["sizes"].items()
        ]
        out.append(
            _table(["servers", "findByApp ms", "calls", "apps/remove ms", "calls", "real AWS est. s"], rows)
        )
        calls_ok = check("scaling calls linear", scaling["calls_linear"])
        time_ok = check("scaling time linear", scaling["time_linear"])
        moto_ok = check("cascade in timeout (moto)", scaling["largest_moto_within_timeout"])
        aws_ok = check("cascade in timeout (estimate)", scaling["largest_estimate_within_timeout"])
        out.append(
            f"calls grow linearly: {calls_ok}; time grows linearly: {time_ok}; "
            f"1,000-server cascade inside the timeout: moto {moto_ok}, real-AWS estimate {aws_ok}"
        )
        if scaling.get("cleanup_after_s"):
            after = max(scaling["cleanup_after_s"].items(), key=lambda kv: int(kv[0]))
            out.append(
                f"secrets: deleted after the request by the table's stream consumer, at most "
                f"{50} a second (Secrets Manager's quota): {after[0]} servers in about {after[1]} s"
            )

    if "check" in results and not results["check"].get("missing"):
        c = results["check"]
        ratio = c.get("ratio")
        out.append(
            f"\n5. CHECK (local aiosmtpd, {c['rounds']} alternating rounds; target <= {CHECK_TARGET}x)"
        )
        out.append(
            _table(
                ["handler ms", "bare smtplib ms", "ratio", "statuses", "met"],
                [
                    [
                        c.get("handler_ms"),
                        c.get("bare_ms"),
                        f"{ratio}x",
                        c.get("statuses"),
                        check(
                            "check vs smtplib",
                            ratio is not None and ratio <= CHECK_TARGET and not c.get("error"),
                        ),
                    ]
                ],
            )
        )

    if "size" in results:
        s = results["size"]
        layer = s["layer"]
        out.append(f"\n6. SIZE AND MEMORY ({s['method']}; MB = 10^6 bytes)")
        out.append(
            f"layer: {layer['unzipped_mb']} MB unzipped (target < 15: {check('layer size', layer['met'])}), "
            f"{layer['zipped_mb']} MB zipped; of which packages the runtime already has: "
            f"{layer['runtime_duplicates_mb']} MB (without them: {layer['without_runtime_duplicates_mb']} MB)"
        )
        out.append("largest: " + ", ".join(f"{k} {v}" for k, v in layer["largest"].items()))
        missing = layer.get("missing_modules", [])
        shipped = check("layer ships every smtphub module", not missing)
        out.append(
            f"every module of layers/common/smtphub in the built layer: {shipped}"
            + (f" (missing: {', '.join(missing[:8])})" if missing else "")
        )
        for name, own in s.get("own_layers", {}).items():
            out.append(
                f"{name}: {own['unzipped_mb']} MB unzipped, {own['zipped_mb']} MB zipped "
                f"({', '.join(f'{k} {v}' for k, v in own['largest'].items())}); "
                f"only on {', '.join(own['functions'])}"
            )
        rss = {n: e["layer"]["rss_mb"] for n, e in results.get("cold", {}).get("functions", {}).items()}
        rows = [
            [name, f["own_code_kb"], f["package_kb"], rss.get(name, "-"), check(f"size {name}", f["met"])]
            for name, f in s["functions"].items()
        ]
        out.append(_table(["function", "own code KB", "package KB", "peak RSS MB", "met (< 50 KB)"], rows))

    if "cost" in results:
        cost = results["cost"]
        out.append(f"\n7. COST PER MILLION REQUESTS (USD, prices {cost['prices']['as_of']})")
        rows = []
        for endpoint, e in cost["endpoints"].items():
            items = e["items"]
            rows.append(
                [
                    endpoint,
                    e.get("handler_ms", "-"),
                    e["duration_ms"],
                    items["api_gateway"],
                    round(items["lambda_requests"] + items["lambda_duration"], 3),
                    round(items["dynamodb"], 3),
                    round(items["secrets_manager"], 3),
                    round(items["logs"] + items["xray"], 3),
                    e["total"],
                ]
            )
        out.append(
            _table(
                [
                    "endpoint",
                    "CPU ms",
                    "est. ms",
                    "API GW",
                    "Lambda",
                    "DynamoDB",
                    "Secrets",
                    "logs+X-Ray",
                    "total",
                ],
                rows,
            )
        )
        out.append(
            "CPU ms: measured per request on this machine with the real boto3 client (warm p50), the SDK's "
            "work included; est. ms: that CPU at 256 MB's share of a vCPU, plus assumed AWS latencies"
        )
        if "authorizer_per_million_invocations" in cost:
            out.append(
                f"authorizer: {cost['authorizer_per_million_invocations']} per million invocations "
                "(API Gateway caches its answer per token for AuthorizerCacheTtl)"
            )
        out.append(
            f"plus {cost['secret_per_smtp_server_month']} a month per SMTP server with a password "
            "(its secret); "
            "QueueMail's free-tier limits: unknown (not in the upstream page we have)"
        )
    for name, error in (results.get("errors") or {}).items():
        out.append(f"\n{name.upper()}: FAILED, not measured: {error.strip().splitlines()[-1][:400]}")
        check(f"{name} measured", False)
    out.extend(budget(results))
    return "\n".join(out), missed


def ratio_text(figures: dict[str, Any], prefix: str = "") -> str:
    """The ratio over every sample, then each run's own: "1.22x (1.19-1.25)"."""
    spread = figures[f"{prefix}spread"]
    return f"{figures[f'{prefix}ratio']:.2f}x ({spread['low']:.2f}-{spread['high']:.2f})"


def peer_margin(entry: dict[str, Any], peer: dict[str, Any] | None) -> float | None:
    """How far below the peer a function's ratio is, in floor units (positive: lighter than the peer)."""
    if not peer or "layer" not in peer:
        return None
    return round(peer["layer"]["ratio"] - entry["layer"]["ratio"], 2)


def _cold(cold: dict[str, Any], check: Any) -> list[str]:
    out = []
    python = cold.get("interpreter", {})
    runs = cold.get("runs", 1)
    out.append(
        f"\n1. COLD START (median of {runs} runs x {cold['rounds']} fresh processes, each run's own ratio in "
        f"brackets; CPU time to the end of init; floor = import boto3 + one client = {cold['floor_ms']} ms "
        f"CPU, {cold.get('floor_wall_ms', '-')} ms wall; target <= {COLD_TARGET}x and >= {PEER_MARGIN}x "
        "below the textbook peer)"
    )
    out.append(f"interpreter: {python.get('note', '-')}")
    if python and not cold.get("runtime_version"):
        out.append("  (not the runtime's python3.13: the figures are indicative only)")
    out.append(f"layer as built: {cold.get('layer_method', '-')}")
    peer = cold.get("peer")
    rows = []

    def row(name: str, entry: dict[str, Any], *verdicts: str) -> list[Any]:
        built = entry["layer"]
        heavy = ", ".join(f"{x['package']} {x['ms']}" for x in entry.get("extra_imports", [])[:3])
        return [
            name,
            f"{built['init_ms']}",
            ratio_text(built),
            *verdicts,
            ratio_text(built, "wall_") if "wall_spread" in built else "-",
            ratio_text(entry["layer-src"]) if "layer-src" in entry else "",
            built.get("first_request_ms", "-"),
            heavy,
        ]

    for name, entry in cold["functions"].items():
        margin = peer_margin(entry, peer)
        rows.append(
            row(
                name,
                entry,
                check(f"cold {name}", entry["layer"]["ratio"] <= COLD_TARGET),
                "-" if margin is None else f"{margin:+.2f}x",
                "-" if margin is None else check(f"cold {name} vs the textbook peer", margin >= PEER_MARGIN),
            )
        )
    for name, error in cold.get("failed", {}).items():
        if name in cold["functions"]:
            continue
        rows.append([name, "-", "failed to start", check(f"cold {name}", False), "", "", "", "", "", ""])
        out_errors = error.strip().splitlines()[-1:] if error.strip() else []
        rows[-1][-1] = out_errors[0][:80] if out_errors else ""
    if peer:
        rows.append(row(f"textbook peer ({peer.get('of')})", peer, "", "", ""))
    headers = ["function", "CPU ms", "ratio (runs)", "met", "below peer", "met", "wall ratio (info)"]
    headers += ["no .pyc (info)", "1st req ms", "imports beyond the floor (ms)"]
    out.append(_table(headers, rows))
    if peer:
        same = "yes" if peer.get("same_answer") else "NO"
        out.append(
            "textbook peer: bench/peer/textbook_find_by_id.py (APIGatewayRestResolver with validation, "
            "pydantic response model, Logger, Metrics, Table resource at import; its pinned dependencies "
            f"compiled as our layer is); same JSON as {peer.get('of')}: {same}"
        )
        check("cold: the textbook peer answers as its twin", bool(peer.get("same_answer")))
    elif cold.get("peer_error"):
        out.append(f"textbook peer: not measured ({cold['peer_error'][:300]})")
        check("cold: textbook peer measured", False)
    return out


def spread_text(value: float, spread: dict[str, float] | None) -> str:
    """A figure over several runs, then the lowest and highest run's own: "1.85 (1.60-2.10)"."""
    if not spread:
        return f"{value:.2f}"
    return f"{value:.2f} ({spread['low']:.2f}-{spread['high']:.2f})"


def _warm_where(warm: dict[str, Any]) -> str:
    python = warm.get("interpreter")
    if not python:
        return "this machine's Python"
    return "python3.13" if warm.get("runtime_version") else f"python {python.get('version')}"


def warm_target(row: dict[str, Any]) -> float:
    """A warm scenario's p99 budget: WARM_BASE_MS and WARM_PER_CALL_MS for each AWS call (`sends`, the
    requests the SDK sent per handler call)."""
    return round(WARM_BASE_MS + WARM_PER_CALL_MS * float(row.get("sends", 0)), 2)


def _warm_met(warm: dict[str, Any], row: dict[str, Any]) -> bool:
    """The median p99 under the scenario's target, every request answered 200, every request signed."""
    return bool(
        row["statuses"] == {"200": warm["iterations"]}
        and row["p99_ms"] < warm_target(row)
        and row.get("all_signed", True)
    )


def _warm(warm: dict[str, Any], check: Any) -> list[str]:
    runs = warm.get("runs", 1)
    per_run = warm.get("calls_per_run", warm["iterations"])
    out = [
        "\n3. WARM OVERHEAD (CPU time per request with the real boto3 client, only its HTTP send answered "
        f"in memory; median of {runs} runs x {per_run} calls, each run a process of its own, each run's "
        f"p99 in brackets; target p99 < {WARM_BASE_MS} ms + {WARM_PER_CALL_MS} ms per AWS call)"
    ]
    python = warm.get("interpreter")
    if python:
        out.append(f"interpreter: {python.get('note', '-')}; layer as built: {warm.get('layer_method', '-')}")
        if not warm.get("runtime_version"):
            out.append("  (not the runtime's python3.13: the figures are indicative only)")
    rows = []
    for label, row in warm["scenarios"].items():
        rows.append(
            [
                label,
                f"{row['p50_ms']:.2f}",
                spread_text(row["p99_ms"], row.get("p99_spread")),
                f"{warm_target(row):.2f} ({row.get('sends', 0):g})",
                row.get("sdk_ms", "-"),
                row.get("answer_ms", "-"),
                f"{row.get('wall_p50_ms', '-')} / {row.get('wall_p99_ms', '-')}",
                row["log_bytes"],
                check(f"warm {label}", _warm_met(warm, row)),
            ]
        )
    headers = ["handler", "p50 ms", "p99 ms (runs)", "target (calls)", "in SDK (mean)", "of which answer"]
    out.append(_table([*headers, "wall p50 / p99 (info)", "log bytes", "met"], rows))
    out.append(
        f"p50, p99: the median over the {runs} runs of each run's own percentile (with 2 runs, their mean); "
        "in brackets the lowest and the highest run's p99. met: the median p99 is under the target (1 ms "
        "plus 0.5 ms per AWS call the handler makes), and every request answered 200"
    )
    out.append(
        "in SDK: CPU time inside botocore per request (validation, serialization, endpoint, signing, retry "
        "handlers, parsing), with the in-memory answer that stands in for the network exchange"
    )
    return out


def budget(results: dict[str, Any]) -> list[str]:
    """Pass or fail against the performance budget, one line per rule, with its worst case."""
    lines = []
    cold = results.get("cold")
    if cold and cold.get("functions"):
        entries = cold["functions"]
        worst = max(entries, key=lambda name: entries[name]["layer"]["ratio"])
        ratio = entries[worst]["layer"]["ratio"]
        where = (
            "python3.13, CPU time"
            if cold.get("runtime_version")
            else f"python {cold.get('interpreter', {}).get('version')}, CPU time"
        )
        broken = sorted(
            name for name in cold.get("failed", {}) if name not in entries and name != "textbook peer"
        )
        verdict = "PASS" if ratio <= COLD_TARGET and not broken else "FAIL"
        lines.append(
            f"cold start <= {COLD_TARGET}x the floor ({where}): {verdict} "
            f"(highest: {worst} {ratio_text(entries[worst]['layer'])}"
            + (f"; failed to start: {', '.join(broken)})" if broken else ")")
        )
        peer = cold.get("peer")
        if peer:
            margins = {name: peer_margin(entry, peer) or 0.0 for name, entry in entries.items()}
            closest = min(margins, key=lambda name: margins[name])
            lines.append(
                f"cold start >= {PEER_MARGIN}x below the textbook peer ({ratio_text(peer['layer'])}): "
                f"{'PASS' if margins[closest] >= PEER_MARGIN else 'FAIL'} "
                f"(closest: {closest} {margins[closest]:+.2f}x)"
            )
        else:
            lines.append(f"cold start >= {PEER_MARGIN}x below the textbook peer: FAIL (peer not measured)")
    warm = results.get("warm")
    if warm and warm.get("scenarios"):
        scenarios = warm["scenarios"]
        worst = max(scenarios, key=lambda label: scenarios[label]["p99_ms"] - warm_target(scenarios[label]))
        p99, target = scenarios[worst]["p99_ms"], warm_target(scenarios[worst])
        statuses = all(row["statuses"] == {"200": warm["iterations"]} for row in scenarios.values())
        verdict = "PASS" if p99 < target and statuses else "FAIL"
        runs = warm.get("runs", 1)
        lines.append(
            f"warm p99 < {WARM_BASE_MS} ms + {WARM_PER_CALL_MS} ms per AWS call (median of {runs} "
            f"run{'s' if runs != 1 else ''}), real SDK, CPU time, {_warm_where(warm)}: {verdict} "
            f"(closest: {worst} {spread_text(p99, scenarios[worst].get('p99_spread'))} ms, target {target:g}"
            f"{'' if statuses else '; some requests did not answer 200'})"
        )
    errors = results.get("errors") or {}
    if "cold" in errors:
        lines.append(
            f"cold start <= {COLD_TARGET}x the floor, >= {PEER_MARGIN}x below the peer: FAIL (not measured)"
        )
    if "warm" in errors:
        lines.append(
            f"warm p99 < {WARM_BASE_MS} ms + {WARM_PER_CALL_MS} ms per AWS call: FAIL (not measured)"
        )
    return ["\nBUDGET", *lines] if lines else []
