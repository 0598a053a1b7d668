"""openapi.yaml from the code: `make openapi` (`python -m tools.openapi [--check]`); see `generate`."""
