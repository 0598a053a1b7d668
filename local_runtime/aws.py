"""`make aws`: the AWS that `make run` embeds, on a fixed port, for `sam local invoke`.

    python -m local_runtime.aws [--port 5050] [--sink-port 2525] [--env-file build/env.json]

Environment: AWS_PORT, SMTP_SINK_PORT.

The same moto server as `make run` (`local_runtime.moto_backend`) with template.yaml's tables, user pool and
app client; the demo account (under the id the sample events name, with its printed password) with its app
and SMTP server under the ids the events name (`local_runtime.demo`); and the SMTP sink that server points
at. Then it writes the file `sam local invoke --env-vars` reads: for each function, by logical id, the
template's variables with this AWS's names (tables, pool, app client, secret prefix) and what a function
needs to reach it: AWS_ENDPOINT_URL, JWKS_URL (the authorizer's keys), ALLOW_PRIVATE_ADDRESSES (a check may
reach the sink on 127.0.0.1). SAM applies a variable of the file only where the template declares it for
the function. Run the invocations with `--docker-network host` (the container reaches 127.0.0.1) and
`--region us-east-1` (moto's region).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from pathlib import Path

from local_runtime import template
from local_runtime.cfn import REGION
from local_runtime.events import EVENTS_DIR, ROOT
from local_runtime.runtime import DEMO_INBOX, LOCAL_ENVIRONMENT, LocalRuntime, Settings
from local_runtime.serve import serve

DEFAULT_PORT = 5050
ENV_FILE = ROOT / "build" / "env.json"
SAM_FLAGS = f"--env-vars {{env}} --docker-network host --region {REGION}"


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m local_runtime.aws", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--port", type=int, default=int(os.environ.get("AWS_PORT") or DEFAULT_PORT), help="($AWS_PORT)"
    )
    parser.add_argument(
        "--sink-port",
        type=int,
        default=int(os.environ.get("SMTP_SINK_PORT") or 2525),
        help="($SMTP_SINK_PORT)",
    )
    parser.add_argument("--env-file", type=Path, default=ENV_FILE, help="the --env-vars file to write")
    parser.add_argument(
        "--template", type=Path, default=template.TEMPLATE, help="SAM template (template.yaml)"
    )
    return parser.parse_args(argv)


def environment_file(runtime: LocalRuntime) -> dict[str, dict[str, str]]:
    """{function logical id: {variable: value}}: the template's variables as this runtime resolved them,
    and the way to this AWS."""
    reach = {**LOCAL_ENVIRONMENT, "AWS_ENDPOINT_URL": runtime.aws.endpoint}
    if runtime.aws.jwks_url:
        reach["JWKS_URL"] = runtime.aws.jwks_url
    found: dict[str, dict[str, str]] = {}
    for name, spec in template.functions(runtime.document).items():
        resolved = runtime.functions[name].environment
        found[name] = {**{key: resolved[key] for key in spec.environment}, **reach}
    return found


def write_environment_file(runtime: LocalRuntime, path: Path) -> dict[str, dict[str, str]]:
    variables = environment_file(runtime)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(variables, indent=2, sort_keys=True) + "\n")
    return variables


def invocations(runtime: LocalRuntime, env_file: Path) -> list[str]:
    """`sam local invoke` of each function that has a sample event (events/<its folder>.json)."""
    flags = SAM_FLAGS.format(env=shlex.quote(_shown(env_file)))
    lines = []
    for name, spec in sorted(template.functions(runtime.document).items()):
        event = EVENTS_DIR / f"{Path(spec.code_uri).name}.json"
        if event.is_file():
            lines.append(f"sam local invoke {name} -e {_shown(event)} {flags}")
    return lines


def _shown(path: Path) -> str:
    """`path` relative to the repository when it is inside it (the commands run from there)."""
    resolved = path.resolve()
    return str(resolved.relative_to(ROOT)) if resolved.is_relative_to(ROOT) else str(resolved)


def banner(runtime: LocalRuntime, env_file: Path) -> str:
    out = [
        "",
        f"AWS for `sam local invoke` on {runtime.aws.endpoint}  (moto, in memory: gone after Ctrl-C)",
        "",
        "  Resources  the tables, user pool and app client of " + runtime.settings.template_path.name,
    ]
    for account in runtime.accounts:
        out.append(f"  Account    {account.username}  password {account.password}  id {account.account_id}")
    if runtime.seeded is not None:
        out.append(
            f"  Demo data  app {runtime.seeded.idapp}, SMTP server {runtime.seeded.idsmtp} (the events' ids)"
        )
    out += [
        f"  SMTP sink  {runtime.sink.host}:{runtime.sink.port}  (test mails to {DEMO_INBOX} are printed)",
        f"  Env file   {_shown(env_file)}",
        "",
        "In another terminal, after `make build`:",
        "",
        *(f"  {line}" for line in invocations(runtime, env_file)),
        "",
        "Ctrl-C to stop.",
        "",
    ]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    arguments = _arguments(argv)
    try:
        settings = Settings(
            template_path=arguments.template,
            port=0,  # the API too, on any free port: `make run` is the way to call it over HTTP
            sink_port=arguments.sink_port,
            aws_port=arguments.port,
            quiet=True,
        )
        runtime = LocalRuntime(settings)
    except (ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    hints = {"AWS": "AWS_PORT"}

    def ready() -> str:
        write_environment_file(runtime, arguments.env_file)
        return banner(runtime, arguments.env_file)

    return serve(runtime, "make aws", hints, ready)


if __name__ == "__main__":
    sys.exit(main())
