"""template.yaml as data: what the tests and the local runtime build from, so nothing is declared twice."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from local_runtime.events import ROOT

TEMPLATE = ROOT / "template.yaml"


class _Loader(yaml.SafeLoader):
    """YAML with CloudFormation's short-form intrinsics (!Ref X -> {"Ref": "X"}, !GetAtt A.B -> ...)."""


def _intrinsic(loader: _Loader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_Loader.add_multi_constructor("!", _intrinsic)


def load(path: Path = TEMPLATE) -> dict[str, Any]:
    with path.open(encoding="utf-8") as stream:
        document: dict[str, Any] = yaml.load(stream, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass  # nosec B506
    return document


@cache
def default() -> dict[str, Any]:
    return load()


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: res for name, res in template["Resources"].items() if res["Type"] == kind}


def table_request(resource: dict[str, Any], table_name: str) -> dict[str, Any]:
    """boto3 create_table arguments for an AWS::DynamoDB::Table resource (same keys and indexes)."""
    props = resource["Properties"]
    request: dict[str, Any] = {
        "TableName": table_name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
    }
    if props.get("GlobalSecondaryIndexes"):
        request["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    view = (props.get("StreamSpecification") or {}).get("StreamViewType")
    if view:
        request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": view}
    return request


@dataclass(frozen=True)
class Route:
    """One function behind one API route, as the template declares it."""

    function: str  # logical id
    code_uri: str
    handler: str
    method: str
    path: str
    environment: dict[str, Any] = field(default_factory=dict)
    timeout: int = 3
    authorizer: str | None = None
    api: str | None = None  # logical id of the AWS::Serverless::Api (RestApiId), None for the implicit one
    memory: int = 128


@dataclass(frozen=True)
class Function:
    """One AWS::Serverless::Function with the Globals applied (environment still unresolved)."""

    name: str  # logical id
    code_uri: str
    handler: str
    environment: dict[str, Any] = field(default_factory=dict)
    timeout: int = 3
    memory: int = 128


def functions(template: dict[str, Any]) -> dict[str, Function]:
    globals_ = template.get("Globals", {}).get("Function", {})
    found = {}
    for name, res in resources(template, "AWS::Serverless::Function").items():
        props = res["Properties"]
        found[name] = Function(
            name=name,
            code_uri=props["CodeUri"],
            handler=props.get("Handler", globals_.get("Handler", "app.lambda_handler")),
            environment={
                **globals_.get("Environment", {}).get("Variables", {}),
                **props.get("Environment", {}).get("Variables", {}),
            },
            timeout=int(props.get("Timeout", globals_.get("Timeout", 3))),
            memory=int(props.get("MemorySize", globals_.get("MemorySize", 128))),
        )
    return found


def routes(template: dict[str, Any]) -> list[Route]:
    globals_ = template.get("Globals", {}).get("Function", {})
    found = []
    for name, res in resources(template, "AWS::Serverless::Function").items():
        props = res["Properties"]
        env = {
            **globals_.get("Environment", {}).get("Variables", {}),
            **props.get("Environment", {}).get("Variables", {}),
        }
        for event in props.get("Events", {}).values():
            if event["Type"] != "Api":
                continue
            auth = event["Properties"].get("Auth", {}).get("Authorizer")
            api = event["Properties"].get("RestApiId")
            found.append(
                Route(
                    function=name,
                    code_uri=props["CodeUri"],
                    handler=props.get("Handler", globals_.get("Handler", "app.lambda_handler")),
                    method=event["Properties"]["Method"].upper(),
                    path=event["Properties"]["Path"],
                    environment=env,
                    timeout=int(props.get("Timeout", globals_.get("Timeout", 3))),
                    authorizer=auth,
                    api=api.get("Ref") if isinstance(api, dict) else api,
                    memory=int(props.get("MemorySize", globals_.get("MemorySize", 128))),
                )
            )
    return found


@dataclass(frozen=True)
class StreamSource:
    """A function fed by a DynamoDB table's stream: a SAM `DynamoDB` event, or an
    AWS::Lambda::EventSourceMapping whose EventSourceArn is !GetAtt <Table>.StreamArn."""

    name: str  # the event's or the mapping's logical id
    function: str  # logical id of the function
    table: str  # logical id of the table
    properties: dict[str, Any]  # the event's or mapping's properties, intrinsics unresolved


def _stream_table(template: dict[str, Any], arn: Any) -> str | None:
    if not isinstance(arn, dict) or "Fn::GetAtt" not in arn:
        return None
    name, attribute = arn["Fn::GetAtt"]
    kind = template["Resources"].get(name, {}).get("Type")
    return str(name) if kind == "AWS::DynamoDB::Table" and attribute == "StreamArn" else None


def _function_of(template: dict[str, Any], value: Any) -> str | None:
    name = None
    if isinstance(value, dict) and "Ref" in value:
        name = value["Ref"]
    elif isinstance(value, dict) and "Fn::GetAtt" in value:
        name = value["Fn::GetAtt"][0]
    elif isinstance(value, str):
        name = value
    return str(name) if name in resources(template, "AWS::Serverless::Function") else None


def stream_sources(template: dict[str, Any]) -> list[StreamSource]:
    found = []
    for name, res in resources(template, "AWS::Serverless::Function").items():
        for event_name, event in (res["Properties"].get("Events") or {}).items():
            if event.get("Type") != "DynamoDB":
                continue
            props = dict(event.get("Properties") or {})
            table = _stream_table(template, props.get("Stream"))
            if table is not None:
                found.append(StreamSource(f"{name}{event_name}", name, table, props))
    for name, res in resources(template, "AWS::Lambda::EventSourceMapping").items():
        props = dict(res.get("Properties") or {})
        table = _stream_table(template, props.get("EventSourceArn"))
        function = _function_of(template, props.get("FunctionName"))
        if table is not None and function is not None:
            found.append(StreamSource(name, function, table, props))
    return found
