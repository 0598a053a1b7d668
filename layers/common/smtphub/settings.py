"""Deployment settings, read once per container from the function's environment."""

from __future__ import annotations

import os
from functools import cache

from pydantic import BaseModel, ConfigDict, Field


class Settings(BaseModel):
    """What `template.yaml` passes to every function as environment variables."""

    model_config = ConfigDict(frozen=True)

    apps_table: str = Field(alias="APPS_TABLE", min_length=1)
    smtps_table: str = Field(alias="SMTPS_TABLE", min_length=1)
    # Every SMTP password lives in the secret named secret_prefix + SMTP id (IAM is scoped to the prefix).
    secret_prefix: str = Field(alias="SECRET_PREFIX", min_length=1, pattern=r"^[A-Za-z0-9/_+=.@-]+/$")
    stage: str = Field(default="api", alias="STAGE")
    # Check: allow SMTP hosts that resolve to non-global addresses (on in the local runtime only).
    allow_private_addresses: bool = Field(default=False, alias="ALLOW_PRIVATE_ADDRESSES")
    # Days a deleted password stays recoverable in Secrets Manager before AWS purges it (7-30).
    secret_recovery_days: int = Field(default=7, alias="SECRET_RECOVERY_DAYS", ge=7, le=30)


@cache
def get_settings() -> Settings:
    return Settings.model_validate(os.environ)
