"""What an operator finds in the console (issue 22): the dashboard shows every function, queue, stream
consumer, alarm and route of the template; every alarm notifies the stack's topic (and the operator's
own); the functions no request calls have their errors and throttles alarmed; samconfig.toml deploys each
environment without a question.

Read as data (local_runtime.template) and resolved as a deployed stack sees it (local_runtime.cfn.Resolver):
a function, queue or alarm added to the template without its line on the dashboard or its alarms fails here.
CloudWatch validates the dashboard's body only when the stack is deployed, so its shape is checked here too.
"""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from typing import Any

import pytest

from local_runtime import template
from local_runtime.cfn import Resolver
from local_runtime.events import ROOT
from smtphub.check import METRIC
from smtphub.check.plan import CheckOutcome, Plan
from smtphub.check.report import report

DOC = template.default()
RESOURCES = DOC["Resources"]
FUNCTIONS = sorted(template.resources(DOC, "AWS::Serverless::Function"))
QUEUES = sorted(template.resources(DOC, "AWS::SQS::Queue"))
ALARMS = template.resources(DOC, "AWS::CloudWatch::Alarm")
RESOLVER = Resolver(DOC)
OWN_TOPIC = "arn:aws:sns:us-east-1:123456789012:pager"
GRID = 24  # a dashboard's columns
LAMBDA_WIDGETS = {"Errors": "Lambda errors", "Throttles": "Lambda throttles"}
Line = tuple[str, str, frozenset[tuple[str, str]]]  # namespace, metric, dimensions


def dashboard() -> dict[str, Any]:
    (resource,) = template.resources(DOC, "AWS::CloudWatch::Dashboard").values()
    body: dict[str, Any] = json.loads(RESOLVER.resolve(resource["Properties"]["DashboardBody"]))
    return body


BODY = dashboard()
WIDGETS: list[dict[str, Any]] = BODY["widgets"]


def widget(title: str) -> dict[str, Any]:
    """The one metric widget whose title starts with `title`."""
    (found,) = [w for w in WIDGETS if w["type"] == "metric" and w["properties"]["title"].startswith(title)]
    return found


def lines(title: str) -> set[Line]:
    """The plain metrics (not expressions) a widget graphs."""
    found = set()
    for row in widget(title)["properties"]["metrics"]:
        names = [item for item in row if isinstance(item, str)]
        namespace, metric, dimensions = names[0], names[1], names[2:]
        found.add((namespace, metric, frozenset(zip(dimensions[::2], dimensions[1::2], strict=True))))
    return found


def expression(title: str) -> dict[str, Any]:
    """The one expression a widget graphs (a SEARCH)."""
    ((only,),) = widget(title)["properties"]["metrics"]
    assert isinstance(only, dict)
    return only


def function_line(metric: str, function: str) -> Line:
    return ("AWS/Lambda", metric, frozenset({("FunctionName", RESOLVER.ref(function))}))


def queue_line(metric: str, queue: str) -> Line:
    return ("AWS/SQS", metric, frozenset({("QueueName", RESOLVER.get_att(queue, "QueueName"))}))


def target(value: Any) -> str | None:
    """The queue a `!GetAtt Queue.Arn` names."""
    if isinstance(value, dict) and "Fn::GetAtt" in value and value["Fn::GetAtt"][1] == "Arn":
        return str(value["Fn::GetAtt"][0])
    return None


def dead_letter_queues() -> set[str]:
    """Every queue that receives what failed for good: another queue's redrive target, an event source
    mapping's or an asynchronous invocation's failure destination, a function's dead-letter queue."""
    found = {
        target(RESOURCES[q]["Properties"].get("RedrivePolicy", {}).get("deadLetterTargetArn")) for q in QUEUES
    }
    for mapping in template.resources(DOC, "AWS::Lambda::EventSourceMapping").values():
        destination = mapping["Properties"].get("DestinationConfig", {}).get("OnFailure", {})
        found.add(target(destination.get("Destination")))
    for function in FUNCTIONS:
        props = RESOURCES[function]["Properties"]
        found.add(target(props.get("DeadLetterQueue", {}).get("TargetArn")))
        on_failure = props.get("EventInvokeConfig", {}).get("DestinationConfig", {}).get("OnFailure", {})
        found.add(target(on_failure.get("Destination")))
    return {queue for queue in found if queue in QUEUES}


def authorizers() -> set[str]:
    found = set()
    for api in template.resources(DOC, "AWS::Serverless::Api").values():
        for authorizer in api["Properties"].get("Auth", {}).get("Authorizers", {}).values():
            found.add(authorizer["FunctionArn"]["Fn::GetAtt"][0])
    return found


# Functions no API request calls: their failures reach no client, hence no 5xx alarm.
BACKGROUND = sorted(set(FUNCTIONS) - {route.function for route in template.routes(DOC)} - authorizers())


# --- the dashboard's shape ------------------------------------------------------------------------------


def overlap(a: dict[str, Any], b: dict[str, Any]) -> bool:
    across = a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"]
    down = a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"]
    return bool(across and down)


def test_the_widgets_fit_the_grid_without_overlapping() -> None:
    for w in WIDGETS:
        assert w["type"] in {"text", "metric", "alarm"}, w
        assert all(isinstance(w[key], int) for key in ("x", "y", "width", "height")), w
        assert w["x"] >= 0, w
        assert w["x"] + w["width"] <= GRID, w
        assert min(w["width"], w["height"]) > 0, w
    for i, a in enumerate(WIDGETS):
        for b in WIDGETS[i + 1 :]:
            assert not overlap(a, b), (
                a.get("properties", {}).get("title"),
                b.get("properties", {}).get("title"),
            )


def check_row(row: list[Any], stat: str | None) -> None:
    if isinstance(row[0], dict):  # an expression: its own id and label
        (item,) = row
        assert re.fullmatch(r"[a-z][a-zA-Z0-9_]*", item["id"])
        assert item["expression"].startswith("SEARCH(")
        assert item["label"]
        return
    *names, options = row if isinstance(row[-1], dict) else [*row, {}]
    assert all(isinstance(name, str) and name for name in names), row
    assert len(names) % 2 == 0, f"namespace, metric, then dimension name/value pairs: {row}"
    assert stat or options.get("stat"), f"no statistic: {row}"
    assert options.get("label"), f"no label: {row}"


@pytest.mark.parametrize(
    "item", [w for w in WIDGETS if w["type"] == "metric"], ids=lambda w: w["properties"]["title"]
)
def test_every_graph_has_a_region_a_title_and_well_formed_metrics(item: dict[str, Any]) -> None:
    props = item["properties"]
    assert props["region"] == RESOLVER.region
    assert props["view"] == "timeSeries"
    assert props["period"] == 300
    assert props["metrics"]
    for row in props["metrics"]:
        check_row(row, props.get("stat"))


def test_nothing_is_left_unresolved_but_the_dynamic_labels() -> None:
    text = json.dumps(BODY)
    assert re.findall(r"\$\{(?!PROP\('Dim\.\w+'\)\})", text) == []
    assert "smtp-hub-local" in text  # the stack's names went in


# --- the dashboard shows everything -----------------------------------------------------------------------


@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_function_has_its_errors_and_throttles_on_the_dashboard(function: str) -> None:
    for metric, title in LAMBDA_WIDGETS.items():
        assert function_line(metric, function) in lines(title), f"{function}: a line in {title!r}"


def test_the_lambda_graphs_show_only_the_templates_functions() -> None:
    for metric, title in LAMBDA_WIDGETS.items():
        assert lines(title) == {function_line(metric, function) for function in FUNCTIONS}


@pytest.mark.parametrize("queue", QUEUES)
def test_every_queue_is_on_the_dashboard(queue: str) -> None:
    if queue in dead_letter_queues():
        assert queue_line("ApproximateNumberOfMessagesVisible", queue) in lines("Dead-letter queues")
    else:
        waiting = lines("Queues: messages waiting")
        assert queue_line("ApproximateNumberOfMessagesVisible", queue) in waiting
        assert queue_line("ApproximateNumberOfMessagesNotVisible", queue) in waiting
        assert queue_line("ApproximateAgeOfOldestMessage", queue) in lines("Queues: oldest message")


def test_the_dead_letter_queues_are_found() -> None:
    assert dead_letter_queues() >= {
        "HealthDeadLetterQueue",
        "SecretsCleanupDeadLetterQueue",
        "AppsCleanupDeadLetterQueue",
    }
    assert "HealthQueue" not in dead_letter_queues()


@pytest.mark.parametrize("queue", sorted(dead_letter_queues()))
def test_every_dead_letter_queue_is_alarmed(queue: str) -> None:
    """A message in a dead-letter queue is work that failed for good: it must reach someone."""
    (alarm,) = [
        a["Properties"]
        for a in ALARMS.values()
        if a["Properties"].get("Dimensions")
        == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue, "QueueName"]}}]
    ]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (0, "GreaterThanThreshold")


@pytest.mark.parametrize("source", template.stream_sources(DOC), ids=lambda source: source.function)
def test_every_stream_consumer_shows_how_far_behind_it_is(source: template.StreamSource) -> None:
    assert function_line("IteratorAge", source.function) in lines("Streams: iterator age")


def test_every_alarm_is_in_the_alarm_widget_and_nothing_else() -> None:
    (alarms,) = [w["properties"]["alarms"] for w in WIDGETS if w["type"] == "alarm"]
    assert sorted(alarms) == sorted(RESOLVER.get_att(name, "Arn") for name in ALARMS)


def test_the_api_totals_are_the_stages() -> None:
    stage = frozenset({("ApiName", RESOLVER.stack_name), ("Stage", RESOLVER.parameter("StageName"))})
    assert lines("Requests (right axis), 4xx, 5xx") == {
        ("AWS/ApiGateway", metric, stage) for metric in ("Count", "4XXError", "5XXError")
    }
    assert lines("Latency p99, ms: every route") == {
        ("AWS/ApiGateway", metric, stage) for metric in ("Latency", "IntegrationLatency")
    }
    assert widget("Latency p99, ms: every route")["properties"]["stat"] == "p99"


@pytest.mark.parametrize(
    ("title", "metric", "stat"),
    [
        ("Requests by route", "Count", "Sum"),
        ("Latency p99 by route", "Latency", "p99"),
        ("4xx by route", "4XXError", "Sum"),
        ("5xx by route", "5XXError", "Sum"),
    ],
)
def test_the_per_route_graphs_find_every_route_of_this_api_and_stage(
    title: str, metric: str, stat: str
) -> None:
    """A search by the API's name and stage: every route the template declares (all on Api) has its line,
    a route added later too, with nothing to edit."""
    (api,) = template.resources(DOC, "AWS::Serverless::Api")
    assert {route.api for route in template.routes(DOC)} == {api}
    name = RESOLVER.resolve(RESOURCES[api]["Properties"]["Name"])
    stage = RESOLVER.resolve(RESOURCES[api]["Properties"]["StageName"])
    search = expression(title)
    assert search["expression"] == (
        "SEARCH('{AWS/ApiGateway,ApiName,Method,Resource,Stage} "
        f'MetricName="{metric}" ApiName="{name}" Stage="{stage}"\', \'{stat}\', 300)'
    )
    assert search["label"] == "${PROP('Dim.Method')} ${PROP('Dim.Resource')}"


def test_the_routes_publish_the_metrics_the_per_route_graphs_read() -> None:
    """API Gateway publishes per-route metrics only with MetricsEnabled, on every method setting."""
    assert DOC["Parameters"]["DetailedApiMetrics"]["Default"] == "true"
    settings = RESOURCES["Api"]["Properties"]["MethodSettings"]
    assert settings
    assert all(setting["MetricsEnabled"] == {"Ref": "DetailedApiMetrics"} for setting in settings)
    assert {s["ResourcePath"] for s in settings} >= {"/*"}


def plan() -> Plan:
    return Plan("s1", "a1", "Shop", "smtp.example.net", 587, "info@example.net", "ops@example.org")


def test_the_check_outcomes_graph_searches_the_metric_the_check_emits(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The search's schema names the namespace and every dimension the check's metric carries (CloudWatch
    matches a schema's dimensions exactly): a dimension added to the metric would empty the graph."""
    functions = template.functions(DOC)
    checkers = ("SmtpsCheckFunction", "SmtpsSaveFunction", "HealthWorkerFunction")  # check, verify, probe
    namespaces = {
        RESOLVER.resolve(functions[name].environment["POWERTOOLS_METRICS_NAMESPACE"]) for name in checkers
    }
    (namespace,) = namespaces
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", namespace)
    monkeypatch.setenv(
        "POWERTOOLS_SERVICE_NAME",
        RESOLVER.resolve(functions["SmtpsCheckFunction"].environment["POWERTOOLS_SERVICE_NAME"]),
    )
    capsys.readouterr()
    report(
        plan(), CheckOutcome(False, "TLS", None, "The certificate was refused"), recorded="yes", total_ms=5
    )
    (emf,) = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    (directive,) = emf["_aws"]["CloudWatchMetrics"]
    (dimensions,) = directive["Dimensions"]

    search = expression("Checks and probes by outcome")
    schema = re.fullmatch(
        r"SEARCH\('\{\"([^\"]+)\",([\w,]+)\} MetricName=\"(\w+)\"', 'Sum', 300\)", search["expression"]
    )
    assert schema is not None, search["expression"]
    assert schema.group(1) == directive["Namespace"] == namespace
    assert set(schema.group(2).split(",")) == set(dimensions)
    assert schema.group(3) == METRIC == directive["Metrics"][0]["Name"]
    assert emf["outcome"] == "TLS"
    assert search["label"] == "${PROP('Dim.outcome')}"


def test_the_disabled_servers_graph_reads_the_metric_filters_metric() -> None:
    (transformation,) = RESOLVER.resolve(
        RESOURCES["ServersDisabledMetric"]["Properties"]["MetricTransformations"]
    )
    assert lines("SMTP servers disabled") == {
        (transformation["MetricNamespace"], transformation["MetricName"], frozenset())
    }


def test_the_dashboard_is_named_after_the_stack_and_output() -> None:
    (name,) = template.resources(DOC, "AWS::CloudWatch::Dashboard")
    assert RESOLVER.resolve(RESOURCES[name]["Properties"]["DashboardName"]) == RESOLVER.stack_name
    assert "#dashboards/dashboard/${Dashboard}" in DOC["Outputs"]["DashboardUrl"]["Value"]["Fn::Sub"]


# --- alarms and where they go -----------------------------------------------------------------------------


@pytest.mark.parametrize("own", ["", OWN_TOPIC], ids=["stack topic", "and own topic"])
@pytest.mark.parametrize("name", sorted(ALARMS))
def test_every_alarm_notifies_the_stacks_topic_and_the_operators_own_on_alarm_and_ok(
    name: str, own: str
) -> None:
    resolver = Resolver(DOC, parameters={"AlarmTopicArn": own})
    props = resolver.resolve(ALARMS[name]["Properties"])
    expected = [resolver.ref("AlarmTopic"), *([own] if own else [])]
    assert props["AlarmActions"] == expected
    assert props["OKActions"] == expected


def test_the_background_functions_are_found() -> None:
    assert {
        "HealthSweepFunction",
        "HealthWorkerFunction",
        "SecretsCleanupFunction",
        "AppsCleanupFunction",
    } <= set(BACKGROUND)
    assert "AuthorizerFunction" not in BACKGROUND  # its failures are the API's 5xx


@pytest.mark.parametrize("metric", ["Errors", "Throttles"])
@pytest.mark.parametrize("function", BACKGROUND)
def test_every_function_no_request_calls_has_its_errors_and_throttles_alarmed(
    function: str, metric: str
) -> None:
    (alarm,) = [
        a["Properties"]
        for a in ALARMS.values()
        if a["Properties"].get("Namespace") == "AWS/Lambda"
        and a["Properties"]["MetricName"] == metric
        and a["Properties"]["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": function}}]
    ]
    assert (alarm["Statistic"], alarm["Period"], alarm["EvaluationPeriods"]) == ("Sum", 300, 1)
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (0, "GreaterThanThreshold")
    assert alarm["TreatMissingData"] == "notBreaching"
    assert alarm["AlarmDescription"].strip()


def statement(policy: dict[str, Any], sid: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [s for s in policy["Statement"] if s.get("Sid") == sid]
    (only,) = found
    return only


def test_the_alarm_topic_is_encrypted_with_a_key_cloudwatch_may_use() -> None:
    """CloudWatch cannot publish to a topic whose key it may not use (the AWS managed alias/aws/sns among
    them): such alarms deploy cleanly and deliver nothing."""
    assert RESOURCES["AlarmTopic"]["Type"] == "AWS::SNS::Topic"
    assert RESOURCES["AlarmTopic"]["Properties"]["KmsMasterKeyId"] == {"Ref": "AlarmKey"}
    key = RESOURCES["AlarmKey"]["Properties"]
    assert RESOURCES["AlarmKey"]["Type"] == "AWS::KMS::Key"
    assert key["EnableKeyRotation"] is True
    this_account = {
        "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
        "ArnLike": {
            "aws:SourceArn": {
                "Fn::Sub": "arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:*"
            }
        },
    }
    grant = statement(key["KeyPolicy"], "CloudWatchPublishes")
    assert grant["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert set(grant["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}  # nothing else of the key
    assert "Condition" not in grant  # usable only through the topic, whose policy holds the conditions
    assert len(key["KeyPolicy"]["Statement"]) == 2
    admin = statement(key["KeyPolicy"], "AccountAdministers")
    assert admin["Principal"] == {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}}
    policy = RESOURCES["AlarmTopicPolicy"]["Properties"]
    assert policy["Topics"] == [{"Ref": "AlarmTopic"}]
    publish = statement(policy["PolicyDocument"], "AlarmsOfThisAccountPublish")
    assert (publish["Principal"], publish["Action"]) == (
        {"Service": "cloudwatch.amazonaws.com"},
        "sns:Publish",
    )
    assert publish["Resource"] == {"Ref": "AlarmTopic"}
    assert publish["Condition"] == this_account
    assert len(policy["PolicyDocument"]["Statement"]) == 1
    assert DOC["Outputs"]["StackAlarmTopicArn"]["Value"] == {"Ref": "AlarmTopic"}


@pytest.mark.parametrize(("email", "subscribed"), [("", False), ("ops@example.com", True)])
def test_alarm_email_subscribes_an_address_only_when_given(email: str, subscribed: bool) -> None:
    subscription = RESOURCES["AlarmEmailSubscription"]
    assert subscription["Type"] == "AWS::SNS::Subscription"
    assert Resolver(DOC, parameters={"AlarmEmail": email}).condition(subscription["Condition"]) is subscribed
    assert subscription["Properties"] == {
        "TopicArn": {"Ref": "AlarmTopic"},
        "Protocol": "email",
        "Endpoint": {"Ref": "AlarmEmail"},
    }
    assert DOC["Parameters"]["AlarmEmail"]["Default"] == ""


@pytest.mark.parametrize(
    ("parameter", "good", "bad"),
    [
        (
            "AlarmEmail",
            ["", "ops@example.com", "on-call+smtp@ops.example.co.uk"],
            ["ops", "ops@", "a b@example.com"],
        ),
        (
            "AlarmTopicArn",
            ["", OWN_TOPIC, "arn:aws-us-gov:sns:us-gov-west-1:123456789012:alarms_1"],
            ["pager", "arn:aws:sqs:us-east-1:123456789012:pager", "arn:aws:sns:us-east-1:123:pager"],
        ),
    ],
)
def test_the_notification_parameters_refuse_what_cannot_work(
    parameter: str, good: list[str], bad: list[str]
) -> None:
    """CloudFormation matches AllowedPattern against the whole value (Java regex; the same here)."""
    pattern = DOC["Parameters"][parameter]["AllowedPattern"]
    assert all(re.fullmatch(pattern, value) for value in good)
    assert not any(re.fullmatch(pattern, value) for value in bad)


# --- samconfig.toml -------------------------------------------------------------------------------------

SAMCONFIG = tomllib.loads((ROOT / "samconfig.toml").read_text())


@pytest.mark.parametrize("env", ["default", "prod"])
def test_each_environment_deploys_its_own_stack_without_a_question(env: str) -> None:
    deploy = SAMCONFIG[env]["deploy"]["parameters"]
    assert deploy["stack_name"] == SAMCONFIG[env]["global"]["parameters"]["stack_name"]  # sam logs, delete
    assert deploy["resolve_s3"] is True  # no bucket to name
    assert deploy["capabilities"] == "CAPABILITY_IAM"  # the functions' roles
    assert deploy["confirm_changeset"] is False
    assert deploy["fail_on_empty_changeset"] is False  # a deploy with nothing to change succeeds
    assert "guided" not in deploy


def test_the_environments_are_different_stacks() -> None:
    names = {SAMCONFIG[env]["deploy"]["parameters"]["stack_name"] for env in ("default", "prod")}
    assert len(names) == 2


@pytest.mark.parametrize("env", ["default", "prod"])
def test_parameter_overrides_name_template_parameters_with_allowed_values(env: str) -> None:
    """A renamed or removed parameter left in samconfig.toml would fail every deploy of the environment."""
    overrides = SAMCONFIG[env]["deploy"]["parameters"].get("parameter_overrides", "")
    for pair in shlex.split(overrides):
        name, value = pair.split("=", 1)
        spec = DOC["Parameters"][name]
        if "AllowedValues" in spec:
            assert value in [str(allowed) for allowed in spec["AllowedValues"]], pair
        if "AllowedPattern" in spec:
            assert re.fullmatch(spec["AllowedPattern"], value), pair


def test_production_keeps_its_tables_protected() -> None:
    overrides = dict(
        pair.split("=", 1)
        for pair in shlex.split(SAMCONFIG["prod"]["deploy"]["parameters"]["parameter_overrides"])
    )
    assert overrides["DeletionProtection"] == "true"
