"""Fixtures of the end-to-end tests: `make run` as a subprocess (`tests.support.runtime.Running`) and a
client holding the demo account's token."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import requests

from tests.support.runtime import Running, has_route


@pytest.fixture(scope="module")
def runtime() -> Iterator[Running]:
    """`make run` as a newcomer gets it: the real template, the demo account, the sink."""
    running = Running(["--port", "0", "--sink-port", "0"])
    try:
        yield running.wait_ready()
    finally:
        code = running.stop()
    assert code == 0, running.output[-3000:]
    assert running.lines[-1] == "stopped."


@pytest.fixture(scope="module")
def session(runtime: Running) -> requests.Session:
    """A client that sends the demo account's token (or none when the template has no login)."""
    client = requests.Session()
    if has_route("POST", "/auth/login"):
        account = re.search(r"Account    (\S+)  password (\S+)", runtime.output)
        assert account, runtime.output
        reply = requests.post(
            f"{runtime.api}/auth/login",
            data={"username": account.group(1), "password": account.group(2)},
            timeout=10,
        )
        assert reply.status_code == 200, reply.text
        client.headers["Authorization"] = f"Bearer {reply.json()['token']}"
    return client
