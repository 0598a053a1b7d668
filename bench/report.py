"""The terminal table and the cost estimate, from the results of one run."""

from __future__ import annotations

from typing import Any

from bench.cost import PRICES, per_million
from bench.lambdas import Function

COLD_TARGET = 1.3
WARM_P99_TARGET_MS = 1.0
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
        elif function == "smtps_check" and "handler_ms" in results.get("check", {}):
            handler_ms, log_bytes = results["check"]["handler_ms"], results["check"]["log_bytes"]
            extra = SMTP_SESSION_MS
        else:
            handler_ms, log_bytes = UNMEASURED_HANDLER_MS, 900.0
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
        endpoints[endpoint] = {**estimate, "units": units}
    authorizer = next(
        (r for r in results["calls"]["scenarios"] if r.get("label") == "authorizer, next 100 calls"), None
    )
    extra_rows: dict[str, Any] = {}
    if authorizer and "ms" in authorizer and "authorizer" in memory:
        one = per_million(
            units={"rru": 0, "wru": 0, "secrets_calls": 0, "cognito_calls": 0},
            detail={},
            handler_ms=authorizer["ms"],
            memory_mb=memory["authorizer"],
            log_bytes=0,
        )
        lambda_only = one["items"]["lambda_requests"] + one["items"]["lambda_duration"] + one["items"]["logs"]
        extra_rows["authorizer_per_million_invocations"] = round(lambda_only, 4)
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
        cold = results["cold"]
        out.append(
            f"\n1. COLD START (median of {cold['rounds']} fresh processes; floor = import boto3 + one "
            f"client = {cold['floor_ms']} ms; target <= {COLD_TARGET}x)"
        )
        out.append(f"layer as built: {cold.get('layer_method', '-')}")
        rows = []
        for name, entry in cold["functions"].items():
            built, source = entry["layer"], entry["layer-src"]
            heavy = ", ".join(f"{x['package']} {x['ms']}" for x in entry["extra_imports"][:3])
            rows.append(
                [
                    name,
                    f"{built['init_ms']}",
                    f"{built['ratio']}x",
                    check(f"cold {name}", built["ratio"] <= COLD_TARGET),
                    f"{source['ratio']}x",  # informative: what the layer's compile step saves
                    built.get("first_request_ms", "-"),
                    heavy,
                ]
            )
        out.append(
            _table(
                [
                    "function",
                    "init ms",
                    "ratio",
                    "met",
                    "no .pyc (info)",
                    "1st req ms",
                    "imports beyond the floor (ms)",
                ],
                rows,
            )
        )

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
                detail = f"JWKS fetches {row['jwks_fetches']:g}" + (
                    f"; {row['ms']} ms/call" if "ms" in row else ""
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
        warm = results["warm"]
        out.append(
            f"\n3. WARM OVERHEAD (handler time, AWS answered by an in-memory stub, "
            f"{warm['iterations']} calls each; target p99 < {WARM_P99_TARGET_MS} ms)"
        )
        rows = []
        for label, row in warm["scenarios"].items():
            ok = row["statuses"] == {"200": warm["iterations"]} and row["p99_ms"] < WARM_P99_TARGET_MS
            rows.append(
                [
                    label,
                    row["p50_ms"],
                    row["p99_ms"],
                    row["max_ms"],
                    row["log_bytes"],
                    check(f"warm {label}", ok),
                ]
            )
        out.append(_table(["handler", "p50 ms", "p99 ms", "max ms", "log bytes", "met"], rows))

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
                ["endpoint", "est. ms", "API GW", "Lambda", "DynamoDB", "Secrets", "logs+X-Ray", "total"],
                rows,
            )
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
    return "\n".join(out), missed
