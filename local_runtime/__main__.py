"""`make run`: the whole API on http://127.0.0.1:$PORT/api until Ctrl-C.

    python -m local_runtime [--template template.yaml] [--port 3000] [--sink-port 2525] [--parameter K=V]

Environment: PORT, SMTP_SINK_PORT (0 = any free port), LOCAL_USERS ("user:password,user2:password2"),
CHECKS_PER_MINUTE (an account's SMTP checks per minute: the template's CheckRateLimitPerMinute),
LOCAL_CONCURRENCY (execution environments, i.e. processes, per function: 4), HEALTH_SWEEP_SECONDS (how
often the health sweep runs: 30), HEALTH_BACKOFF_SECONDS (the backoff of disabled servers: 10,30,60,300).
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path

from local_runtime import template
from local_runtime.functions import concurrency_setting
from local_runtime.runtime import DEMO_INBOX, LocalRuntime, Settings, parse_users
from local_runtime.serve import serve

_EXTRACT = "python3 -c 'import json,sys; print(json.load(sys.stdin){})'"


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m local_runtime", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--template", type=Path, default=template.TEMPLATE, help="SAM template (template.yaml)"
    )
    parser.add_argument(
        "--port", type=int, default=int(os.environ.get("PORT") or 3000), help="API port ($PORT)"
    )
    parser.add_argument(
        "--sink-port",
        type=int,
        default=int(os.environ.get("SMTP_SINK_PORT") or 2525),
        help="($SMTP_SINK_PORT)",
    )
    parser.add_argument(
        "--parameter", action="append", default=[], metavar="NAME=VALUE", help="override a template parameter"
    )
    parser.add_argument("--quiet", action="store_true", help="no line per request")
    return parser.parse_args(argv)


def curl_session(runtime: LocalRuntime) -> list[str]:
    """The commands a newcomer pastes: log in, list, check (each only when the template serves it)."""
    auth = ""
    lines = [f"API={runtime.base_url}"]
    if runtime.has_route("POST", "/auth/login") and runtime.accounts:
        account = runtime.accounts[0]
        username = shlex.quote(f"username={account.username}")
        credentials = f"-d {username} -d {shlex.quote(f'password={account.password}')}"
        token = _EXTRACT.format('["token"]')
        lines.append(f'TOKEN=$(curl -s -X POST "$API/auth/login" {credentials} | {token})')
        auth = ' -H "Authorization: Bearer $TOKEN"'
    if runtime.has_route("GET", "/private/apps/findAll"):
        lines.append(f'curl -s "$API/private/apps/findAll"{auth}; echo')
        if runtime.seeded is not None and runtime.has_route("GET", "/private/smtps/findByApp"):
            first_app = _EXTRACT.format('["content"][0]["_id"]')
            lines.append(f'IDAPP=$(curl -s "$API/private/apps/findAll"{auth} | {first_app})')
            lines.append(f'curl -s "$API/private/smtps/findByApp?idapp=$IDAPP"{auth}; echo')
            if runtime.has_route("POST", "/private/smtps/check"):
                first_smtp = _EXTRACT.format('[0]["_id"]')
                lines.append(
                    f'IDSMTP=$(curl -s "$API/private/smtps/findByApp?idapp=$IDAPP"{auth} | {first_smtp})'
                )
                lines.append(f'curl -s -i -X POST "$API/private/smtps/check"{auth} -d idsmtp=$IDSMTP')
            lines += _send_lines(runtime, auth)
    return lines


def _send_lines(runtime: LocalRuntime, auth: str) -> list[str]:
    """An e-mail of the demo app to the inbox (multipart, as QueueMail's Java client sends), then its info."""
    if not runtime.has_route("POST", "/private/emails/send"):
        return []
    text = " ".join(f"-F {shlex.quote(field)}" for field in ("subject=Hello from make run", "body=It works."))
    fields = f"-F idapp=$IDAPP -F tos={DEMO_INBOX} {text}"
    lines = [f'SENT=$(curl -s -X POST "$API/private/emails/send"{auth} {fields}); echo "$SENT"']
    if runtime.has_route("GET", "/private/emails/info"):
        email_id = _EXTRACT.format('["id"]')
        lines.append(f'IDEMAIL=$(echo "$SENT" | {email_id})')
        lines.append(f'sleep 2; curl -s "$API/private/emails/info?idemail=$IDEMAIL"{auth}; echo')
    return lines


def schedule_lines(runtime: LocalRuntime) -> list[str]:
    """The banner's lines for the scheduled functions, the queues polled and the health backoff."""
    schedule = runtime.schedule
    if schedule is None:
        return []
    out = [
        f"  Schedule   {timer.name} every {timer.period:g} s ({timer.expression or 'no expression'}; "
        "LOCAL_SCHEDULE_SECONDS)"
        for timer in schedule.timers
    ]
    for poller in schedule.pollers:
        window = f", window {poller.window:g} s" if poller.window else ""
        out.append(
            f"  Queue      {poller.name} (batches of {poller.batch_size}{window}, {poller.workers} at once)"
        )
    if schedule.timers and "HealthBackoffSeconds" in runtime.document.get("Parameters", {}):
        backoff = runtime.resolver.parameter("HealthBackoffSeconds")
        out.append(f"  Health     disabled servers re-probed after {backoff} s (HEALTH_BACKOFF_SECONDS);")
        out.append("             changes printed here")
    return out


def banner(runtime: LocalRuntime) -> str:
    routes = runtime.routes()
    width = max((len(f"{method} {path}") for method, path, _ in routes), default=0)
    out = [
        "",
        f"smtp-hub is running on {runtime.base_url}  "
        f"({len(routes)} routes from {runtime.settings.template_path.name})",
        "",
        f"  API        {runtime.base_url}",
        f"  AWS        moto on {runtime.aws.endpoint} (in memory: everything is gone after Ctrl-C)",
        f"  SMTP sink  {runtime.sink.host}:{runtime.sink.port}  (every message it receives is printed here)",
    ]
    if runtime.accounts:
        for account in runtime.accounts:
            out.append(f"  Account    {account.username}  password {account.password}")
    else:
        out.append("  Account    none to log in with: the template declares no user pool, so every")
        out.append("             /private call runs as the demo account (no token needed)")
    if runtime.checks_per_minute is not None and runtime.has_route("POST", "/private/smtps/check"):
        out.append(
            f"  Checks     at most {runtime.checks_per_minute} a minute per account (CHECKS_PER_MINUTE)"
        )
    if runtime.has_route("GET", "/public/tracking/open"):
        out.append(
            f"  Links      e-mails' tracking and unsubscribe links point at {runtime.base_url}/public/..."
        )
        out.append("             (no token needed: the pixel, tracked links, the unsubscribe page and POST)")
    for poller in runtime.streams.pollers:
        out.append(f"  Stream     {poller.name} (polled every {runtime.streams.interval} s)")
    out += schedule_lines(runtime)
    if runtime.seeded is not None:
        out.append(f"  Demo data  app {runtime.seeded.idapp} (test mails go to {DEMO_INBOX})")
        out.append(f"             SMTP server {runtime.seeded.idsmtp} -> the sink (no auth, no TLS)")
        if runtime.seeded.idsmtp_xoauth2:
            out.append(
                f"             SMTP server {runtime.seeded.idsmtp_xoauth2} -> the sink "
                f"(XOAUTH2, its token from {runtime.tokens.url})"
            )
    out += [f"  Warning    {warning}" for warning in runtime.warnings]
    out += [f"  BROKEN     {name}: {error}" for name, error in runtime.load_errors.items()]
    out += ["", "Routes:"]
    out += [f"  {f'{method} {path}':<{width}}  {protection}" for method, path, protection in routes]
    session = curl_session(runtime)
    if len(session) > 1:
        out += ["", "Try it in another terminal:", ""]
        out += [f"  {line}" for line in session]
        if runtime.has_route("POST", "/private/smtps/check") and runtime.seeded is not None:
            out += ["", "The check answers 200 with an empty body, and the test mail appears below."]
        if runtime.has_route("POST", "/private/emails/send") and runtime.seeded is not None:
            out += [
                "The send answers status Q; the sender hands the e-mail to the sink (printed below) within",
                "a second or two, and info then answers status F.",
            ]
    out += ["", "Ctrl-C to stop.", ""]
    return "\n".join(out)


def checks_per_minute(text: str | None) -> int | None:
    """CHECKS_PER_MINUTE: unset or empty for the template's value, else a whole number of at least 1."""
    if text is None or not text.strip():
        return None
    value = text.strip()
    if not (value.isascii() and value.isdigit()) or int(value) < 1:
        raise ValueError(f"CHECKS_PER_MINUTE must be a whole number of at least 1, not {text!r}")
    return int(value)


def main(argv: list[str] | None = None) -> int:
    arguments = _arguments(argv)
    try:
        parameters = dict(item.split("=", 1) for item in arguments.parameter)
        settings = Settings(
            template_path=arguments.template,
            port=arguments.port,
            sink_port=arguments.sink_port,
            users=parse_users(os.environ.get("LOCAL_USERS", "")),
            parameters=parameters,
            quiet=arguments.quiet,
            checks_per_minute=checks_per_minute(os.environ.get("CHECKS_PER_MINUTE")),
            concurrency=concurrency_setting(os.environ.get("LOCAL_CONCURRENCY")),
        )
        runtime = LocalRuntime(settings)
    except (ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return serve(runtime, "make run", {"API": "PORT"}, lambda: banner(runtime))


if __name__ == "__main__":
    sys.exit(main())
