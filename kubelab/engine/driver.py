"""The background driver of a real-clock cluster: time passes even when nobody asks.

Without it a real-clock cluster moved only when a client call caught it up, so a pod applied
and left alone stayed ``ContainerCreating`` and every watcher (``get -w``, the served watch,
the dashboard) saw nothing. The driver is one daemon thread that

- sleeps until the next timer is due, woken early when an earlier timer is scheduled or the
  store is written (a request's change must reach the controllers now, not at the next tick);
  with nothing due it costs nothing but a wake-up every ``MAX_SLEEP`` seconds, which also
  notices a wall clock that jumped (a suspended laptop: the monotonic sleep does not count it);
- works in slices (:meth:`Engine.run_slice`): at most ``SLICE`` seconds under ``engine.lock``,
  then lets go so that requests keep answering while a big job is worked through;
- after a long idle folds background work nobody could observe (probe ticks, resyncs,
  back-offs: ``progress=False`` timers) into one firing at now, so catching up after 8 hours
  costs what catching up after a minute does.

The thread holds the engine only through a weak reference while it sleeps, so a dropped
``Cluster`` is collected and its driver ends; ``Cluster.close()`` ends it at once.
"""
from __future__ import annotations

import threading
import time
import weakref
from typing import TYPE_CHECKING, Any

from kubelab.engine.core import SLICE

if TYPE_CHECKING:
    from kubelab.engine.core import Engine

# Longest sleep between looks at the wall clock (seconds).
MAX_SLEEP = 2.0
# Pause between two slices of a long catch-up, so a request waiting on the lock gets it.
YIELD = 0.002


class Driver:
    """Runs ``engine`` on its real clock from a daemon thread until :meth:`stop`."""

    def __init__(self, engine: "Engine", slice_seconds: float = SLICE) -> None:
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self.slice_seconds = slice_seconds
        self.slices = 0  # slices run so far (a bench reads it)
        self._engine = weakref.ref(engine)  # never a strong one: a dropped cluster is collected
        engine.clock.on_earlier = self.wake
        # the engine keeps the way to unsubscribe (it holds the store, which holds the engine)
        engine.stop_driver_listener = engine.store.subscribe(self._on_write)  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=_run, args=(self._engine, self), name="kubelab-clock",
                                        daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Look at the clock now (a new, earlier timer; a write; a wall clock that moved)."""
        if not self._wake.is_set():
            self._wake.set()

    def _on_write(self, event: str, obj: Any, old: Any) -> None:
        if not self._wake.is_set():
            self._wake.set()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout: float = 5.0) -> None:
        """End the thread (it finishes the slice it is in) and wait for it."""
        self._stopped.set()
        self._wake.set()
        engine = self._engine()
        if engine is not None:
            engine.clock.on_earlier = None
            engine.stop_driver_listener()  # type: ignore[attr-defined]
        if self._thread is not threading.current_thread():
            self._thread.join(timeout)


def _run(engine_ref: "weakref.ref[Engine]", driver: Driver) -> None:
    """The thread's loop; the engine is only held strongly while a slice runs."""
    wake, stopped = driver._wake, driver._stopped
    while not stopped.is_set():
        engine = engine_ref()
        if engine is None:
            return
        wake.clear()  # before the slice: a write during or after it wakes the next look
        due = engine.run_slice(driver.slice_seconds)
        driver.slices += 1
        wall = engine.clock.wall()  # type: ignore[attr-defined]
        del engine
        if due is None:  # work left: let waiting requests in, then go on
            time.sleep(YIELD)
            continue
        delay = min(max(due - wall, 0.0), MAX_SLEEP)
        if delay > 0:
            wake.wait(delay)
