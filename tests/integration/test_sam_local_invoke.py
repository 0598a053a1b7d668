"""`sam local invoke -e events/<function>.json --env-vars build/env.json` against `make aws` (issue 11).

Docker is not available here, so each invocation is made the way SAM would make it: a fresh container's
environment (tests.support.sam: the template's variables resolved as the SAM CLI resolves them, then
build/env.json as `make aws` wrote it, only for the variables the template declares), the function's own
`lambda_handler` and its sample event, against `make aws`'s moto server and SMTP sink. Every API event
answers 200 (they name the demo data's fixed ids), the stream cleanups report no failure (the apps
cleanup's leaves the demo data as it was), and the authorizer allows a real token from the login. Nothing
leaves 127.0.0.1: name lookups of anything else fail the test.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local_runtime import template
from local_runtime.events import DEMO_ACCOUNT, DEMO_APP_ID, DEMO_SMTP_ID, EVENTS_DIR
from local_runtime.loader import load_handler
from smtphub import wiring
from tests.support.lambdas import LambdaContext
from tests.support.sam import MakeAws, running_make_aws, sam_environment, samcli_variables, template_variables

DOCUMENT = template.load()
FUNCTIONS = template.functions(DOCUMENT)
# What reaches `make aws` from a container: SAM sets a variable of build/env.json only when declared.
REACH = ("AWS_ENDPOINT_URL",)
AUTHORIZER_REACH = ("AWS_ENDPOINT_URL", "JWKS_URL")
# Host variables a container has besides SAM's (the interpreter's own), kept while a handler runs here.
_KEPT = frozenset({"PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "PYTHONPATH", "VIRTUAL_ENV"})
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def event_of(function: str) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(
        (EVENTS_DIR / f"{Path(FUNCTIONS[function].code_uri).name}.json").read_text()
    )
    return found


def function_by_folder(folder: str) -> str:
    (name,) = [name for name, spec in FUNCTIONS.items() if Path(spec.code_uri).name == folder]
    return name


@pytest.fixture(scope="module")
def make_aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MakeAws]:
    with running_make_aws(tmp_path_factory.mktemp("sam") / "env.json") as running:
        yield running


@pytest.fixture
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any lookup of a name or address off 127.0.0.1 fails (AWS's endpoints, Cognito's keys, mail hosts)."""
    real = socket.getaddrinfo

    def guarded(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name not in _LOOPBACK:
            raise socket.gaierror(f"the test allows only 127.0.0.1, not {name}")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", guarded)


class Sam:
    """`sam local invoke` of a function with build/env.json: a new container's environment each time."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, env_vars: dict[str, dict[str, str]]) -> None:
        self.monkeypatch = monkeypatch
        self.env_vars = env_vars

    def invoke(self, function: str, event: dict[str, Any] | None = None) -> Any:
        spec = FUNCTIONS[function]
        environment = sam_environment(DOCUMENT, function, self.env_vars)
        with self.monkeypatch.context() as patch:
            for name in list(os.environ):
                if name not in _KEPT:
                    patch.delenv(name)
            for name, value in environment.items():
                patch.setenv(name, value)
            wiring.reset()
            handler = load_handler(spec.code_uri, spec.handler)
            module = sys.modules[f"functions.{Path(spec.code_uri).name}.app"]
            if hasattr(module, "reset"):
                module.reset()  # the authorizer's verifier and table: a new container builds them again
            try:
                return handler(event if event is not None else event_of(function), LambdaContext())
            finally:
                wiring.reset()


# --- the environment SAM gives ------------------------------------------------------------------------


def test_without_the_env_file_sam_resolves_refs_to_logical_ids() -> None:
    """The starting point the issue describes: with these values every API event answered 500."""
    variables = template_variables(DOCUMENT, "AuthLoginFunction")
    assert variables["APPS_TABLE"] == "AppsTable"
    assert variables["USER_POOL_ID"] == "UserPool"
    assert variables["SECRET_PREFIX"] == "local/api/smtp/"


def test_the_emulation_resolves_as_the_sam_cli_does() -> None:
    found = samcli_variables()
    if found is None:
        pytest.skip("no .venv-sam (make lint installs the SAM CLI)")
    assert found == {name: template_variables(DOCUMENT, name) for name in FUNCTIONS}


def test_the_template_declares_the_way_to_make_aws() -> None:
    """SAM ignores a variable of --env-vars that the template does not declare for the function."""
    missing = {
        name: [variable for variable in needed if variable not in template_variables(DOCUMENT, name)]
        for name in FUNCTIONS
        for needed in [AUTHORIZER_REACH if name == "AuthorizerFunction" else REACH]
    }
    assert {name: names for name, names in missing.items() if names} == {}, (
        "template.yaml must declare these variables (an empty value deploys as AWS's own endpoints) so "
        "that `sam local invoke --env-vars build/env.json` can point the functions at `make aws`"
    )


def test_the_env_file_names_every_function_and_what_it_needs(make_aws: MakeAws) -> None:
    env_vars = make_aws.env_vars
    assert set(env_vars) == set(FUNCTIONS)
    for name in FUNCTIONS:
        declared = set(template_variables(DOCUMENT, name))
        assert declared <= set(env_vars[name]), name
        assert env_vars[name]["AWS_ENDPOINT_URL"] == f"http://127.0.0.1:{make_aws.port}"
        assert env_vars[name]["APPS_TABLE"] != "AppsTable"  # the table make aws created
    assert env_vars["SmtpsCheckFunction"]["ALLOW_PRIVATE_ADDRESSES"] == "true"  # the sink is on 127.0.0.1
    assert env_vars["AuthorizerFunction"]["JWKS_URL"].startswith(f"http://127.0.0.1:{make_aws.port}/")


def test_the_banner_shows_the_commands_of_the_readme(make_aws: MakeAws) -> None:
    assert f"Account    demo@example.com  password Demo-password-1!  id {DEMO_ACCOUNT}" in make_aws.output
    assert f"app {DEMO_APP_ID}, SMTP server {DEMO_SMTP_ID}" in make_aws.output
    command = (
        "sam local invoke AppsFindByIdFunction -e events/apps_find_by_id.json "
        f"--env-vars {make_aws.env_file} --docker-network host --region us-east-1"
    )
    assert command in make_aws.output


# --- every event, as `sam local invoke` runs it -------------------------------------------------------


def test_every_event_answers_200_against_make_aws(
    make_aws: MakeAws, monkeypatch: pytest.MonkeyPatch, loopback_only: None
) -> None:
    sam = Sam(monkeypatch, make_aws.env_vars)
    answers: dict[str, Any] = {}
    # Reads first, then writes, then the removals, the logout last (it revokes the demo account's tokens).
    login = sam.invoke(function_by_folder("auth_login"))
    answers["auth_login"] = login["statusCode"]
    token = json.loads(login["body"]).get("token") if login["statusCode"] == 200 else None
    authorizer_event = event_of("AuthorizerFunction")
    authorizer_event["authorizationToken"] = f"Bearer {token}"
    try:
        policy = sam.invoke("AuthorizerFunction", authorizer_event)
        answers["authorizer"] = (policy["policyDocument"]["Statement"][0]["Effect"], policy.get("context"))
    except Exception as error:  # reported with the others below
        answers["authorizer"] = repr(error)
    servers = json.loads(sam.invoke(function_by_folder("smtps_find_by_app"))["body"])
    # The apps cleanup's sample (issue 22: it named the demo app, and deleted its servers): the REMOVE of an
    # app that is gone, which finds nothing to delete.
    answers["apps_cleanup"] = sam.invoke(function_by_folder("apps_cleanup"))
    assert json.loads(sam.invoke(function_by_folder("smtps_find_by_app"))["body"]) == servers
    for folder in (
        "apps_find_all",
        "apps_find_by_id",
        "smtps_find_by_app",
        "smtps_find_by_id",
        "smtps_check",
        "apps_save",
        "smtps_save",
        "smtps_remove",
    ):
        answers[folder] = sam.invoke(function_by_folder(folder))["statusCode"]
    answers["secrets_cleanup"] = sam.invoke(function_by_folder("secrets_cleanup"))
    answers["apps_remove"] = sam.invoke(function_by_folder("apps_remove"))["statusCode"]
    answers["auth_logout"] = sam.invoke(function_by_folder("auth_logout"))["statusCode"]

    allowed_context = {"accountId": DEMO_ACCOUNT, "username": "demo@example.com"}
    assert answers == {
        "auth_login": 200,
        "authorizer": ("Allow", allowed_context),
        "apps_cleanup": {"batchItemFailures": []},
        "apps_find_all": 200,
        "apps_find_by_id": 200,
        "smtps_find_by_app": 200,
        "smtps_find_by_id": 200,
        "smtps_check": 200,
        "apps_save": 200,
        "smtps_save": 200,
        "smtps_remove": 200,
        "secrets_cleanup": {"batchItemFailures": []},
        "apps_remove": 200,
        "auth_logout": 200,
    }
    make_aws.wait_for_text("To: inbox@example.com")  # the check's test mail reached make aws's sink


def test_the_reads_answer_the_demo_data_itself(
    make_aws: MakeAws, monkeypatch: pytest.MonkeyPatch, loopback_only: None
) -> None:
    """On a fresh `make aws` (the test above removed the demo app): the events' ids are the demo data's."""
    with running_make_aws(make_aws.env_file.parent / "fresh.json") as fresh:
        sam = Sam(monkeypatch, fresh.env_vars)
        found = sam.invoke(function_by_folder("apps_find_by_id"))
        assert found["statusCode"] == 200, found["body"]
        assert json.loads(found["body"])["_id"] == DEMO_APP_ID
        servers = json.loads(sam.invoke(function_by_folder("smtps_find_by_app"))["body"])
        # The events' server first; the demo's second one uses XOAUTH2 (local_runtime/token_endpoint).
        assert [server["_id"] for server in servers][:1] == [DEMO_SMTP_ID]
        assert [server["authmech"] for server in servers[1:]] == ["XOAUTH2"]
