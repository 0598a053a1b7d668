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
    name = suffix if suffix in ("Ref", "Condition") else f"Fn::{suffix}"  # the long forms' names
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


def _source_of(template: dict[str, Any], arn: Any, kind: str, attribute: str) -> str | None:
    """The logical id of the `kind` resource `arn` names as `!GetAtt <resource>.<attribute>`."""
    if not isinstance(arn, dict) or "Fn::GetAtt" not in arn:
        return None
    getatt = arn["Fn::GetAtt"]
    name, named = getatt.split(".", 1) if isinstance(getatt, str) else getatt
    found = template["Resources"].get(name, {}).get("Type")
    return str(name) if found == kind and named == attribute else None


def _function_of(template: dict[str, Any], value: Any) -> str | None:
    name = None
    if isinstance(value, dict) and "Ref" in value:
        name = value["Ref"]
    elif isinstance(value, dict) and "Fn::GetAtt" in value:
        name = value["Fn::GetAtt"][0]
    elif isinstance(value, str):
        name = value
    return str(name) if name in resources(template, "AWS::Serverless::Function") else None


_Found = tuple[str, str, str, dict[str, Any], str | None]  # name, function, source, properties, condition


def _event_sources(
    template: dict[str, Any], event_type: str, key: str, kind: str, attribute: str
) -> list[_Found]:
    """Functions fed by `kind` resources (named as `!GetAtt <resource>.<attribute>`): through a SAM event of
    `event_type` (the resource in its property `key`), or an AWS::Lambda::EventSourceMapping."""
    found: list[_Found] = []
    for name, res in resources(template, "AWS::Serverless::Function").items():
        for event_name, event in (res["Properties"].get("Events") or {}).items():
            if event.get("Type") != event_type:
                continue
            props = dict(event.get("Properties") or {})
            source = _source_of(template, props.get(key), kind, attribute)
            if source is not None:
                found.append((f"{name}{event_name}", name, source, props, res.get("Condition")))
    for name, res in resources(template, "AWS::Lambda::EventSourceMapping").items():
        props = dict(res.get("Properties") or {})
        source = _source_of(template, props.get("EventSourceArn"), kind, attribute)
        function = _function_of(template, props.get("FunctionName"))
        if source is not None and function is not None:
            found.append((name, function, source, props, res.get("Condition")))
    return found


def stream_sources(template: dict[str, Any]) -> list[StreamSource]:
    return [
        StreamSource(name, function, table, props)
        for name, function, table, props, _ in _event_sources(
            template, "DynamoDB", "Stream", "AWS::DynamoDB::Table", "StreamArn"
        )
    ]


@dataclass(frozen=True)
class QueueSource:
    """A function fed by an SQS queue: a SAM `SQS` event (Properties.Queue), or an
    AWS::Lambda::EventSourceMapping whose EventSourceArn is !GetAtt <Queue>.Arn."""

    name: str  # the event's or the mapping's logical id
    function: str  # logical id of the function
    queue: str  # logical id of the queue
    properties: dict[str, Any]  # the event's or mapping's properties, intrinsics unresolved
    condition: str | None = None  # the mapping's Condition, when it has one


def queue_sources(template: dict[str, Any]) -> list[QueueSource]:
    return [
        QueueSource(*found) for found in _event_sources(template, "SQS", "Queue", "AWS::SQS::Queue", "Arn")
    ]


@dataclass(frozen=True)
class ScheduleSource:
    """A function run on a schedule: a SAM `Schedule` (EventBridge rule) or `ScheduleV2` (EventBridge
    Scheduler) event."""

    name: str  # the function's logical id and the event's
    function: str
    kind: str  # Schedule or ScheduleV2
    properties: dict[str, Any]  # intrinsics unresolved


def schedule_sources(template: dict[str, Any]) -> list[ScheduleSource]:
    return [
        ScheduleSource(f"{name}{event_name}", name, str(event["Type"]), dict(event.get("Properties") or {}))
        for name, res in resources(template, "AWS::Serverless::Function").items()
        for event_name, event in (res["Properties"].get("Events") or {}).items()
        if event.get("Type") in ("Schedule", "ScheduleV2")
    ]
