"""GET /private/smtps/findById written the way the Powertools documentation teaches: the textbook peer.

Not part of smtp-hub: `make bench` starts it in the same interleaved cold-start run as the real
functions, so that "how heavy is our cold start" has an answer against a well-known way of writing
the same Lambda, not only against the floor. It does the same work as functions/smtps_find_by_id:
one GetItem on the SMTP servers table, 404 for a missing server or another account's, the server's
JSON on success.

The textbook choices, each as the docs show them: `APIGatewayRestResolver(enable_validation=True)`
(query parameters and the response validated from type annotations), a pydantic response model,
`Logger` with `inject_lambda_context` and a correlation id, `Metrics` with `log_metrics` and one
metric a request, and a boto3 DynamoDB `Table` resource created at import time (the docs' "initialize
SDK clients outside the handler"). Its dependencies are pinned in bench/peer/requirements.txt; boto3
is the runtime's.
"""

import os
from typing import Annotated, Any

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field

logger = Logger()
metrics = Metrics(namespace="smtp-hub")
app = APIGatewayRestResolver(enable_validation=True)
table = boto3.resource("dynamodb").Table(os.environ["SMTPS_TABLE"])


class Smtp(BaseModel):
    """An SMTP server as the API returns it (the contract's JSON, as openapi.yaml describes it)."""

    model_config = ConfigDict(populate_by_name=True)

    id: str = Field(alias="_id")
    idapp: str
    host: str
    port: int
    created: str
    modified: str
    priority: int = 10
    username: str | None = None
    auth: bool = False
    starttls: bool = False
    sslTls: bool = False  # the contract's name
    debug: bool = False
    insecureauth: bool = False
    defaultfromemail: str | None = None
    defaultfromname: str | None = None
    numerrors: int = 0
    status: str = "A"
    lastcheck: dict[str, Any] | None = None
    authmech: str = "auto"
    oauthprovider: str | None = None
    oauthtenant: str | None = None
    oauthclientid: str | None = None
    oauthtokenurl: str | None = None
    tlsverify: bool = True
    cacert: str | None = None
    tlsmin: str = "1.2"
    helo: str | None = None
    hasoauthclientsecret: bool = False
    hasoauthrefreshtoken: bool = False
    hasoauthserviceaccount: bool = False
    maxperminute: int | None = None
    maxperday: int | None = None


def _write_only_flags(item: dict[str, Any]) -> dict[str, bool]:
    """Which OAuth secrets the record has (the item's secretfields map names them)."""
    stored = item.get("secretfields") or {}
    return {
        f"has{name}": name in stored
        for name in ("oauthclientsecret", "oauthrefreshtoken", "oauthserviceaccount")
    }


@app.get("/private/smtps/findById")
def find_by_id(idsmtp: Annotated[str, Query(pattern=r"^[0-9a-fA-F]{24}$")]) -> Smtp:
    account = app.current_event.request_context.authorizer.get_context().get("accountId")
    item = table.get_item(Key={"_id": idsmtp}).get("Item")
    if item is None or item.get("iduser") != account:
        raise NotFoundError("SMTP not found")
    metrics.add_metric(name="SmtpRead", unit=MetricUnit.Count, value=1)
    return Smtp.model_validate({**item, **_write_only_flags(item)})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
