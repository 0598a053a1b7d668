"""openapi.yaml as the tests read it: the document, its operations, $refs followed, and JSON Schema
validators for any schema in it (with its references resolved inside the document)."""

from __future__ import annotations

from functools import cache
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tools.openapi.generate import OPENAPI

DOC_URI = "urn:smtp-hub:openapi"
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
MULTIPART = "multipart/form-data"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


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
    """(METHOD, path) -> the operation."""
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


def response_schema_pointer(method: str, path: str, status: str) -> str:
    """Where the JSON schema of an operation's response is (in the operation, or its shared response)."""
    declared = operations()[(method, path)]["responses"][status]
    if "$ref" in declared:
        name = declared["$ref"].rpartition("/")[2]
        return pointer_to("components", "responses", name, "content", JSON, "schema")
    return pointer_to("paths", path, method.lower(), "responses", status, "content", JSON, "schema")
