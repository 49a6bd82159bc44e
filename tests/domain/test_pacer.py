"""The sender's pacing on a fixed timeline, with an injected clock (no real waiting)."""

from __future__ import annotations

from handlers.outbound.sender import Pacer


class Time:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []
        self.oversleep: list[float] = []  # how late each sleep wakes up

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds + (self.oversleep.pop(0) if self.oversleep else 0.0)


async def test_turns_are_spaced_from_when_the_previous_one_began() -> None:
    time = Time()
    pacer = Pacer(20, clock=time.clock, sleep=time.sleep)  # a turn every 0.05 s
    time.oversleep = [0.0, 0.03]  # the second wait (the third turn) wakes 0.03 s late
    starts = []
    for _ in range(5):
        await pacer.turn()
        starts.append(round(time.now - 100.0, 6))
    # The third turn began late, at 0.13: the fourth keeps its distance from it, so no
    # second ever holds more than 20 turns.
    assert starts == [0.0, 0.05, 0.13, 0.18, 0.23]


async def test_after_a_quiet_spell_no_burst() -> None:
    time = Time()
    pacer = Pacer(10, clock=time.clock, sleep=time.sleep)
    await pacer.turn()
    time.now += 5.0  # nothing to send for a while
    for _ in range(3):
        await pacer.turn()
    # The first goes at once, the others a turn's distance apart.
    assert time.slept == [0.1, 0.1]
