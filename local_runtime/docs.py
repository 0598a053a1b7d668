"""The API description served by the local runtime: /<stage>/openapi.yaml and a readable /<stage>/docs.

The page is generated from openapi.yaml at each request, self-contained: no script, no font, no
stylesheet or anything else fetched from anywhere (its Content-Security-Policy says so).
"""

from __future__ import annotations

import html
import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

from local_runtime.events import ROOT
from local_runtime.gateway import Reply

OPENAPI = ROOT / "openapi.yaml"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_HEADERS = [("Cache-Control", "no-store"), ("X-Content-Type-Options", "nosniff")]
_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
_STYLE = """
body{font:15px/1.5 system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;color:#1d232a}
h1{margin-bottom:0}h2{border-bottom:2px solid #d0d7de;padding-bottom:.2rem;margin-top:2.5rem}
h3{margin:1.5rem 0 .3rem}code,pre{font:13px/1.4 ui-monospace,monospace}
pre{background:#f6f8fa;padding:.6rem;overflow:auto;border-radius:4px}
table{border-collapse:collapse;width:100%;margin:.4rem 0}td,th{border:1px solid #d0d7de;padding:.25rem .5rem;
text-align:left;vertical-align:top}th{background:#f6f8fa}.m{font-weight:700;padding:0 .4rem;border-radius:3px;
color:#fff}.get{background:#1f6feb}.post{background:#1a7f37}.lock{color:#9a6700}nav a{margin-right:.8rem}
"""


def reply_for(path: str, *, source: Path = OPENAPI) -> Reply | None:
    """The answer to GET <stage><path>, when `path` is the description or its page; else None."""
    if path == "/openapi.yaml":
        headers = [("Content-Type", "application/yaml; charset=utf-8"), *_HEADERS]
        return Reply(200, headers, source.read_bytes())
    if path in ("/docs", "/docs/"):
        document = yaml.safe_load(source.read_text(encoding="utf-8"))
        headers = [
            ("Content-Type", "text/html; charset=utf-8"),
            ("Content-Security-Policy", _CSP),
            *_HEADERS,
        ]
        return Reply(200, headers, render(document).encode("utf-8"))
    return None


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _inline(text: str) -> str:
    """Escaped text with the description's little markdown: `code` and **strong**."""
    escaped = _e(text)
    escaped = re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped)
    return re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", escaped)


def _paragraphs(text: str | None) -> str:
    """Blank-line separated paragraphs; a block of "- " lines is a list."""
    out = []
    for block in (text or "").split("\n\n"):
        lines = [line.strip() for line in block.strip().splitlines()]
        if not lines:
            continue
        if lines[0].startswith("- "):
            items: list[str] = []
            for line in lines:
                if line.startswith("- "):
                    items.append(line[2:])
                else:
                    items[-1] += " " + line
            out.append("<ul>" + "".join(f"<li>{_inline(item)}</li>" for item in items) + "</ul>")
        else:
            out.append(f"<p>{_inline(' '.join(lines))}</p>")
    return "".join(out)


class _Renderer:
    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document

    def resolve(self, node: Any) -> tuple[str | None, Any]:
        """(component name, node) with a $ref followed; siblings of the $ref are kept."""
        name = None
        while isinstance(node, dict) and "$ref" in node:
            pointer = str(node["$ref"])
            name = pointer.rsplit("/", 1)[-1]
            target: Any = self.document
            for part in pointer.removeprefix("#/").split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return name, node

    def schema(self, node: Any) -> str:
        """A one-line summary of a schema: its component name, type and constraints."""
        name, schema = self.resolve(node)
        if not isinstance(schema, dict):
            return ""
        parts = []
        if name:
            parts.append(f'<a href="#schema-{_e(name)}">{_e(name)}</a>')
        joiners = {"allOf": " with ", "oneOf": " or ", "anyOf": " or "}
        for key, joiner in joiners.items():
            if key in schema and not name:
                parts.append(joiner.join(filter(None, (self.schema(part) for part in schema[key]))))
        kind = schema.get("type")
        if kind and not name:
            parts.append(_e(" | ".join(kind) if isinstance(kind, list) else kind))
        for key in ("const", "enum", "format", "pattern", "minimum", "maximum", "maxLength", "default"):
            if key in schema:
                value = schema[key]
                shown = ", ".join(map(str, value)) if isinstance(value, list) else value
                parts.append(f"<code>{_e(key)}: {_e(shown)}</code>")
        properties = schema.get("properties")
        if properties and not name:
            shown = [
                f"{_e(key)}{': ' + self.schema(value) if self.schema(value) else ''}"
                for key, value in properties.items()
            ]
            parts.append("{" + ", ".join(shown) + "}")
        return " ".join(part for part in parts if part)

    def properties_table(self, node: Any) -> str:
        _, schema = self.resolve(node)
        properties = schema.get("properties", {}) if isinstance(schema, dict) else {}
        if not properties:
            return ""
        required = set(schema.get("required", []))
        rows = "".join(
            f"<tr><td><code>{_e(name)}</code>{' *' if name in required else ''}</td>"
            f"<td>{self.schema(prop)}</td><td>{_inline(self.resolve(prop)[1].get('description', ''))}</td>"
            "</tr>"
            for name, prop in properties.items()
        )
        return f"<table><tr><th>name</th><th>schema</th><th>description</th></tr>{rows}</table>"

    def examples(self, media: dict[str, Any]) -> str:
        found = []
        if "example" in media:
            found.append(("example", media["example"]))
        for key, example in (media.get("examples") or {}).items():
            found.append((key, self.resolve(example)[1].get("value")))
        return "".join(
            f"<p>{_e(key)}:</p><pre>{_e(json.dumps(value, indent=2, ensure_ascii=False))}</pre>"
            for key, value in found
        )

    def operation(self, method: str, path: str, operation: dict[str, Any]) -> str:
        anchor = f"{method}-{path}".replace("/", "-")
        secured = operation.get("security", self.document.get("security")) != []
        out = [
            f'<h3 id="{_e(anchor)}"><span class="m {_e(method)}">{_e(method.upper())}</span> '
            f"<code>{_e(path)}</code> {'<span class=lock>Bearer</span>' if secured else '(public)'}</h3>",
            f"<p><strong>{_inline(operation.get('summary', ''))}</strong></p>",
            _paragraphs(operation.get("description")),
        ]
        parameters = [self.resolve(p)[1] for p in operation.get("parameters", [])]
        if parameters:
            rows = "".join(
                f"<tr><td><code>{_e(p['name'])}</code>{' *' if p.get('required') else ''}</td>"
                f"<td>{_e(p['in'])}</td><td>{self.schema(p.get('schema', {}))}</td>"
                f"<td>{_inline(p.get('description', ''))}</td></tr>"
                for p in parameters
            )
            out.append(
                "<p>Parameters (* required):</p><table><tr><th>name</th><th>in</th><th>schema</th>"
                f"<th>description</th></tr>{rows}</table>"
            )
        if "requestBody" in operation:
            _, body = self.resolve(operation["requestBody"])
            media_types = ", ".join(f"<code>{_e(m)}</code>" for m in body.get("content", {}))
            out.append(f"<p>Body ({media_types}), * required:</p>")
            first: dict[str, Any] = next(iter(body.get("content", {}).values()), {})
            out.append(self.properties_table(first.get("schema", {})))
            out.append(self.examples(first))
        answers: list[str] = []
        for status, declared in operation.get("responses", {}).items():
            _, response = self.resolve(declared)
            content = response.get("content", {}).get("application/json")
            body = self.schema(content["schema"]) if content else "empty body"
            answers.append(
                f"<tr><td>{_e(status)}</td><td>{_inline(response.get('description', ''))}</td><td>{body}"
                f"{self.examples(content) if content else ''}</td></tr>"
            )
        out.append(
            "<p>Responses:</p><table><tr><th>status</th><th>when</th><th>body</th></tr>"
            + "".join(answers)
            + "</table>"
        )
        return "\n".join(out)

    def page(self) -> str:
        info = self.document.get("info", {})
        paths = self.document.get("paths", {})
        operations = [
            (method, path, operation)
            for path, item in paths.items()
            for method, operation in item.items()
            if method in METHODS
        ]
        nav = "".join(
            f'<a href="#{_e(f"{m}-{p}".replace("/", "-"))}">{_e(m.upper())} {_e(p)}</a>'
            for m, p, _ in operations
        )
        servers = "".join(
            f"<li><code>{_e(s['url'])}</code> {_e(s.get('description', ''))}</li>"
            for s in self.document.get("servers", [])
        )
        schemas = "".join(
            f'<h3 id="schema-{_e(name)}">{_e(name)}</h3>{_paragraphs(schema.get("description"))}'
            f"<p>{self.schema({k: v for k, v in schema.items() if k != 'properties'})}</p>"
            f"{self.properties_table(schema)}"
            for name, schema in self.document.get("components", {}).get("schemas", {}).items()
        )
        return (
            '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{_e(info.get('title', 'API'))} {_e(info.get('version', ''))}</title>"
            f"<style>{_STYLE}</style></head><body>"
            f"<h1>{_e(info.get('title', 'API'))} <small>{_e(info.get('version', ''))}</small></h1>"
            f"<p>{_e(info.get('summary', ''))} — the machine-readable description is "
            '<a href="openapi.yaml">openapi.yaml</a> (OpenAPI '
            f"{_e(self.document.get('openapi', ''))}).</p>"
            f"<ul>{servers}</ul><nav>{nav}</nav>"
            f"<h2>About</h2>{_paragraphs(info.get('description'))}"
            f"<h2>Operations</h2>{''.join(self.operation(m, p, o) for m, p, o in operations)}"
            f"<h2>Schemas</h2>{schemas}"
            "</body></html>"
        )


def render(document: dict[str, Any]) -> str:
    """The description as one HTML page."""
    return _Renderer(document).page()


def documentation_parts(document: dict[str, Any]) -> dict[str, Any]:
    """The description as API Gateway documentation parts, for `aws apigateway import-documentation-parts`.

    An OpenAPI 3.0 wrapper whose `x-amazon-apigateway-documentation` holds one part for the API, one
    per method (its summary, description, parameters and security), one per query parameter and one
    per documented response. Importing parts does not change the API itself.
    """
    info = document.get("info", {})
    renderer = _Renderer(document)
    parts: list[dict[str, Any]] = [
        {
            "location": {"type": "API"},
            "properties": {"summary": info.get("summary", ""), "description": info.get("description", "")},
        }
    ]
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            where = {"path": path, "method": method.upper()}
            parameters: dict[str, Any] = {}
            if "requestBody" in operation:
                _, body = renderer.resolve(operation["requestBody"])
                media: dict[str, Any] = next(iter(body.get("content", {}).values()), {})
                _, schema = renderer.resolve(media.get("schema", {}))
                required = set(schema.get("required", []))
                for name, prop in schema.get("properties", {}).items():
                    parameters[name] = {
                        "required": name in required,
                        "description": renderer.resolve(prop)[1].get("description", ""),
                    }
            secured = operation.get("security", document.get("security")) != []
            parts.append(
                {
                    "location": {"type": "METHOD", **where},
                    "properties": {
                        "summary": operation.get("summary", ""),
                        "description": operation.get("description", ""),
                        "tags": operation.get("tags", []),
                        "security": "Authorization: Bearer <token from POST /auth/login>"
                        if secured
                        else "none",
                        **({"bodyParameters": parameters} if parameters else {}),
                    },
                }
            )
            for parameter in (renderer.resolve(p)[1] for p in operation.get("parameters", [])):
                parts.append(
                    {
                        "location": {"type": "QUERY_PARAMETER", **where, "name": parameter["name"]},
                        "properties": {
                            "description": parameter.get("description", ""),
                            "required": bool(parameter.get("required")),
                        },
                    }
                )
            for status, declared in operation.get("responses", {}).items():
                _, response = renderer.resolve(declared)
                parts.append(
                    {
                        "location": {"type": "RESPONSE", **where, "statusCode": str(status)},
                        "properties": {"description": response.get("description", "")},
                    }
                )
    return {
        "openapi": "3.0.1",
        "info": {"title": info.get("title", "API"), "version": info.get("version", "1")},
        "paths": {},
        "x-amazon-apigateway-documentation": {
            "version": info.get("version", "1"),
            "documentationParts": parts,
        },
    }


def main(argv: list[str] | None = None) -> int:
    """`python -m local_runtime.docs apigateway` prints the documentation parts; `html`, the page."""
    arguments = sys.argv[1:] if argv is None else argv
    document = yaml.safe_load(OPENAPI.read_text(encoding="utf-8"))
    if arguments == ["apigateway"]:
        print(json.dumps(documentation_parts(document), indent=2, ensure_ascii=False))
    elif arguments == ["html"]:
        print(render(document))
    else:
        print("usage: python -m local_runtime.docs apigateway|html", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
