"""The local runtime (`python -m local_runtime`) as a subprocess on free ports, read through its output, and
what the template it serves declares: for the end-to-end tests (`tests/e2e`)."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from local_runtime import template
from local_runtime.events import ROOT
from tests.support.processes import ModuleProcess

START_TIMEOUT = 60


class Running(ModuleProcess):
    """One local runtime process: its output lines (as they come), its API URL and sink port."""

    def __init__(self, args: list[str], env: dict[str, str] | None = None) -> None:
        environ = {k: v for k, v in os.environ.items() if k not in ("LOCAL_USERS", "PORT", "SMTP_SINK_PORT")}
        super().__init__("local_runtime", args, {**environ, **(env or {})})
        self.api = ""
        self.sink_port = 0

    def wait_ready(self) -> Running:
        self.wait_for(lambda line: line == "Ctrl-C to stop.", START_TIMEOUT)
        self.api = re.search(r"smtp-hub is running on (\S+)", self.output).group(1)  # type: ignore[union-attr]
        self.sink_port = int(re.search(r"SMTP sink  [\d.]+:(\d+)", self.output).group(1))  # type: ignore[union-attr]
        return self


# --- what the template declares ---------------------------------------------------------------------
def declared() -> dict[str, Any]:
    return template.load()


def has_route(method: str, path: str) -> bool:
    return any(r.method == method and r.path == path for r in template.routes(declared()))


def api_properties() -> dict[str, Any]:
    props: dict[str, Any] = declared()["Resources"]["Api"]["Properties"]
    return props


def has_authorizer() -> bool:
    return bool(api_properties().get("Auth", {}).get("DefaultAuthorizer"))


def gateway_status(kind: str, default: int) -> int:
    """The status API Gateway answers for `kind`, by the template's GatewayResponses (AWS's rules)."""
    responses = api_properties().get("GatewayResponses", {})
    fallback = responses.get("DEFAULT_5XX" if default >= 500 else "DEFAULT_4XX", {})
    spec = responses.get(kind) or fallback
    return int(spec.get("StatusCode") or default)


def copy_template(folder: Path, change: Callable[[dict[str, Any]], None]) -> Path:
    """template.yaml with code paths made absolute, changed by `change`, written into `folder`."""
    document = template.load()
    for resource in document["Resources"].values():
        props = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(props.get(key), str):
                props[key] = str(ROOT / props[key])
    change(document)
    path = folder / "template.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path
