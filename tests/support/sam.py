"""`sam local invoke` without Docker: the environment the SAM CLI gives a function, and `make aws`.

The SAM CLI (samcli/local/lambdafn/env_vars.py, `EnvironmentVariables.resolve`) sets, in a new container
per invocation: the AWS_* variables (region and credentials from the caller's configuration; without any,
us-east-1, `defaultkey`, `defaultsecret`), then each variable the template declares for the function
(Globals merged), valued from, in order of priority: the --env-vars file's entry for the function (by
logical id), its "Parameters" entry, the shell, the template. Template values are resolved by SAM's
intrinsic resolver: a Ref to a parameter is its default, a Ref to a resource its logical id, the pseudo
parameters SAM's defaults (AWS::StackName `local`, AWS::Region `us-east-1`, AWS::AccountId
`123456789012`), `Fn::Sub` over those; anything left unresolved is "". A variable of the file that the
template does not declare for the function is not set at all.

`sam_environment` reproduces that from template.yaml; `samcli_variables` asks the SAM CLI itself (when
`.venv-sam` is installed) so that the reproduction is checked against it.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from local_runtime import template
from local_runtime.events import ROOT
from tests.support.processes import ModuleProcess

SAM_PYTHON = ROOT / ".venv-sam" / "bin" / "python"
PSEUDO = {
    "AWS::AccountId": "123456789012",
    "AWS::Partition": "aws",
    "AWS::Region": "us-east-1",
    "AWS::StackName": "local",
    "AWS::StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/local/"
    "51af3dc0-da77-11e4-872e-1234567db123",
    "AWS::URLSuffix": "localhost",
}
# What the SAM CLI sets in every container, with no AWS configuration on the machine and --region us-east-1.
DEFAULT_CREDENTIALS = {
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "defaultkey",
    "AWS_SECRET_ACCESS_KEY": "defaultsecret",
    "AWS_ACCOUNT_ID": "123456789012",
}
_SUB = re.compile(r"\$\{([^}!][^}]*)\}")


class _Unresolved(Exception):
    pass


def _ref(document: Mapping[str, Any], name: str) -> Any:
    if name in PSEUDO:
        return PSEUDO[name]
    parameter = document.get("Parameters", {}).get(name)
    if parameter is not None:
        if "Default" not in parameter:
            raise _Unresolved(name)
        return parameter["Default"]
    if name in document.get("Resources", {}):
        return name  # SAM resolves a resource to its logical id
    raise _Unresolved(name)


def _resolve(document: Mapping[str, Any], value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    if set(value) == {"Ref"}:
        return _ref(document, str(value["Ref"]))
    if set(value) == {"Fn::Sub"}:
        text, names = (value["Fn::Sub"], {}) if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"]
        return _SUB.sub(lambda m: str(names.get(m.group(1)) or _ref(document, m.group(1))), text)
    if set(value) == {"Fn::If"}:  # SAM decides the condition with the parameters' defaults
        name, then, otherwise = value["Fn::If"]
        return _resolve(document, then if _holds(document, document["Conditions"][name]) else otherwise)
    raise _Unresolved(str(value))


def _holds(document: Mapping[str, Any], condition: Any) -> bool:
    """A condition of Fn::Not, Fn::Equals and Condition over resolvable values (what the template uses)."""
    ((function, argument),) = condition.items()
    if function == "Fn::Not":
        return not _holds(document, argument[0])
    if function == "Fn::Equals":
        return bool(_resolve(document, argument[0]) == _resolve(document, argument[1]))
    if function == "Condition":
        return _holds(document, document["Conditions"][argument])
    raise _Unresolved(str(condition))


def _stringify(value: Any) -> str:
    """env_vars._stringify_value: lists, dicts and None are blank, booleans lower-case."""
    if isinstance(value, dict | list | tuple) or value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def template_variables(document: Mapping[str, Any], function: str) -> dict[str, str]:
    """The variables the template declares for `function`, valued as SAM resolves them."""
    spec = template.functions(dict(document))[function]
    values: dict[str, str] = {}
    for name, value in spec.environment.items():
        try:
            values[name] = _stringify(_resolve(document, value))
        except _Unresolved:
            values[name] = ""
    return values


def sam_environment(
    document: Mapping[str, Any],
    function: str,
    env_vars: Mapping[str, Mapping[str, str]],
    shell: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Every variable `sam local invoke <function> --env-vars <file>` sets (AWS_* and the declared ones)."""
    spec = template.functions(dict(document))[function]
    overrides = {**env_vars.get("Parameters", {}), **env_vars.get(function, {})}
    environment = {
        **DEFAULT_CREDENTIALS,
        "AWS_SAM_LOCAL": "true",
        "AWS_LAMBDA_FUNCTION_NAME": function,
        "AWS_LAMBDA_FUNCTION_HANDLER": spec.handler,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
    }
    for name, value in template_variables(document, function).items():
        chosen = (shell or {}).get(name, value)
        environment[name] = _stringify(overrides.get(name, chosen))
    return environment


def samcli_variables(template_path: Path = template.TEMPLATE) -> dict[str, dict[str, str]] | None:
    """{function: its declared variables} as the SAM CLI's own providers resolve them; None without
    `.venv-sam` (make lint installs it)."""
    if not SAM_PYTHON.exists():
        return None
    script = (
        "import json, sys\n"
        "from samcli.lib.providers.sam_function_provider import SamFunctionProvider\n"
        "from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider\n"
        "from samcli.local.lambdafn.env_vars import EnvironmentVariables\n"
        "stacks, _ = SamLocalStackProvider.get_stacks(sys.argv[1])\n"
        "out = {}\n"
        "for f in SamFunctionProvider(stacks).get_all():\n"
        "    variables = (f.environment or {}).get('Variables') or {}\n"
        "    resolved = EnvironmentVariables(f.name, 128, 3, f.handler, variables=variables).resolve()\n"
        "    out[f.name] = {k: resolved[k] for k in variables}\n"
        "print(json.dumps(out))\n"
    )
    environ = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", ""),
        "SAM_CLI_TELEMETRY": "0",
    }
    completed = subprocess.run(  # our own interpreter and script
        [str(SAM_PYTHON), "-c", script, str(template_path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=environ,
        check=True,
    )
    found: dict[str, dict[str, str]] = json.loads(completed.stdout)
    return found


# --- `make aws` as a subprocess -----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class MakeAws(ModuleProcess):
    """`python -m local_runtime.aws` (what `make aws` runs) on free ports, writing `env_file`."""

    def __init__(self, env_file: Path) -> None:
        self.env_file = env_file
        self.port = free_port()
        self.sink_port = free_port()
        environ = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        environ.update({"AWS_PORT": str(self.port), "SMTP_SINK_PORT": str(self.sink_port)})
        super().__init__("local_runtime.aws", ["--env-file", str(env_file)], environ)

    def wait_ready(self, timeout: float = 60) -> MakeAws:
        self.wait_for(lambda line: line == "Ctrl-C to stop.", timeout)
        return self

    def wait_for_text(self, text: str, timeout: float = 10) -> None:
        self.wait_for(lambda line: text in line, timeout)

    @property
    def env_vars(self) -> dict[str, dict[str, str]]:
        found: dict[str, dict[str, str]] = json.loads(self.env_file.read_text())
        return found


@contextmanager
def running_make_aws(env_file: Path) -> Iterator[MakeAws]:
    aws = MakeAws(env_file)
    try:
        yield aws.wait_ready()
    finally:
        aws.stop()
