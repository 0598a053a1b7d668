"""The order in which an e-mail tries its app's servers (the app's `strategy`, upstream's two).

- PRIORITY: the active servers by `priority`, lower first; servers of equal priority in a random order,
  drawn again for every e-mail, so that ties share the load instead of one of them taking it all.
- RANDOM: the active servers in a random order. Trying a uniformly random permutation in turn is the same as
  upstream's "at random, then another at random after a failure": each next server is uniform among those
  not yet tried.

Servers the caller passes over (`usable` false: in cool-down, at their `maxperminute`/`maxperday`) are left
out, as are servers that are not active. The order is computed once per e-mail and attempt; a server that
faults is not tried again by the same attempt. Randomness is injectable (`rng`) for tests; the default is the
system's (per call, unseeded: nothing about the order is predictable or shared between containers).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from typing import Protocol, TypeVar

from smtphub.record import ACTIVE

PRIORITY = "PRIORITY"
RANDOM = "RANDOM"
STRATEGIES = (PRIORITY, RANDOM)


class Server(Protocol):
    """What the order needs of a server (smtphub.smtps.models.Smtp has it)."""

    @property
    def id(self) -> str: ...
    @property
    def priority(self) -> int: ...
    @property
    def status(self) -> str: ...


S = TypeVar("S", bound=Server)
_SYSTEM = random.SystemRandom()


def order(
    servers: Iterable[S],
    strategy: str,
    usable: Callable[[S], bool] = lambda _server: True,
    rng: random.Random = _SYSTEM,
) -> list[S]:
    """The servers to try, first first: the active and `usable` ones, each once, in the strategy's order.

    ValueError for a strategy that is not PRIORITY or RANDOM (apps/save stores only those).
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}")
    candidates = list({server.id: server for server in servers if server.status == ACTIVE}.values())
    candidates = [server for server in candidates if usable(server)]
    rng.shuffle(candidates)
    if strategy == PRIORITY:
        candidates.sort(key=lambda server: server.priority)  # stable: ties keep their shuffled order
    return candidates
