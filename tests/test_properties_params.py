"""Properties of the request parser (smtphub.http.raw_params + Spec.parse), as the contract says.

Whatever mix of name cases, aliases, channels (query, form body, JSON body) and empty values a client
sends, the request parses exactly as its canonical form {name: value} does, or fails with a 400
whose `fields` names the parameter. Every endpoint's real Spec is taken from its handler.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from local_runtime import template
from local_runtime.events import build_event
from smtphub import params as p
from smtphub.errors import BadRequest
from smtphub.http import raw_params
from smtphub.params import Param, Spec, canonical_name
from tests.test_openapi_sync import handler_parts

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    spec: Spec


ENDPOINTS = [
    Endpoint(route.method, route.path, handler_parts(route)[0])
    for route in template.routes(template.default())
]
PROPERTY_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


def outcome(spec: Spec, raw: dict[str, str]) -> tuple[str, Any]:
    """("ok", values) or ("400", fields): what a request amounts to once parsed."""
    try:
        return "ok", spec.parse(raw)
    except BadRequest as error:
        return "400", error.fields


def parse_event(spec: Spec, event: dict[str, Any]) -> tuple[str, Any]:
    try:
        return outcome(spec, raw_params(event))
    except BadRequest as error:
        return "400", error.fields


# --- values: mostly well-formed for the parameter's type, sometimes anything at all -------------

# Any text a client could send: no lone surrogates (not encodable), otherwise everything incl. controls.
ANY_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)
PAD = st.sampled_from(["", "", "", " ", "\t", "  "])


def cased(word: str) -> st.SearchStrategy[str]:
    return st.tuples(*[st.sampled_from(sorted({c.lower(), c.upper()})) for c in word]).map("".join)


def typical(param: Param) -> st.SearchStrategy[str]:
    """Values near the parameter's type: valid ones and the near misses a client makes."""
    by_parser: dict[Any, st.SearchStrategy[str]] = {
        p.boolean: st.sampled_from(["true", "false", "1", "0", "yes", "no", "on", "2"]).flatmap(cased),
        p.identifier: st.text("0123456789abcdefABCDEF", min_size=23, max_size=25),
        p.host: st.one_of(
            st.from_regex(r"[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?(\.[a-z]{2,6}){1,2}\.?", fullmatch=True),
            st.ip_addresses().map(str),
            st.sampled_from(["smtp.example.net:25", "http://x.y", "a b.com", "127.1", "[::1]"]),
        ),
        p.email: st.one_of(st.emails(), st.sampled_from(["a@b", "no-at.example.net", "a@@b.c"])),
    }
    by_factory: dict[str, st.SearchStrategy[str]] = {
        "integer": st.one_of(
            st.integers(-5, 1_000_010).map(str),
            st.integers(0, 70_000).map(lambda n: f"00{n}"),
            st.sampled_from(["+5", "5.0", "1e3", "\u0663", "0x10"]),
        ),
        "choice": st.sampled_from(["RANDOM", "PRIORITY", "ROUND_ROBIN"]).flatmap(cased),
    }
    if param.parse in by_parser:
        return by_parser[param.parse]
    return by_factory.get(param.parse.__qualname__.split(".", 1)[0], ANY_TEXT)  # text, secret: anything


def value_for(param: Param) -> st.SearchStrategy[str]:
    core = st.one_of(typical(param), typical(param), ANY_TEXT)
    return st.tuples(PAD, core, PAD).map("".join)


@st.composite
def canonical_requests(draw: st.DrawFn, spec: Spec) -> dict[str, str]:
    """{canonical name: raw value} for a random subset of the endpoint's parameters."""
    chosen = draw(st.lists(st.sampled_from(spec.params), unique_by=lambda param: param.name))
    return {param.name: draw(value_for(param)) for param in chosen}


# --- spellings: any case, any alias, any channel --------------------------------------------------


# The contract's aliases (CONTRACT.md, Requests), written out here so that the code cannot drop one.
CONTRACT_ALIASES = {"ssltls": ["sslTls", "ssl_tls"], "defaultfromemail": ["defaulfromemail"]}


def spellings(name: str) -> st.SearchStrategy[str]:
    forms = [name, *CONTRACT_ALIASES.get(name, [])]
    return st.sampled_from(forms).flatmap(cased)


def json_value(param: Param, value: str) -> Any:
    """How a JSON client may send the same value: as a string, or as the native type it stands for."""
    factory = param.parse.__qualname__.split(".", 1)[0]
    if factory == "integer" and value.isascii() and value.isdigit() and str(int(value)) == value:
        return int(value)
    if param.parse is p.boolean and value.strip().lower() in {"true", "false", "1", "0", "yes", "no"}:
        return p.boolean(value)
    return value


@st.composite
def spelled_events(draw: st.DrawFn, endpoint: Endpoint, canonical: dict[str, str]) -> dict[str, Any]:
    """An API Gateway event that says what `canonical` says, in a random mix of spellings and channels."""
    by_name = {param.name: param for param in endpoint.spec.params}
    post = endpoint.method == "POST"
    media = draw(st.sampled_from([FORM, JSON])) if post else None
    query: list[tuple[str, str]] = []
    body: list[tuple[str, Any]] = []
    for name, value in canonical.items():
        spelled = draw(spellings(name))
        in_body = post and draw(st.booleans())
        if in_body:
            body.append(
                (
                    spelled,
                    json_value(by_name[name], value) if media == JSON and draw(st.booleans()) else value,
                )
            )
            if value != "" and draw(st.booleans()):  # the query may say something else: the body wins
                query.append((draw(spellings(name)), draw(value_for(by_name[name]))))
        else:
            query.append((spelled, value))
            if post and draw(st.booleans()):  # an empty body value does not hide the query's
                body.append(
                    (draw(spellings(name)), draw(st.sampled_from(["", None] if media == JSON else [""])))
                )
    # Parameters the canonical form does not have: empty (absent) or unknown (ignored).
    for param in endpoint.spec.params:
        if param.name not in canonical and draw(st.booleans()):
            target = body if post and draw(st.booleans()) else query
            target.append((draw(spellings(param.name)), "" if target is query or media == FORM else None))
    # Each unknown name at most once: smtphub.http refuses one repeated with different values (reported).
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
        headers.append(
            ("Content-Type", draw(st.sampled_from([media, f"{media}; charset=UTF-8", media.upper()])))
        )
        encoded = (json.dumps(dict(body)) if media == JSON else urlencode(body)).encode()
    return build_event(endpoint.method, endpoint.path, headers=headers, query=query, body=encoded)


@st.composite
def mixed_requests(draw: st.DrawFn) -> tuple[Endpoint, dict[str, str], dict[str, Any]]:
    endpoint = draw(st.sampled_from(ENDPOINTS))
    canonical = draw(canonical_requests(endpoint.spec))
    return endpoint, canonical, draw(spelled_events(endpoint, canonical))


# --- the properties -------------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(mixed_requests())
def test_any_spelling_parses_as_its_canonical_form(
    request: tuple[Endpoint, dict[str, str], dict[str, Any]],
) -> None:
    endpoint, canonical, event = request
    expected = outcome(endpoint.spec, canonical)
    assert parse_event(endpoint.spec, event) == expected
    if expected[0] == "400":
        # A 400 names parameters of this endpoint, each one missing or bad in the canonical form.
        names = {param.name for param in endpoint.spec.params}
        assert set(expected[1]) <= names
        for name in expected[1]:
            assert (
                name not in canonical
                or outcome(
                    Spec(*(q for q in endpoint.spec.params if q.name == name)), {name: canonical[name]}
                )[0]
                == "400"
            )


@PROPERTY_SETTINGS
@given(st.sampled_from(ENDPOINTS), st.data())
def test_a_bad_value_is_a_400_naming_the_field_in_any_spelling(
    endpoint: Endpoint, data: st.DataObject
) -> None:
    """One value its parser refuses, in any spelling and channel: 400, and `fields` names it."""
    param = data.draw(st.sampled_from(endpoint.spec.params))
    bad = data.draw(value_for(param).filter(lambda v: outcome(Spec(param), {param.name: v})[0] == "400"))
    event = data.draw(spelled_events(endpoint, {param.name: bad}))
    status, fields = parse_event(endpoint.spec, event)
    assert status == "400"
    assert param.name in fields
    assert isinstance(fields[param.name], str)
    assert fields[param.name]


@PROPERTY_SETTINGS
@given(st.sampled_from([e for e in ENDPOINTS if e.method == "POST"]), st.data())
def test_a_nested_json_value_is_a_400_naming_the_field(endpoint: Endpoint, data: st.DataObject) -> None:
    param = data.draw(st.sampled_from(endpoint.spec.params))
    spelled = data.draw(spellings(param.name))
    nested = data.draw(
        st.one_of(
            st.lists(st.text(max_size=3), max_size=2),
            st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
        )
    )
    event = build_event(
        "POST", endpoint.path, headers=[("Content-Type", JSON)], body=json.dumps({spelled: nested}).encode()
    )
    status, fields = parse_event(endpoint.spec, event)
    assert status == "400"
    assert param.name in fields


@PROPERTY_SETTINGS
@given(st.sampled_from(ENDPOINTS), st.data())
def test_one_name_twice_with_different_values_is_a_400_naming_it(
    endpoint: Endpoint, data: st.DataObject
) -> None:
    """Two spellings of a name in one channel must agree; if they do not, the 400 names the parameter."""
    param = data.draw(st.sampled_from(endpoint.spec.params))
    first, second = data.draw(
        st.lists(st.text("abcdef0123", min_size=1, max_size=6), min_size=2, max_size=2, unique=True)
    )
    pairs = [(data.draw(spellings(param.name)), first), (data.draw(spellings(param.name)), second)]
    if endpoint.method == "POST" and data.draw(st.booleans()):
        event = build_event(
            "POST", endpoint.path, headers=[("Content-Type", FORM)], body=urlencode(pairs).encode()
        )
    else:
        event = build_event(endpoint.method, endpoint.path, query=pairs)
    status, fields = parse_event(endpoint.spec, event)
    assert status == "400"
    assert param.name in fields


@PROPERTY_SETTINGS
@given(st.sampled_from([e for e in ENDPOINTS if e.method == "POST"]), st.data())
def test_the_body_wins_over_the_query(endpoint: Endpoint, data: st.DataObject) -> None:
    param = data.draw(st.sampled_from(endpoint.spec.params))
    in_body, in_query = data.draw(st.lists(value_for(param), min_size=2, max_size=2))
    media = data.draw(st.sampled_from([FORM, JSON]))
    body = json.dumps({param.name: in_body}) if media == JSON else urlencode({param.name: in_body})
    event = build_event(
        "POST",
        endpoint.path,
        headers=[("Content-Type", media)],
        query=[(data.draw(spellings(param.name)), in_query)] if in_query else [],
        body=body.encode(),
    )
    expected = outcome(endpoint.spec, {param.name: in_body or in_query})
    assert parse_event(endpoint.spec, event) == expected


# --- the clients that exist, as worked examples -------------------------------------------------


def endpoint(path: str) -> Endpoint:
    (found,) = (e for e in ENDPOINTS if e.path == path)
    return found


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
    spec = endpoint("/private/smtps/save").spec
    event = build_event(
        "POST",
        "/private/smtps/save",
        headers=[("Content-Type", "application/x-www-form-urlencoded; charset=UTF-8")],
        body=urlencode(form).encode(),
    )
    values = spec.parse(raw_params(event))
    assert values == spec.parse({canonical_name(k): v for k, v in form.items()})
    assert values["ssltls"] is False
    assert values["port"] == 587
    assert values["password"] == " p@ss word "  # kept verbatim


@pytest.mark.parametrize("alias", ["sslTls", "SSLTLS", "ssl_tls", "Ssl_Tls"])
def test_each_alias_of_ssltls_is_read(alias: str) -> None:
    spec = endpoint("/private/smtps/save").spec
    event = build_event(
        "POST",
        "/private/smtps/save",
        headers=[("Content-Type", JSON)],
        body=json.dumps({alias: True}).encode(),
    )
    assert spec.parse(raw_params(event)) == {"ssltls": True}


def test_upstream_typo_defaulfromemail_is_read() -> None:
    spec = endpoint("/private/apps/save").spec
    event = build_event("POST", "/private/apps/save", query=[("DefaulFromEmail", "info@example.net")])
    assert spec.parse(raw_params(event)) == {"defaultfromemail": "info@example.net"}
