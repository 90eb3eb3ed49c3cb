"""The engine: the store, the clock, and the controllers that react to both.

Controllers are level-triggered like Kubernetes' own: a change to an object they watch puts a
key on their work queue, and ``reconcile(key)`` looks at the whole current state for that key
and moves it one step towards what the spec asks. Nothing here sleeps: time moves through the
clock's timers, in real time in notebooks and on demand in tests.
"""
from __future__ import annotations

import gc
import random
import threading
import time
from collections import deque
from contextlib import contextmanager
from typing import Callable, Iterable, Iterator

from kubelab.engine.clock import Clock, Timer
from kubelab.engine.store import Key, Obj, Store, key_of


# How far apart timers may be and still be handled before one reconcile (cluster seconds).
BATCH = 0.05
# Real clock: the most wall seconds one slice of catch-up holds the engine lock, so requests
# keep answering while a big job (a 100,000-replica Deployment) is worked through.
SLICE = 0.05
# Real clock: a background timer (a probe tick, a resync, a back-off retry) that fell due more
# than this long ago fires once now instead of replaying each missed tick (a long idle, a
# suspended laptop, a host too busy to keep up).
FOLD_AFTER = 5.0
# Real clock: while a long catch-up goes on, its progress (the engine's own writes) is written
# to the state file at least this often (wall seconds); requests write theirs when they end,
# and a slice that catches up writes at once.
PERSIST_EVERY = 1.0
# Objects a batch must have made (net, tracked by the cyclic GC) to count as a big one.
PROMOTE_AFTER = 100_000


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Hold Python's cyclic garbage collector while the engine works through timers. A big
    cluster keeps millions of small dicts alive, and each full collection walks all of them: on
    10,000 pods that was a third of the run. The engine makes almost no reference cycles, so
    nothing piles up; collection resumes as soon as the batch is done. When a batch made many
    objects (pods, their statuses and events), what it kept is long-lived: it goes straight to
    the oldest generation (freeze, then unfreeze) instead of being walked by a young collection
    right after the batch and again by the middle one; a cycle among it waits for the next full
    collection. Small batches (a notebook's clock ticks) leave the generations alone."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        if gc.get_count()[0] > PROMOTE_AFTER:
            gc.freeze()
            gc.unfreeze()
        gc.enable()


class Controller:
    """Base of every control loop: say which kinds you watch, reconcile one key at a time."""

    #: kinds whose changes wake this controller; ``keys_for`` maps a change to keys to reconcile
    watches: tuple[str, ...] = ()

    def __init__(self, engine: "Engine") -> None:
        self.engine = engine
        self.store = engine.store
        self.clock = engine.clock

    def keys_for(self, event: str, obj: Obj, old: Obj | None) -> Iterable[Key]:
        """By default a change to an object reconciles that object."""
        return (key_of(obj),)

    def reconcile(self, key: Key) -> None:
        raise NotImplementedError

    def enqueue(self, key: Key) -> None:
        self.engine.enqueue(self, key)

    def requeue_after(self, seconds: float, key: Key, progress: bool = True) -> Timer:
        """Look at ``key`` again later (a rollout's progress deadline, a back-off)."""
        return self.clock.call_later(seconds, lambda: self.enqueue(key), progress)


class Engine:
    """Runs controllers over the store as the clock moves."""

    def __init__(self, clock: Clock, seed: int | None = None) -> None:
        self.clock = clock
        self.rng = random.Random(seed)
        self.store = Store(clock, self.rng)
        self.lock = threading.RLock()
        self.controllers: list[Controller] = []
        self._by_kind: dict[str, list[Controller]] = {}
        self._queue: deque[tuple[Controller, Key]] = deque()
        self._queued: set[tuple[int, Key]] = set()
        self.store.subscribe(self._on_change)
        #: takes the store's changes for the disk (``Cluster(state=...)``), under the lock, and
        #: returns what writes them, run once the lock is let go (stored objects never change,
        #: so requests go on meanwhile): at the end of each request, of advance/settle, and of
        #: the driver's slices (see PERSIST_EVERY)
        self.persist: Callable[[], Callable[[], None] | None] | None = None
        self._persist_after = 0.0  # (monotonic) a long catch-up persists its progress from then on

    def load(self, objects: list[Obj], resource_version: int) -> None:
        """Put objects read back from disk into the store, telling nobody yet (see replay)."""
        with self.lock, _gc_paused():
            self.store.load(objects, resource_version)

    def replay(self, skip: Callable[[str, Obj, Obj | None], None] | None = None) -> None:
        """Tell every controller about every object, as an informer's first list does after
        a control-plane restart, and let them act on it (``skip``: a subscriber that already
        knows them all)."""
        with self.lock, _gc_paused():
            self.store.replay(skip)
            self.drain()

    def flush(self) -> None:
        """Make what changed so far durable (nothing to do without a state file)."""
        if self.persist is not None:
            with self.lock:
                write = self.persist() if self.persist is not None else None
            if write is not None:
                with _gc_paused():  # encoding thousands of objects would wake full collections
                    write()

    def add(self, controller: Controller) -> Controller:
        self.controllers.append(controller)
        for kind in controller.watches:
            self._by_kind.setdefault(kind, []).append(controller)
        return controller

    def enqueue(self, controller: Controller, key: Key) -> None:
        mark = (id(controller), key)
        if mark not in self._queued:
            self._queued.add(mark)
            self._queue.append((controller, key))

    def _on_change(self, event: str, obj: Obj, old: Obj | None) -> None:
        for controller in self._by_kind.get(obj["kind"], ()):
            for key in controller.keys_for(event, obj, old):
                self.enqueue(controller, key)

    def drain(self, deadline: float | None = None) -> bool:
        """Reconcile until every work queue is empty, or until ``time.perf_counter()`` passes
        ``deadline``; True when the queues are empty."""
        queue, queued = self._queue, self._queued
        if deadline is None:
            while queue:
                controller, key = queue.popleft()
                queued.discard((id(controller), key))
                controller.reconcile(key)
            return True
        while queue:
            controller, key = queue.popleft()
            queued.discard((id(controller), key))
            controller.reconcile(key)
            if time.perf_counter() > deadline:
                break
        return not queue

    def idle(self) -> bool:
        return not self._queue and not self.clock.has_progress()

    # -- moving time ----------------------------------------------------------------------
    def run_until(self, until: float) -> None:
        """Fire every timer due by ``until`` in order. Controllers reconcile once per batch of
        timers due within ``BATCH`` seconds, not after each one: like a real controller's work
        queue, a burst of changes (a thousand pods going Running) collapses into one sync."""
        with self.lock, _gc_paused():
            self.drain()
            while (timer := self.clock.pop_due(until)) is not None:
                self._set_time(timer.when)
                timer.fn()
                window = min(until, timer.when + BATCH)
                while (more := self.clock.pop_due(window)) is not None:
                    self._set_time(more.when)
                    more.fn()
                self.drain()
            self._set_time(until)

    def run_slice(self, budget: float = SLICE, persist: bool = True) -> float | None:
        """Real clock: catch up with the wall for at most ``budget`` seconds of work, then let
        go of the lock. Returns None while work is left, else when the next timer is due
        (``inf`` when none is). Timers fire in order and controllers reconcile once per
        ``BATCH`` window, as in :meth:`run_until`; a background timer more than
        ``FOLD_AFTER`` seconds late fires once at the wall's now (folded). ``persist=False``
        leaves the engine's writes for the driver's next slice to put on disk (a reading
        request never waits on the disk)."""
        write: Callable[[], None] | None = None
        due: float | None = None
        with self.lock, _gc_paused():
            try:
                due = self._slice(time.perf_counter() + budget)
            finally:
                self._set_time(float("inf"))  # between slices a real clock reads the wall
                if persist and self.persist is not None and (time.monotonic() >= self._persist_after
                                                             or due is not None):
                    write = self.persist()
                    self._persist_after = time.monotonic() + PERSIST_EVERY
        if write is not None:
            with _gc_paused():
                write()
        return due

    def _slice(self, deadline: float) -> float | None:
        clock = self.clock
        wall = clock.wall()  # type: ignore[attr-defined]
        if not self.drain(deadline):
            return None
        fold_before = wall - FOLD_AFTER
        while (timer := clock.pop_due(wall)) is not None:
            if not timer.progress and timer.when < fold_before:
                clock.defer(timer, wall)
                continue
            self._set_time(timer.when)
            timer.fn()
            window = min(wall, timer.when + BATCH)
            while time.perf_counter() <= deadline and (more := clock.pop_due(window)) is not None:
                self._set_time(more.when)
                more.fn()
            if not self.drain(deadline) or time.perf_counter() > deadline:
                return None
        due = clock.next_due()
        return float("inf") if due is None else due

    def sync(self) -> None:
        """Catch up to the clock's now (real time moved on since the last call). A real clock
        does one bounded slice: its background driver does the rest without the caller."""
        if not self.clock.virtual and hasattr(self.clock, "wall"):
            self.run_slice(persist=False)
            return
        self.run_until(self.clock.now())
        self._set_time(float("inf"))  # a real clock reads the wall again

    def advance(self, seconds: float) -> None:
        if not self.clock.virtual:
            raise RuntimeError("advance() needs a virtual clock: Cluster(clock='virtual')")
        self.run_until(self.clock.now() + seconds)
        self.flush()

    def settle(self, timeout: float = 300, until: Callable[[], bool] | None = None) -> bool:
        """Run forward until nothing is left to do (or ``until()`` holds), at most ``timeout``
        seconds of cluster time. True when that state was reached."""
        if not self.clock.virtual:
            raise RuntimeError("settle() needs a virtual clock: Cluster(clock='virtual')")
        with self.lock, _gc_paused():
            settled = self._settle(timeout, until)
        self.flush()
        return settled

    def _settle(self, timeout: float, until: Callable[[], bool] | None) -> bool:
        deadline = self.clock.now() + timeout
        self.drain()
        while True:
            if (until() if until else not self.clock.has_progress()):
                return True
            due = self.clock.next_due()
            if due is None or due > deadline:
                self._set_time(deadline)
                return until() if until else False
            self.run_until(due)

    def _set_time(self, when: float) -> None:
        """Move a virtual clock forward; pin a real one to a due time it is catching up on."""
        set_time = getattr(self.clock, "set", None)
        if set_time is not None and (when != float("inf") or not self.clock.virtual):
            set_time(when)
