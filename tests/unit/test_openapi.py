"""openapi.yaml is generated from the code (`make openapi`, tools/openapi/): it must be what the
generator writes now, valid OpenAPI 3.1, and say what the code does.

Checked against the sources themselves rather than the generator's reading of them: the routes and
authorizers of template.yaml, each handler's request model (names, types and bounds, required parameters,
the create/edit alternatives against the model's own rules), smtphub.http.errors' statuses and codes,
each handler's return type, and every example (a request example must parse, an error example must be a
body the code writes). The answers of the real handlers are checked in
tests/integration/test_openapi_responses.py.
"""

from __future__ import annotations

import itertools
import json
import re
import typing
from collections.abc import Iterator, Mapping
from typing import Any, NotRequired

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_openapi
from pydantic import Field, TypeAdapter
from typing_extensions import TypedDict, is_typeddict

from local_runtime import docs
from local_runtime import template as sam
from smtphub.errors import InvalidInput
from smtphub.http.body import ALIASES, canonical_name
from smtphub.http.errors import _STATUS, INTERNAL
from smtphub.http.fields import Boolean, Id
from smtphub.http.requests import REQUIRED, RequestModel
from smtphub.http.requests.smtps import SmtpById
from tests.support.endpoints import Endpoint, endpoint_id, endpoints, pages
from tests.support.openapi import FORM, JSON, MULTIPART, deref, document, operations, pointer_to, validator
from tools.openapi import generate as openapi

OPENAPI = openapi.OPENAPI
# Schema keywords that state what a parameter accepts (descriptions and examples aside).
CONSTRAINTS = ("type", "pattern", "minimum", "maximum", "maxLength", "enum", "format", "writeOnly", "default")


def operation_of(endpoint: Endpoint) -> dict[str, Any]:
    return operations()[(endpoint.method, endpoint.path)]


ENDPOINTS = endpoints()
by_endpoint = pytest.mark.parametrize("endpoint", ENDPOINTS, ids=endpoint_id)


# --- the file is the generator's ------------------------------------------------------------------


def test_the_committed_description_is_what_the_generator_writes_now() -> None:
    """A model, route, error or response change without `make openapi` fails here."""
    assert OPENAPI.read_text(encoding="utf-8") == openapi.render(), (
        "openapi.yaml is not what the code describes: run `make openapi` and commit it"
    )


def test_the_check_mode_says_whether_the_file_is_current(tmp_path: Any, capsys: Any) -> None:
    target = tmp_path / "openapi.yaml"
    assert openapi.main(["--output", str(target), "--check"]) == 1
    assert openapi.main(["--output", str(target)]) == 0
    assert target.read_text(encoding="utf-8") == OPENAPI.read_text(encoding="utf-8")
    assert openapi.main(["--output", str(target), "--check"]) == 0
    assert "make openapi" in capsys.readouterr().err


def test_a_changed_model_changes_the_description() -> None:
    """The parameters are read from the model: a new field, its type and its words appear as written."""

    class Changed(SmtpById):
        verbose: Boolean | None = Field(None, description="Say more.")

    schema = openapi.request_schema(Changed)
    assert schema["properties"]["verbose"] == {"type": "boolean", "description": "Say more."}
    assert schema["required"] == ["idsmtp"]
    assert openapi.request_schema(SmtpById) != schema


class Described(TypedDict):
    """A shape."""

    kept: int
    """Its member, described."""
    left: NotRequired[str | None]


class MoreDescribed(Described):
    added: list[Described]
    """A member of the subclass."""


def test_a_response_shape_is_its_typeddict() -> None:
    """Members, their types, which are required and their words, inherited ones too: from the TypedDict."""
    named: dict[str, Any] = {}
    assert openapi.response_schema(list[MoreDescribed], named) == {
        "type": "array",
        "items": {"$ref": "#/components/schemas/MoreDescribed"},
    }
    assert named["Described"] == {
        "type": "object",
        "description": "A shape.",
        "additionalProperties": False,
        "required": ["kept"],
        "properties": {
            "kept": {"type": "integer", "description": "Its member, described."},
            "left": {"type": ["string", "null"]},
        },
    }
    members = named["MoreDescribed"]["properties"]
    assert members["kept"]["description"] == "Its member, described."
    assert members["added"] == {
        "type": "array",
        "description": "A member of the subclass.",
        "items": {"$ref": "#/components/schemas/Described"},
    }
    assert named["MoreDescribed"]["required"] == ["kept", "added"]


# --- the document itself ------------------------------------------------------------------------


def test_the_description_is_valid_openapi_3_1() -> None:
    assert document()["openapi"].startswith("3.1.")
    validate_openapi(document())


def walk_examples(node: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, Any]]:
    """(pointer of a schema, an example of it) for every example in the document: parameters' and media
    types' `example`/`examples`, and JSON Schema `examples` lists."""
    if isinstance(node, dict):
        if "schema" in node:
            schema_at = pointer_to(*path, "schema")
            if "example" in node:
                yield schema_at, node["example"]
            for example in (node.get("examples") or {}).values():
                yield schema_at, deref(example)["value"]
        if isinstance(node.get("examples"), list):
            for example in node["examples"]:
                yield pointer_to(*path), example
        for key, value in node.items():
            yield from walk_examples(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk_examples(value, (*path, str(index)))


def test_every_example_matches_its_schema() -> None:
    """A wrong example fails here: each one validates against the schema it illustrates."""
    checked = 0
    for pointer, example in walk_examples(document()):
        problems = sorted(e.message for e in validator(pointer).iter_errors(example))
        assert not problems, f"example at {pointer}: {problems}"
        checked += 1
    assert checked >= 40


def as_sent(value: Any) -> str:
    """A parameter value as a form or query string carries it."""
    return {True: "true", False: "false"}.get(value, str(value)) if isinstance(value, bool) else str(value)


def request_examples(endpoint: Endpoint) -> list[dict[str, Any]]:
    operation = operation_of(endpoint)
    found = []
    if "requestBody" in operation:
        for media in deref(operation["requestBody"])["content"].values():
            if "example" in media:
                found.append(media["example"])
            found += [deref(example)["value"] for example in (media.get("examples") or {}).values()]
    named = {p["name"]: p["example"] for p in map(deref, operation.get("parameters", [])) if "example" in p}
    if named and endpoint.method == "GET":
        found.append(named)
    return found


@by_endpoint
def test_every_request_example_is_accepted_by_the_model(endpoint: Endpoint) -> None:
    """Not only valid against the description: the real parser takes it without a problem."""
    for example in request_examples(endpoint):
        endpoint.model.parse({name: as_sent(value) for name, value in example.items()})


def test_every_parameterised_operation_has_a_request_example() -> None:
    for endpoint in ENDPOINTS:
        if endpoint.model.model_fields:
            assert request_examples(endpoint), f"{endpoint}: no example request"


# --- routes and security ------------------------------------------------------------------------


def test_every_template_route_is_described_and_nothing_else() -> None:
    declared = {(endpoint.method, endpoint.path) for endpoint in (*ENDPOINTS, *pages())}
    described = set(operations())
    assert declared - described == set(), "routes in template.yaml missing from openapi.yaml"
    assert described - declared == set(), "operations in openapi.yaml that template.yaml does not serve"
    ids = [operation["operationId"] for operation in operations().values()]
    assert len(ids) == len(set(ids))


def test_the_public_pages_are_named_with_their_answers_and_no_authorization() -> None:
    for page in pages():
        described = operations()[page.method, page.path]
        assert described["security"] == [], page
        assert [parameter["name"] for parameter in described["parameters"]] == ["t"], page
    assert set(operations()["GET", "/public/tracking/open"]["responses"]["200"]["content"]) == {"image/gif"}
    # the function's answers, and API Gateway's before it (a URL too long, throttling, a failure)
    assert set(operations()["GET", "/public/tracking/click"]["responses"]) == {
        "302",
        "404",
        "400",
        "414",
        "429",
        "500",
    }


def test_security_is_the_templates_and_the_handlers() -> None:
    default = document()["security"]
    assert default == [{"bearerAuth": []}]
    scheme = document()["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    assert any(not endpoint.public for endpoint in ENDPOINTS)
    assert any(endpoint.public for endpoint in ENDPOINTS)
    for endpoint in ENDPOINTS:
        security = operation_of(endpoint).get("security", default)
        assert endpoint.handler_public == endpoint.public, f"{endpoint}: template and handler disagree"
        if endpoint.public:
            assert security == [], f"{endpoint} is public in template.yaml"
        else:
            assert security == default, f"{endpoint} needs the Bearer token"


# --- parameters ---------------------------------------------------------------------------------


def model_parameters(model: type[RequestModel]) -> dict[str, tuple[bool, dict[str, Any]]]:
    """Alias -> (required, constraints), read from the model itself (pydantic's `null` branch dropped)."""
    raw = model.model_json_schema(by_alias=True)
    found = {}
    for name, prop in raw.get("properties", {}).items():
        (schema,) = [b for b in prop.get("anyOf", [prop]) if b != {"type": "null"}]
        constraints = {k: v for k, v in {**prop, **schema}.items() if k in CONSTRAINTS and v is not None}
        constraints.pop("anyOf", None)
        found[name] = (name in raw.get("required", []), constraints)
    return found


def described_parameters(endpoint: Endpoint) -> dict[str, tuple[bool, dict[str, Any]]]:
    """Name -> (required, constraints) of an operation's parameters in openapi.yaml."""
    operation = operation_of(endpoint)
    found: dict[str, tuple[bool, dict[str, Any]]] = {}

    def add(name: str, required: bool, schema: dict[str, Any]) -> None:
        assert canonical_name(name) == name, f"{endpoint}: {name} is not a canonical name"
        assert name not in found, f"{endpoint}: {name} is described twice"
        found[name] = (required, {k: v for k, v in deref(schema).items() if k in CONSTRAINTS})

    parameters = [deref(p) for p in operation.get("parameters", [])]
    headers = [p for p in parameters if p["in"] == "header"]
    query = [p for p in parameters if p["in"] != "header"]
    assert all(p["in"] == "query" for p in query), f"{endpoint}: parameters are in the query or the body"
    assert {p["name"].lower() for p in headers} == endpoint.model.HEADERS, f"{endpoint}: the headers it reads"
    for parameter in headers:
        add(parameter["name"].lower(), parameter.get("required", False), parameter["schema"])
    if endpoint.method == "GET":
        assert "requestBody" not in operation, f"{endpoint}: a GET takes its parameters in the query"
        for parameter in query:
            add(parameter["name"], parameter.get("required", False), parameter["schema"])
        return found
    body = deref(operation["requestBody"])
    assert set(body["content"]) == {FORM, JSON, MULTIPART}, f"{endpoint}: the body types the edge reads"
    form = body["content"][FORM]["schema"]
    assert body["content"][JSON]["schema"] == form, f"{endpoint}: every body takes the same parameters"
    multipart = deref(body["content"][MULTIPART]["schema"])
    schema = deref(form)
    files = {name: prop for name, prop in multipart["properties"].items() if name not in schema["properties"]}
    assert {k: v for k, v in multipart.items() if k != "properties"} == {
        k: v for k, v in schema.items() if k != "properties"
    }, f"{endpoint}: a multipart body takes the same parameters"
    assert set(files) == endpoint.model.FILES, f"{endpoint}: and the files, in multipart only"
    required = set(schema.get("required", []))
    for name, prop in {**schema["properties"], **files}.items():
        add(name, name in required, prop)
    assert not query, f"{endpoint}: a POST's parameters are described in its body"
    if schema["properties"]:
        assert "also accepted in the query string" in operation["description"]
    return found


@by_endpoint
def test_parameters_are_the_request_models(endpoint: Endpoint) -> None:
    """Names, required and what each accepts: exactly the model's, whatever the generator does."""
    described = described_parameters(endpoint)
    in_code = model_parameters(endpoint.model)
    assert set(described) == set(in_code) == endpoint.model.request_names(), f"{endpoint}: names"
    for name, (required, schema) in in_code.items():
        assert described[name][0] == required, f"{endpoint}: is {name} required?"
        assert described[name][1] == schema, f"{endpoint}: what {name} accepts"


def refusal(model: type[RequestModel], raw: Mapping[str, str]) -> dict[str, str]:
    """The model's problems with `raw` (none: it parses)."""
    try:
        model.parse(raw)
    except InvalidInput as refused:
        return refused.fields
    return {}


def valid_value(schema: Mapping[str, Any]) -> str:
    """A value of a parameter's schema that its parser accepts (checked by the test using it)."""
    if schema.get("type") == "boolean":
        return "false"
    if schema.get("type") == "integer":
        return str(schema["minimum"])
    if "enum" in schema:
        return str(schema["enum"][0])
    if "pattern" in schema:
        return "6741f0a2c3d4e5f6a7b8c9d0"
    if schema.get("format") == "email":
        return "info@example.net"
    return "smtp.example.net"


@by_endpoint
def test_the_documented_required_parameters_are_the_models_rules(endpoint: Endpoint) -> None:
    """For every combination of the parameters a rule names (`required`, the create/edit `anyOf`), the
    model answers `is required` exactly when the description says the request lacks something."""
    operation = operation_of(endpoint)
    if endpoint.method == "GET":
        schema: dict[str, Any] = {
            "type": "object",
            "properties": {p["name"]: p["schema"] for p in map(deref, operation.get("parameters", []))},
            "required": [p["name"] for p in map(deref, operation.get("parameters", [])) if p.get("required")],
        }
    else:
        schema = deref(operation_of(endpoint)["requestBody"]["content"][FORM]["schema"])
    named = set(schema.get("required", []))
    for alternative in schema.get("anyOf", []):
        named |= set(alternative.get("required", []))
    documented = Draft202012Validator({k: v for k, v in schema.items() if k in ("required", "anyOf", "type")})
    names = sorted(named)
    for size in range(len(names) + 1):
        for chosen in itertools.combinations(names, size):
            raw = {name: valid_value(deref(schema["properties"][name])) for name in chosen}
            problems = refusal(endpoint.model, raw)
            assert set(problems.values()) <= {REQUIRED}, f"{endpoint} {raw}: {problems}"
            assert bool(problems) == (not documented.is_valid(raw)), f"{endpoint}: {sorted(chosen)}"


def test_the_aliases_are_documented() -> None:
    """The contract's other spellings: in the API's description, and beside each parameter they name."""
    description = document()["info"]["description"]
    assert "`sslTls`" in description  # QueueMail's clients' spelling (case is folded)
    for alias, name in ALIASES.items():
        assert f"`{alias}`" in description, f"alias {alias} of {name} is not documented"
        assert f"`{name}`" in description
    spelled = 0
    for schema_name, schema in document()["components"]["schemas"].items():
        if not schema_name.endswith("Request"):
            continue
        for name, prop in schema["properties"].items():
            for alias in (a for a, canonical in ALIASES.items() if canonical == name):
                assert f"`{alias}`" in prop["description"], f"{schema_name}.{name}: {alias}"
                spelled += 1
    assert spelled >= 3


# --- responses ----------------------------------------------------------------------------------


def code_statuses() -> dict[str, int]:
    """Every error code the code and the template's gateway responses can answer, with its status."""
    statuses = {code: status for _, status, code in _STATUS}
    statuses[INTERNAL[1]] = INTERNAL[0]
    api = sam.resources(sam.default(), "AWS::Serverless::Api")
    for resource in api.values():
        for spec in (resource["Properties"].get("GatewayResponses") or {}).values():
            text = json.dumps(spec.get("ResponseTemplates"))
            status, code = re.search(r'status\\":(\d+)', text), re.search(r'error\\":\\"([A-Z_]+)', text)
            if status and code:
                assert statuses.setdefault(code.group(1), int(status.group(1))) == int(status.group(1))
    return statuses


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
    narrowed = [codes for codes in (codes_in(part) for part in schema.get("allOf", [])) if codes]
    if narrowed:  # allOf: the narrowest wins (the base schema lists every code)
        return set.intersection(*narrowed)
    return found


def test_error_codes_are_the_codes_with_their_status() -> None:
    statuses = code_statuses()
    base = deref({"$ref": "#/components/schemas/Error"})
    assert set(base["properties"]["error"]["enum"]) == set(statuses), "the Error schema's codes"
    for (method, path), operation in operations().items():
        if path.startswith("/public/"):  # a recipient's pages: plain HTML, no error body
            continue
        for status, response in operation["responses"].items():
            if int(status) < 400:
                continue
            codes = codes_in(deref(response)["content"][JSON]["schema"])
            assert codes, f"{method} {path} {status}: no error code"
            for code in codes:
                assert statuses[code] == int(status), f"{method} {path}: {code} is a {statuses[code]}"


def extends_error(schema: dict[str, Any]) -> bool:
    """The schema is the Error schema, or narrows it (allOf)."""
    ref = schema.get("$ref")
    if ref == "#/components/schemas/Error":
        return True
    if ref:
        return extends_error(deref({"$ref": ref}))
    return any(extends_error(part) for part in schema.get("allOf", []))


@by_endpoint
def test_every_error_response_has_the_one_error_body(endpoint: Endpoint) -> None:
    operation = operation_of(endpoint)
    statuses = set(operation["responses"])
    expected = {"200", "400", "429", "500"}
    if not endpoint.public:
        expected |= {"401", "403"}
    if endpoint.method == "POST":
        expected |= {"413", "415"}
    assert expected <= statuses, f"{endpoint} lacks {sorted(expected - statuses)}"
    for status in statuses - {"200"}:
        response = deref(operation["responses"][status])
        assert extends_error(response["content"][JSON]["schema"]), f"{endpoint} {status}: not an Error"
        assert set(response["headers"]) >= {"Cache-Control", "X-Content-Type-Options"}


def test_the_error_schema_takes_the_contracts_bodies_and_no_other_code() -> None:
    error_schema = validator(pointer_to("components", "schemas", "Error"))
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
    )
    assert not error_schema.is_valid(
        {"status": 406, "error": "SMTP_NOT_FOUND", "message": "m", "requestId": "r", "stack": "..."}
    )


@by_endpoint
def test_the_200_response_has_the_handlers_shape(endpoint: Endpoint) -> None:
    """Empty for a handler returning None (remove, check, logout), else JSON of the type it returns (a bool:
    `true` or `false`, blacklist/isBlackListed's plain answer)."""
    returns = typing.get_type_hints(endpoint.undecorated())["return"]
    ok = deref(operation_of(endpoint)["responses"]["200"])
    if is_typeddict(returns):
        returns = dict
    if returns is type(None):
        assert ok["content"] == {"text/plain": {"schema": {"type": "string", "maxLength": 0}}}, (
            f"{endpoint} answers an empty body, not JSON"
        )
        return
    schema = deref(ok["content"][JSON]["schema"])
    expected = {dict: "object", list: "array", bool: "boolean"}[typing.get_origin(returns) or returns]
    assert schema["type"] == expected, f"{endpoint} returns {returns}"


def test_response_objects_are_closed_and_fully_required() -> None:
    """What the builders write, no more (a password would not validate) and no less."""
    schemas = document()["components"]["schemas"]
    for name in (
        "App",
        "AppPage",
        "Smtp",
        "LastCheck",
        "TlsSession",
        "StageTime",
        "CheckResult",
        "LoginResult",
    ):
        schema = schemas[name]
        assert schema["additionalProperties"] is False, name
        assert set(schema["required"]) == set(schema["properties"]), name
    assert "password" not in schemas["Smtp"]["properties"]


def test_the_id_schema_is_the_request_fields() -> None:
    schema = TypeAdapter(Id).json_schema()
    described = document()["components"]["schemas"]["Id"]
    assert {k: described[k] for k in schema} == schema


# --- the page the local runtime serves at /api/docs -----------------------------------------------


def test_the_docs_page_shows_every_operation_response_and_schema() -> None:
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
