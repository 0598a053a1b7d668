"""Every API route of template.yaml with its method, path, function and the request model its handler is
decorated with (`smtphub.http.api(Model)`): what the description's tests, the request properties and the
fuzzing are built from. Read from the template and the handlers themselves, not from the generator."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from local_runtime import template
from local_runtime.loader import load_handler
from smtphub.http.requests import RequestModel


@dataclass(frozen=True)
class Endpoint:
    route: template.Route
    handler: Any  # the Lambda handler, as template.yaml names it

    @property
    def method(self) -> str:
        return self.route.method

    @property
    def path(self) -> str:
        return self.route.path

    @property
    def function(self) -> str:
        """The function's folder: functions/<function>/app.py (tests.support.lambdas.call's name)."""
        return Path(self.route.code_uri).name

    @property
    def model(self) -> type[RequestModel]:
        model = self.handler.request_model
        assert isinstance(model, type), f"{self.path}: {model!r}"
        assert issubclass(model, RequestModel), f"{self.path}: {model!r}"
        return model

    @property
    def handler_public(self) -> bool:
        return bool(self.handler.public)

    @property
    def public(self) -> bool:
        """What the template says: the route's own authorizer, else its API's default one; NONE is public."""
        document = template.default()
        apis = template.resources(document, "AWS::Serverless::Api")
        api = apis.get(self.route.api or next(iter(apis), ""), {}).get("Properties", {})
        authorizer = self.route.authorizer or api.get("Auth", {}).get("DefaultAuthorizer")
        return authorizer in (None, "NONE")

    def undecorated(self) -> Any:
        """The handler function the decorators wrap (the one taking a `Request`)."""
        function = self.handler
        while hasattr(function, "__wrapped__"):
            function = function.__wrapped__
        return function

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


@cache
def endpoints() -> tuple[Endpoint, ...]:
    """The JSON API's routes: not the public pages a recipient's mail client reaches (`pages`)."""
    return tuple(endpoint for endpoint in _all() if not getattr(endpoint.handler, "public_page", False))


@cache
def pages() -> tuple[Endpoint, ...]:
    """The public routes of smtphub.http.public (the open pixel, tracked links, unsubscribing)."""
    return tuple(endpoint for endpoint in _all() if getattr(endpoint.handler, "public_page", False))


@cache
def _all() -> tuple[Endpoint, ...]:
    return tuple(
        Endpoint(route, load_handler(route.code_uri, route.handler))
        for route in template.routes(template.default())
    )


def endpoint(path: str, method: str | None = None) -> Endpoint:
    (found,) = (e for e in endpoints() if e.path == path and method in (None, e.method))
    return found


def endpoint_id(value: Any) -> str:
    """pytest ids: `POST /private/smtps/save`."""
    return str(value)
