"""smtphub.emails.rules: the rules emails/send checks before anything is queued are light to import (no
TLS, HTTP client, boto3 or sending engine: the API function's cold start does not pay for them). The rules
themselves are tested where they bite: charsets in tests/unit/test_sending_mime.py, URLs in
tests/integration/test_sending_attachments.py."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import smtphub

LAYER = Path(smtphub.__file__).parent.parent


def test_importing_the_rules_loads_nothing_heavy() -> None:
    heavy = ("ssl", "http.client", "boto3", "botocore", "email.message", "smtphub.sending", "pydantic")
    code = f"import sys, smtphub.emails.rules; print([m for m in {heavy!r} if m in sys.modules])"
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(LAYER), "PATH": ""},
    )

    assert result.stdout.strip() == "[]"
