"""One clock for the whole cluster, and the timers that move it.

Notebooks use real time (pods take a couple of seconds to start, as on a real cluster); tests
and benchmarks use virtual time that moves only through ``advance`` / ``settle``, so nothing in
the engine ever sleeps.
"""
from __future__ import annotations

import calendar
import heapq
import itertools
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from typing import Callable

# Virtual time starts at a fixed, readable instant so test outputs are reproducible.
VIRTUAL_EPOCH = datetime(2026, 1, 1, tzinfo=timezone.utc).timestamp()


@dataclass(order=True)
class Timer:
    """A callback due at ``when``. ``progress`` timers count as work still to do for ``settle``;
    background timers (probe ticks, back-off retries of a crash loop) do not."""

    when: float
    seq: int
    fn: Callable[[], None] = field(compare=False)
    progress: bool = field(default=True, compare=False)
    cancelled: bool = field(default=False, compare=False)
    clock: "Clock | None" = field(default=None, compare=False, repr=False)

    def cancel(self) -> None:
        if not self.cancelled:
            self.cancelled = True
            if self.progress and self.clock is not None:
                self.clock._progress_live -= 1


class Clock:
    """Cluster time plus a heap of timers. Subclasses decide how ``now`` moves."""

    virtual: bool = False

    def __init__(self) -> None:
        self._timers: list[tuple[float, int, Timer]] = []  # (when, seq, timer): compared in C
        self._seq = itertools.count()
        self._progress_live = 0  # live progress timers, so settle never scans the heap
        #: called when a timer is scheduled before every other one (a background driver sleeping
        #: until the earliest timer wakes up for it); None on a clock nobody drives
        self.on_earlier: Callable[[], None] | None = None

    def now(self) -> float:
        raise NotImplementedError

    def call_at(self, when: float, fn: Callable[[], None], progress: bool = True) -> Timer:
        seq = next(self._seq)
        timer = Timer(when, seq, fn, progress, clock=self)
        timers = self._timers
        if self.on_earlier is not None and (not timers or when < timers[0][0]):
            self.on_earlier()
        heapq.heappush(timers, (when, seq, timer))
        if progress:
            self._progress_live += 1
        return timer

    def defer(self, timer: Timer, when: float) -> None:
        """Put a background timer that ``pop_due`` just returned back on the heap, due at
        ``when`` (after a long idle its many missed due times fold into this one)."""
        assert not timer.progress, "only background timers fold"
        timer.when, timer.cancelled = when, False
        heapq.heappush(self._timers, (when, next(self._seq), timer))

    def call_later(self, delay: float, fn: Callable[[], None], progress: bool = True) -> Timer:
        return self.call_at(self.now() + delay, fn, progress)

    def next_due(self) -> float | None:
        """When the next live timer fires."""
        self._drop_cancelled()
        return self._timers[0][0] if self._timers else None

    def has_progress(self) -> bool:
        """True while some progress timer is still to fire."""
        return self._progress_live > 0

    def pop_due(self, until: float) -> Timer | None:
        """Remove and return the earliest live timer due at or before ``until``."""
        self._drop_cancelled()
        if self._timers and self._timers[0][0] <= until:
            timer = heapq.heappop(self._timers)[2]
            if timer.progress:
                self._progress_live -= 1
            timer.cancelled = True  # fired: a later cancel() is a no-op
            return timer
        return None

    def _drop_cancelled(self) -> None:
        while self._timers and self._timers[0][2].cancelled:
            heapq.heappop(self._timers)

    def timestamp(self, at: float | None = None) -> str:
        """RFC 3339 in UTC with second precision, as the API server writes timestamps."""
        return _timestamp(int(self.now() if at is None else at))


class RealClock(Clock):
    """Wall-clock time. While the engine catches up on timers that fell due since it last ran,
    ``now`` is pinned to each timer's due time, so a step that schedules the next one (pulled
    -> created -> started) counts from when it happened, not from when someone looked."""

    def __init__(self) -> None:
        super().__init__()
        self._pinned: float | None = None

    def wall(self) -> float:
        """The time outside: a test subclass moves it to play a long idle or a suspend."""
        return time.time()

    def now(self) -> float:
        return self._pinned if self._pinned is not None else self.wall()

    def set(self, when: float) -> None:
        self._pinned = when if when < self.wall() else None


class VirtualClock(Clock):
    virtual = True

    def __init__(self, start: float = VIRTUAL_EPOCH) -> None:
        super().__init__()
        self._now = start

    def now(self) -> float:
        return self._now

    def set(self, when: float) -> None:
        if when > self._now:
            self._now = when


@lru_cache(maxsize=4096)
def _timestamp(seconds: int) -> str:
    """Cached: the engine stamps every write, many in the same second (one shared string each)."""
    return datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@lru_cache(maxsize=4096)
def parse_timestamp(value: str) -> float:
    """Seconds since the epoch for an RFC 3339 timestamp the store wrote (``...Z``). Cached and
    parsed by hand: controllers read pod timestamps on every reconcile."""
    try:
        return float(calendar.timegm((int(value[0:4]), int(value[5:7]), int(value[8:10]),
                                      int(value[11:13]), int(value[14:16]), int(value[17:19]))))
    except (ValueError, IndexError):
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)).timestamp()
