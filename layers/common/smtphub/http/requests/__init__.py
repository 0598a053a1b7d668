"""One pydantic model per endpoint, holding every rule the request alone decides, and the typed command
it becomes. Field names are the domain's; aliases are the contract's parameter names (lower case: the
edge folds case and the contract's other spellings before a model sees them).

One module per feature (`smtps`, `apps`, `accounts`), so that a function builds only its own models
(make bench, "Cold start"). Rules that need stored state (an edit's merged result, the password
binding) are the service's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, ValidationError

from smtphub.errors import InvalidInput
from smtphub.http.body import MAX_BODY_BYTES

REQUIRED = "is required"


class RequestModel(BaseModel):
    """A request's parameters. `parse` reports every problem in one InvalidInput: each parameter's own,
    and the rules across parameters (`problems`) judged on the parameters that are fine."""

    # hide_input_in_errors: a ValidationError's text never holds a value (a password), wherever it ends up.
    model_config = ConfigDict(
        frozen=True, extra="ignore", validate_by_alias=True, validate_by_name=False, hide_input_in_errors=True
    )
    # Parameters whose white space is part of the value; any other blank value counts as absent.
    VERBATIM: ClassVar[frozenset[str]] = frozenset({"password"})
    # The largest body the route reads (bytes), the parameters it takes as multipart file parts, and the
    # request headers it reads as parameters (lower-case names; never from the query or the body).
    MAX_BODY_BYTES: ClassVar[int] = MAX_BODY_BYTES
    FILES: ClassVar[frozenset[str]] = frozenset()
    HEADERS: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def request_names(cls) -> frozenset[str]:
        return frozenset(field.alias or name for name, field in cls.model_fields.items())

    @classmethod
    def parse(
        cls,
        raw: Mapping[str, str],
        problems: Mapping[str, str] | None = None,
        files: Mapping[str, Sequence[Any]] | None = None,
    ) -> Self:
        """The model of `raw` (and of `files`, the file parts of the FILES parameters, which replace a text
        value of the same name), or one InvalidInput naming every problem."""
        found = dict(problems or {})
        texts = {k: v for k, v in raw.items() if v.strip() or (k in cls.VERBATIM and v)}
        values: dict[str, Any] = {
            **texts,
            **{name: tuple(parts) for name, parts in (files or {}).items() if parts},
        }
        try:
            model = cls.model_validate({k: v for k, v in values.items() if k not in found})
        except ValidationError as error:
            for detail in error.errors(include_url=False, include_context=False, include_input=False):
                name = str(detail["loc"][0]) if detail["loc"] else "body"
                found.setdefault(name, REQUIRED if detail["type"] == "missing" else detail["msg"])
            try:  # the rules across parameters, on the ones that are fine
                model = cls.model_validate({k: v for k, v in values.items() if k not in found})
            except ValidationError:
                raise InvalidInput(found) from None
        found = {**model.problems(), **found}  # a parameter's own problem comes first
        if found:
            raise InvalidInput(found)
        return model

    def problems(self) -> dict[str, str]:
        """Problems across parameters (a create's required fields, settings that exclude each other)."""
        return {}

    def given(self, *exclude: str) -> dict[str, Any]:
        """The fields the request set, by domain name."""
        return self.model_dump(exclude_unset=True, exclude=set(exclude))


class NoParams(RequestModel):
    pass
