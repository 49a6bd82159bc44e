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


async def starts_of(pacer: Pacer, time: Time, turns: int) -> list[float]:
    starts = []
    for _ in range(turns):
        await pacer.turn()
        starts.append(round(time.now - 100.0, 6))
    return starts


async def test_a_late_turn_does_not_push_the_others_back() -> None:
    time = Time()
    pacer = Pacer(20, clock=time.clock, sleep=time.sleep)  # a turn every 0.05 s
    time.oversleep = [0.0, 0.03]  # the second wait (the third turn) wakes 0.03 s late
    # The third turn began late, at 0.13; the fourth keeps to the timeline (0.15), so the
    # rate is the rate asked for, not a few percent under it.
    assert await starts_of(pacer, time, 5) == [0.0, 0.05, 0.13, 0.15, 0.2]


async def test_no_second_ever_holds_more_than_the_rate() -> None:
    time = Time()
    pacer = Pacer(10, clock=time.clock, sleep=time.sleep)
    # Every wait wakes 0.09 s late: turns bunch up behind the late ones to catch up, yet no
    # window of one second holds an eleventh.
    time.oversleep = [0.09] * 40
    starts = await starts_of(pacer, time, 40)
    for n in range(len(starts) - 10):
        assert starts[n + 10] - starts[n] >= 1.0 - 1e-9, (n, starts)
    # And the average is still the rate asked for: 40 turns in about 4 s.
    assert starts[-1] < 4.4


async def test_a_rate_that_is_not_whole_rounds_down_per_second() -> None:
    time = Time()
    pacer = Pacer(29.5, clock=time.clock, sleep=time.sleep)
    starts = await starts_of(pacer, time, 60)
    assert all(starts[n + 29] - starts[n] >= 1.0 - 1e-9 for n in range(len(starts) - 29))


async def test_after_a_quiet_spell_no_burst() -> None:
    time = Time()
    pacer = Pacer(10, clock=time.clock, sleep=time.sleep)
    await pacer.turn()
    time.now += 5.0  # nothing to send for a while
    for _ in range(3):
        await pacer.turn()
    # The first goes at once, the others a turn's distance apart.
    assert time.slept == [0.1, 0.1]


async def test_a_turn_asked_for_late_is_made_up_within_the_second() -> None:
    time = Time()
    pacer = Pacer(10, clock=time.clock, sleep=time.sleep)
    await pacer.turn()
    time.now += 0.25  # no message was ready when the second turn was due (at 0.1)
    starts = await starts_of(pacer, time, 4)
    # The missed turn and the one due at 0.2 go at once; then the timeline again.
    assert starts == [0.25, 0.25, 0.3, 0.4]


async def test_a_message_that_leaves_late_still_keeps_the_second() -> None:
    time = Time()
    pacer = Pacer(10, clock=time.clock, sleep=time.sleep)
    left = []
    for n in range(11):
        slot = await pacer.turn()
        if n == 0:
            time.now += 0.07  # the first message's own commit took 70 ms, not 20
        await pacer.leave(slot + 0.02)
        left.append(round(time.now - 100.0, 6))
    # The first set off at 0.07; the eleventh's turn was on time (1.0) but it leaves a
    # second after the first really did.
    assert left[0] == 0.07
    assert left[10] - left[0] >= 1.0 - 1e-9
    assert left[1:10] == [round(0.12 + 0.1 * n, 6) for n in range(9)]


async def test_a_late_wake_up_counts_as_it_really_was() -> None:
    time = Time()
    pacer = Pacer(10, clock=time.clock, sleep=time.sleep)
    time.oversleep = [0.05]  # the first message's wait to leave wakes 50 ms late
    left = []
    for _ in range(11):
        slot = await pacer.turn()
        await pacer.leave(slot + 0.02)
        left.append(time.now)
    assert left[10] - left[0] >= 1.0 - 1e-9
