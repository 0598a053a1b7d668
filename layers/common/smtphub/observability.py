"""The one Logger every module logs through (service name and level come from POWERTOOLS_* variables)."""

from __future__ import annotations

from aws_lambda_powertools import Logger

logger = Logger()
