"""One cold start, run as a script: `python -S -B coldchild.py OUT MODE PATHS SERVICES [CONFIG]`.

MODE `floor`: import boto3 and build one client (what no Python Lambda that calls AWS can avoid).
MODE `module:attribute`: import the handler module as Lambda does, then build the boto3 clients the
function uses on its first call (smtphub builds them lazily; they are built here so that the figure
counts them, as the first request would). Then, with a CONFIG, answer one first request with the
in-memory stub (not part of the init figure) and note the peak RSS.

Times are time.monotonic() readings (CLOCK_MONOTONIC, comparable across processes): the parent
subtracts its own reading taken just before it started this process. Nothing is printed on stdout
(the handler's log line goes there, to /dev/null); the result is written to OUT as JSON.
"""

import sys
import time


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

    result = {"init_done": init_done}
    if config and handler is not None:
        import json

        with open(config) as stream:
            settings = json.load(stream)
        sys.path.append(settings["repo"])
        from bench.stub import Stubs, seed

        stubs = Stubs(settings["schemas"])
        seed(stubs, **settings["seed"])
        stubs.install()

        class Context:
            function_name = settings["function"]
            memory_limit_in_mb = settings["memory"]
            invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
            aws_request_id = "00000000-0000-4000-8000-000000000001"

        started = time.monotonic()
        response = handler(settings["event"], Context())
        result["first_request_s"] = time.monotonic() - started
        result["status"] = response.get("statusCode") if isinstance(response, dict) else None
        result["stub_calls"] = dict(stubs.calls())

    import resource

    result["maxrss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    import json

    with open(out, "w") as stream:
        json.dump(result, stream)
    sys.stdout.flush()
    import os

    os._exit(0)


main()
