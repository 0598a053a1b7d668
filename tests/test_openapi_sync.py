"""openapi.yaml is the one description of the API: it must say what the code does.

Fails when a route (template.yaml), a parameter (the Spec each handler parses with), an error code
(smtphub/errors.py) or a response (the handlers' answers, driven through moto) differs from it.
"""

from __future__ import annotations

import inspect
import json
import re
import typing
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_openapi
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from local_runtime import template
from local_runtime.events import ROOT
from local_runtime.loader import load_module
from smtphub import errors, params
from smtphub.params import Param, Spec, canonical_name
from tests.conftest import ACCOUNT_B, Reply, call

OPENAPI = ROOT / "openapi.yaml"
DOC_URI = "urn:smtp-hub:openapi"
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# Schema keywords that state what a parameter accepts (descriptions, defaults, examples aside).
CONSTRAINTS = ("type", "pattern", "minimum", "maximum", "maxLength", "enum", "format", "writeOnly")


@cache
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(OPENAPI.read_text(encoding="utf-8"))
    return loaded


def deref(node: Any) -> Any:
    """A node with its $ref followed (siblings of the $ref win, as in OpenAPI 3.1)."""
    while isinstance(node, dict) and "$ref" in node:
        pointer = node["$ref"]
        assert pointer.startswith("#/"), f"only local references are used: {pointer}"
        target: Any = document()
        for part in pointer[2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def operations() -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method.upper(), path): operation
        for path, item in document()["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    }


def pointer_to(*parts: str) -> str:
    return "/" + "/".join(part.replace("~", "~0").replace("/", "~1") for part in parts)


@cache
def registry() -> Registry:
    return Registry().with_resource(DOC_URI, Resource.from_contents(document(), DRAFT202012))


def validator(pointer: str) -> Draft202012Validator:
    """A JSON Schema validator for the schema at `pointer` in openapi.yaml (its $refs resolved there)."""
    return Draft202012Validator(
        {"$ref": f"{DOC_URI}#{pointer}"},
        registry=registry(),
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


def routes() -> list[template.Route]:
    return template.routes(template.default())


def is_public(route: template.Route) -> bool:
    """What the template says: the route's own authorizer, else the API's default one; NONE is public."""
    api = template.default()["Resources"]["Api"]["Properties"]
    authorizer = route.authorizer or api.get("Auth", {}).get("DefaultAuthorizer")
    return authorizer in (None, "NONE")


def handler_module(route: template.Route) -> ModuleType:
    return load_module(route.code_uri, route.handler.rpartition(".")[0])


def handler_parts(route: template.Route) -> tuple[Spec, Any]:
    """The Spec a route's handler parses its parameters with, and the undecorated handler.

    Read from the handler itself: `smtphub.http.api(spec)` closes over both, under decorators that
    keep `__wrapped__`. A handler that does not use `api` must hold exactly one Spec at module level.
    """
    module = handler_module(route)
    function: Any = getattr(module, route.handler.rpartition(".")[2])
    while function is not None:
        closure = inspect.getclosurevars(function).nonlocals
        if isinstance(closure.get("spec"), Spec) and callable(closure.get("handler")):
            return closure["spec"], closure["handler"]
        function = getattr(function, "__wrapped__", None)
    specs = [value for value in vars(module).values() if isinstance(value, Spec)]
    assert len(specs) == 1, f"{route.code_uri}: cannot tell which Spec the handler parses with"
    return specs[0], getattr(module, route.handler.rpartition(".")[2])


# --- the document itself ------------------------------------------------------------------------


def test_the_description_is_valid_openapi_3_1() -> None:
    assert document()["openapi"].startswith("3.1.")
    validate_openapi(document())


def test_every_example_matches_its_schema() -> None:
    """The contract's examples in the description are themselves valid: a wrong example fails here."""
    checked = 0

    def walk(node: Any, path: tuple[str, ...]) -> Iterator[tuple[str, Any]]:
        if isinstance(node, dict):
            if "schema" in node and ("example" in node or "examples" in node):
                schema_at = pointer_to(*path, "schema")
                if "example" in node:
                    yield schema_at, node["example"]
                for example in (node.get("examples") or {}).values():
                    yield schema_at, deref(example)["value"]
            for key, value in node.items():
                yield from walk(value, (*path, key))

    for pointer, example in walk(document(), ()):
        errors_found = sorted(e.message for e in validator(pointer).iter_errors(example))
        assert not errors_found, f"example at {pointer}: {errors_found}"
        checked += 1
    for name, schema in document()["components"]["schemas"].items():
        for example in [schema["example"]] if "example" in schema else schema.get("examples", []):
            validator(pointer_to("components", "schemas", name)).validate(example)
            checked += 1
    assert checked >= 10


# --- routes and security ------------------------------------------------------------------------


def test_routes_are_exactly_the_templates() -> None:
    declared = {(route.method, route.path) for route in routes()}
    described = set(operations())
    assert declared - described == set(), "routes in template.yaml missing from openapi.yaml"
    assert described - declared == set(), "operations in openapi.yaml that template.yaml does not serve"


def test_security_matches_the_templates_authorizers() -> None:
    default = document()["security"]
    assert default == [{"bearerAuth": []}]
    assert document()["components"]["securitySchemes"]["bearerAuth"] == {
        **document()["components"]["securitySchemes"]["bearerAuth"],
        "type": "http",
        "scheme": "bearer",
    }
    for route in routes():
        operation = operations()[(route.method, route.path)]
        security = operation.get("security", default)
        if is_public(route):
            assert security == [], f"{route.method} {route.path} is public in template.yaml"
        else:
            assert security == default, f"{route.method} {route.path} needs the Bearer token"


# --- parameters ---------------------------------------------------------------------------------


def expected_schema(param: Param) -> dict[str, Any]:
    """What a parameter's parser accepts, in JSON Schema terms, read from the parser itself."""
    parse = param.parse
    fixed: dict[Any, dict[str, Any]] = {
        params.boolean: {"type": "boolean"},
        params.identifier: {"type": "string", "pattern": f"^{params._ID.pattern}$"},
        params.host: {"type": "string", "maxLength": params.MAX_HOST},
        params.email: {"type": "string", "format": "email", "maxLength": params.MAX_EMAIL},
    }
    if parse in fixed:
        return fixed[parse]
    # Parsers built by a factory (integer(low, high), text(n), ...): their bounds are in the closure.
    bound = inspect.getclosurevars(parse).nonlocals
    built: dict[str, Any] = {
        "integer": lambda: {"type": "integer", "minimum": bound["low"], "maximum": bound["high"]},
        "text": lambda: {"type": "string", "maxLength": bound["max_length"]},
        "secret": lambda: {"type": "string", "maxLength": bound["max_length"], "writeOnly": True},
        "choice": lambda: {"type": "string", "enum": list(bound["options"])},
    }
    factory = parse.__qualname__.split(".", 1)[0]
    assert factory in built, f"no OpenAPI mapping for the parser {parse.__qualname__}: add one here"
    schema: dict[str, Any] = built[factory]()
    return schema


def described_params(route: template.Route) -> dict[str, tuple[bool, dict[str, Any]]]:
    """Canonical name -> (required, constraints) of an operation's parameters in openapi.yaml."""
    operation = operations()[(route.method, route.path)]
    found: dict[str, tuple[bool, dict[str, Any]]] = {}

    def add(name: str, required: bool, schema: dict[str, Any]) -> None:
        key = canonical_name(name)
        assert key not in found, f"{route.path}: {name} is described twice"
        constraints = {k: v for k, v in deref(schema).items() if k in CONSTRAINTS}
        found[key] = (required, constraints)

    if route.method == "GET":
        assert "requestBody" not in operation, f"{route.path}: a GET takes its parameters in the query"
        for parameter in map(deref, operation.get("parameters", [])):
            assert parameter["in"] == "query", f"{route.path}: {parameter['name']} must be in the query"
            add(parameter["name"], parameter.get("required", False), parameter["schema"])
        return found
    body = deref(operation["requestBody"])
    assert set(body["content"]) == {FORM, JSON}, f"{route.path}: both body types, and only them"
    form, json_ = (deref(body["content"][media]["schema"]) for media in (FORM, JSON))
    assert form == json_, f"{route.path}: form and JSON bodies take the same parameters"
    assert not operation.get("parameters"), f"{route.path}: POST parameters are described in the body"
    assert "also accepted in the query string" in operation.get("description", "")
    required = set(form.get("required", []))
    for name, schema in form["properties"].items():
        add(name, name in required, schema)
    return found


@pytest.mark.parametrize("route", routes(), ids=lambda route: f"{route.method} {route.path}")
def test_parameters_match_the_handlers_spec(route: template.Route) -> None:
    spec, _ = handler_parts(route)
    in_code = {param.name: (param.required, expected_schema(param)) for param in spec.params}
    described = described_params(route)
    assert set(described) == set(in_code), f"{route.path}: parameter names"
    for name, (required, schema) in in_code.items():
        assert described[name][0] == required, f"{route.path}: is {name} required?"
        assert described[name][1] == schema, f"{route.path}: what {name} accepts"


def test_the_alias_rules_are_the_documented_ones() -> None:
    description = document()["info"]["description"]
    for alias, name in params.ALIASES.items():
        assert f"`{alias}`" in description, f"alias {alias} of {name} is not documented"
        assert f"`{name}`" in description


# --- responses ----------------------------------------------------------------------------------


def api_error_classes() -> list[type[errors.ApiError]]:
    found: list[type[errors.ApiError]] = [errors.ApiError]
    for cls in found:
        found.extend(cls.__subclasses__())
    return [cls for cls in found if "code" in vars(cls)]


def codes_in(schema: Any) -> set[str]:
    """Every value the `error` member may take in a (dereferenced) error schema."""
    schema = deref(schema)
    found: set[str] = set()
    if not isinstance(schema, dict):
        return found
    error = deref(schema.get("properties", {}).get("error", {}))
    if "const" in error:
        found.add(error["const"])
    found.update(error.get("enum", []))
    narrowed = [codes_in(part) for part in schema.get("allOf", [])]
    narrowed = [codes for codes in narrowed if codes]
    if narrowed:  # allOf: the narrowest wins (the base schema lists every code)
        return set.intersection(*narrowed)
    return found


def error_responses() -> Iterator[tuple[str, str, int, set[str]]]:
    for (method, path), operation in operations().items():
        for status, response in operation["responses"].items():
            if int(status) < 400:
                continue
            schema = deref(response)["content"][JSON]["schema"]
            yield method, path, int(status), codes_in(schema)


def test_error_codes_are_the_ones_in_errors_py_with_their_status() -> None:
    status_of = {cls.code: cls.status for cls in api_error_classes()}
    base = deref({"$ref": "#/components/schemas/Error"})
    assert set(base["properties"]["error"]["enum"]) == set(status_of), "the Error schema's codes"
    for method, path, status, codes in error_responses():
        assert codes, f"{method} {path} {status}: no error code"
        for code in codes:
            assert code in status_of, f"{method} {path}: {code} is not in smtphub/errors.py"
            assert status_of[code] == status, f"{method} {path}: {code} is a {status_of[code]}, not {status}"


def extends_error(schema: dict[str, Any]) -> bool:
    """The schema is the Error schema, or narrows it (allOf)."""
    ref = schema.get("$ref")
    if ref == "#/components/schemas/Error":
        return True
    if ref:
        return extends_error(deref({"$ref": ref}))
    return any(extends_error(part) for part in schema.get("allOf", []))


def test_every_error_response_has_the_one_error_body() -> None:
    error_schema = validator(pointer_to("components", "schemas", "Error"))
    for (method, path), operation in operations().items():
        statuses = set(operation["responses"])
        expected = {"400", "429", "500"}
        if operation.get("security", document()["security"]):
            expected |= {"401", "403"}
        if method == "POST":
            expected |= {"413", "415"}
        assert expected <= statuses, f"{method} {path} lacks {sorted(expected - statuses)}"
        for status in statuses - {"200"}:
            schema = deref(operation["responses"][status])["content"][JSON]["schema"]
            assert extends_error(schema), f"{method} {path} {status} must use the Error schema"
    # The contract's own examples of the error body.
    error_schema.validate(
        {"status": 406, "error": "SMTP_NOT_FOUND", "message": "SMTP not found", "requestId": "r"}
    )
    error_schema.validate(
        {
            "status": 400,
            "error": "BAD_REQUEST",
            "message": "Missing or invalid parameters",
            "requestId": "c6af9ac6-...",
            "fields": {"port": "must be an integer from 1 to 65535"},
        }
    )
    assert not error_schema.is_valid(
        {"status": 406, "error": "NO_SUCH_CODE", "message": "m", "requestId": "r"}
    ), "an unknown code must not pass"


@pytest.mark.parametrize("route", routes(), ids=lambda route: f"{route.method} {route.path}")
def test_the_200_response_has_the_handlers_shape(route: template.Route) -> None:
    """Empty for a handler returning None (remove, check), else JSON of the type it returns."""
    _, handler = handler_parts(route)
    returns = typing.get_type_hints(handler)["return"]
    ok = deref(operations()[(route.method, route.path)]["responses"]["200"])
    if returns is type(None):
        assert "content" not in ok, f"{route.path} answers an empty body"
        return
    schema = deref(ok["content"][JSON]["schema"])
    expected = {dict: "object", list: "array"}[typing.get_origin(returns) or returns]
    assert schema["type"] == expected, f"{route.path} returns {returns}"


# --- what the handlers really answer, checked against the description ------------------------


def route_of(function: str) -> template.Route:
    (route,) = (r for r in routes() if Path(r.code_uri).name == function)
    return route


def described(function: str, reply: Reply) -> Reply:
    """Fail unless the description documents this reply of `function`: status, body, content type."""
    route = route_of(function)
    responses = operations()[(route.method, route.path)]["responses"]
    assert str(reply.status) in responses, f"{function} answered an undocumented {reply.status}"
    response = deref(responses[str(reply.status)])
    if "content" not in response:
        assert reply.text == "", f"{function} {reply.status} must have an empty body"
        return reply
    assert reply.headers.get("Content-Type", "").startswith(JSON)
    pointer = pointer_to(
        "paths", route.path, route.method.lower(), "responses", str(reply.status), "content", JSON, "schema"
    )
    if "$ref" in responses[str(reply.status)]:
        name = responses[str(reply.status)]["$ref"].rpartition("/")[2]
        pointer = pointer_to("components", "responses", name, "content", JSON, "schema")
    problems = sorted(e.message for e in validator(pointer).iter_errors(reply.json))
    assert not problems, f"{function} {reply.status} {reply.text}: {problems}"
    for header, spec in response.get("headers", {}).items():
        expected = deref(deref(spec)["schema"]).get("const")
        assert reply.headers.get(header) == expected, f"{function} {reply.status}: header {header}"
    return reply


def test_handler_answers_conform_to_the_description(aws: Any) -> None:
    app = described("apps_save", call("apps_save", {"name": "Shop", "testemail": "ops@example.net"})).json
    described("apps_save", call("apps_save", {"name": "Shop"}))  # APP_NAME_TAKEN
    described("apps_save", call("apps_save", {"testemail": "nope"}))  # 400, two fields
    described("apps_save", call("apps_save", {"idapp": app["_id"], "strategy": "priority"}))
    described("apps_save", call("apps_save", body="<x/>", content_type="application/xml"))  # 415
    described("apps_save", call("apps_save", body="name=" + "x" * 70_000))  # 413
    described("apps_find_all", call("apps_find_all", {"page": 0, "size": 1}))
    described("apps_find_all", call("apps_find_all", {"size": 0}))
    described("apps_find_by_id", call("apps_find_by_id", {"idapp": app["_id"]}))
    described("apps_find_by_id", call("apps_find_by_id", {"idapp": app["_id"]}, account=ACCOUNT_B))

    smtp_params = {"idapp": app["_id"], "host": "smtp.example.net", "port": 587, "auth": True}
    created = described(
        "smtps_save",
        call("smtps_save", {**smtp_params, "username": "u@example.net", "password": "pw-1234-secret"}),
    ).json
    assert created["lastcheck"] is None
    described("smtps_save", call("smtps_save", {"idsmtp": created["_id"], "priority": 3, "debug": "yes"}))
    described("smtps_save", call("smtps_save", {**smtp_params, "port": 0, "starttls": "maybe"}))
    described("smtps_save", call("smtps_save", {**smtp_params, "idapp": "a" * 24, "auth": False}))
    described("smtps_save", call("smtps_save", {"idsmtp": "b" * 24}))
    body = json.dumps({**smtp_params, "auth": False, "sslTls": True})
    described("smtps_save", call("smtps_save", body=body, content_type=JSON))
    described("smtps_save", call("smtps_save", body='{"host": ["a"]}', content_type=JSON))
    described("smtps_find_by_app", call("smtps_find_by_app", {"idapp": app["_id"]}))
    described("smtps_find_by_app", call("smtps_find_by_app", {"idapp": "c" * 24}))
    described("smtps_find_by_id", call("smtps_find_by_id", {"idsmtp": created["_id"]}))
    described("smtps_find_by_id", call("smtps_find_by_id", {}))
    described("smtps_remove", call("smtps_remove", {"idsmtp": created["_id"]}))
    described("smtps_remove", call("smtps_remove", {"idapp": created["_id"]}))  # gone: 406
    described("smtps_remove", call("smtps_remove", {}))
    described("apps_remove", call("apps_remove", {"idapp": app["_id"]}))
    described("apps_remove", call("apps_remove", {"idapp": app["_id"]}))  # gone: 406
    described("apps_save", call("apps_save", {"idapp": app["_id"], "name": "Gone"}))  # 406


def test_an_undocumented_answer_fails_the_check() -> None:
    """The check above is not vacuous: a password in an SMTP server's JSON, or a new code, fails it."""
    leaked = {
        "_id": "6741f0b7d1e2f3a4b5c6d7e8",
        "idapp": "6741f0a2c3d4e5f6a7b8c9d0",
        "priority": 10,
        "host": "smtp.example.net",
        "port": 587,
        "username": None,
        "auth": False,
        "starttls": False,
        "sslTls": False,
        "debug": False,
        "defaultfromemail": None,
        "defaultfromname": None,
        "numerrors": 0,
        "created": "2026-11-23T10:00:00.000Z",
        "modified": "2026-11-23T10:00:00.000Z",
        "status": "A",
        "lastcheck": None,
    }
    headers = {"Content-Type": JSON, "Cache-Control": "no-store"}
    described("smtps_find_by_id", Reply(200, headers, json.dumps(leaked)))
    with pytest.raises(AssertionError, match="password"):
        described("smtps_find_by_id", Reply(200, headers, json.dumps({**leaked, "password": "pw"})))
    with pytest.raises(AssertionError, match="undocumented 409"):
        described("smtps_find_by_id", Reply(409, headers, "{}"))
    wrong_code = {"status": 406, "error": "APP_NOT_FOUND", "message": "m", "requestId": "r"}
    with pytest.raises(AssertionError, match="APP_NOT_FOUND"):
        described("smtps_find_by_id", Reply(406, headers, json.dumps(wrong_code)))


# --- the page the local runtime serves at /api/docs -----------------------------------------------


def test_the_docs_page_shows_every_operation_response_and_schema() -> None:
    from local_runtime import docs

    served = docs.reply_for("/openapi.yaml", source=OPENAPI)
    assert served is not None
    assert served.body == OPENAPI.read_bytes()
    assert docs.reply_for("/private/apps/findAll") is None
    reply = docs.reply_for("/docs", source=OPENAPI)
    assert reply is not None
    assert dict(reply.headers)["Content-Type"] == "text/html; charset=utf-8"
    page = reply.body.decode()
    for (method, path), operation in operations().items():
        anchor = f"{method.lower()}-{path}".replace("/", "-")
        section = page.split(f'id="{anchor}"', 1)[1].split("<h3 ", 1)[0]
        assert f"<code>{path}</code>" in section
        for status in operation["responses"]:
            assert f"<td>{status}</td>" in section, f"{method} {path} {status}"
    for name in document()["components"]["schemas"]:
        assert f'id="schema-{name}"' in page
    # Self-contained: nothing is fetched from anywhere.
    assert not re.search(r"<script|<link|<img|<iframe|src=|@import|url\(", page, re.IGNORECASE)


def test_the_docs_page_escapes_what_it_shows() -> None:
    from local_runtime import docs

    hostile = "<script>alert(1)</script> `<img src=x>`"
    page = docs.render(
        {
            "openapi": "3.1.0",
            "info": {"title": hostile, "version": "1", "description": hostile},
            "paths": {"/x": {"get": {"summary": hostile, "responses": {"200": {"description": hostile}}}}},
        }
    )
    assert "<script" not in page
    assert "<img" not in page
    assert "&lt;script&gt;" in page


def test_the_documentation_parts_for_api_gateway_cover_every_operation() -> None:
    """`python -m local_runtime.docs apigateway`: what the README imports into the deployed API."""
    from local_runtime import docs

    body = docs.documentation_parts(document())
    validate_openapi(body)  # a valid OpenAPI 3.0 file, as import-documentation-parts wants
    parts = body["x-amazon-apigateway-documentation"]["documentationParts"]
    fields = {
        "API": {"type"},
        "METHOD": {"type", "path", "method"},
        "QUERY_PARAMETER": {"type", "path", "method", "name"},
        "RESPONSE": {"type", "path", "method", "statusCode"},
    }
    for part in parts:
        assert set(part["location"]) == fields[part["location"]["type"]], part["location"]
        json.dumps(part["properties"])
    located = {tuple(sorted(part["location"].items())) for part in parts}
    assert len(located) == len(parts), "one part per location"
    for (method, path), operation in operations().items():
        where = {"path": path, "method": method}
        assert tuple(sorted({"type": "METHOD", **where}.items())) in located
        for status in operation["responses"]:
            assert tuple(sorted({"type": "RESPONSE", **where, "statusCode": status}.items())) in located
        for parameter in map(deref, operation.get("parameters", [])):
            query = {"type": "QUERY_PARAMETER", **where, "name": parameter["name"]}
            assert tuple(sorted(query.items())) in located
