"""Least privilege, proven on what CloudFormation would receive: template.yaml after the SAM transform.

The transform runs offline (samtranslator, managed policies from a stub). Every function of the
template is checked, so a function added later is covered without touching this file:

- no wildcard action, no NotAction/NotResource, no `Resource: "*"` in any statement;
- DynamoDB actions only on the template's own tables, their indexes and their streams;
- Secrets Manager only under the stack's secret prefix, and only for what needs it (a function is
  known by its triggers: its API routes, the table streams and queues it consumes, its schedules), each
  with no more than it needs; reading a password (GetSecretValue) is the check's and the health worker's
  (its scheduled probes) alone;
- SQS only on the template's own queues; EventBridge only PutEvents on the default bus, and only by what
  records a check's result (the check and the health worker);
- read-only functions (GET routes, and the API's authorizer) with read actions only and nothing in
  Secrets Manager;
- the accounts table (revocations, check counters, quotas, probe budgets) only for those that need it,
  each only on its own items (`dynamodb:LeadingKeys`): the authorizer reads `account#*`, logout writes
  `account#*`, the check counts in `checks#*`, what creates, moves or deletes apps and servers counts in
  `quota#*` (apps/remove also deletes the app's counter), the health worker counts in `probes#*`;
- managed policies: only the Lambda logging and X-Ray defaults.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from functools import cache
from typing import Any

import pytest
from samtranslator.translator.transform import transform

from local_runtime import template

SECRET_ARN = (
    "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:"
    "${AWS::StackName}/${StageName}/smtp/*"
)
WEBHOOK_SECRET_ARN = SECRET_ARN.replace("/smtp/*", "/webhook/*")
# The apps' webhook secrets (smtphub/webhooks/secret.py), a prefix of their own: written by apps/save (and
# deleted there when the app was removed meanwhile), deleted by the apps table's stream consumer once the app
# is gone, read by the webhooks' sender to sign. Nothing else reaches them; none of these an SMTP password.
WEBHOOK_SECRET_ACTIONS: dict[tuple[str, str], set[str]] = {
    ("POST", "/private/apps/save"): {
        "secretsmanager:CreateSecret",
        "secretsmanager:TagResource",
        "secretsmanager:PutSecretValue",
        "secretsmanager:DescribeSecret",
        "secretsmanager:UpdateSecretVersionStage",
        "secretsmanager:DeleteSecret",
    },
    ("STREAM", "AppsTable"): {"secretsmanager:DeleteSecret"},
    ("QUEUE", "WebhookQueue"): {"secretsmanager:GetSecretValue"},
}
# What may reach Secrets Manager, by trigger (an API route, or "STREAM" and the table consumed), and the
# most each may do there. Removing a server deletes its secret, in the remove functions or in a consumer
# of the SMTP servers' stream.
SECRET_ACTIONS: dict[tuple[str, str], set[str]] = {
    ("POST", "/private/smtps/save"): {
        "secretsmanager:CreateSecret",
        "secretsmanager:TagResource",
        "secretsmanager:PutSecretValue",
        "secretsmanager:UpdateSecretVersionStage",
        "secretsmanager:DeleteSecret",
    },
    ("POST", "/private/smtps/remove"): {"secretsmanager:DeleteSecret"},
    ("POST", "/private/apps/remove"): {"secretsmanager:DeleteSecret"},
    ("POST", "/private/smtps/check"): {"secretsmanager:GetSecretValue"},
    # the stream's consumer also tidies the labels of the versions records name (smtphub/smtps/cleanup.py)
    ("STREAM", "SmtpsTable"): {
        "secretsmanager:DeleteSecret",
        "secretsmanager:DescribeSecret",
        "secretsmanager:UpdateSecretVersionStage",
    },
    ("QUEUE", "HealthQueue"): {"secretsmanager:GetSecretValue"},  # the scheduled probes (issue 13)
    ("QUEUE", "SendQueue"): {"secretsmanager:GetSecretValue"},  # the sender logs in to the servers (issue 24)
}
# Who may read a password: the check, the worker of the scheduled probes, and the sender.
SECRET_READERS = {("POST", "/private/smtps/check"), ("QUEUE", "HealthQueue"), ("QUEUE", "SendQueue")}
# The tracking key (TrackingKeySecret): read, and only by the public routes that check a link's token and
# the sender, which signs each tracked recipient's links with it.
TRACKING_KEY = {"Ref": "TrackingKeySecret"}
TRACKING_KEY_READERS = {
    ("QUEUE", "SendQueue"),
    ("GET", "/public/tracking/open"),
    ("GET", "/public/tracking/click"),
    ("GET", "/public/blacklist/unsubscribe"),
    ("POST", "/public/blacklist/unsubscribe"),
}
# GET routes that write: a recipient's first open or click, recorded in TrackingTable only.
RECORDING_GETS = {("GET", "/public/tracking/open"), ("GET", "/public/tracking/click")}
DEFAULT_BUS = "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/default"
# Who may put events on the default bus (a result's status change, an expiring certificate; a server the
# sender disabled after DISABLE_AFTER faults in a row; an e-mail's outcome, smtphub/webhooks/outbox.py).
EVENT_PUBLISHERS = {
    ("POST", "/private/smtps/check"),
    ("QUEUE", "HealthQueue"),
    ("QUEUE", "SendQueue"),  # also an auto-blacklisted recipient's blacklisted_added
    ("STREAM", "EmailsTable"),
    # The app's own events, through the outbox (WebhookQueue and the default bus): blacklisted_added from
    # blacklist/add and the recipient's unsubscribe, tracking_opened and tracking_clicked.
    ("POST", "/private/blacklist/add"),
    ("POST", "/public/blacklist/unsubscribe"),
    ("GET", "/public/tracking/open"),
    ("GET", "/public/tracking/click"),
}
# What must reach it: creating a server stores its password, and the check reads it.
SECRET_NEEDED = {("POST", "/private/smtps/save"), ("POST", "/private/smtps/check")}
MANAGED = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
}
READ_VERBS = ("Get", "BatchGet", "Query", "Scan", "Describe", "List", "ConditionCheck")
# Who may touch the accounts table, how, and on which items (the partition keys' prefix).
ACCOUNTS_TABLE = "AccountsTable"
COUNT_QUOTAS = ("dynamodb:UpdateItem", "quota#*")  # a create, a move or a delete counts in its transaction
ACCOUNTS_ACCESS: dict[tuple[str, str], set[tuple[str, str]]] = {
    ("AUTHORIZER", "Api"): {("dynamodb:GetItem", "account#*")},
    ("POST", "/private/auth/logout"): {("dynamodb:UpdateItem", "account#*")},
    ("POST", "/private/smtps/check"): {("dynamodb:UpdateItem", "checks#*")},
    # verify=true counts as a check
    ("POST", "/private/smtps/save"): {("dynamodb:UpdateItem", "checks#*"), COUNT_QUOTAS},
    ("POST", "/private/smtps/remove"): {COUNT_QUOTAS},
    # a create undone (its webhook secret could not be made) gives its slot back and deletes its counter
    ("POST", "/private/apps/save"): {COUNT_QUOTAS, ("dynamodb:DeleteItem", "quota#*")},
    # the app's counter goes with the app
    ("POST", "/private/apps/remove"): {COUNT_QUOTAS, ("dynamodb:DeleteItem", "quota#*")},
    ("STREAM", "AppsTable"): {COUNT_QUOTAS},  # the servers an app's removal missed
    ("QUEUE", "HealthQueue"): {("dynamodb:UpdateItem", "probes#*")},  # the daily probe budget
    # the month's e-mails, counted in the transaction that stores the e-mail
    ("POST", "/private/emails/send"): {("dynamodb:UpdateItem", "emails#*")},
}


class ManagedPolicies:
    """samtranslator's managed-policy loader, offline: no policy name needs resolving."""

    def load(self) -> dict[str, str]:
        return {}


def transformed(source: dict[str, Any]) -> dict[str, Any]:
    document = copy.deepcopy(source)
    for name, resource in document["Resources"].items():
        properties = resource.get("Properties") or {}
        for key in ("CodeUri", "ContentUri"):  # as `sam package` leaves them
            if key in properties:
                properties[key] = f"s3://artifacts/{name}.zip"
    output: dict[str, Any] = transform(document, {}, ManagedPolicies())
    return output


@cache
def real_template() -> dict[str, Any]:
    return template.load()


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def statements_of(output: dict[str, Any], function: str) -> tuple[list[dict[str, Any]], list[Any]]:
    """The inline statements and managed policy ARNs that apply to a function's execution role."""
    resources = output["Resources"]
    role = resources[function]["Properties"]["Role"]
    assert isinstance(role, dict), f"{function}: an explicit role escapes this test"
    assert "Fn::GetAtt" in role, f"{function}: an explicit role escapes this test"
    role_id = role["Fn::GetAtt"][0]
    properties = resources[role_id]["Properties"]
    statements = [
        statement
        for policy in properties.get("Policies", [])
        for statement in as_list(policy["PolicyDocument"]["Statement"])
    ]
    managed = list(properties.get("ManagedPolicyArns", []))
    for resource in resources.values():  # policies attached to the role from outside it
        attached = resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
        if attached and {"Ref": role_id} in resource["Properties"].get("Roles", []):
            statements.extend(as_list(resource["Properties"]["PolicyDocument"]["Statement"]))
    return statements, managed


def references_a_table(resource: Any, tables: dict[str, dict[str, Any]]) -> bool:
    """GetAtt <Table>.Arn or .StreamArn, Sub "${<Table>.Arn}/index/<one of its indexes>" or "/stream/*"."""
    if isinstance(resource, dict) and "Fn::GetAtt" in resource:
        name, attribute = resource["Fn::GetAtt"]
        streamed = name in tables and "StreamSpecification" in tables[name]["Properties"]
        return name in tables and (attribute == "Arn" or (attribute == "StreamArn" and streamed))
    if isinstance(resource, dict) and isinstance(resource.get("Fn::Sub"), str):
        match = re.fullmatch(r"\$\{(\w+)\.Arn\}/(index|stream)/([\w.*-]+)", resource["Fn::Sub"])
        if match and match.group(1) in tables:
            table = tables[match.group(1)]["Properties"]
            if match.group(2) == "stream":
                return "StreamSpecification" in table and match.group(3) == "*"
            indexes = table.get("GlobalSecondaryIndexes", [])
            return match.group(3) in {index["IndexName"] for index in indexes}
    return False


def triggers(source: dict[str, Any]) -> dict[str, list[tuple[str, str]]]:
    """Function -> what invokes it: (method, path) of its API routes, ("STREAM", table) of its streams,
    ("QUEUE", queue) of its queues, ("SCHEDULE", event) of its schedules, ("AUTHORIZER", api) for an API's
    Lambda authorizer."""
    found: dict[str, list[tuple[str, str]]] = {}
    for api, resource in template.resources(source, "AWS::Serverless::Api").items():
        for spec in ((resource["Properties"].get("Auth") or {}).get("Authorizers") or {}).values():
            arn = spec.get("FunctionArn")
            if isinstance(arn, dict) and "Fn::GetAtt" in arn:
                found.setdefault(str(arn["Fn::GetAtt"][0]), []).append(("AUTHORIZER", api))
    for route in template.routes(source):
        found.setdefault(route.function, []).append((route.method, route.path))
    for mapping in template.resources(source, "AWS::Lambda::EventSourceMapping").values():
        props = mapping["Properties"]
        function, source_arn = props.get("FunctionName"), props.get("EventSourceArn")
        if isinstance(function, dict) and isinstance(source_arn, dict) and "Fn::GetAtt" in source_arn:
            origin = source_arn["Fn::GetAtt"][0]
            kind = "QUEUE" if source["Resources"][origin]["Type"] == "AWS::SQS::Queue" else "STREAM"
            found.setdefault(str(function.get("Ref")), []).append((kind, origin))
    for name, resource in template.resources(source, "AWS::Serverless::Function").items():
        for event_name, event in (resource["Properties"].get("Events") or {}).items():
            stream = (event.get("Properties") or {}).get("Stream")
            if event["Type"] == "DynamoDB" and isinstance(stream, dict) and "Fn::GetAtt" in stream:
                found.setdefault(name, []).append(("STREAM", stream["Fn::GetAtt"][0]))
            if event["Type"] in ("Schedule", "ScheduleV2"):
                found.setdefault(name, []).append(("SCHEDULE", event_name))
            if event["Type"] == "SQS":
                found.setdefault(name, []).append(("QUEUE", str(event["Properties"]["Queue"])))
    return found


def references_a_queue(resource: Any, queues: dict[str, dict[str, Any]]) -> bool:
    """GetAtt <Queue>.Arn of one of the template's queues."""
    if isinstance(resource, dict) and "Fn::GetAtt" in resource:
        name, attribute = resource["Fn::GetAtt"]
        return name in queues and attribute == "Arn"
    return False


def queue_and_bus_violations(
    function: str, action: str, resources: list[Any], queues: dict[str, dict[str, Any]]
) -> Iterator[str]:
    """SQS only on the template's queues; EventBridge only PutEvents on the default bus."""
    if action.startswith("sqs:"):
        for resource in resources:
            if not references_a_queue(resource, queues):
                yield f"{function}: {action} on {resource}, not one of the template's queues"
    bad_bus = action != "events:PutEvents" or resources != [{"Fn::Sub": DEFAULT_BUS}]
    if action.startswith("events:") and bad_bus:
        yield f"{function}: {action} on {resources}, not PutEvents on the default bus"


def statement_violations(
    function: str,
    statement: dict[str, Any],
    tables: dict[str, dict[str, Any]],
    read_only: bool,
    queues: dict[str, dict[str, Any]] | None = None,
) -> Iterator[str]:
    queues = queues or {}
    yield from (
        f"{function}: {key}" for key in ("NotAction", "NotResource", "NotPrincipal") if key in statement
    )
    if statement.get("Effect") != "Allow":
        return
    actions = [str(action) for action in as_list(statement.get("Action", []))]
    resources = as_list(statement.get("Resource", []))
    if "*" in resources:
        yield f"{function}: Resource * for {sorted(actions)}"
    for action in actions:
        service, _, verb = action.partition(":")
        if "*" in action:
            yield f"{function}: wildcard action {action}"
        if service == "dynamodb":
            for resource in resources:
                if not references_a_table(resource, tables):
                    yield f"{function}: {action} on {resource}, not one of the template's tables"
        if service == "secretsmanager":
            for resource in resources:
                if resource == TRACKING_KEY and action == "secretsmanager:GetSecretValue":
                    continue  # who may: tracking_key_violations
                if resource not in ({"Fn::Sub": SECRET_ARN}, {"Fn::Sub": WEBHOOK_SECRET_ARN}):
                    yield f"{function}: {action} on {resource}, not under the stack's secret prefix"
        yield from queue_and_bus_violations(function, action, resources, queues)
        if read_only and (service == "secretsmanager" or not verb.startswith(READ_VERBS)):
            yield f"{function}: {action} in a read-only function"


def violations(source: dict[str, Any]) -> Iterator[str]:
    """Every way a function's permissions exceed least privilege, as readable sentences."""
    output = transformed(source)
    tables = template.resources(source, "AWS::DynamoDB::Table")
    queues = template.resources(source, "AWS::SQS::Queue")
    invoked_by = triggers(source)
    functions = template.resources(source, "AWS::Serverless::Function")
    assert functions, "the template declares no function"
    for function in functions:
        statements, managed = statements_of(output, function)
        its_triggers = invoked_by.get(function, [])
        read_only = bool(its_triggers) and all(method in ("GET", "AUTHORIZER") for method, _ in its_triggers)
        read_only = read_only and not set(its_triggers) & RECORDING_GETS
        for arn in managed:
            if arn not in MANAGED:
                yield f"{function}: managed policy {arn}"
        for statement in statements:
            yield from statement_violations(function, statement, tables, read_only, queues)
        yield from tracking_key_violations(function, statements, its_triggers)
        for arn, granted in ((SECRET_ARN, SECRET_ACTIONS), (WEBHOOK_SECRET_ARN, WEBHOOK_SECRET_ACTIONS)):
            allowed: set[str] = set()
            for trigger in its_triggers:
                allowed |= granted.get(trigger, set())
            for action in sorted(secret_actions_on(statements, arn) - allowed):
                yield f"{function}: {action} is not for {its_triggers or 'a function without a trigger'}"
        yield from accounts_violations(function, statements, its_triggers)
        yield from publisher_violations(function, statements, its_triggers)


def secret_actions_on(statements: list[dict[str, Any]], arn: str) -> set[str]:
    """The Secrets Manager actions the statements allow on the secrets under `arn` (a prefix's pattern)."""
    return {
        str(action)
        for statement in statements
        if statement.get("Effect") == "Allow" and {"Fn::Sub": arn} in as_list(statement.get("Resource", []))
        for action in as_list(statement.get("Action", []))
        if str(action).startswith("secretsmanager:")
    }


def tracking_key_violations(
    function: str, statements: list[dict[str, Any]], its_triggers: list[tuple[str, str]]
) -> Iterator[str]:
    """The tracking key: only its readers; a recording GET writes only its record (PutItem, TrackingTable)."""
    for statement in statements:
        resources = as_list(statement.get("Resource", []))
        if TRACKING_KEY in resources and not set(its_triggers) <= TRACKING_KEY_READERS:
            yield f"{function}: the tracking key is not for {its_triggers}"
        if not set(its_triggers) & RECORDING_GETS:
            continue
        own = resources == [{"Fn::GetAtt": ["TrackingTable", "Arn"]}]
        for action in map(str, as_list(statement.get("Action", []))):
            service, _, verb = action.partition(":")
            if service == "dynamodb" and not verb.startswith(READ_VERBS) and (verb != "PutItem" or not own):
                yield f"{function}: {action} on {resources}, not its TrackingTable record"


def publisher_violations(
    function: str, statements: list[dict[str, Any]], its_triggers: list[tuple[str, str]]
) -> Iterator[str]:
    """events:PutEvents only for what records a check's result."""
    publishes = any(
        str(action).startswith("events:")
        for statement in statements
        if statement.get("Effect") == "Allow"
        for action in as_list(statement.get("Action", []))
    )
    if publishes and not set(its_triggers) & EVENT_PUBLISHERS:
        yield f"{function}: events:PutEvents is not for {its_triggers}"


def on_accounts_table(statement: dict[str, Any]) -> bool:
    return any(
        isinstance(resource, dict) and resource.get("Fn::GetAtt", [None])[0] == ACCOUNTS_TABLE
        for resource in as_list(statement.get("Resource", []))
    ) or any(
        isinstance(resource, dict) and f"${{{ACCOUNTS_TABLE}." in str(resource.get("Fn::Sub", ""))
        for resource in as_list(statement.get("Resource", []))
    )


def leading_keys(statement: dict[str, Any]) -> list[str] | None:
    """The partition keys a statement is limited to (ForAllValues:StringLike dynamodb:LeadingKeys)."""
    condition = statement.get("Condition") or {}
    if set(condition) != {"ForAllValues:StringLike"} or set(condition["ForAllValues:StringLike"]) != {
        "dynamodb:LeadingKeys"
    }:
        return None
    return [str(key) for key in as_list(condition["ForAllValues:StringLike"]["dynamodb:LeadingKeys"])]


def accounts_violations(
    function: str, statements: list[dict[str, Any]], its_triggers: list[tuple[str, str]]
) -> Iterator[str]:
    """The accounts table: only ACCOUNTS_ACCESS's functions, each with its one action on its own items."""
    allowed = {access for trigger in its_triggers for access in ACCOUNTS_ACCESS.get(trigger, set())}
    for statement in statements:
        if statement.get("Effect") != "Allow" or not on_accounts_table(statement):
            continue
        keys = leading_keys(statement)
        if keys is None:
            yield f"{function}: {ACCOUNTS_TABLE} without a dynamodb:LeadingKeys condition"
            continue
        for action in as_list(statement.get("Action", [])):
            for key in keys:
                if (str(action), key) not in allowed:
                    yield f"{function}: {action} on {ACCOUNTS_TABLE} items {key} is not for {its_triggers}"


# --- the template as it is ------------------------------------------------------------------------


def test_every_function_has_least_privilege() -> None:
    assert list(violations(real_template())) == []


def test_every_function_is_covered() -> None:
    """Each function of the template has its own generated role with the statements checked above."""
    output = transformed(real_template())
    for function in template.resources(real_template(), "AWS::Serverless::Function"):
        statements, managed = statements_of(output, function)
        assert set(managed) <= MANAGED
        assert all(isinstance(statement, dict) for statement in statements)


def test_only_what_needs_it_reaches_secrets_manager() -> None:
    output = transformed(real_template())
    reaching: dict[tuple[str, str], set[str]] = {}
    for function, its_triggers in triggers(real_template()).items():
        statements, _ = statements_of(output, function)
        actions = secret_actions_on(statements, SECRET_ARN)
        for trigger in its_triggers:
            if actions:
                reaching[trigger] = actions
    assert set(reaching) <= set(SECRET_ACTIONS), "reaches Secrets Manager without being listed"
    assert set(reaching) >= SECRET_NEEDED, "saving a password and checking a server need it"
    assert reaching[("POST", "/private/smtps/check")] == {"secretsmanager:GetSecretValue"}
    assert reaching[("QUEUE", "HealthQueue")] == {"secretsmanager:GetSecretValue"}
    readers = {trigger for trigger, actions in reaching.items() if "secretsmanager:GetSecretValue" in actions}
    assert readers == SECRET_READERS, "only the check and the scheduled probes read a password"
    # Whoever removes servers, their secrets are deleted: by the remove functions or by a stream consumer.
    deleters = {trigger for trigger, actions in reaching.items() if "secretsmanager:DeleteSecret" in actions}
    removers = {("POST", "/private/smtps/remove"), ("POST", "/private/apps/remove")}
    assert removers <= deleters or ("STREAM", "SmtpsTable") in deleters


def test_the_webhook_secrets_are_reached_as_listed_and_no_more() -> None:
    """Written by apps/save, deleted after an app's removal, read by the webhooks' sender alone; and no
    function that reaches them reaches an SMTP password, nor the other way round (but apps/save, which
    reaches no password)."""
    output = transformed(real_template())
    reaching: dict[tuple[str, str], set[str]] = {}
    for function, its_triggers in triggers(real_template()).items():
        statements, _ = statements_of(output, function)
        actions = secret_actions_on(statements, WEBHOOK_SECRET_ARN)
        for trigger in its_triggers:
            if actions:
                reaching[trigger] = actions
                assert "secretsmanager:GetSecretValue" not in secret_actions_on(statements, SECRET_ARN)
    assert reaching == WEBHOOK_SECRET_ACTIONS


# --- the checker finds what it must: each mutation of the template is caught -------------------


def function_named(source: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    (route,) = (r for r in template.routes(source) if (r.method, r.path) == (method, path))
    function: dict[str, Any] = source["Resources"][route.function]
    return function


def with_statement(method: str, path: str, statement: dict[str, Any]) -> dict[str, Any]:
    source = copy.deepcopy(real_template())
    policies = function_named(source, method, path)["Properties"].setdefault("Policies", [])
    policies.append({"Statement": [statement]})
    return source


def allow(action: str, resource: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


APPS, SMTPS, SECRETS = (
    {"Fn::GetAtt": ["AppsTable", "Arn"]},
    {"Fn::GetAtt": ["SmtpsTable", "Arn"]},
    {"Fn::Sub": SECRET_ARN},
)
FIND_APP, FIND_SMTP = ("GET", "/private/apps/findById"), ("GET", "/private/smtps/findById")
SAVE_APP, SAVE_SMTP = ("POST", "/private/apps/save"), ("POST", "/private/smtps/save")
CHECK, REMOVE_SMTP = ("POST", "/private/smtps/check"), ("POST", "/private/smtps/remove")
PIXEL = ("GET", "/public/tracking/open")
OTHER_TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/other"
ALL_SECRETS = "arn:aws:secretsmanager:us-east-1:123456789012:secret:*"


@pytest.mark.parametrize(
    ("route", "statement", "expected"),
    [
        (FIND_APP, allow("dynamodb:*", APPS), "wildcard action"),
        (SAVE_APP, allow("dynamodb:PutItem", "*"), "Resource *"),
        (SAVE_APP, allow("dynamodb:PutItem", OTHER_TABLE), "not one of the template's tables"),
        (
            SAVE_APP,
            allow("dynamodb:Query", {"Fn::Sub": "${AppsTable.Arn}/index/*"}),
            "not one of the template's",
        ),
        (FIND_SMTP, allow("dynamodb:UpdateItem", SMTPS), "in a read-only function"),
        (FIND_SMTP, allow("secretsmanager:GetSecretValue", SECRETS), "in a read-only function"),
        (SAVE_APP, allow("secretsmanager:DeleteSecret", SECRETS), "is not for"),
        (SAVE_SMTP, allow("secretsmanager:GetSecretValue", SECRETS), "is not for"),
        (SAVE_APP, allow("secretsmanager:GetSecretValue", {"Fn::Sub": WEBHOOK_SECRET_ARN}), "is not for"),
        (CHECK, allow("secretsmanager:GetSecretValue", {"Fn::Sub": WEBHOOK_SECRET_ARN}), "is not for"),
        (CHECK, allow("secretsmanager:PutSecretValue", SECRETS), "is not for"),
        (CHECK, allow("secretsmanager:GetSecretValue", ALL_SECRETS), "not under the stack's secret prefix"),
        (REMOVE_SMTP, {"Effect": "Allow", "NotAction": "iam:PassRole", "Resource": SECRETS}, "NotAction"),
        (SAVE_APP, allow("secretsmanager:GetSecretValue", TRACKING_KEY), "the tracking key is not for"),
        (PIXEL, allow("secretsmanager:PutSecretValue", TRACKING_KEY), "not under the stack's secret prefix"),
        (
            PIXEL,
            allow("dynamodb:DeleteItem", {"Fn::GetAtt": ["TrackingTable", "Arn"]}),
            "not its TrackingTable",
        ),
        (PIXEL, allow("dynamodb:PutItem", APPS), "not its TrackingTable record"),
        (PIXEL, allow("secretsmanager:GetSecretValue", SECRETS), "is not for"),
    ],
)
def test_a_broader_policy_is_caught(route: tuple[str, str], statement: dict[str, Any], expected: str) -> None:
    found = list(violations(with_statement(*route, statement)))
    assert any(expected in problem for problem in found), found


def test_the_accounts_table_is_reached_as_listed_and_no_more() -> None:
    output = transformed(real_template())
    reaching: dict[tuple[str, str], set[tuple[str, str]]] = {}
    for function, its_triggers in triggers(real_template()).items():
        statements, _ = statements_of(output, function)
        access = {
            (str(action), key)
            for statement in statements
            if on_accounts_table(statement)
            for action in as_list(statement["Action"])
            for key in leading_keys(statement) or ["(any)"]
        }
        for trigger in its_triggers:
            if access:
                reaching[trigger] = access
    assert reaching == ACCOUNTS_ACCESS


def with_function_statement(function: str, statement: dict[str, Any]) -> dict[str, Any]:
    source = copy.deepcopy(real_template())
    source["Resources"][function]["Properties"].setdefault("Policies", []).append({"Statement": [statement]})
    return source


ACCOUNTS = {"Fn::GetAtt": ["AccountsTable", "Arn"]}


def limited(action: str, key: str) -> dict[str, Any]:
    condition = {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [key]}}
    return {**allow(action, ACCOUNTS), "Condition": condition}


@pytest.mark.parametrize(
    ("function", "statement", "expected"),
    [
        ("SmtpsCheckFunction", allow("dynamodb:UpdateItem", ACCOUNTS), "without a dynamodb:LeadingKeys"),
        ("SmtpsCheckFunction", limited("dynamodb:UpdateItem", "account#*"), "items account#* is not for"),
        ("AuthLogoutFunction", limited("dynamodb:UpdateItem", "*"), "items * is not for"),
        ("AuthLogoutFunction", limited("dynamodb:DeleteItem", "account#*"), "DeleteItem on AccountsTable"),
        ("AppsSaveFunction", limited("dynamodb:GetItem", "account#*"), "is not for"),
        ("AppsSaveFunction", limited("dynamodb:UpdateItem", "checks#*"), "items checks#* is not for"),
        ("SmtpsRemoveFunction", limited("dynamodb:DeleteItem", "quota#*"), "DeleteItem on AccountsTable"),
        ("HealthWorkerFunction", limited("dynamodb:UpdateItem", "quota#*"), "items quota#* is not for"),
        ("SmtpsCheckFunction", limited("dynamodb:UpdateItem", "probes#*"), "items probes#* is not for"),
        ("AuthorizerFunction", limited("dynamodb:UpdateItem", "account#*"), "in a read-only function"),
        ("AuthorizerFunction", allow("secretsmanager:GetSecretValue", SECRETS), "in a read-only function"),
    ],
)
def test_a_broader_accounts_table_policy_is_caught(
    function: str, statement: dict[str, Any], expected: str
) -> None:
    found = list(violations(with_function_statement(function, statement)))
    assert any(expected in problem for problem in found), found


def test_a_new_function_is_covered_without_editing_this_test() -> None:
    source = copy.deepcopy(real_template())
    source["Resources"]["ReportsFunction"] = {
        "Type": "AWS::Serverless::Function",
        "Properties": {
            "CodeUri": "functions/reports/",
            "Events": {
                "Api": {
                    "Type": "Api",
                    "Properties": {"RestApiId": {"Ref": "Api"}, "Path": "/private/reports", "Method": "GET"},
                }
            },
            "Policies": [
                "AmazonDynamoDBReadOnlyAccess",
                {
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": "secretsmanager:GetSecretValue",
                            "Resource": {"Fn::Sub": SECRET_ARN},
                        }
                    ]
                },
            ],
        },
    }
    found = list(violations(source))
    assert any("ReportsFunction: managed policy" in problem for problem in found), found
    assert any(
        "ReportsFunction: secretsmanager:GetSecretValue in a read-only function" in p for p in found
    ), found


# --- the health functions (issue 13) ----------------------------------------------------------------


def granted_actions(function: str) -> dict[str, list[Any]]:
    statements, _ = statements_of(transformed(real_template()), function)
    granted: dict[str, list[Any]] = {}
    for statement in statements:
        for action in as_list(statement["Action"]):
            granted.setdefault(str(action), []).extend(as_list(statement["Resource"]))
    return granted


def test_the_health_functions_are_known_by_their_triggers() -> None:
    found = triggers(real_template())
    assert found["HealthSweepFunction"] == [("SCHEDULE", "Sweep")]
    assert found["HealthWorkerFunction"] == [("QUEUE", "HealthQueue")]
    assert found["SmtpsHistoryFunction"] == [("GET", "/private/smtps/history")]


def test_the_sweep_reads_the_index_and_sends_to_the_queue_and_nothing_else() -> None:
    granted = granted_actions("HealthSweepFunction")
    assert set(granted) == {"dynamodb:Query", "sqs:SendMessage"}
    assert granted["dynamodb:Query"] == [{"Fn::Sub": "${SmtpsTable.Arn}/index/byNextCheck"}]
    assert granted["sqs:SendMessage"] == [{"Fn::GetAtt": ["HealthQueue", "Arn"]}]


def test_the_worker_has_what_a_probe_and_its_record_need_and_nothing_else() -> None:
    granted = granted_actions("HealthWorkerFunction")
    queue = [{"Fn::GetAtt": ["HealthQueue", "Arn"]}]
    assert granted == {
        "sqs:ReceiveMessage": queue,
        "sqs:DeleteMessage": queue,
        "sqs:GetQueueAttributes": queue,
        "sqs:ChangeMessageVisibility": queue,
        # the claim and the result, never an edit; the daily probe budget (probes#* only: above)
        "dynamodb:UpdateItem": [SMTPS, ACCOUNTS],
        "dynamodb:GetItem": [APPS],
        "secretsmanager:GetSecretValue": [SECRETS],
        "dynamodb:BatchWriteItem": [{"Fn::GetAtt": ["HistoryTable", "Arn"]}],
        "events:PutEvents": [{"Fn::Sub": DEFAULT_BUS}],
    }


def test_history_is_read_only() -> None:
    granted = granted_actions("SmtpsHistoryFunction")
    assert granted == {
        "dynamodb:GetItem": [SMTPS],
        "dynamodb:Query": [{"Fn::GetAtt": ["HistoryTable", "Arn"]}],
    }


@pytest.mark.parametrize(
    ("function", "statement", "expected"),
    [
        ("HealthSweepFunction", allow("secretsmanager:GetSecretValue", SECRETS), "is not for"),
        ("HealthSweepFunction", allow("sqs:SendMessage", "arn:aws:sqs:us-east-1:1:other"), "queues"),
        ("HealthSweepFunction", allow("events:PutEvents", {"Fn::Sub": DEFAULT_BUS}), "PutEvents is not for"),
        ("AppsSaveFunction", allow("events:PutEvents", {"Fn::Sub": DEFAULT_BUS}), "PutEvents is not for"),
        (
            "HealthWorkerFunction",
            allow("events:PutEvents", "arn:aws:events:us-east-1:1:event-bus/x"),
            "default",
        ),
        ("HealthWorkerFunction", allow("sqs:*", {"Fn::GetAtt": ["HealthQueue", "Arn"]}), "wildcard action"),
        ("SmtpsHistoryFunction", allow("dynamodb:BatchWriteItem", SMTPS), "in a read-only function"),
    ],
)
def test_a_broader_health_policy_is_caught(function: str, statement: dict[str, Any], expected: str) -> None:
    found = list(violations(with_function_statement(function, statement)))
    assert any(expected in problem for problem in found), found
