"""smtphub.sending.strategy: PRIORITY by priority with ties spread, RANDOM spread evenly, servers passed
over or not active left out. Randomness comes from seeded generators; the bounds are generous (several
standard deviations), so the tests cannot fail by chance with these seeds and would with a biased order."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from itertools import permutations

import pytest

from smtphub.sending.strategy import PRIORITY, RANDOM, order


@dataclass(frozen=True)
class Server:
    id: str
    priority: int = 10
    status: str = "A"


A, B, C = Server("a", 20), Server("b", 10), Server("c", 30)


def ids(servers: list[Server]) -> str:
    return "".join(server.id for server in servers)


def test_priority_tries_the_lowest_priority_first_then_the_next() -> None:
    for seed in range(20):
        assert ids(order([A, B, C], PRIORITY, rng=random.Random(seed))) == "bac"


def test_priority_spreads_ties_and_keeps_the_tiers_in_order() -> None:
    first = Server("first", 1)
    ties = [Server("x"), Server("y"), Server("z")]
    rng = random.Random(24)
    seen = Counter(ids(order([*ties, first, Server("last", 99)], PRIORITY, rng=rng)) for _ in range(1200))

    assert all(key.startswith("first") and key.endswith("last") for key in seen)
    # The six orders of the ties each come about 200 times in 1,200 (sd about 13).
    assert {key[5:8] for key in seen} == {"".join(p) for p in permutations("xyz")}
    assert all(140 <= count <= 260 for count in seen.values()), seen


def test_random_spreads_the_first_server_evenly_over_three() -> None:
    rng = random.Random(2026)
    firsts = Counter(order([A, B, C], RANDOM, rng=rng)[0].id for _ in range(3000))

    # 1,000 each expected, sd about 26: 850..1150 is beyond five of them.
    assert set(firsts) == {"a", "b", "c"}
    assert all(850 <= count <= 1150 for count in firsts.values()), firsts


def test_random_after_a_failure_is_random_among_the_others() -> None:
    rng = random.Random(7)
    seconds = Counter(ids(order([A, B, C], RANDOM, rng=rng))[:2] for _ in range(3000))

    # Given the first, the second is either other one about half the time: each ordered pair ~500 (sd ~21).
    assert set(seconds) == {"ab", "ac", "ba", "bc", "ca", "cb"}
    assert all(400 <= count <= 600 for count in seconds.values()), seconds


@pytest.mark.parametrize("strategy", [PRIORITY, RANDOM])
def test_servers_passed_over_or_not_active_are_left_out(strategy: str) -> None:
    disabled = Server("d", 1, status="D")
    cooling = {"a"}

    for seed in range(20):
        chosen = order(
            [A, B, C, disabled], strategy, usable=lambda s: s.id not in cooling, rng=random.Random(seed)
        )
        assert sorted(ids(chosen)) == ["b", "c"]
    assert order([disabled], strategy) == []
    assert order([A], strategy, usable=lambda _s: False) == []


@pytest.mark.parametrize("strategy", [PRIORITY, RANDOM])
def test_each_server_is_tried_once(strategy: str) -> None:
    chosen = order([A, B, C, B, A], strategy)

    assert sorted(ids(chosen)) == ["a", "b", "c"]


def test_an_unknown_strategy_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown strategy"):
        order([A], "ROUND_ROBIN")
