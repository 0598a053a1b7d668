"""smtphub.sending.state against moto's DynamoDB (SendStateTable as the template declares it): an app's
pacing holds across concurrent senders, refused e-mails get distinct slots instead of waking in a herd, and
each server's minute and day windows stop at their limits and start again after their end."""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from typing import Any

import pytest

from smtphub.sending.state import DAY_KEPT, KEPT_SECONDS, MINUTE_KEPT, Full, Pacer, Turn, Windows
from tests.support.aws import Aws

SEND_STATE = "test-SendStateTable"
APP = "65a1b2c3d4e5f60718293a4b"
SMTP = "65a1b2c3d4e5f60718293a4c"
START = 1_795_687_200.0  # 2026-11-26 10:00:00 UTC, a minute's and an hour's start
MIDNIGHT = 1_795_737_600.0  # 2026-11-27 00:00:00 UTC


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def dynamodb(aws: Aws) -> Any:
    """SendStateTable as the template declares it (the `aws` fixture creates it: tests/support/aws.py)."""
    assert aws.dynamodb.describe_table(TableName=SEND_STATE)["Table"]["KeySchema"]
    return aws.dynamodb


@pytest.fixture
def writes(dynamodb: Any) -> Counter[str]:
    """DynamoDB calls made from here on, by operation."""
    seen: Counter[str] = Counter()
    dynamodb.meta.events.register("before-call.dynamodb.*", lambda model, **_: seen.update([model.name]))
    return seen


def item(dynamodb: Any, key: str) -> dict[str, int]:
    found = dynamodb.get_item(TableName=SEND_STATE, Key={"pk": {"S": key}}, ConsistentRead=True).get(
        "Item", {}
    )
    return {name: int(value["N"]) for name, value in found.items() if "N" in value}


# --- pacing ----------------------------------------------------------------------------------------


def test_the_first_email_goes_and_sets_next_a_gap_later_with_a_ttl(dynamodb: Any) -> None:
    pacer = Pacer(dynamodb, SEND_STATE, Clock(START))

    assert pacer.turn(APP, 60) == Turn(True, int(START * 1000))
    assert item(dynamodb, f"pace#{APP}") == {
        "next": int(START * 1000) + 60_000,
        "expires": int(START) + 60 + KEPT_SECONDS,
    }


def test_refused_emails_get_distinct_slots_a_gap_apart_in_the_order_they_asked(dynamodb: Any) -> None:
    clock = Clock(START)
    pacer = Pacer(dynamodb, SEND_STATE, clock)
    assert pacer.turn(APP, 60).granted
    now = int(START * 1000)

    turns = []
    for number in range(50):
        clock.now = START + 1 + number / 100
        turns.append(pacer.turn(APP, 60))

    assert not any(turn.granted for turn in turns)
    assert [turn.at_ms for turn in turns] == [now + 60_000 * (n + 1) for n in range(50)]
    assert all(turn.slot_ms == turn.at_ms for turn in turns)
    assert item(dynamodb, f"pace#{APP}")["tail"] == now + 60_000 * 51


def test_at_its_slot_a_waiting_email_goes_and_a_newcomer_queues_behind_the_line(dynamodb: Any) -> None:
    clock = Clock(START)
    pacer = Pacer(dynamodb, SEND_STATE, clock)
    pacer.turn(APP, 10)
    first, second = pacer.turn(APP, 10), pacer.turn(APP, 10)

    clock.now = (first.at_ms + 5) / 1000
    assert pacer.turn(APP, 10, first.slot_ms).granted
    newcomer = pacer.turn(APP, 10)  # `next` is a gap away, and the line holds `second`
    assert not newcomer.granted
    assert newcomer.slot_ms == second.at_ms + 10_000
    clock.now = second.at_ms / 1000 + 5
    assert pacer.turn(APP, 10, second.slot_ms).granted


def test_a_late_waiting_email_is_told_next_keeps_its_place_and_never_goes_within_the_gap(
    dynamodb: Any,
) -> None:
    clock = Clock(START)
    pacer = Pacer(dynamodb, SEND_STATE, clock)
    pacer.turn(APP, 10)
    late, on_time = pacer.turn(APP, 10), pacer.turn(APP, 10)
    assert on_time.at_ms == late.at_ms + 10_000

    clock.now = (late.at_ms + 9_000) / 1000  # 9 s late
    assert pacer.turn(APP, 10, late.slot_ms).granted
    clock.now = on_time.at_ms / 1000  # on time, but only 1 s after the late one went
    refused = pacer.turn(APP, 10, on_time.slot_ms)
    assert refused == Turn(False, late.at_ms + 19_000, on_time.slot_ms)
    clock.now = refused.at_ms / 1000
    assert pacer.turn(APP, 10, refused.slot_ms).granted


def test_once_the_line_has_gone_a_newcomer_goes_at_once(dynamodb: Any) -> None:
    clock = Clock(START)
    pacer = Pacer(dynamodb, SEND_STATE, clock)
    pacer.turn(APP, 5)
    waiting = pacer.turn(APP, 5)
    clock.now = waiting.at_ms / 1000
    assert pacer.turn(APP, 5, waiting.slot_ms).granted

    clock.now += 10  # past `next` and past the line's end
    assert pacer.turn(APP, 5).granted


def test_no_gap_or_an_early_wake_writes_nothing(dynamodb: Any, writes: Counter[str]) -> None:
    clock = Clock(START)
    pacer = Pacer(dynamodb, SEND_STATE, clock)

    assert pacer.turn(APP, 0) == Turn(True, int(START * 1000))
    assert pacer.turn(APP, 0, slot_ms=123) == Turn(True, int(START * 1000))
    assert pacer.turn(APP, 30, slot_ms=int(START * 1000) + 500) == Turn(
        False, int(START * 1000) + 500, int(START * 1000) + 500
    )
    assert sum(writes.values()) == 0


def test_apps_are_paced_apart(dynamodb: Any) -> None:
    pacer = Pacer(dynamodb, SEND_STATE, Clock(START))

    assert pacer.turn(APP, 60).granted
    assert pacer.turn("65a1b2c3d4e5f60718293a4f", 60).granted


def test_slots_can_be_reserved_several_at_once(dynamodb: Any) -> None:
    pacer = Pacer(dynamodb, SEND_STATE, Clock(START))
    now = int(START * 1000)

    assert pacer.reserve(APP, 2, count=3) == [now, now + 2000, now + 4000]
    assert pacer.reserve(APP, 2, count=2) == [now + 6000, now + 8000]
    assert pacer.reserve(APP, 2, floor_ms=now + 60_000) == [now + 60_000]  # the line ended before the floor


GAP = 0.15
EMAILS_PER_SENDER = 3


def test_four_concurrent_senders_never_send_closer_than_the_gap(dynamodb: Any, writes: Counter[str]) -> None:
    """Real time, four threads, each sending three e-mails of one app as a sender does: ask, and when
    refused wait for the turn's time and ask again with the slot."""
    pacer = Pacer(dynamodb, SEND_STATE)
    granted: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(4)

    def sender() -> None:
        start.wait()
        for _ in range(EMAILS_PER_SENDER):
            turn = pacer.turn(APP, GAP)
            while not turn.granted:
                time.sleep(max(0.0, turn.at_ms / 1000 - time.time()))
                turn = pacer.turn(APP, GAP, turn.slot_ms)
            with lock:
                granted.append(turn.at_ms)

    threads = [threading.Thread(target=sender) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert len(granted) == 4 * EMAILS_PER_SENDER
    moments = sorted(granted)
    gaps = [later - earlier for earlier, later in itertools.pairwise(moments)]
    assert min(gaps) >= GAP * 1000, gaps
    # No herd: about three writes an e-mail (asked, reserved, granted), not one per e-mail per round.
    assert writes["UpdateItem"] <= 4 * len(granted), writes


# --- per-server windows ----------------------------------------------------------------------------


def test_a_full_minute_passes_the_server_over_until_the_minute_ends(dynamodb: Any) -> None:
    clock = Clock(START + 12.5)
    windows = Windows(dynamodb, SEND_STATE, clock)

    assert [windows.take(SMTP, 3, None) for _ in range(3)] == [None, None, None]
    assert windows.take(SMTP, 3, None) == Full("minute", START + 60)
    clock.now = START + 59.9
    assert windows.take(SMTP, 3, None) == Full("minute", START + 60)
    clock.now = START + 60
    assert windows.take(SMTP, 3, None) is None
    minute = int(START // 60)
    assert item(dynamodb, f"rate#{SMTP}#m#{minute}") == {"count": 3, "expires": int(START) + 60 + MINUTE_KEPT}
    assert item(dynamodb, f"rate#{SMTP}#m#{minute + 1}")["count"] == 1


def test_a_full_day_passes_the_server_over_until_midnight_utc(dynamodb: Any) -> None:
    clock = Clock(MIDNIGHT - 3600)
    windows = Windows(dynamodb, SEND_STATE, clock)

    assert windows.take(SMTP, None, 2) is None
    clock.now = MIDNIGHT - 1
    assert windows.take(SMTP, None, 2) is None
    assert windows.take(SMTP, None, 2) == Full("day", MIDNIGHT)
    clock.now = MIDNIGHT
    assert windows.take(SMTP, None, 2) is None
    assert item(dynamodb, f"rate#{SMTP}#d#20261126") == {"count": 2, "expires": int(MIDNIGHT) + DAY_KEPT}
    assert item(dynamodb, f"rate#{SMTP}#d#20261127")["count"] == 1


def test_a_full_day_gives_the_minutes_count_back(dynamodb: Any) -> None:
    clock = Clock(START)
    windows = Windows(dynamodb, SEND_STATE, clock)

    assert windows.take(SMTP, 5, 2) is None
    assert windows.take(SMTP, 5, 2) is None
    assert windows.take(SMTP, 5, 2) == Full("day", MIDNIGHT)
    assert windows.take(SMTP, 5, 2) == Full("day", MIDNIGHT)
    assert item(dynamodb, f"rate#{SMTP}#m#{int(START // 60)}")["count"] == 2
    assert item(dynamodb, f"rate#{SMTP}#d#20261126")["count"] == 2


def test_servers_are_counted_apart_and_no_limit_writes_nothing(dynamodb: Any, writes: Counter[str]) -> None:
    windows = Windows(dynamodb, SEND_STATE, Clock(START))

    assert windows.take(SMTP, None, None) is None
    assert sum(writes.values()) == 0
    assert windows.take(SMTP, 1, None) is None
    assert windows.take("65a1b2c3d4e5f60718293a4d", 1, None) is None
    assert windows.take(SMTP, 1, None) == Full("minute", START + 60)


def test_concurrent_takes_never_pass_the_limit(dynamodb: Any) -> None:
    windows = Windows(dynamodb, SEND_STATE)
    results: list[Full | None] = []
    lock = threading.Lock()

    def sender() -> None:
        for _ in range(10):
            result = windows.take(SMTP, None, 25)
            with lock:
                results.append(result)

    threads = [threading.Thread(target=sender) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert results.count(None) == 25
    assert len(results) == 40
