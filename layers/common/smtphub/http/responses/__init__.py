"""The response bodies, declared once: one TypedDict per body and per nested shape, and the serializer
that builds it from the domain, one module per feature as the requests (`apps`, `smtps`, `checks`,
`accounts`; the error body is `smtphub.http.errors.ErrorJson`).

- The JSON's members are the TypedDict's, in its order: mypy (strict) checks that each serializer writes
  every member, no other, with its type, and the members' order is the dict literal's (tested).
- openapi.yaml's response schemas are derived from these types by `make openapi` (tools/openapi, with
  pydantic's TypeAdapter): a handler's return annotation is its 200. A member's description is the
  docstring under it, the shape's its class docstring; its JSON Schema comes from its type, from a
  request field type it is stored from (`smtphub.http.fields`), or from the markers below.
- Nothing here runs pydantic: annotations are evaluated at import (plain types, cheap to build: a string
  annotation, as `from __future__ import annotations` makes them, costs a TypedDict more at import under
  Python 3.13), and the markers only hold their arguments until `make openapi` asks them for a schema.
- `typing_extensions.TypedDict`: pydantic reads typing's only from Python 3.12 (`make openapi` runs 3.11).

The shared scalars: `Id`, `Timestamp` and `CheckStage`, each a named schema of openapi.yaml.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from pydantic import WithJsonSchema
from typing_extensions import TypeAliasType

from smtphub.http import fields

if TYPE_CHECKING:
    from pydantic import GetJsonSchemaHandler
    from pydantic_core import CoreSchema


class OneOf:
    """A text member's JSON Schema `enum`: the values of `names` in `module` (each a value or a tuple of
    them), read when `make openapi` asks; nothing is imported at run time. (A plain class: a dataclass
    costs more to create at import.)"""

    __slots__ = ("module", "names")

    def __init__(self, module: str, *names: str) -> None:
        self.module = module
        self.names = names

    def __get_pydantic_json_schema__(self, core: CoreSchema, handler: GetJsonSchemaHandler) -> dict[str, Any]:
        import importlib  # noqa: PLC0415 - make openapi only

        found = importlib.import_module(self.module)
        values: list[Any] = []
        for name in self.names:
            value = getattr(found, name)
            values += list(value) if isinstance(value, tuple | list) else [value]
        return {**handler(core), "enum": values}


DateTime = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"})]  # ISO 8601, UTC
Id = TypeAliasType("Id", fields.Id)
Timestamp = TypeAliasType("Timestamp", DateTime)
CheckStage = TypeAliasType("CheckStage", Annotated[str, OneOf("smtphub.smtp.stages", "STAGES")])
