"""`make run` end to end for the accounts' controls: the Authorization scheme in any case, logout (and the
authorizer cache's delay), and an account's checks per minute (CHECKS_PER_MINUTE), over real HTTP.

One runtime for the module, with a 2-second authorizer cache (`--parameter AuthorizerCacheTtl=2`) so that
the cache's effect on a revocation is seen without waiting the default 300 s, and CHECKS_PER_MINUTE=2.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.support.runtime import Running

pytestmark = pytest.mark.e2e
TIMEOUT = 30
CACHE_TTL = 2
CHECKS = 2


@pytest.fixture(scope="module")
def runtime() -> Iterator[Running]:
    running = Running(
        ["--port", "0", "--sink-port", "0", "--parameter", f"AuthorizerCacheTtl={CACHE_TTL}"],
        env={"CHECKS_PER_MINUTE": str(CHECKS)},
    )
    try:
        yield running.wait_ready()
    finally:
        code = running.stop()
    assert code == 0, running.output[-3000:]


def login(runtime: Running) -> str:
    account = re.search(r"Account    (\S+)  password (\S+)", runtime.output)
    assert account, runtime.output
    reply = requests.post(
        f"{runtime.api}/auth/login",
        data={"username": account.group(1), "password": account.group(2)},
        timeout=TIMEOUT,
    )
    assert reply.status_code == 200, reply.text
    token: str = reply.json()["token"]
    return token


def find_all(runtime: Running, authorization: str) -> requests.Response:
    return requests.get(
        f"{runtime.api}/private/apps/findAll", headers={"Authorization": authorization}, timeout=TIMEOUT
    )


def contract_error(reply: requests.Response, status: int, error: str) -> dict[str, Any]:
    assert reply.status_code == status, reply.text
    body: dict[str, Any] = reply.json()
    assert (body["status"], body["error"]) == (status, error)
    return body


def test_the_scheme_is_case_insensitive(runtime: Running) -> None:
    token = login(runtime)
    for scheme in ("Bearer", "bearer", "BEARER", "bEaReR", "Bearer "):
        assert find_all(runtime, f"{scheme} {token}").status_code == 200, scheme
    for malformed in (f"Bearer{token}", f"Bearer\t{token}", f"Basic {token}"):
        contract_error(find_all(runtime, malformed), 401, "UNAUTHORIZED")


def test_logout_revokes_the_token_once_the_authorizer_cache_lets_go(runtime: Running) -> None:
    token = login(runtime)
    assert find_all(runtime, f"Bearer {token}").status_code == 200

    logout = requests.post(
        f"{runtime.api}/private/auth/logout", headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT
    )

    assert logout.status_code == 200, logout.text
    assert (
        logout.content == b""
    )  # (the function sends no Content-Type: tests/integration/test_auth_logout.py)
    # API Gateway's cached Allow still stands for up to AuthorizerCacheTtl seconds (README)...
    assert find_all(runtime, f"Bearer {token}").status_code == 200
    time.sleep(CACHE_TTL + 0.5)
    # ...then the authorizer runs again and finds the token revoked.
    contract_error(find_all(runtime, f"Bearer {token}"), 403, "FORBIDDEN")
    # A login after the logout works at once.
    assert find_all(runtime, f"Bearer {login(runtime)}").status_code == 200


def test_logout_without_a_token_is_401(runtime: Running) -> None:
    contract_error(requests.post(f"{runtime.api}/private/auth/logout", timeout=TIMEOUT), 401, "UNAUTHORIZED")


def test_checks_beyond_the_accounts_limit_are_429_with_retry_after(runtime: Running) -> None:
    assert f"Checks     at most {CHECKS} a minute per account (CHECKS_PER_MINUTE)" in runtime.output
    server = re.search(r"SMTP server (\w+) -> the sink", runtime.output)
    assert server, runtime.output
    headers = {"Authorization": f"Bearer {login(runtime)}"}

    def check() -> requests.Response:
        return requests.post(
            f"{runtime.api}/private/smtps/check",
            data={"idsmtp": server.group(1)},
            headers=headers,
            timeout=TIMEOUT,
        )

    for _ in range(2):  # a second round only if the minute turned during the first
        minute = int(time.time() // 60)
        replies = [check() for _ in range(CHECKS + 1)]
        if int(time.time() // 60) == minute:
            break
    assert [reply.status_code for reply in replies[:CHECKS]] == [200] * CHECKS, [r.text for r in replies]
    refused = replies[CHECKS]
    contract_error(refused, 429, "TOO_MANY_REQUESTS")
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
