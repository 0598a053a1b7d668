"""Build tooling: what `make` runs to produce files of the repository (no Lambda function loads it)."""
