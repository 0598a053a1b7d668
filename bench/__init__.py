"""`make bench`: cold start, AWS calls per request, warm overhead, scaling, check, size and cost.

Run with `python -m bench` (see bench/__main__.py). Kept light on purpose: the cold-start child
processes import `bench.wire` after their measured init, so nothing heavy may be imported here.
"""
