"""Helpers shared by the suites (never test modules themselves: no test imports another test module)."""
