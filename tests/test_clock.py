"""The engine's clock: virtual time, timers, and what settle() counts as work left."""
from __future__ import annotations

from kubelab.engine.clock import VirtualClock
from kubelab.engine.core import Engine


def test_timers_fire_in_order_at_their_time() -> None:
    engine = Engine(VirtualClock(start=100.0))
    fired: list[tuple[str, float]] = []
    engine.clock.call_later(5, lambda: fired.append(("b", engine.clock.now())))
    engine.clock.call_later(2, lambda: fired.append(("a", engine.clock.now())))
    engine.advance(3)
    assert fired == [("a", 102.0)]
    assert engine.clock.now() == 103.0
    engine.advance(10)
    assert fired == [("a", 102.0), ("b", 105.0)]


def test_cancelled_timer_never_fires_and_is_not_work_left() -> None:
    engine = Engine(VirtualClock())
    fired: list[int] = []
    timer = engine.clock.call_later(1, lambda: fired.append(1))
    assert engine.clock.has_progress()
    timer.cancel()
    assert not engine.clock.has_progress()
    assert engine.settle(10) is True
    assert fired == []


def test_settle_ignores_background_timers_but_fires_them_on_the_way() -> None:
    engine = Engine(VirtualClock(start=0.0))
    ticks: list[float] = []

    def tick() -> None:
        ticks.append(engine.clock.now())
        engine.clock.call_later(1, tick, progress=False)

    engine.clock.call_later(1, tick, progress=False)
    engine.clock.call_later(3.5, lambda: None)  # work left until t=3.5
    assert engine.settle(100) is True
    assert engine.clock.now() == 3.5
    assert ticks == [1.0, 2.0, 3.0]


def test_settle_gives_up_at_timeout() -> None:
    engine = Engine(VirtualClock(start=0.0))

    def again() -> None:
        engine.clock.call_later(1, again)  # always more to do

    engine.clock.call_later(1, again)
    assert engine.settle(10) is False
    assert engine.clock.now() == 10.0


def test_settle_until_a_condition() -> None:
    engine = Engine(VirtualClock(start=0.0))
    state = {"done": False}
    engine.clock.call_later(4, lambda: state.update(done=True))
    engine.clock.call_later(50, lambda: None)
    assert engine.settle(100, until=lambda: state["done"]) is True
    assert engine.clock.now() == 4.0


def test_real_clock_catches_up_on_chained_timers_at_their_due_times() -> None:
    """A cluster left alone on a real clock has moved as far as time has: a chain of steps
    that fell due while nobody looked all happen, each counted from the step before."""
    import time

    from kubelab.engine.clock import RealClock

    engine = Engine(RealClock())
    seen: list[float] = []
    start = time.time() - 10  # as if the steps began ten seconds ago

    def step() -> None:
        seen.append(engine.clock.now())
        if len(seen) < 3:
            engine.clock.call_later(2, step)

    engine.clock.call_at(start, step)
    engine.sync()
    assert len(seen) == 3
    assert [round(t - start, 6) for t in seen] == [0, 2, 4]
    assert engine.clock.now() >= time.time() - 1  # reads the wall again afterwards
