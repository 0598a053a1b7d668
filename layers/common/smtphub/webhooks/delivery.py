"""A webhook delivery: what waits in WebhookQueue, and the signed form POST it becomes.

The message names the app, the event and its parameters (ids, a recipient, a link: never an e-mail's
content), its own id (`idevent`: the same on every attempt, so a receiver can drop a duplicate), when
it was fired (`fired`), how many attempts were made (`attempts`) and when the next may be (`due`). The
URL is not in it: each attempt reads the app's URL of the event as it is then (an app that fixes a broken
URL gets its pending deliveries there; one that removes it, none).

The POST: `application/x-www-form-urlencoded` (UTF-8), upstream's parameters plus `event`, `timestamp`
(epoch seconds of this attempt) and `idevent`; the header `Smtp-Hub-Signature: t=<timestamp>,v1=<hex>`,
the HMAC-SHA256, keyed with the app's webhook secret (its UTF-8 bytes), of `<timestamp>.<body>`. The
README's "Webhooks" has the receiver's side.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any
from urllib.parse import urlencode

from smtphub.webhooks.events import EVENTS

SIGNATURE_HEADER = "Smtp-Hub-Signature"
CONTENT_TYPE = "application/x-www-form-urlencoded; charset=UTF-8"


@dataclass(frozen=True, slots=True)
class Delivery:
    id: str
    app_id: str
    account_id: str
    event: str
    params: MappingProxyType[str, str] = field(default_factory=lambda: MappingProxyType({}))
    fired: int = 0  # epoch seconds: when the event happened (the first attempt's time)
    attempts: int = 0  # attempts made so far
    due: int = 0  # epoch seconds: no attempt before then (0: at once)

    def body(self) -> str:
        """The queue message's body."""
        data = {
            "idevent": self.id,
            "idapp": self.app_id,
            "iduser": self.account_id,
            "event": self.event,
            "params": dict(self.params),
            "fired": self.fired,
            "attempts": self.attempts,
            "due": self.due,
        }
        return json.dumps(data, separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def parse(cls, body: str) -> Delivery:
        """A message's delivery; ValueError for anything else (no retry can mend it)."""
        data: Any = json.loads(body)
        texts = [data.get(name) for name in ("idevent", "idapp", "iduser", "event")]
        numbers = [data.get(name) for name in ("fired", "attempts", "due")]
        params = data.get("params")
        if not all(isinstance(text, str) and text for text in texts) or texts[3] not in EVENTS:
            raise ValueError("a webhook delivery names its id, app, account and a known event")
        if not all(isinstance(number, int) and not isinstance(number, bool) for number in numbers):
            raise ValueError("a webhook delivery's fired, attempts and due are integers")
        if not isinstance(params, dict) or not all(isinstance(v, str) for v in params.values()):
            raise ValueError("a webhook delivery's params are text")
        event_id, app_id, account_id, event = texts
        fired, attempts, due = numbers
        return cls(event_id, app_id, account_id, event, MappingProxyType(dict(params)), fired, attempts, due)

    def again(self, *, attempts: int, due: int) -> Delivery:
        return replace(self, attempts=attempts, due=due)

    def form(self, timestamp: int) -> bytes:
        """The POST's body at `timestamp`."""
        fields = {"event": self.event, "timestamp": str(timestamp), "idevent": self.id, **self.params}
        return urlencode(fields, encoding="utf-8").encode("ascii")


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header's value: `t=<timestamp>,v1=<hex HMAC-SHA256 of "<timestamp>.<body>">`."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode("ascii") + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"
