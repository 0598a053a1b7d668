"""What the bench uses of the layer (`smtphub`, on the path as Lambda's /opt/python), in one place.

The composition root (`smtphub.wiring`) and the models: the bench writes its seed data through the
layer's own repositories, so the stored items are always the ones the layer reads (their attributes
and encoding are the repositories' business, not the bench's). Imported lazily: the cold-start
processes never load this before their measured init.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

NOW = "2026-11-24T10:00:00.000Z"


def reset() -> None:
    """Forget every per-container cache of the layer: settings, boto3 clients, repositories, services."""
    from smtphub import wiring

    wiring.reset()


@dataclass(frozen=True)
class Seed:
    account: str
    app_id: str
    smtp_id: str
    servers: int = 3  # on the first app
    apps: int = 5
    host: str = "127.0.0.1"
    port: int = 2525
    username: str = "user@example.net"
    password: str = "smtp-password-1234"
    insecureauth: bool = True  # the bench's SMTP server (127.0.0.1) has no TLS
    timebetweenemails: int | None = None  # the apps' pacing (None: the model's default)

    def app_ids(self) -> list[str]:
        return [self.app_id if n == 0 else f"{self.app_id[:-4]}{n:04x}" for n in range(self.apps)]

    def smtp_ids(self) -> list[str]:
        return [self.smtp_id if n == 0 else f"{self.smtp_id[:-4]}{n:04x}" for n in range(self.servers)]


@contextmanager
def _environment(extra: dict[str, str]) -> Iterator[None]:
    import os

    saved = dict(os.environ)
    os.environ.update(extra)
    reset()
    try:
        yield
    finally:
        reset()
        os.environ.clear()
        os.environ.update(saved)


def write(seed: Seed, environment: dict[str, str]) -> None:
    """Store `seed` through the layer's repositories, with the clients the layer builds (`smtphub.aws`).

    Whatever answers those clients gets the data: the bench's in-memory AWS (bench.wire installed) or
    moto. `environment` is the functions' (table names, secret prefix); the layer's caches are reset
    before and after.
    """
    from dataclasses import replace

    from smtphub import wiring
    from smtphub.apps.models import App
    from smtphub.smtps.models import Smtp

    with _environment(environment):
        apps = wiring.app_repository()
        smtps = wiring.smtp_repository()
        secrets = wiring.secret_repository()
        for number, ident in enumerate(seed.app_ids()):
            apps.create(
                App(
                    id=ident,
                    account_id=seed.account,
                    name=f"App {number}",
                    created=NOW,
                    modified=NOW,
                    testemail="ops@example.net",
                    defaultfromemail="noreply@example.net",
                    **(
                        {}
                        if seed.timebetweenemails is None
                        else {"timebetweenemails": seed.timebetweenemails}
                    ),
                )
            )
        for number, ident in enumerate(seed.smtp_ids()):
            smtp = Smtp(
                id=ident,
                app_id=seed.app_id,
                account_id=seed.account,
                host=seed.host,
                port=seed.port,
                created=NOW,
                modified=NOW,
                priority=10 + number,
                username=seed.username,
                auth=True,
                insecureauth=seed.insecureauth,
                defaultfromemail="info@example.net",
            )
            version = secrets.create(smtp, seed.password)
            smtps.create(replace(smtp, secret_version=version))


def servers(
    app_id: str, account: str, count: int, *, with_password: bool, environment: dict[str, str]
) -> dict[str, Any]:
    """`count` SMTP servers on an app (the scaling runs): the items and secrets the layer's repositories
    write for them, captured in memory (bench.wire), for the caller to store wherever it wants."""
    from dataclasses import replace

    from bench import wire
    from bench.lambdas import table_schemas
    from smtphub import wiring
    from smtphub.ids import new_id, now_iso
    from smtphub.smtps.models import Smtp

    aws = wire.InMemoryAws(table_schemas())
    with wire.installed(aws), _environment(environment):
        smtps = wiring.smtp_repository()
        secrets = wiring.secret_repository()
        for number in range(count):
            now = now_iso()
            smtp = Smtp(
                id=new_id(),
                app_id=app_id,
                account_id=account,
                host="smtp.example.net",
                port=587,
                created=now,
                modified=now,
                priority=number % 50,
                username="user@example.net",
                auth=with_password,
            )
            if with_password:
                smtp = replace(smtp, secret_version=secrets.create(smtp, "pw"))
            smtps.create(smtp)
    return aws.contents()


def items(seed: Seed, schemas: dict[str, Any], environment: dict[str, str]) -> dict[str, Any]:
    """The stored items and secrets of `seed`, as JSON: written through the layer into an in-memory AWS
    of their own (bench.wire, installed for the time of it and removed after)."""
    from bench import wire

    aws = wire.InMemoryAws(schemas)
    with wire.installed(aws):
        write(seed, environment)
    return aws.contents()


def demo_seed(**changes: Any) -> Seed:
    """The local runtime's demo account, app and server (the ids of the sample events in events/)."""
    from local_runtime import events

    return Seed(account=events.DEMO_ACCOUNT, app_id=events._APP, smtp_id=events._SMTP, **changes)


def in_memory(seed: Seed) -> Any:
    """A new in-memory AWS (bench.wire) holding `seed`, for the functions' environment."""
    from bench import wire
    from bench.lambdas import function_environment, table_schemas

    schemas = table_schemas()
    return wire.InMemoryAws(schemas).load(items(seed, schemas, function_environment()))
