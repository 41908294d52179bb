"""The bot's sending budget on a virtual clock: the sliding window, priorities, pause, cancellation.

Every test runs on tests/support/virtual_clock.py's loop, so times are exact and instant: "granted
at 1.0 s" means the budget's own arithmetic, whatever the machine's speed.
"""

from __future__ import annotations

import asyncio
import itertools
import random

import pytest

from services.outreach.budget import Priority, SendBudget
from tests.support.virtual_clock import VirtualClockLoop, run_virtual

INTERACTIVE, BULK = Priority.INTERACTIVE, Priority.BULK


def most_in_any_window(times: list[float], window: float = 1.0) -> int:
    """The largest number of the times inside one half-open window [t, t + window)."""
    ordered = sorted(times)
    return max((sum(1 for u in ordered if t <= u < t + window) for t in ordered), default=0)


def virtual_loop() -> VirtualClockLoop:
    loop = asyncio.get_running_loop()
    assert isinstance(loop, VirtualClockLoop)
    return loop


async def turn(budget: SendBudget, priority: Priority, log: list[tuple[str, float]], name: str):
    """Acquire a turn and note when it came."""
    await budget.acquire(priority)
    log.append((name, virtual_loop().time()))


@pytest.mark.parametrize("spread", [0.0, 3.0])
def test_never_more_than_rate_in_any_second_under_three_times_the_rate(spread: float) -> None:
    """90 acquirers against a budget of 10 a second, all at once or arriving over 3 s, both
    priorities mixed: never 11 turns in a second, and no time lost either."""

    async def main() -> tuple[list[float], int]:
        budget = SendBudget(10)
        got: list[tuple[str, float]] = []
        rnd = random.Random(7)

        async def arrive(i: int) -> None:
            await asyncio.sleep(rnd.uniform(0, spread))
            await turn(budget, rnd.choice([INTERACTIVE, BULK]), got, str(i))

        await asyncio.gather(*(arrive(i) for i in range(90)))
        return [t for _, t in got], virtual_loop().jumps

    times, jumps = run_virtual(main())
    assert len(times) == 90
    assert most_in_any_window(times) == 10  # full, never over
    assert max(times) >= 8.0  # 90 turns at 10 a second take 8 full windows after the first 10
    assert max(times) <= 10.0  # and not much more (the bulk goes at 9 a second)
    # No busy loop: the loop slept about once per turn (and once per arrival), not per poll.
    assert jumps <= 2 * 90 + 20


def test_interactive_goes_before_every_waiting_bulk_first_come_first_served() -> None:
    async def main() -> list[tuple[str, float]]:
        budget = SendBudget(2)  # 2 a second; bulk alone at 1 a second
        got: list[tuple[str, float]] = []
        await budget.acquire(INTERACTIVE)
        await budget.acquire(INTERACTIVE)  # the window is full until 1.0
        tasks = []
        for name, priority in [("b1", BULK), ("b2", BULK), ("i1", INTERACTIVE), ("b3", BULK)]:
            tasks.append(asyncio.create_task(turn(budget, priority, got, name)))
            await asyncio.sleep(0)  # queued in this order
        await asyncio.sleep(0.5)
        tasks.append(asyncio.create_task(turn(budget, INTERACTIVE, got, "i2")))  # came last
        await asyncio.gather(*tasks)
        return got

    got = run_virtual(main())
    assert [name for name, _ in got] == ["i1", "i2", "b1", "b2", "b3"]
    assert dict(got)["i1"] == dict(got)["i2"] == 1.0  # both freed slots of the first second


def test_a_reply_does_not_wait_behind_a_bulk_flood() -> None:
    """200 broadcast messages queued, then a person writes: their reply goes at once, and the
    flood stays under the rate with the reply in it."""

    async def main() -> tuple[float, list[float]]:
        budget = SendBudget(30)
        got: list[tuple[str, float]] = []
        flood = [asyncio.create_task(turn(budget, BULK, got, f"b{i}")) for i in range(200)]
        await asyncio.sleep(2.5)
        assert budget.waiting(BULK) > 100
        asked = virtual_loop().time()
        await turn(budget, INTERACTIVE, got, "reply")
        waited = dict(got)["reply"] - asked
        await asyncio.gather(*flood)
        return waited, [t for _, t in got]

    waited, times = run_virtual(main())
    assert waited <= 1 / 30  # at most until the next slot frees, never behind the queue
    assert most_in_any_window(times) <= 30


def test_the_bulk_is_evenly_spaced_below_the_rate() -> None:
    async def main() -> list[float]:
        budget = SendBudget(30)
        got: list[tuple[str, float]] = []
        await asyncio.gather(*(turn(budget, BULK, got, str(i)) for i in range(90)))
        return [t for _, t in got]

    times = run_virtual(main())
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert min(gaps) == pytest.approx(1 / 29)  # a slot each second left for replies
    assert most_in_any_window(times) == 29


def test_a_pause_holds_both_priorities_until_it_ends() -> None:
    async def main() -> list[tuple[str, float]]:
        budget = SendBudget(5)
        got: list[tuple[str, float]] = []
        budget.pause(3.0)
        tasks = [
            asyncio.create_task(turn(budget, BULK, got, "bulk")),
            asyncio.create_task(turn(budget, INTERACTIVE, got, "reply")),
        ]
        await asyncio.sleep(1.0)
        budget.pause(0.5)  # a shorter pause does not end the one in force
        tasks.append(asyncio.create_task(turn(budget, INTERACTIVE, got, "later reply")))
        await asyncio.gather(*tasks)
        budget.pause(2.0)  # at 3.0: until 5.0
        await turn(budget, BULK, got, "after the second pause")
        return got

    got = run_virtual(main())
    assert got == [
        ("reply", 3.0),
        ("later reply", 3.0),
        ("bulk", 3.0),
        ("after the second pause", 5.0),
    ]


def test_a_cancelled_waiter_gives_up_its_place() -> None:
    async def main() -> list[tuple[str, float]]:
        budget = SendBudget(1)
        got: list[tuple[str, float]] = []
        await budget.acquire(INTERACTIVE)  # the window is full until 1.0
        reply = asyncio.create_task(turn(budget, INTERACTIVE, got, "reply"))
        bulk = asyncio.create_task(turn(budget, BULK, got, "bulk"))
        timed_out = [
            asyncio.create_task(asyncio.wait_for(budget.acquire(INTERACTIVE), 0.5))
            for _ in range(5)
        ]
        await asyncio.sleep(0.2)
        reply.cancel()  # the person's turn was no longer needed: the broadcast takes the slot
        for task in timed_out:
            with pytest.raises(TimeoutError):
                await task
        await bulk
        assert budget.waiting(INTERACTIVE) == budget.waiting(BULK) == 0
        await turn(budget, INTERACTIVE, got, "next")
        return got

    got = run_virtual(main())
    assert got == [("bulk", 1.0), ("next", 2.0)]  # no slot leaked, none taken twice


def test_a_turn_granted_then_cancelled_before_it_was_taken_is_handed_back() -> None:
    async def main() -> tuple[int, float]:
        loop = virtual_loop()
        budget = SendBudget(1)
        await budget.acquire(INTERACTIVE)
        waiter = asyncio.create_task(budget.acquire(INTERACTIVE))
        await asyncio.sleep(0)
        # The slot frees and is granted, then the waiter is cancelled before it runs again: the
        # gap between a future's result and its task's resumption (white box: the grant is made
        # by calling the budget's dispatch at that instant).
        loop.stall(1.0)
        budget._dispatch()
        assert budget.in_window() == 1
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        held = budget.in_window()
        await budget.acquire(BULK)
        return held, loop.time()

    held, next_at = run_virtual(main())
    assert held == 0
    assert next_at == 1.0


def test_a_stall_of_the_loop_releases_no_burst_above_the_rate() -> None:
    async def main() -> list[tuple[str, float]]:
        loop = virtual_loop()
        budget = SendBudget(10)
        got: list[tuple[str, float]] = []
        tasks = [
            asyncio.create_task(turn(budget, priority, got, f"{priority.name}{i}"))
            for i in range(40)
            for priority in (INTERACTIVE, BULK)
        ]
        await asyncio.sleep(1.5)
        loop.stall(5.0)  # a blocking call: every timer is late by seconds
        await asyncio.gather(*tasks)
        return got

    got = run_virtual(main())
    times = [t for _, t in got]
    assert most_in_any_window(times) == 10
    after = [t for t in times if t >= 6.5]
    assert after.count(min(after)) == 10  # at most a window's worth at once after the stall
    bulk = [t for name, t in got if name.startswith("BULK")]
    gaps = [b - a for a, b in zip(bulk, bulk[1:], strict=False)]
    assert min(gaps) >= 1 / 9 - SendBudget.TOLERANCE  # the bulk stays evenly spaced


def test_a_rate_below_one_or_a_fraction() -> None:
    with pytest.raises(ValueError):
        SendBudget(0)
    budget = SendBudget(29.5)
    assert budget.limit == 29 and budget.bulk_rate == 28
    alone = SendBudget(1)
    assert alone.bulk_rate == 1  # no room to keep for replies


def test_even_turns_are_spaced_so_a_second_never_bunches_up_at_the_platform() -> None:
    """With `even`, 60 replies at once go one every window / rate (not 30 at once then 30 a
    second later), and a waiting broadcast takes the same spacing after them."""

    async def main() -> tuple[list[float], list[float]]:
        budget = SendBudget(30, window=1.03, bulk_rate=30 / 1.03, even=True)
        replies: list[tuple[str, float]] = []
        bulk: list[tuple[str, float]] = []
        await asyncio.gather(
            *(turn(budget, INTERACTIVE, replies, str(i)) for i in range(60)),
            *(turn(budget, BULK, bulk, f"b{i}") for i in range(10)),
        )
        return [t for _, t in replies], [t for _, t in bulk]

    replies, bulk = run_virtual(main())
    gaps = [b - a for a, b in itertools.pairwise(sorted(replies + bulk))]
    assert min(gaps) == pytest.approx(1.03 / 30)
    assert min(bulk) > max(replies)  # replies first
    assert most_in_any_window(replies + bulk, 1.03) == 30
