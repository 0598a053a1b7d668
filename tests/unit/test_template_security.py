"""template.yaml's abuse and audit controls: the API's access log, the check's limits, the accounts
table's IAM. Read as data (local_runtime.template); cfn-lint and `sam validate --lint` check the rest."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from local_runtime import template
from local_runtime.cfn import Resolver

DOC = template.default()
RESOURCES = DOC["Resources"]
API = RESOURCES["Api"]["Properties"]
CONTEXT_VARIABLE = re.compile(r"\$context\.[A-Za-z0-9_.]+")

# What the access log may hold: who, what, how it went. Nothing a client wrote but the source address.
ALLOWED_VARIABLES = {
    "$context.requestId",
    "$context.requestTimeEpoch",
    "$context.identity.sourceIp",
    "$context.authorizer.accountId",
    "$context.httpMethod",
    "$context.resourcePath",
    "$context.status",
    "$context.responseLatency",
    "$context.integrationLatency",
    "$context.authorizer.status",
    "$context.authorizer.latency",
    "$context.error.responseType",
    "$context.responseLength",
    "$context.protocol",
}
REQUIRED_VARIABLES = {
    "$context.requestId",
    "$context.authorizer.accountId",
    "$context.resourcePath",
    "$context.httpMethod",
    "$context.status",
    "$context.responseLatency",
    "$context.integrationLatency",
    "$context.identity.sourceIp",
}
FORBIDDEN = (
    "Authorization",
    "authorizationToken",
    "$input",
    "$util",
    "$method",
    "$stageVariables",
    "$context.authorizer.token",
    "$context.authorizer.claims",
    "$context.authorizer.username",
    "$context.identity.apiKey",
    "$context.identity.userAgent",
    "header",
    "body",
    "querystring",
    "#",  # no VTL directives
)


def access_format() -> str:
    text: str = API["AccessLogSetting"]["Format"]
    return text


# --- access logs ------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["-", "x", "12", "with spaces"])
def test_the_access_log_line_is_json_whatever_the_values(value: str) -> None:
    """Every $context value is a JSON string: "-" (API Gateway's placeholder for none) cannot break it."""
    line = CONTEXT_VARIABLE.sub(value, access_format())
    record = json.loads(line)
    assert isinstance(record, dict)
    assert all(item == value for item in record.values())


def test_the_access_log_has_who_what_and_how_it_went() -> None:
    used = set(CONTEXT_VARIABLE.findall(access_format()))
    assert used >= REQUIRED_VARIABLES
    assert used <= ALLOWED_VARIABLES, used - ALLOWED_VARIABLES
    record = json.loads(CONTEXT_VARIABLE.sub("-", access_format()))
    names = json.loads(access_format().replace("$", ""))  # field -> the variable it holds
    assert names["accountId"] == "context.authorizer.accountId"
    assert names["route"] == "context.resourcePath"
    assert set(record) >= {"requestId", "ip", "accountId", "method", "route", "status", "responseLatency"}


@pytest.mark.parametrize("forbidden", FORBIDDEN)
def test_the_access_log_never_holds_a_token_a_header_or_a_body(forbidden: str) -> None:
    assert forbidden.lower() not in access_format().lower()


def test_nothing_but_context_variables_is_interpreted() -> None:
    assert "$" not in CONTEXT_VARIABLE.sub("", access_format())


def test_the_access_log_goes_to_its_own_group_kept_as_long_as_the_others() -> None:
    assert API["AccessLogSetting"]["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    group = RESOURCES["ApiAccessLogGroup"]
    assert group["Type"] == "AWS::Logs::LogGroup"
    assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    assert group["Properties"]["LogGroupName"] == {"Fn::Sub": "/aws/apigateway/${AWS::StackName}/access"}
    assert DOC["Outputs"]["ApiAccessLogGroupName"]["Value"] == {"Ref": "ApiAccessLogGroup"}


def test_execution_logs_stay_off() -> None:
    """API Gateway's execution logs (LoggingLevel, DataTraceEnabled) would hold headers and bodies."""
    for setting in API["MethodSettings"]:
        assert "LoggingLevel" not in setting
        assert "DataTraceEnabled" not in setting


def test_the_region_logging_role_is_opt_in_and_outlives_the_stack() -> None:
    """One per account and region: created only when asked, and kept on delete, since the region's setting
    would otherwise point at a deleted role."""
    assert DOC["Parameters"]["CreateApiGatewayLoggingRole"]["Default"] == "false"
    assert DOC["Conditions"]["CreatesApiGatewayLoggingRole"] == {
        "Fn::Equals": [{"Ref": "CreateApiGatewayLoggingRole"}, "true"]
    }
    for name, kind in (
        ("ApiGatewayLoggingRole", "AWS::IAM::Role"),
        ("ApiGatewayAccount", "AWS::ApiGateway::Account"),
    ):
        resource = RESOURCES[name]
        assert resource["Type"] == kind
        assert resource["Condition"] == "CreatesApiGatewayLoggingRole"
        assert resource["DeletionPolicy"] == resource["UpdateReplacePolicy"] == "Retain"
    role = RESOURCES["ApiGatewayLoggingRole"]["Properties"]
    (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "apigateway.amazonaws.com"}
    assert role["ManagedPolicyArns"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"}
    ]
    assert RESOURCES["ApiGatewayAccount"]["Properties"]["CloudWatchRoleArn"] == {
        "Fn::GetAtt": ["ApiGatewayLoggingRole", "Arn"]
    }


@pytest.mark.parametrize(("create", "depends"), [("true", True), ("false", False)])
def test_the_stage_waits_for_the_logging_role_it_needs(create: str, depends: bool) -> None:
    """The stage logs to ApiAccessLogGroup, whose tag refers to ApiGatewayAccount when the stack makes it."""
    tags = RESOURCES["ApiAccessLogGroup"]["Properties"]["Tags"]
    resolver = Resolver(DOC, parameters={"CreateApiGatewayLoggingRole": create})
    values = [resolver.resolve(tag["Value"]) for tag in tags]
    assert ("smtp-hub-local-ApiGatewayAccount" in values) is depends


# --- the check's limits -----------------------------------------------------------------------------


def check_function() -> dict[str, Any]:
    props: dict[str, Any] = RESOURCES["SmtpsCheckFunction"]["Properties"]
    return props


def test_checks_per_minute_is_a_parameter_passed_to_the_check() -> None:
    parameter = DOC["Parameters"]["CheckRateLimitPerMinute"]
    assert (parameter["Type"], parameter["Default"], parameter["MinValue"]) == ("Number", 10, 1)
    variables = check_function()["Environment"]["Variables"]
    assert variables["CHECKS_PER_MINUTE"] == {"Ref": "CheckRateLimitPerMinute"}
    assert template.functions(DOC)["SmtpsCheckFunction"].environment["ACCOUNTS_TABLE"] == {
        "Ref": "AccountsTable"
    }


@pytest.mark.parametrize(("reserved", "expected"), [("10", 10), ("3", 3), ("0", None)])
def test_the_checks_concurrency_is_reserved_unless_zero(reserved: str, expected: int | None) -> None:
    parameter = DOC["Parameters"]["CheckReservedConcurrency"]
    assert (parameter["Default"], parameter["MinValue"]) == (10, 0)
    resolver = Resolver(DOC, parameters={"CheckReservedConcurrency": reserved})
    props = resolver.resolve(check_function())
    assert props.get("ReservedConcurrentExecutions") == expected


def test_the_check_may_only_count_in_the_accounts_table() -> None:
    statements = [s for policy in check_function()["Policies"] for s in policy["Statement"]]
    on_accounts = [s for s in statements if s["Resource"] == {"Fn::GetAtt": ["AccountsTable", "Arn"]}]
    assert on_accounts == [
        {
            "Effect": "Allow",
            "Action": "dynamodb:UpdateItem",
            "Resource": {"Fn::GetAtt": ["AccountsTable", "Arn"]},
            "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["checks#*"]}},
        }
    ]


def test_the_accounts_table_is_output() -> None:
    assert DOC["Outputs"]["AccountsTableName"]["Value"] == {"Ref": "AccountsTable"}
