"""An outbox that remembers what it was told (blacklists' and tracking's notices), or fails."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from smtphub import wiring
from smtphub.apps.models import App


class Recording:
    def __init__(self, fails: bool = False) -> None:
        self.told: list[tuple[str, str, dict[str, str], str | None]] = []
        self.fails = fails

    def notify(self, app: App, event: str, params: Mapping[str, str], *, key: str | None = None) -> None:
        if self.fails:
            raise RuntimeError("EventBridge said no")
        self.told.append((app.id, event, dict(params), key))

    @property
    def events(self) -> list[tuple[str, dict[str, str]]]:
        return [(event, params) for _, event, params, _ in self.told]


@pytest.fixture
def outbox() -> Recording:
    recording = Recording()
    wiring.override("outbox", recording)
    return recording
