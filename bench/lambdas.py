"""The functions to measure, discovered from template.yaml, and the environment they run in.

Every AWS::Serverless::Function in the template is measured, whatever exists when the bench runs:
its folder (CodeUri), handler, timeout, memory, API route (if it has one) and the AWS services and
actions its IAM policy allows (which tells which boto3 clients it builds).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from local_runtime import template

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build" / "bench"
RESULTS = Path(__file__).resolve().parent / "results"

APPS_TABLE = "bench-AppsTable"
SMTPS_TABLE = "bench-SmtpsTable"
TABLE_PREFIX = "bench-"  # every table of the template, under the name bench-<logical id>
SECRET_PREFIX = "smtp-hub-bench/api/smtp/"
REGION = "us-east-1"

# Concrete values for the template's environment variables whose value is an intrinsic (!Ref ...).
_PLACEHOLDERS = {
    "APPS_TABLE": APPS_TABLE,
    "SMTPS_TABLE": SMTPS_TABLE,
    "SECRET_PREFIX": SECRET_PREFIX,
    "WEBHOOK_SECRET_PREFIX": "smtp-hub-bench/api/webhook/",
    "STAGE": "api",
    "POWERTOOLS_LOG_LEVEL": "INFO",
}


@dataclass(frozen=True)
class Function:
    logical_id: str
    name: str  # the CodeUri folder: functions/<name>/
    code_uri: str
    handler: str
    timeout: int
    memory: int
    method: str | None = None
    path: str | None = None
    # (action, resource) pairs its IAM policy allows: ("dynamodb:GetItem", "table/bench-AppsTable"),
    # ("secretsmanager:DeleteSecret", "*"); resources other than the tables and indexes are "*".
    permissions: frozenset[tuple[str, str]] = field(default_factory=frozenset)
    environment: dict[str, str] = field(default_factory=dict)
    # Its own layers (logical ids), beyond the Globals' CommonLayer: Lambda merges them into /opt.
    layers: tuple[str, ...] = ()

    @property
    def route(self) -> str:
        return f"{self.method} {self.path}" if self.method else "(authorizer)"

    @property
    def actions(self) -> frozenset[str]:
        return frozenset(action for action, _ in self.permissions)

    @property
    def services(self) -> list[str]:
        """boto3 service names its policy allows: the clients its code builds (IAM prefixes are the same).

        Actions that Lambda itself uses with the function's role (reading a stream for an event source
        mapping, sending to its on-failure queue) are not the code's and build no client.
        """
        return sorted(
            {
                action.split(":", 1)[0]
                for action in self.actions
                if ":" in action and action not in _POLLER_ACTIONS
            }
        )

    @property
    def folder(self) -> Path:
        return ROOT / self.code_uri

    def allows(self, action: str, resource: str = "*") -> bool:
        wanted = action.lower()
        for allowed, where in self.permissions:
            pattern = allowed.lower()
            if not (pattern == wanted or (pattern.endswith("*") and wanted.startswith(pattern[:-1]))):
                continue
            if where in ("*", resource):
                return True
        return False


@cache
def _parameters() -> dict[str, Any]:
    parameters: dict[str, Any] = template.default().get("Parameters", {})
    return parameters


@cache
def tables() -> dict[str, str]:
    """Every DynamoDB table of the template: logical id -> the bench's name for it."""
    return {
        logical: TABLE_PREFIX + logical
        for logical in template.resources(template.default(), "AWS::DynamoDB::Table")
    }


_POLLER_ACTIONS = frozenset(
    {
        "dynamodb:DescribeStream",
        "dynamodb:GetRecords",
        "dynamodb:GetShardIterator",
        "dynamodb:ListStreams",
        "sqs:SendMessage",
    }
)


def _resource(value: Any) -> str:
    """A policy Resource as the bench names it: "table/<name>", "table/<name>/index/<index>" or "*"."""
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        logical, attribute = value["Fn::GetAtt"]
        if logical in tables() and attribute == "Arn":
            return f"table/{tables()[logical]}"
    if isinstance(value, dict) and "Fn::Sub" in value:
        text = value["Fn::Sub"] if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"][0]
        for logical, name in tables().items():
            if text.startswith("${" + logical + ".Arn}"):
                return f"table/{name}" + text.split("}", 1)[1]
    return "*"


def _permissions(policies: Any) -> frozenset[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for policy in policies or []:
        if not isinstance(policy, dict):
            continue
        statements = policy.get("Statement")
        if statements is None:  # a SAM policy template, e.g. {"DynamoDBReadPolicy": {...}}
            for name in policy:
                lowered = name.lower()
                for prefix, service in (
                    ("dynamodb", "dynamodb"),
                    ("secretsmanager", "secretsmanager"),
                    ("awssecretsmanager", "secretsmanager"),
                    ("cognito", "cognito-idp"),
                ):
                    if lowered.startswith(prefix):
                        found.add((f"{service}:*", "*"))
            continue
        for statement in statements if isinstance(statements, list) else [statements]:
            if statement.get("Effect", "Allow") != "Allow":
                continue
            actions = statement.get("Action", [])
            resources = statement.get("Resource", "*")
            resources = resources if isinstance(resources, list) else [resources]
            for action in [actions] if isinstance(actions, str) else actions:
                found.update((action, _resource(resource)) for resource in resources)
    return frozenset(found)


_TRANSACT_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}


def required_permissions(service: str, operation: str, params: dict[str, Any]) -> list[tuple[str, str]]:
    """The IAM (action, resource) pairs one API call needs (a transaction needs its actions' own)."""
    if (service, operation) == (
        "s3",
        "DeleteObjects",
    ):  # IAM has no s3:DeleteObjects: each key's DeleteObject
        return [("s3:DeleteObject", "*")]
    if service != "dynamodb":
        return [(f"{service}:{operation}", "*")]
    if operation == "TransactWriteItems":
        needed = []
        for step in params.get("TransactItems", []):
            ((kind, action),) = step.items()
            needed.append((f"dynamodb:{_TRANSACT_ACTIONS[kind]}", f"table/{action['TableName']}"))
        return needed
    if operation == "BatchWriteItem":
        return [("dynamodb:BatchWriteItem", f"table/{table}") for table in params.get("RequestItems", {})]
    resource = f"table/{params.get('TableName')}"
    if params.get("IndexName"):
        resource += f"/index/{params['IndexName']}"
    return [(f"dynamodb:{operation}", resource)]


def _environment(variables: dict[str, Any]) -> dict[str, str]:
    env = {}
    for name, value in variables.items():
        if isinstance(value, str | int | float | bool):
            env[name] = str(value)
        elif isinstance(value, dict) and value.get("Ref") in tables():
            env[name] = tables()[value["Ref"]]
        elif isinstance(value, dict) and "Default" in _parameters().get(value.get("Ref"), {}):
            env[name] = str(_parameters()[value["Ref"]]["Default"])  # a template parameter's default
        else:
            env[name] = _PLACEHOLDERS.get(name, f"bench-{name.lower().replace('_', '-')}")
    env.update({k: v for k, v in _PLACEHOLDERS.items() if k in env})
    return env


@cache
def functions() -> tuple[Function, ...]:
    """Every function of the template whose code exists, routes first in template order."""
    document = template.default()
    globals_ = document.get("Globals", {}).get("Function", {})
    routes = {route.function: route for route in template.routes(document)}
    found = []
    for logical_id, resource in template.resources(document, "AWS::Serverless::Function").items():
        props = resource["Properties"]
        code_uri = str(props["CodeUri"])
        handler = props.get("Handler", globals_.get("Handler", "app.lambda_handler"))
        module = handler.rpartition(".")[0]
        if not (ROOT / code_uri / f"{module}.py").is_file():
            continue  # declared but not written yet
        route = routes.get(logical_id)
        variables = {
            **globals_.get("Environment", {}).get("Variables", {}),
            **props.get("Environment", {}).get("Variables", {}),
        }
        found.append(
            Function(
                logical_id=logical_id,
                name=Path(code_uri).name,
                code_uri=code_uri,
                handler=handler,
                timeout=int(props.get("Timeout", globals_.get("Timeout", 3))),
                memory=int(props.get("MemorySize", globals_.get("MemorySize", 128))),
                method=route.method if route else None,
                path=route.path if route else None,
                permissions=_permissions(props.get("Policies")),
                environment=_environment(variables),
                layers=tuple(
                    ref["Ref"] for ref in props.get("Layers", []) if isinstance(ref, dict) and "Ref" in ref
                ),
            )
        )
    found.sort(key=lambda f: (f.method is None, f.path or "", f.logical_id))
    return tuple(found)


def layer_folders() -> dict[str, Path]:
    """Every layer of the template: logical id -> its folder (ContentUri), each built by its Makefile."""
    layers = template.resources(template.default(), "AWS::Serverless::LayerVersion")
    return {logical: ROOT / str(layer["Properties"]["ContentUri"]) for logical, layer in layers.items()}


def by_name(name: str) -> Function | None:
    return next((f for f in functions() if f.name == name), None)


def table_schemas() -> dict[str, dict[str, Any]]:
    """The in-memory DynamoDB's key schemas (bench.wire): the template's tables, under the bench's names."""
    resources = template.resources(template.default(), "AWS::DynamoDB::Table")
    schemas = {}
    for logical, name in tables().items():
        props = resources[logical]["Properties"]
        key = [k["AttributeName"] for k in sorted(props["KeySchema"], key=lambda k: k["KeyType"])]
        indexes = {
            index["IndexName"]: [
                k["AttributeName"] for k in sorted(index["KeySchema"], key=lambda k: k["KeyType"])
            ]
            for index in props.get("GlobalSecondaryIndexes", [])
        }
        schemas[name] = {"key": key, "indexes": indexes}
    return schemas


def aws_environment() -> dict[str, str]:
    """Fake credentials and a fixed region: nothing can reach real AWS."""
    return {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }


def function_environment(function: Function | None = None) -> dict[str, str]:
    """What a function sees: the template's variables (with concrete values) plus fake AWS."""
    env = dict(_PLACEHOLDERS)
    env.update({"POWERTOOLS_SERVICE_NAME": "smtp-hub", "POWERTOOLS_LOGGER_LOG_EVENT": "false"})
    for f in functions() if function is None else (function,):
        env.update(f.environment)
    env.update(aws_environment())
    return env
