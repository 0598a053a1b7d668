"""Items already in the tables keep reading, and what is written now is what was written before.

tests/fixtures/items_27565c2.json holds real items written by the code before the check's result became a
domain type (27565c2): two SMTP servers' records (a check passed over STARTTLS, a probe failed at RCPT),
their history items, and the exact text smtps/findById and smtps/history answered for them then. Read
through the repositories' codecs and shown through the edge, they must answer the same text, byte for byte
(but for `tls.mode`, null for them: issue 22 added it);
written back, they must be the same items (so the functions of the release before read what this one
writes while a deployment rolls). A result stored before issue 13 (six members) reads with defaults.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from smtphub.dynamo import from_attribute, to_attribute
from smtphub.health.history import entry_from_map, entry_to_map
from smtphub.http.responses.checks import history_json
from smtphub.http.responses.smtps import smtp_json
from smtphub.smtps.items import SMTP_CODEC, result_from_map
from smtphub.smtps.results import CheckResult
from tests.support.openapi import pointer_to, validator

FIXTURE = json.loads((Path(__file__).parent.parent / "fixtures" / "items_27565c2.json").read_text())
SERVERS = ["passed_starttls", "failed_probe"]
BEFORE_13 = ("at", "ok", "stage", "code", "message", "ms")  # the members of a lastcheck then


def as_sent(body: Any) -> str:
    """The JSON text as the edge writes it (smtphub.http.edge.json_response)."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


def with_tls_mode(text: str) -> str:
    """What 27565c2 answered, with the members added since: every `tls` object starts with `mode`, null
    for a result recorded before issue 22 said how TLS came about; a server ends with `maxperminute` and
    `maxperday` (issue 24), null for a server stored before them (no limit)."""

    def add(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: ({"mode": None, **v} if k == "tls" and v else add(v)) for k, v in value.items()}
        return [add(item) for item in value] if isinstance(value, list) else value

    answer = add(json.loads(text))
    if isinstance(answer, dict) and "hasoauthserviceaccount" in answer:
        answer |= {"maxperminute": None, "maxperday": None}
    return as_sent(answer)


@pytest.mark.parametrize("name", SERVERS)
def test_a_stored_server_answers_findbyid_as_before(name: str) -> None:
    stored = FIXTURE[name]
    smtp = SMTP_CODEC.decode(stored["smtps_item"])
    assert isinstance(smtp.lastcheck, CheckResult)
    assert as_sent(smtp_json(smtp)) == with_tls_mode(stored["findById"])


@pytest.mark.parametrize("name", SERVERS)
def test_a_stored_server_is_written_back_as_it_was(name: str) -> None:
    item = FIXTURE[name]["smtps_item"]
    assert SMTP_CODEC.encode(SMTP_CODEC.decode(item), rank=item["rank"]["S"]) == item


@pytest.mark.parametrize("name", SERVERS)
def test_stored_history_answers_as_before_and_is_written_back_as_it_was(name: str) -> None:
    items = FIXTURE[name]["history_items"]
    entries = [entry_from_map(from_attribute(item["result"])) for item in items]
    assert as_sent(history_json(entries)) == with_tls_mode(FIXTURE[name]["history"])
    assert [to_attribute(entry_to_map(entry)) for entry in entries] == [item["result"] for item in items]


def test_a_result_stored_before_issue_13_reads_with_defaults_and_answers_the_described_shape() -> None:
    """Before d516346 a lastcheck had six members (at, ok, stage, code, message, ms): this item is the
    fixture's with its lastcheck cut to those, as that code wrote it."""
    item = json.loads(json.dumps(FIXTURE["failed_probe"]["smtps_item"]))
    lastcheck = item["lastcheck"]["M"]
    item["lastcheck"]["M"] = {name: lastcheck[name] for name in BEFORE_13}
    smtp = SMTP_CODEC.decode(item)
    assert smtp.lastcheck == result_from_map(from_attribute(item["lastcheck"]))
    assert smtp.lastcheck is not None
    assert (smtp.lastcheck.mode, smtp.lastcheck.stages, smtp.lastcheck.tls) == ("send", (), None)
    assert (smtp.lastcheck.stage, smtp.lastcheck.code, smtp.lastcheck.ok) == ("RCPT", 550, False)
    body = smtp_json(smtp)
    problems = [e.message for e in validator(pointer_to("components", "schemas", "Smtp")).iter_errors(body)]
    assert problems == []
