"""The check's one log line and one metric (never the password: nothing here holds it)."""

from __future__ import annotations

from typing import Any

from smtphub.check.plan import CheckOutcome, Plan
from smtphub.observability import logger

METRIC = "SmtpCheck"


def report(plan: Plan, outcome: CheckOutcome, *, recorded: str, total_ms: int) -> None:
    """Log `smtp check` with the outcome (already scrubbed) and count it by outcome (`OK` or the stage).

    `recorded` says what became of the outcome in the table (`yes`, `stale`, `gone`, `error`);
    `total_ms` is the whole request, reads and write included.
    """
    extra: dict[str, Any] = {
        "idsmtp": plan.smtp_id,
        "idapp": plan.app_id,
        "host": plan.host,
        "port": plan.port,
        "security": plan.security,
        "tls": outcome.tls.mode if outcome.tls else None,  # how TLS came about, if it did
        "auth": plan.auth,
        "authmech": plan.authmech if plan.auth else None,
        "tlsverify": plan.tls_verify,
        "ok": outcome.ok,
        "stage": outcome.stage,
        "code": outcome.code,
        "detail": outcome.message,
        "ms": outcome.ms,
        "stages_ms": outcome.timings,
        "total_ms": total_ms,
        "recorded": recorded,
    }
    if outcome.transcript is not None:
        extra["transcript"] = outcome.transcript
    logger.info("smtp check", extra=extra)
    try:
        from aws_lambda_powertools.metrics import MetricUnit, single_metric  # noqa: PLC0415

        with single_metric(name=METRIC, unit=MetricUnit.Count, value=1) as metric:
            metric.add_dimension(name="outcome", value="OK" if outcome.ok else str(outcome.stage))
    except Exception:  # a metric must never turn a check into a 500: logged with its trace
        logger.warning("could not emit the check metric", exc_info=True)
