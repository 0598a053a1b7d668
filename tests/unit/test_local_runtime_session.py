"""The banner's session (local_runtime.__main__.curl_session): each step only when the template serves its
route, and a send plus its info once emails/send and emails/info are served (issue 24)."""

from __future__ import annotations

import subprocess
from types import SimpleNamespace

from local_runtime.__main__ import curl_session
from local_runtime.runtime import DEMO_INBOX

BASE = {
    ("POST", "/auth/login"),
    ("GET", "/private/apps/findAll"),
    ("GET", "/private/smtps/findByApp"),
    ("POST", "/private/smtps/check"),
}


def runtime(routes: set[tuple[str, str]]) -> SimpleNamespace:
    return SimpleNamespace(
        base_url="http://127.0.0.1:3000/api",
        accounts=[SimpleNamespace(username="demo@example.com", password="Demo-password-1!")],
        seeded=SimpleNamespace(idapp="a" * 24),
        has_route=lambda method, path: (method, path) in routes,
    )


def test_without_the_emails_routes_the_session_ends_with_the_check():
    lines = curl_session(runtime(BASE))  # type: ignore[arg-type]
    assert "/private/smtps/check" in lines[-1]
    assert not any("emails" in line for line in lines)


def test_the_session_sends_to_the_inbox_then_asks_for_the_info():
    lines = curl_session(runtime(BASE | {("POST", "/private/emails/send"), ("GET", "/private/emails/info")}))  # type: ignore[arg-type]
    send, extract, info = lines[-3:]
    assert send.startswith(
        'SENT=$(curl -s -X POST "$API/private/emails/send" -H "Authorization: Bearer $TOKEN"'
    )
    assert f"-F idapp=$IDAPP -F tos={DEMO_INBOX} -F 'subject=Hello from make run' -F 'body=It works.'" in send
    assert (
        extract
        == """IDEMAIL=$(echo "$SENT" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')"""
    )
    assert info.endswith(
        'curl -s "$API/private/emails/info?idemail=$IDEMAIL" -H "Authorization: Bearer $TOKEN"; echo'
    )
    # The whole session is valid shell
    check = subprocess.run(
        ["bash", "-n"], input="\n".join(lines), text=True, capture_output=True, check=False
    )
    assert check.returncode == 0, check.stderr
