"""One cold start, run as a script: `python -S -B coldchild.py OUT MODE PATHS SERVICES [CONFIG]`.

MODE `floor`: import boto3 and build one client (what no Python Lambda that calls AWS can avoid).
MODE `module:attribute`: import the handler module as Lambda does, then build the boto3 clients the
function uses on its first call (smtphub builds them lazily; they are built here so that the figure
counts them, as the first request would). Then, with a CONFIG, answer one first request (not part of
the init figure): the handler's own boto3 clients, with their HTTP send answered in memory by
bench.wire (validation, signing and parsing run), and note the peak RSS.

Times are time.monotonic() readings (CLOCK_MONOTONIC, comparable across processes): the parent
subtracts its own reading taken just before it started this process. Nothing is printed on stdout
(the handler's log line goes there, to /dev/null); the result is written to OUT as JSON.
"""

import sys
import time


def first_request(handler, config: str) -> dict:
    """The sample event through the handler, its boto3 clients' sends answered by bench.wire."""
    import json

    with open(config) as stream:
        settings = json.load(stream)
    sys.path.append(settings["repo"])
    from bench import wire

    aws = wire.InMemoryAws(settings["schemas"]).load(settings)
    wire.install(aws)  # clients built from now on
    wire.attach_existing()  # the clients built during init

    class Context:
        function_name = settings["function"]
        memory_limit_in_mb = settings["memory"]
        invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
        aws_request_id = "00000000-0000-4000-8000-000000000001"

    started = time.monotonic()
    response = handler(settings["event"], Context())
    elapsed = time.monotonic() - started
    answer = response if isinstance(response, dict) else {}
    return {
        "first_request_s": elapsed,
        "status": answer.get("statusCode"),
        "body": answer.get("body"),
        "aws_calls": dict(aws.calls()),
        "signed": aws.signed,
    }


def main() -> None:
    out, mode, paths, services = sys.argv[1:5]
    config = sys.argv[5] if len(sys.argv) > 5 else ""
    del sys.path[0]  # this script's folder (bench/): not on a Lambda's path
    sys.path[0:0] = [p for p in paths.split("\x1f") if p]
    wanted = [s for s in services.split(",") if s]
    if mode == "floor":
        import boto3

        boto3.session.Session().client(wanted[0] if wanted else "dynamodb")
        handler = None
    else:
        import importlib

        module_name, _, attribute = mode.partition(":")
        handler = getattr(importlib.import_module(module_name), attribute)
        if wanted:
            try:
                from smtphub import aws

                make = aws.client
            except ImportError:  # a function that does not use the shared layer's clients
                import boto3

                session = boto3.session.Session()
                make = session.client
            for service in wanted:
                make(service)
    init_done = time.monotonic()
    init_cpu = time.process_time()  # this process's CPU time so far (every thread, user and system)

    result = {"init_done": init_done, "init_cpu": init_cpu}
    if config and handler is not None:
        result.update(first_request(handler, config))

    import resource

    result["maxrss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    import json

    with open(out, "w") as stream:
        json.dump(result, stream)
    sys.stdout.flush()
    import os

    os._exit(0)


main()
