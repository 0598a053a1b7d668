"""5. Check: the smtps/check handler against a local aiosmtpd, beside a bare smtplib session.

Run as `python -m bench.checktime OUT ROUNDS`. Both talk to the same server on 127.0.0.1 and hold the
same conversation (EHLO, AUTH, MAIL, RCPT, DATA, QUIT), alternately; the handler's AWS calls go through
its real boto3 clients with only the HTTP send answered in memory (bench.wire), so the difference is the
check's own work and its SDK calls (planning, reading the server, app and password, its SMTP client,
the outcome record, the log line and the metric), without network latency.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from typing import Any


def smtp_environment() -> dict[str, str]:
    from bench.smtp import check_environment

    return check_environment()


def main() -> int:
    out, rounds = sys.argv[1], int(sys.argv[2])
    import os

    from bench.warm import Sink

    os.environ.update(smtp_environment())

    sink = Sink()
    real_stdout, sys.stdout = sys.stdout, sink  # type: ignore[assignment]
    from bench import layer, smtp
    from bench.lambdas import by_name
    from bench.wire import use_in_layer
    from bench.world import Context, event_for
    from local_runtime import events
    from local_runtime.loader import load_handler

    function = by_name("smtps_check")
    result: dict[str, Any] = {"rounds": rounds}
    if function is None:
        result["missing"] = True
    else:
        with smtp.server() as mail:
            aws = layer.in_memory(
                layer.demo_seed(
                    host=mail.host, port=mail.port, username=smtp.USERNAME, password=smtp.PASSWORD
                )
            )
            use_in_layer(aws)
            handler = load_handler(function.code_uri, function.handler)
            event = event_for(function, {"idsmtp": events._SMTP}, events.DEMO_ACCOUNT)
            context = Context()
            statuses: dict[int, int] = {}
            handler_s: list[float] = []
            bare_s: list[float] = []
            for number in range(rounds + 5):
                started = time.perf_counter()
                response = handler(event, context)
                elapsed = time.perf_counter() - started
                bare = smtp.bare_session(mail.host, mail.port)
                if number < 5:  # warm-up
                    continue
                statuses[response["statusCode"]] = statuses.get(response["statusCode"], 0) + 1
                handler_s.append(elapsed)
                bare_s.append(bare)
            if statuses.get(200) != rounds:
                result["error"] = response.get("body", "")[:300]
            handler_ms = statistics.median(handler_s) * 1000
            bare_ms = statistics.median(bare_s) * 1000
            result.update(
                handler_ms=round(handler_ms, 2),
                bare_ms=round(bare_ms, 2),
                ratio=round(handler_ms / bare_ms, 2),
                statuses=statuses,
                messages=len(mail.messages),
                aws_calls={k: v / (rounds + 5) for k, v in aws.calls().items()},
                log_bytes=round(sink.bytes / (rounds + 5), 1),
            )
    sys.stdout = real_stdout
    with open(out, "w") as stream:
        json.dump(result, stream)
    return 0


if __name__ == "__main__":
    sys.exit(main())
