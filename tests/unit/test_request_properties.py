"""Properties of the request parser (smtphub.http.edge.read_params + the route's request model), as the
contract says.

Whatever mix of name cases, aliases, channels (query, form body, JSON body) and empty values a client
sends, the request parses exactly as its canonical form {name: value} does, or fails with a 400 whose
`fields` names the parameter. Every endpoint's real request model is taken from its handler
(`lambda_handler.request_model`); the values drawn for a parameter follow its JSON schema.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from urllib3 import encode_multipart_formdata

from local_runtime.events import build_event
from smtphub.addresses import MAX_HOST
from smtphub.errors import InvalidInput
from smtphub.http.body import canonical_name
from smtphub.http.edge import read_params
from smtphub.http.requests import RequestModel
from smtphub.http.requests.apps import MAX_HOSTS
from smtphub.smtps.models import BOTH_TLS, REQUIRED_WITH_AUTH
from tests.support.endpoints import Endpoint, endpoint, endpoints

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
MULTIPART = "multipart/form-data"
ID_PATTERN = "^[0-9a-fA-F]{24}$"
REQUIRED = "is required"
# Messages of the rules across parameters (a model's `problems`): they may name a parameter whose own
# value is fine.
ACROSS = frozenset({REQUIRED, REQUIRED_WITH_AUTH, BOTH_TLS})

ENDPOINTS = [e for e in endpoints() if e.model.model_fields]  # logout takes no parameter
PROPERTY_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


def names(endpoint: Endpoint) -> list[str]:
    return sorted(endpoint.model.request_names())


def schema_of(model: type[RequestModel], name: str) -> dict[str, Any]:
    """The parameter's JSON schema (the model's, by alias), without pydantic's `null` of an optional one."""
    prop = model.model_json_schema(by_alias=True)["properties"][name]
    (schema,) = [branch for branch in prop.get("anyOf", [prop]) if branch != {"type": "null"}]
    return dict(schema)


def outcome(model: type[RequestModel], raw: dict[str, str]) -> tuple[str, Any]:
    """("ok", (values, the parameters given)) or ("400", fields): what a request amounts to once parsed.

    An empty value is absent (the contract): the edge drops it before any model sees it, a password's
    too (RequestModel.parse alone would keep an empty password, its white space being verbatim)."""
    try:
        parsed = model.parse({name: value for name, value in raw.items() if value != ""})
    except InvalidInput as error:
        return "400", error.fields
    return "ok", (parsed.model_dump(), sorted(parsed.model_fields_set))


def parse_event(model: type[RequestModel], event: dict[str, Any]) -> tuple[str, Any]:
    try:
        raw, problems = read_params(event, model.request_names())
        parsed = model.parse(raw, problems)
    except InvalidInput as error:
        return "400", error.fields
    return "ok", (parsed.model_dump(), sorted(parsed.model_fields_set))


def own_problem(model: type[RequestModel], name: str, value: str) -> bool:
    """Whether the model refuses `value` for the parameter given alone, for what it is (not for a rule
    across parameters: another one missing, or one excluding it)."""
    status, fields = outcome(model, {name: value})
    return status == "400" and fields.get(name, REQUIRED) not in ACROSS


# --- values: mostly well-formed for the parameter's type, sometimes anything at all -------------

# Any text a client could send: no lone surrogates (not encodable), otherwise everything incl. controls.
ANY_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)
PAD = st.sampled_from(["", "", "", " ", "\t", "  "])


def cased(word: str) -> st.SearchStrategy[str]:
    return st.tuples(*[st.sampled_from(sorted({c.lower(), c.upper()})) for c in word]).map("".join)


KINDS: list[tuple[str, Any]] = [
    ("boolean", lambda s: s.get("type") == "boolean"),
    ("identifier", lambda s: s.get("pattern") == ID_PATTERN),
    ("email", lambda s: s.get("format") == "email"),
    ("integer", lambda s: s.get("type") == "integer" and {"minimum", "maximum"} <= set(s)),
    ("choice", lambda s: "enum" in s),
    ("host", lambda s: s.get("type") == "string" and s.get("maxLength") == MAX_HOST and "format" not in s),
    ("hosts", lambda s: s.get("type") == "string" and s.get("maxLength") == MAX_HOSTS * (MAX_HOST + 1)),
    ("url", lambda s: s.get("format") == "uri"),
    ("key", lambda s: s.get("pattern") == "^[!-~]+$" and "minLength" in s),
    ("token", lambda s: s.get("pattern") == "^[!-~]{1,255}$"),  # emails/send's Idempotency-Key header
    ("datetime", lambda s: str(s.get("pattern", "")).startswith("\\d{4}-")),  # emails/send's senddate
]


def kind(schema: dict[str, Any]) -> str:
    """What a parameter is, by its JSON schema (the field types of smtphub.http.fields); `text` (names,
    usernames, passwords) takes anything."""
    return next((name for name, test in KINDS if test(schema)), "text")


def typical(model: type[RequestModel], name: str) -> st.SearchStrategy[str]:
    """Values near the parameter's type: valid ones and the near misses a client makes."""
    schema = schema_of(model, name)
    strategies: dict[str, st.SearchStrategy[str]] = {
        "boolean": st.sampled_from(["true", "false", "1", "0", "yes", "no", "on", "2"]).flatmap(cased),
        "identifier": st.text("0123456789abcdefABCDEF", min_size=23, max_size=25),
        "host": st.one_of(
            st.from_regex(r"[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?(\.[a-z]{2,6}){1,2}\.?", fullmatch=True),
            st.ip_addresses().map(str),
            st.sampled_from(["smtp.example.net:25", "http://x.y", "a b.com", "127.1", "[::1]"]),
        ),
        "email": st.one_of(st.emails(), st.sampled_from(["a@b", "no-at.example.net", "a@@b.c"])),
        "integer": st.one_of(
            st.integers(-5, 1_000_010).map(str),
            st.integers(0, 70_000).map(lambda n: f"00{n}"),
            st.sampled_from(["+5", "5.0", "1e3", "\u0663", "0x10"]),
        ),
        "choice": st.sampled_from([*schema.get("enum", []), "ROUND_ROBIN"]).flatmap(cased),
        "hosts": st.lists(
            st.sampled_from(["smtp.example.net", "192.0.2.1", "[::1]", "a b", "x..y"]), max_size=3
        ).map(",".join),
        "url": st.one_of(
            st.from_regex(
                r"[Hh]ttps://[a-z]{1,8}\.example\.(com|net)(:[0-9]{1,5})?(/[a-z]{0,5})?", fullmatch=True
            ),
            st.sampled_from(
                ["http://x.example", "https://u:p@x.example", "https://x y", "https://[::1", "ftp://x"]
            ),
        ),
        "key": st.text(
            st.characters(min_codepoint=0x20, max_codepoint=0x7E),
            min_size=schema.get("minLength", 1) - 2,
            max_size=50,
        ),
        "token": st.one_of(
            st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=256),
            st.sampled_from(["", "has space", "caf\u00e9", "tab\tkey"]),
        ),
        "datetime": st.one_of(
            st.datetimes(timezones=st.timezones()).map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%S%z")),
            st.sampled_from(["2026-12-24 10:00", "2099-02-30T10:00:00+0100", "2099-01-01T25:00:00Z"]),
        ),
        "text": ANY_TEXT,
    }
    return strategies[kind(schema)]


def value_for(model: type[RequestModel], name: str) -> st.SearchStrategy[str]:
    core = st.one_of(typical(model, name), typical(model, name), ANY_TEXT)
    return st.tuples(PAD, core, PAD).map("".join)


@st.composite
def canonical_requests(draw: st.DrawFn, endpoint: Endpoint) -> dict[str, str]:
    """{canonical name: raw value} for a random subset of the endpoint's parameters."""
    chosen = draw(st.lists(st.sampled_from(names(endpoint)), unique=True))
    return {name: draw(value_for(endpoint.model, name)) for name in chosen}


# --- spellings: any case, any alias, any channel --------------------------------------------------


# The contract's aliases (CONTRACT.md, Requests), written out here so that the code cannot drop one.
CONTRACT_ALIASES = {"ssltls": ["sslTls", "ssl_tls"], "defaultfromemail": ["defaulfromemail"]}


def spellings(name: str) -> st.SearchStrategy[str]:
    forms = [name, *CONTRACT_ALIASES.get(name, [])]
    return st.sampled_from(forms).flatmap(cased)


def json_value(model: type[RequestModel], name: str, value: str) -> Any:
    """How a JSON client may send the same value: as a string, or as the native type it stands for."""
    schema = schema_of(model, name)
    if schema.get("type") == "integer" and value.isascii() and value.isdigit() and str(int(value)) == value:
        return int(value)
    if schema.get("type") == "boolean" and value.strip().lower() in {"true", "false", "1", "0", "yes", "no"}:
        return value.strip().lower() in {"true", "1", "yes"}
    return value


@st.composite
def spelled_events(draw: st.DrawFn, endpoint: Endpoint, canonical: dict[str, str]) -> dict[str, Any]:
    """An API Gateway event that says what `canonical` says, in a random mix of spellings and channels."""
    model = endpoint.model
    post = endpoint.method == "POST"
    media = draw(st.sampled_from([FORM, JSON, MULTIPART])) if post else None
    query: list[tuple[str, str]] = []
    body: list[tuple[str, Any]] = []
    for name, value in canonical.items():
        spelled = draw(spellings(name))
        in_body = post and draw(st.booleans())
        if in_body:
            native = media == JSON and draw(st.booleans())
            body.append((spelled, json_value(model, name, value) if native else value))
            if value != "" and draw(st.booleans()):  # the query may say something else: the body wins
                query.append((draw(spellings(name)), draw(value_for(model, name))))
        else:
            query.append((spelled, value))
            if post and draw(st.booleans()):  # an empty body value does not hide the query's
                body.append(
                    (draw(spellings(name)), draw(st.sampled_from(["", None] if media == JSON else [""])))
                )
    # Parameters the canonical form does not have: empty (absent) or unknown (ignored).
    for name in names(endpoint):
        if name not in canonical and draw(st.booleans()):
            target = body if post and draw(st.booleans()) else query
            target.append((draw(spellings(name)), None if target is body and media == JSON else ""))
    # Each unknown name at most once: the edge refuses one repeated with different values (reported).
    unknowns = st.sampled_from(["utm_source", "X", "_", "idApps", "sslTlsx", "password2"])
    for unknown in draw(st.lists(unknowns, max_size=2, unique_by=str.lower)):
        (body if post and draw(st.booleans()) else query).append(
            (unknown, draw(st.text("abc 1", max_size=5)))
        )
    query = draw(st.permutations(query))
    body = draw(st.permutations(body))
    encoded: bytes | None = None
    headers: list[tuple[str, str]] = []
    if post and body:
        assert media is not None
        if media == MULTIPART:
            encoded, content_type = encode_multipart_formdata(body)
            headers.append(("Content-Type", content_type))
        else:
            headers.append(
                ("Content-Type", draw(st.sampled_from([media, f"{media}; charset=UTF-8", media.upper()])))
            )
            encoded = (json.dumps(dict(body)) if media == JSON else urlencode(body)).encode()
    return build_event(endpoint.method, endpoint.path, headers=headers, query=query, body=encoded)


@st.composite
def mixed_requests(draw: st.DrawFn) -> tuple[Endpoint, dict[str, str], dict[str, Any]]:
    endpoint = draw(st.sampled_from(ENDPOINTS))
    canonical = draw(canonical_requests(endpoint))
    return endpoint, canonical, draw(spelled_events(endpoint, canonical))


# --- the properties -------------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(mixed_requests())
def test_any_spelling_parses_as_its_canonical_form(
    request: tuple[Endpoint, dict[str, str], dict[str, Any]],
) -> None:
    endpoint, canonical, event = request
    expected = outcome(endpoint.model, canonical)
    assert parse_event(endpoint.model, event) == expected
    if expected[0] == "400":
        # A 400 names parameters of this endpoint, each one missing, refused on its own, or named by a
        # rule across parameters.
        assert set(expected[1]) <= set(names(endpoint))
        for name, message in expected[1].items():
            assert (
                name not in canonical
                or own_problem(endpoint.model, name, canonical[name])
                or message in ACROSS
            ), (name, message)


@PROPERTY_SETTINGS
@given(st.sampled_from(ENDPOINTS), st.data())
def test_a_bad_value_is_a_400_naming_the_field_in_any_spelling(
    endpoint: Endpoint, data: st.DataObject
) -> None:
    """One value its parser refuses, in any spelling and channel: 400, and `fields` names it."""
    name = data.draw(st.sampled_from(names(endpoint)))
    bad = data.draw(value_for(endpoint.model, name).filter(lambda v: own_problem(endpoint.model, name, v)))
    event = data.draw(spelled_events(endpoint, {name: bad}))
    status, fields = parse_event(endpoint.model, event)
    assert status == "400"
    assert name in fields
    assert isinstance(fields[name], str)
    assert fields[name]
    assert fields[name] not in ACROSS  # its own problem comes first


@PROPERTY_SETTINGS
@given(st.sampled_from([e for e in ENDPOINTS if e.method == "POST"]), st.data())
def test_a_nested_json_value_is_a_400_naming_the_field(endpoint: Endpoint, data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(names(endpoint)))
    spelled = data.draw(spellings(name))
    nested = data.draw(
        st.one_of(
            st.lists(st.text(max_size=3), max_size=2),
            st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
        )
    )
    event = build_event(
        "POST", endpoint.path, headers=[("Content-Type", JSON)], body=json.dumps({spelled: nested}).encode()
    )
    status, fields = parse_event(endpoint.model, event)
    assert status == "400"
    assert name in fields


@PROPERTY_SETTINGS
@given(st.sampled_from(ENDPOINTS), st.data())
def test_one_name_twice_with_different_values_is_a_400_naming_it(
    endpoint: Endpoint, data: st.DataObject
) -> None:
    """Two spellings of a name in one channel must agree; if they do not, the 400 names the parameter."""
    name = data.draw(st.sampled_from(names(endpoint)))
    first, second = data.draw(
        st.lists(st.text("abcdef0123", min_size=1, max_size=6), min_size=2, max_size=2, unique=True)
    )
    pairs = [(data.draw(spellings(name)), first), (data.draw(spellings(name)), second)]
    if endpoint.method == "POST" and data.draw(st.booleans()):
        event = build_event(
            "POST", endpoint.path, headers=[("Content-Type", FORM)], body=urlencode(pairs).encode()
        )
    else:
        event = build_event(endpoint.method, endpoint.path, query=pairs)
    status, fields = parse_event(endpoint.model, event)
    assert status == "400"
    assert name in fields


@PROPERTY_SETTINGS
@given(st.sampled_from([e for e in ENDPOINTS if e.method == "POST"]), st.data())
def test_the_body_wins_over_the_query(endpoint: Endpoint, data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(names(endpoint)))
    in_body, in_query = data.draw(st.lists(value_for(endpoint.model, name), min_size=2, max_size=2))
    media = data.draw(st.sampled_from([FORM, JSON]))
    body = json.dumps({name: in_body}) if media == JSON else urlencode({name: in_body})
    event = build_event(
        "POST",
        endpoint.path,
        headers=[("Content-Type", media)],
        query=[(data.draw(spellings(name)), in_query)] if in_query else [],
        body=body.encode(),
    )
    expected = outcome(endpoint.model, {name: in_body or in_query})
    assert parse_event(endpoint.model, event) == expected


# --- the clients that exist, as worked examples -------------------------------------------------

SMTP_ID = "6741f0b7d1e2f3a4b5c6d7e8"


def test_queuemails_java_client_form_parses_as_canonical() -> None:
    """The exact fields QueueMail's Java client posts, form-encoded, with `sslTls` spelled its way."""
    form = {
        "idapp": "6741f0a2c3d4e5f6a7b8c9d0",
        "priority": "10",
        "host": "smtp.example.net",
        "port": "587",
        "username": "user@example.net",
        "password": " p@ss word ",
        "auth": "true",
        "starttls": "true",
        "sslTls": "false",
        "debug": "false",
        "defaultfromemail": "info@example.net",
        "defaultfromname": "Info",
    }
    model = endpoint("/private/smtps/save").model
    event = build_event(
        "POST",
        "/private/smtps/save",
        headers=[("Content-Type", "application/x-www-form-urlencoded; charset=UTF-8")],
        body=urlencode(form).encode(),
    )
    raw, problems = read_params(event, model.request_names())
    values = model.parse(raw, problems)
    assert values == model.parse({canonical_name(k): v for k, v in form.items()})
    assert values.ssltls is False  # type: ignore[attr-defined]
    assert values.port == 587  # type: ignore[attr-defined]
    assert values.password == " p@ss word "  # type: ignore[attr-defined]  # kept verbatim


@pytest.mark.parametrize("alias", ["sslTls", "SSLTLS", "ssl_tls", "Ssl_Tls"])
def test_each_alias_of_ssltls_is_read(alias: str) -> None:
    model = endpoint("/private/smtps/save").model
    event = build_event(
        "POST",
        "/private/smtps/save",
        headers=[("Content-Type", JSON)],
        body=json.dumps({alias: True, "idsmtp": SMTP_ID}).encode(),
    )
    raw, problems = read_params(event, model.request_names())
    assert raw == {"ssltls": "true", "idsmtp": SMTP_ID}
    assert model.parse(raw, problems).given() == {"smtp_id": SMTP_ID, "ssltls": True}


def test_upstream_typo_defaulfromemail_is_read() -> None:
    model = endpoint("/private/apps/save").model
    event = build_event(
        "POST",
        "/private/apps/save",
        query=[("DefaulFromEmail", "info@example.net"), ("IdApp", "6741f0a2c3d4e5f6a7b8c9d0")],
    )
    raw, problems = read_params(event, model.request_names())
    assert raw == {"defaultfromemail": "info@example.net", "idapp": "6741f0a2c3d4e5f6a7b8c9d0"}
    assert model.parse(raw, problems).given("app_id") == {"defaultfromemail": "info@example.net"}


def test_every_parameter_has_a_strategy_of_its_kind() -> None:
    """The dispatch on the JSON schema sees each field type of smtphub.http.fields (none falls to `text`
    by accident): what each endpoint's parameters are."""
    kinds = {(str(e), name): kind(schema_of(e.model, name)) for e in ENDPOINTS for name in names(e)}
    assert kinds[("POST /private/smtps/save", "host")] == "host"
    assert kinds[("POST /private/smtps/save", "port")] == "integer"
    assert kinds[("POST /private/smtps/save", "ssltls")] == "boolean"
    assert kinds[("POST /private/smtps/save", "defaultfromemail")] == "email"
    assert kinds[("POST /private/smtps/save", "idsmtp")] == "identifier"
    assert kinds[("POST /private/apps/save", "strategy")] == "choice"
    assert kinds[("GET /private/apps/findAll", "size")] == "integer"
    assert kinds[("POST /private/apps/save", "webhook_sending_error")] == "url"
    assert kinds[("POST /private/apps/save", "originserver")] == "hosts"
    assert kinds[("POST /private/apps/save", "webhooksecret")] == "key"
    for (where, name), found in kinds.items():
        schema = schema_of(endpoint(where.split(" ", 1)[1], where.split(" ", 1)[0]).model, name)
        if found == "text":  # only what has no rule beyond a length: a name, a user, a secret
            assert not {"pattern", "enum", "minimum", "maximum"} & set(schema), (where, name, schema)
            assert schema.get("format") in (None, "password"), (where, name, schema)
