"""template.yaml: layout, routes, runtime, least privilege and storage, as issue 2 asks.

Read with local_runtime.template (CloudFormation's short forms as data). Every function of the template is
checked, so a function added later is covered without touching this file.
"""

from __future__ import annotations

import ast
import json
import re
from typing import Any

import pytest

from local_runtime import template
from local_runtime.events import EVENTS_DIR, ROOT

DOC = template.default()
FUNCTIONS = template.resources(DOC, "AWS::Serverless::Function")
ROUTES = template.routes(DOC)
GLOBALS = DOC["Globals"]["Function"]
READ_ACTIONS = {"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:Scan"}
STREAM_ACTIONS = {
    "dynamodb:DescribeStream",
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
    "dynamodb:ListStreams",
}
BACKBONE = {
    "AppsSaveFunction",
    "AppsFindAllFunction",
    "AppsFindByIdFunction",
    "AppsRemoveFunction",
    "SmtpsSaveFunction",
    "SmtpsFindByAppFunction",
    "SmtpsFindByIdFunction",
    "SmtpsRemoveFunction",
}


def folder(code_uri: str) -> str:
    return code_uri.strip("/").split("/")[-1]


def route_folder(path: str) -> str:
    """The folder a route's function lives in: POST /private/smtps/findByApp -> smtps_find_by_app, GET
    /private/logs/findByEMail -> logs_find_by_email (a run of capitals is one word)."""
    resource, action = path.strip("/").split("/")[-2:]
    snake = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", action).lower()
    return f"{resource}_{snake}"


def statements(function: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for policy in FUNCTIONS[function]["Properties"].get("Policies", []):
        assert isinstance(policy, dict), f"{function}: only inline statements, got {policy!r}"
        found.extend(policy["Statement"])
    return found


def actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def resources(statement: dict[str, Any]) -> list[Any]:
    resource = statement["Resource"]
    return resource if isinstance(resource, list) else [resource]


# --- layout -------------------------------------------------------------------------------------------


def test_the_backbone_functions_are_all_there() -> None:
    assert set(FUNCTIONS) >= BACKBONE


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_every_function_has_its_folder_with_a_lambda_handler(name: str) -> None:
    props = FUNCTIONS[name]["Properties"]
    code = ROOT / props["CodeUri"]
    assert props["CodeUri"] == f"functions/{folder(props['CodeUri'])}/"
    handler = props.get("Handler", GLOBALS["Handler"])
    assert handler == "app.lambda_handler"
    module = ast.parse((code / "app.py").read_text())
    defined = {node.name for node in module.body if isinstance(node, ast.FunctionDef)}
    assert "lambda_handler" in defined


@pytest.mark.parametrize("route", ROUTES, ids=lambda route: f"{route.method} {route.path}")
def test_every_route_has_its_event_matching_the_template(route: template.Route) -> None:
    name = folder(route.code_uri)
    assert name == route_folder(route.path), "functions are named after their route"
    event = json.loads((EVENTS_DIR / f"{name}.json").read_text())
    assert event["resource"] == route.path
    # one event per function: a function serving two methods of its path (a page and its form) has one
    assert event["httpMethod"] in {other.method for other in ROUTES if other.function == route.function}
    assert event["requestContext"]["resourcePath"] == route.path
    assert event["requestContext"]["stage"] == "api"


def test_every_function_has_one_event_and_every_event_a_function() -> None:
    folders = {folder(props["Properties"]["CodeUri"]) for props in FUNCTIONS.values()}
    assert {path.stem for path in EVENTS_DIR.glob("*.json")} == folders


def test_one_function_per_route() -> None:
    """One function per path: two methods of one path only where they are one page (GET) and its form's
    POST (the unsubscribe page, whose URL RFC 8058's one-click POST must reach too)."""
    keys = [(route.method, route.path) for route in ROUTES]
    assert len(keys) == len(set(keys))
    assert len({route.function for route in ROUTES}) == len({route.path for route in ROUTES})
    assert {route.function for route in ROUTES if route.method == "POST" and ("GET", route.path) in keys} == {
        "BlacklistUnsubscribeFunction"
    }


# --- API and runtime ----------------------------------------------------------------------------------


def test_rest_api_on_stage_api() -> None:
    (api,) = template.resources(DOC, "AWS::Serverless::Api").values()
    assert api["Properties"]["StageName"] == {"Ref": "StageName"}
    assert DOC["Parameters"]["StageName"]["Default"] == "api"
    assert all(route.api == "Api" for route in ROUTES)
    assert "ApiUrl" in DOC["Outputs"]
    assert "${StageName}" in DOC["Outputs"]["ApiUrl"]["Value"]["Fn::Sub"]


def test_current_python_on_arm64_with_tracing_and_powertools() -> None:
    runtime = GLOBALS["Runtime"]
    major, minor = (int(part) for part in re.fullmatch(r"python(\d+)\.(\d+)", runtime).groups())  # type: ignore[union-attr]
    assert (major, minor) >= (3, 12)
    assert GLOBALS["Architectures"] == ["arm64"]
    assert GLOBALS["Tracing"] == "Active"
    variables = GLOBALS["Environment"]["Variables"]
    assert variables["POWERTOOLS_SERVICE_NAME"] == "smtp-hub"
    assert variables["POWERTOOLS_LOG_LEVEL"] == {"Ref": "LogLevel"}
    assert GLOBALS["LoggingConfig"]["LogFormat"] == "JSON"
    for name, function in FUNCTIONS.items():
        props = function["Properties"]
        assert props.get("Runtime", runtime) == runtime, name
        assert props.get("Architectures", ["arm64"]) == ["arm64"], name
    layers = template.resources(DOC, "AWS::Serverless::LayerVersion")
    assert set(layers) == {"CommonLayer", "SigningLayer"}
    for name, layer in layers.items():
        assert runtime in layer["Properties"]["CompatibleRuntimes"], name
        assert layer["Properties"]["CompatibleArchitectures"] == ["arm64"], name
        # Built by its Makefile, for the template's runtime and architecture, with bytecode.
        assert layer["Metadata"] == {"BuildMethod": "makefile", "BuildArchitecture": "arm64"}, name
        recipe = (ROOT / layer["Properties"]["ContentUri"] / "Makefile").read_text()
        assert f"build-{name}:" in recipe
        assert f"--python-version {major}.{minor}" in recipe
        assert f"PYTHON ?= python{major}.{minor}" in recipe
        assert "manylinux2014_aarch64" in recipe
        assert "compileall" in recipe


# The functions whose code may sign a Google service account's assertion (smtphub.serviceaccount.sign):
# every check (manual, try, save's verify=true, scheduled probe) of a server using one.
# The sender logs in to servers with XOAUTH2 too: a Google service account signs its assertion.
SIGNING = {"SmtpsCheckFunction", "SmtpsSaveFunction", "HealthWorkerFunction", "EmailsSenderFunction"}


def test_only_the_functions_that_may_sign_carry_the_signing_layer() -> None:
    """cryptography is in SigningLayer, not in the shared layer (whose size budget it would break): the
    functions that may sign have both layers, CommonLayer first (Globals' list comes before theirs); no
    other function grows."""
    assert GLOBALS["Layers"] == [{"Ref": "CommonLayer"}]
    carrying = {name for name, function in FUNCTIONS.items() if "Layers" in function["Properties"]}
    assert carrying == SIGNING
    for name in SIGNING:
        assert FUNCTIONS[name]["Properties"]["Layers"] == [{"Ref": "SigningLayer"}], name
    signing = (ROOT / "layers" / "signing" / "requirements.txt").read_text().split()
    pins = [line for line in signing if "==" in line]
    assert pins == ["cryptography==50.0.2"]
    assert "cryptography" not in (ROOT / "layers" / "common" / "requirements.txt").read_text()
    locked = (ROOT / "requirements-dev.lock").read_text().split()
    assert set(pins) <= set(locked)  # what the tests sign with
    assert set(pins) <= set((ROOT / "functions" / "authorizer" / "requirements.txt").read_text().split())


def test_logs_are_kept_for_the_retention_parameter() -> None:
    groups = template.resources(DOC, "AWS::Logs::LogGroup")
    assert GLOBALS["LoggingConfig"]["LogGroup"]["Ref"] in groups
    assert all(
        group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"} for group in groups.values()
    )


def test_timeouts_fit_api_gateways_29_seconds() -> None:
    """Every function behind a route (a stream consumer is not bound by API Gateway's limit)."""
    for name in {route.function for route in ROUTES} | {"AuthorizerFunction"}:
        assert int(FUNCTIONS[name]["Properties"].get("Timeout", GLOBALS["Timeout"])) < 29, name


# --- least privilege ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_no_wildcard_actions_or_resources(name: str) -> None:
    for statement in statements(name):
        assert statement["Effect"] == "Allow"
        assert "NotAction" not in statement
        assert "NotResource" not in statement
        for action in actions(statement):
            assert "*" not in action, f"{name}: {action}"
        for resource in resources(statement):
            assert resource != "*", name


# GET routes that record what they see (a recipient's open or click) and check a token with the tracking key,
# and the unsubscribe page, whose function also serves its form's POST: tested below.
RECORDING_GETS = {"/public/tracking/open", "/public/tracking/click", "/public/blacklist/unsubscribe"}
TRACKING_KEY = {"Ref": "TrackingKeySecret"}


@pytest.mark.parametrize(
    "route",
    [r for r in ROUTES if r.method == "GET" and r.path not in RECORDING_GETS],
    ids=lambda route: route.path,
)
def test_read_only_functions_only_read_and_never_touch_secrets(route: template.Route) -> None:
    granted = [action for statement in statements(route.function) for action in actions(statement)]
    assert granted
    assert set(granted) <= READ_ACTIONS, route.function
    assert not any(action.startswith("secretsmanager:") for action in granted)


def test_reads_are_single_items_or_the_index_never_a_scan() -> None:
    for name in BACKBONE:
        for statement in statements(name):
            assert "dynamodb:Scan" not in actions(statement), name
    (query,) = [s for s in statements("SmtpsFindByAppFunction") if "dynamodb:Query" in actions(s)]
    assert resources(query) == [{"Fn::Sub": "${SmtpsTable.Arn}/index/byApp"}]


SMTP_SECRETS = "secret:${AWS::StackName}/${StageName}/smtp/*"
WEBHOOK_SECRETS = "secret:${AWS::StackName}/${StageName}/webhook/*"
ARN_PREFIX = "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:"
# Who may touch the apps' webhook secrets: apps/save writes them, the apps cleanup deletes a removed app's,
# the webhooks' sender reads them to sign; none of them touches an SMTP server's.
WEBHOOK_SECRET_USERS = {"AppsSaveFunction", "AppsCleanupFunction", "WebhooksSenderFunction"}


def secret_resources(name: str) -> set[str]:
    return {
        resource["Fn::Sub"]
        for statement in statements(name)
        if any(action.startswith("secretsmanager:") for action in actions(statement))
        for resource in resources(statement)
    }


# What firing an app's event through the outbox needs (smtphub/webhooks/outbox.py): the webhook queue and
# the default bus, nothing more.
OUTBOX = {
    ("sqs:SendMessage", json.dumps({"Fn::GetAtt": ["WebhookQueue", "Arn"]})),
    (
        "events:PutEvents",
        json.dumps(
            {"Fn::Sub": "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/default"}
        ),
    ),
}


@pytest.mark.parametrize("path", sorted(RECORDING_GETS))
def test_the_public_routes_read_the_tracking_key_and_write_only_their_own_record(path: str) -> None:
    (function,) = {route.function for route in ROUTES if route.path == path}
    granted = {
        (action, json.dumps(resource))
        for s in statements(function)
        for action in actions(s)
        for resource in resources(s)
    }
    writes = {(action, resource) for action, resource in granted if action not in READ_ACTIONS}
    own = "BlacklistTable" if "unsubscribe" in path else "TrackingTable"
    assert writes == {
        ("secretsmanager:GetSecretValue", json.dumps(TRACKING_KEY)),
        ("dynamodb:PutItem", json.dumps({"Fn::GetAtt": [own, "Arn"]})),
        *OUTBOX,  # the event a first open, a first click or an unsubscribe fires (webhook, EventBridge)
    }


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_secrets_only_under_the_stage_prefix(name: str) -> None:
    """A server's secret under the stage's prefix, a webhook secret under its own; the tracking key only read,
    by the public routes and by the sender (which signs each tracked recipient's links with it)."""
    expected = WEBHOOK_SECRETS if name in WEBHOOK_SECRET_USERS else SMTP_SECRETS
    public = {route.function for route in ROUTES if route.path in RECORDING_GETS} | {"EmailsSenderFunction"}
    for statement in statements(name):
        if any(action.startswith("secretsmanager:") for action in actions(statement)):
            for resource in resources(statement):
                if resource == TRACKING_KEY:
                    assert name in public, name
                    assert actions(statement) == ["secretsmanager:GetSecretValue"], name
                    continue
                assert resource["Fn::Sub"].endswith(expected), name


def test_dynamodb_only_on_the_templates_tables() -> None:
    """Table actions on a table or its index; stream reads on a table's stream only."""
    tables = set(template.resources(DOC, "AWS::DynamoDB::Table"))
    for name in FUNCTIONS:
        for statement in statements(name):
            granted = [action for action in actions(statement) if action.startswith("dynamodb:")]
            if not granted:
                continue
            on_stream = set(granted) <= STREAM_ACTIONS
            assert on_stream or not set(granted) & STREAM_ACTIONS, f"{name}: stream and table actions mixed"
            for resource in resources(statement):
                if "Fn::GetAtt" in resource:
                    assert resource["Fn::GetAtt"][0] in tables
                    assert resource["Fn::GetAtt"][1] == ("StreamArn" if on_stream else "Arn")
                else:
                    kind = "stream/\\*" if on_stream else "index/\\w+"
                    table = re.fullmatch(rf"\$\{{(\w+)\.Arn\}}/{kind}", resource["Fn::Sub"])
                    assert table is not None, f"{name}: {resource}"
                    assert table.group(1) in tables


# --- storage ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["AppsTable", "SmtpsTable", "AccountsTable"])
def test_tables_are_on_demand_recoverable_encrypted_protected_and_retained(name: str) -> None:
    table = template.resources(DOC, "AWS::DynamoDB::Table")[name]
    props = table["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"]["SSEEnabled"] is True
    assert props["DeletionProtectionEnabled"] == {"Ref": "DeletionProtection"}
    assert DOC["Parameters"]["DeletionProtection"]["Default"] == "true"
    assert table["DeletionPolicy"] == "Retain"
    assert table["UpdateReplacePolicy"] == "Retain"
    assert f"{name}Name" in DOC["Outputs"]


def test_table_keys_and_the_by_app_index() -> None:
    tables = template.resources(DOC, "AWS::DynamoDB::Table")
    assert tables["AppsTable"]["Properties"]["KeySchema"] == [
        {"AttributeName": "iduser", "KeyType": "HASH"},
        {"AttributeName": "_id", "KeyType": "RANGE"},
    ]
    smtps = tables["SmtpsTable"]["Properties"]
    assert smtps["KeySchema"] == [{"AttributeName": "_id", "KeyType": "HASH"}]
    index, due = smtps["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "byApp"
    assert index["KeySchema"] == [
        {"AttributeName": "idapp", "KeyType": "HASH"},
        {"AttributeName": "rank", "KeyType": "RANGE"},
    ]
    assert index["Projection"] == {"ProjectionType": "ALL"}
    # The health sweep's sparse index (issue 13): the servers with a next check, by status, keys only.
    assert due["IndexName"] == "byNextCheck"
    assert due["KeySchema"] == [
        {"AttributeName": "status", "KeyType": "HASH"},
        {"AttributeName": "nextcheck", "KeyType": "RANGE"},
    ]
    assert due["Projection"] == {"ProjectionType": "KEYS_ONLY"}
    history = tables["HistoryTable"]["Properties"]
    assert history["KeySchema"] == [
        {"AttributeName": "idsmtp", "KeyType": "HASH"},
        {"AttributeName": "seq", "KeyType": "RANGE"},
    ]
    assert history["TimeToLiveSpecification"] == {"AttributeName": "expires", "Enabled": True}
    accounts = tables["AccountsTable"]["Properties"]
    assert accounts["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    assert accounts["AttributeDefinitions"] == [{"AttributeName": "pk", "AttributeType": "S"}]
    # Revocations and check counters expire by themselves.
    assert accounts["TimeToLiveSpecification"] == {"AttributeName": "expires", "Enabled": True}
    assert "GlobalSecondaryIndexes" not in accounts


def test_every_function_gets_the_tables_and_the_secret_prefix() -> None:
    variables = GLOBALS["Environment"]["Variables"]
    assert variables["APPS_TABLE"] == {"Ref": "AppsTable"}
    assert variables["SMTPS_TABLE"] == {"Ref": "SmtpsTable"}
    assert variables["ACCOUNTS_TABLE"] == {"Ref": "AccountsTable"}
    assert variables["SECRET_PREFIX"] == {"Fn::Sub": "${AWS::StackName}/${StageName}/smtp/"}
    assert DOC["Outputs"]["SecretPrefix"]["Value"] == variables["SECRET_PREFIX"]


# --- secrets of removed servers: the SMTP servers' stream -----------------------------------------------


def test_the_smtps_table_streams_its_records_old_and_new_the_apps_table_its_keys() -> None:
    """A MODIFY's images tell the cleanup whether `secretVersion` changed (a record holds no secret); a
    removed app's key is all the apps cleanup needs."""
    tables = template.resources(DOC, "AWS::DynamoDB::Table")
    assert tables["SmtpsTable"]["Properties"]["StreamSpecification"] == {
        "StreamViewType": "NEW_AND_OLD_IMAGES"
    }
    assert tables["AppsTable"]["Properties"]["StreamSpecification"] == {"StreamViewType": "KEYS_ONLY"}


STREAM_CONSUMERS = [
    (
        "SmtpsTable",
        "SecretsCleanup",
        "secrets_cleanup",
        [  # removals, and newly named versions
            {"eventName": ["REMOVE"]},
            {"eventName": ["MODIFY"], "dynamodb": {"NewImage": {"secretVersion": {"S": [{"exists": True}]}}}},
        ],
    ),
    ("AppsTable", "AppsCleanup", "apps_cleanup", [{"eventName": ["REMOVE"]}]),  # apps and name locks
]


@pytest.mark.parametrize(("table", "cleanup", "folder", "filters"), STREAM_CONSUMERS)
def test_each_tables_stream_feeds_its_cleanup_function(
    table: str, cleanup: str, folder: str, filters: list[Any]
) -> None:
    (mapping,) = [
        mapping
        for mapping in template.resources(DOC, "AWS::Lambda::EventSourceMapping").values()
        if mapping["Properties"]["EventSourceArn"] == {"Fn::GetAtt": [table, "StreamArn"]}
    ]
    props = mapping["Properties"]
    assert props["FunctionName"] == {"Ref": f"{cleanup}Function"}
    assert [json.loads(f["Pattern"]) for f in props["FilterCriteria"]["Filters"]] == filters
    assert props["StartingPosition"] == "TRIM_HORIZON"
    assert (props["BatchSize"], props["MaximumBatchingWindowInSeconds"]) == (100, 5)
    assert 1 <= props["MaximumRetryAttempts"] <= 10
    assert props["BisectBatchOnFunctionError"] is True
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert props["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": [f"{cleanup}DeadLetterQueue", "Arn"]
    }
    function = FUNCTIONS[f"{cleanup}Function"]["Properties"]
    assert function["CodeUri"] == f"functions/{folder}/"
    assert "Events" not in function  # no SAM event: no managed policy


@pytest.mark.parametrize("cleanup", ["SecretsCleanup", "AppsCleanup"])
def test_the_dead_letter_queues_are_encrypted_kept_14_days_and_alarmed(cleanup: str) -> None:
    queue = DOC["Resources"][f"{cleanup}DeadLetterQueue"]
    assert queue["Type"] == "AWS::SQS::Queue"
    assert queue["Properties"]["SqsManagedSseEnabled"] is True
    assert queue["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600
    alarm = DOC["Resources"][f"{cleanup}DeadLetterAlarm"]["Properties"]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
    assert alarm["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": [f"{cleanup}DeadLetterQueue", "QueueName"]}}
    ]
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (0, "GreaterThanThreshold")
    assert alarm["TreatMissingData"] == "notBreaching"
    # The stack's alarm topic, and the operator's own when given (test_template_operations.py, every alarm).
    assert (
        alarm["AlarmActions"]
        == alarm["OKActions"]
        == {
            "Fn::If": [
                "HasOwnAlarmTopic",
                [{"Ref": "AlarmTopic"}, {"Ref": "AlarmTopicArn"}],
                [{"Ref": "AlarmTopic"}],
            ]
        }
    )


def granted(function: str) -> set[tuple[str, str]]:
    """Every (action, resource) the function's policies allow, the resource as canonical JSON."""
    return {
        (action, json.dumps(resource, sort_keys=True))
        for statement in statements(function)
        for action in actions(statement)
        for resource in resources(statement)
    }


def test_the_cleanup_function_may_delete_and_relabel_secrets_read_its_stream_and_write_its_queue_only() -> (
    None
):
    stream = json.dumps({"Fn::GetAtt": ["SmtpsTable", "StreamArn"]})
    secret = json.dumps(
        {
            "Fn::Sub": "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:"
            "secret:${AWS::StackName}/${StageName}/smtp/*"
        }
    )
    assert granted("SecretsCleanupFunction") == {
        ("dynamodb:DescribeStream", stream),
        ("dynamodb:GetRecords", stream),
        ("dynamodb:GetShardIterator", stream),
        ("dynamodb:ListStreams", json.dumps({"Fn::Sub": "${SmtpsTable.Arn}/stream/*"})),
        ("secretsmanager:DeleteSecret", secret),
        ("secretsmanager:DescribeSecret", secret),
        ("secretsmanager:UpdateSecretVersionStage", secret),
        ("sqs:SendMessage", json.dumps({"Fn::GetAtt": ["SecretsCleanupDeadLetterQueue", "Arn"]})),
    }


def test_the_apps_cleanup_may_read_its_stream_query_delete_servers_and_entries_and_write_its_queue() -> None:
    stream = json.dumps({"Fn::GetAtt": ["AppsTable", "StreamArn"]})
    assert granted("AppsCleanupFunction") == {
        ("dynamodb:DescribeStream", stream),
        ("dynamodb:GetRecords", stream),
        ("dynamodb:GetShardIterator", stream),
        ("dynamodb:ListStreams", json.dumps({"Fn::Sub": "${AppsTable.Arn}/stream/*"})),
        ("dynamodb:Query", json.dumps({"Fn::Sub": "${SmtpsTable.Arn}/index/byApp"})),
        ("dynamodb:GetItem", json.dumps({"Fn::GetAtt": ["SmtpsTable", "Arn"]})),
        ("dynamodb:DeleteItem", json.dumps({"Fn::GetAtt": ["SmtpsTable", "Arn"]})),
        # each server's account slot given back (quota#* items only: tests/integration/test_policies.py)
        ("dynamodb:UpdateItem", json.dumps({"Fn::GetAtt": ["AccountsTable", "Arn"]})),
        # the removed app's blacklist entries
        ("dynamodb:Query", json.dumps({"Fn::GetAtt": ["BlacklistTable", "Arn"]})),
        ("dynamodb:BatchWriteItem", json.dumps({"Fn::GetAtt": ["BlacklistTable", "Arn"]})),
        ("sqs:SendMessage", json.dumps({"Fn::GetAtt": ["AppsCleanupDeadLetterQueue", "Arn"]})),
        # the removed apps' webhook secrets (never an SMTP server's: test_secrets_only_under_the_stage_prefix)
        ("secretsmanager:DeleteSecret", json.dumps({"Fn::Sub": ARN_PREFIX + WEBHOOK_SECRETS})),
    }


@pytest.mark.parametrize("name", ["SmtpsRemoveFunction", "AppsRemoveFunction", "AppsCleanupFunction"])
def test_removes_never_touch_smtp_secrets(name: str) -> None:
    """An SMTP server's secret goes from the servers' stream (SecretsCleanupFunction), after its record."""
    assert not any(resource.endswith(SMTP_SECRETS) for resource in secret_resources(name))


def test_save_writes_secrets_and_unlabels_a_lost_edits_version_but_leaves_the_tidying_to_the_stream() -> None:
    granted = {action for statement in statements("SmtpsSaveFunction") for action in actions(statement)}
    assert {action for action in granted if action.startswith("secretsmanager:")} == {
        "secretsmanager:CreateSecret",
        "secretsmanager:TagResource",
        "secretsmanager:PutSecretValue",
        "secretsmanager:UpdateSecretVersionStage",  # abandon: a lost edit's version loses its label
        "secretsmanager:DeleteSecret",  # a server removed while its secret was being written
    }
