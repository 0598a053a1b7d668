"""`make run`'s CHECKS_PER_MINUTE: it stands for the template's CheckRateLimitPerMinute, which the check
function gets as its CHECKS_PER_MINUTE; an explicit `--parameter` wins. Nothing is started here."""

from __future__ import annotations

import pytest

from local_runtime.__main__ import checks_per_minute
from local_runtime.runtime import LocalRuntime, Settings


@pytest.mark.parametrize(("text", "expected"), [(None, None), ("", None), (" 3 ", 3), ("120", 120)])
def test_the_variable_is_a_whole_number(text: str | None, expected: int | None) -> None:
    assert checks_per_minute(text) == expected


@pytest.mark.parametrize("text", ["0", "-1", "2.5", "ten", "\uff11"])  # the last: a full-width one
def test_anything_else_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="CHECKS_PER_MINUTE"):
        checks_per_minute(text)


def check_environment(runtime: LocalRuntime) -> str:
    from local_runtime import template

    spec = template.functions(runtime.document)["SmtpsCheckFunction"]
    return str(runtime.resolver.resolve(spec.environment)["CHECKS_PER_MINUTE"])


def test_the_templates_default_without_the_variable() -> None:
    runtime = LocalRuntime(Settings())
    assert runtime.checks_per_minute == 10
    assert check_environment(runtime) == "10"


def test_the_variable_overrides_the_template() -> None:
    runtime = LocalRuntime(Settings(checks_per_minute=2))
    assert runtime.checks_per_minute == 2
    assert check_environment(runtime) == "2"


def test_an_explicit_parameter_wins() -> None:
    runtime = LocalRuntime(Settings(checks_per_minute=2, parameters={"CheckRateLimitPerMinute": "7"}))
    assert runtime.checks_per_minute == 7
    assert check_environment(runtime) == "7"
