"""The HTTP edge: API Gateway REST proxy events in, proxy responses out.

The only code that knows request and response field names and HTTP statuses:
- `body`: the contract's request quirks, normalized once (query + body merge, form charsets, JSON,
  case-insensitive names and aliases, empty = absent, repeats);
- `fields` and `requests`: one pydantic model per endpoint holding every rule, each turning itself into
  the feature's typed command;
- `responses`: domain models to the contract's JSON;
- `errors`: domain errors to statuses and the one error body;
- `edge`: `api(Model)`, the decorator every handler wears.
"""

from smtphub.http.edge import Request, api

__all__ = ["Request", "api"]
