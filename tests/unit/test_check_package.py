"""smtphub.check as a package: its public names, its size rules, its log line, and why it exists."""

from __future__ import annotations

import ast
import inspect
import json
import smtplib
import subprocess
import sys
from pathlib import Path

import smtphub.check
from smtphub.check import STAGES, CheckOutcome, Plan, report
from smtphub.smtps.results import CheckResult, StageTime

PACKAGE = Path(smtphub.check.__file__).parent
CLIENT = PACKAGE.parent / "smtp"  # the SMTP client the check shares with the sender


def test_the_public_names_are_importable_from_the_package():
    for name in (
        "Plan",
        "CheckOutcome",
        "Limits",
        "Deadline",
        "converse",
        "report",
        "STAGES",
        "StageFailure",
    ):
        assert hasattr(smtphub.check, name), name
    # The contract's order; TOKEN (XOAUTH2's access token) comes first, before DNS.
    assert STAGES == ("TOKEN", "DNS", "CONNECT", "TLS", "EHLO", "AUTH", "MAIL", "RCPT", "DATA")
    assert all(getattr(smtphub.check, stage) == stage for stage in STAGES)


def test_importing_the_package_does_not_import_boto3_or_the_service():
    code = "import sys, smtphub.check; print('boto3' in sys.modules, 'smtphub.check.service' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(PACKAGE.parent.parent), "PATH": ""},
    )
    assert result.stdout.split() == ["False", "False"]


def test_no_module_over_300_lines_nor_function_over_60():
    for path in sorted([*PACKAGE.glob("*.py"), *CLIENT.glob("*.py")]):
        if path.name == "service.py":
            continue  # not this package's pure part (it reads and writes AWS)
        source = path.read_text()
        assert len(source.splitlines()) <= 300, path.name
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                assert node.end_lineno is not None
                assert node.end_lineno - node.lineno + 1 <= 60, f"{path.name}: {node.name}"


def test_one_class_called_outcome_at_most_and_it_is_not_here():
    paths = [*PACKAGE.glob("*.py"), *CLIENT.glob("*.py")]
    names = {node.name for path in paths for node in ast.walk(ast.parse(path.read_text()))
             if isinstance(node, ast.ClassDef)}  # fmt: skip
    assert "Outcome" not in names
    assert "Reply" not in names
    assert {"CheckOutcome", "SmtpReply"} <= names


def test_what_the_package_docstring_says_of_smtplib_holds_for_this_python():
    getreply = inspect.getsource(smtplib.SMTP.getreply)
    assert "while 1:" in getreply  # no bound on the number of lines
    assert "self.file.readline(_MAXLINE + 1)" in getreply  # each read under the socket's own timeout
    assert smtplib._MAXLINE == 8192  # type: ignore[attr-defined]
    assert "create_connection((host, port)" in inspect.getsource(smtplib.SMTP._get_socket)
    assert "encode('ascii')" in inspect.getsource(smtplib.SMTP.auth)
    assert "self.password.encode('ascii')" in inspect.getsource(smtplib.SMTP.auth_cram_md5)
    assert "_print_debug('send:', repr(s))" in inspect.getsource(smtplib.SMTP.send)


def test_the_result_lists_the_stages_reached_in_order() -> None:
    outcome = CheckOutcome(
        False, "RCPT", 550, "The server refused the recipient", ms=12, mode="probe",
        timings={"RCPT": 3, "DNS": 1}, codes={"RCPT": 550}, capabilities=["AUTH PLAIN"],
    )  # fmt: skip
    assert outcome.result("2026-11-23T10:00:00.000Z") == CheckResult(
        at="2026-11-23T10:00:00.000Z",
        ok=False,
        stage="RCPT",
        code=550,
        message="The server refused the recipient",
        ms=12,
        mode="probe",
        stages=(StageTime("DNS", 1, None), StageTime("RCPT", 3, 550)),
        tls=None,
        capabilities=("AUTH PLAIN",),
    )


def test_report_writes_one_line_with_the_outcome_and_never_the_password(json_logs, capsys):
    password = "Pw-s3cret-\u00e9-1234"
    plan = Plan(
        "s1", "a1", "Shop", "smtp.example.net", 587, "info@example.net", "ops@example.org",
        starttls=True, auth=True, username="mailer@example.net", password=password,
    )  # fmt: skip
    outcome = CheckOutcome(
        False, "AUTH", 535, "The server rejected the username or password (535)", ms=40,
        timings={"DNS": 1, "AUTH": 39}, transcript=["C: AUTH PLAIN ***", "S: 535 ..."],
    )  # fmt: skip
    report(plan, outcome, recorded="yes", total_ms=55)
    (line,) = [record for record in json_logs() if record["message"] == "smtp check"]
    assert {
        key: line[key] for key in ("idsmtp", "host", "port", "security", "auth", "ok", "stage", "code")
    } == {
        "idsmtp": "s1",
        "host": "smtp.example.net",
        "port": 587,
        "security": "starttls",
        "auth": True,
        "ok": False,
        "stage": "AUTH",
        "code": 535,
    }
    assert (line["detail"], line["stages_ms"], line["total_ms"], line["recorded"]) == (
        outcome.message,
        {"DNS": 1, "AUTH": 39},
        55,
        "yes",
    )
    assert line["transcript"] == ["C: AUTH PLAIN ***", "S: 535 ..."]
    metric = capsys.readouterr().out  # EMF on stdout
    assert '"SmtpCheck"' in metric
    assert password not in json.dumps(json_logs(), ensure_ascii=False) + metric
