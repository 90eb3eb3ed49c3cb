"""Events expire: the API server keeps an Event for ``--event-ttl`` (1 h) after its last write.

kube-apiserver stores each Event write in etcd under a lease of the TTL, and its lease manager
shares one lease among the writes of a minute (it asks for TTL + 60 s and hands that lease out
while it still has at least the TTL to run). So an Event lives 1 h to 1 h 1 min past its last
write (a count bump is a write), then disappears: watchers see it DELETED, ``get events`` and
``describe`` no longer show it.

Here each lease is a bucket: the (namespace, name, resourceVersion) of the writes that took
it, and one timer at its expiry that removes the Events whose latest write is still the one
recorded (a later write sits in a later bucket). No scan of the store, nothing per reconcile;
the timers are background work (``progress=False``), so ``settle()`` does not wait an hour.
"""
from __future__ import annotations

from typing import Iterable

from kubelab.engine.core import Controller, Engine
from kubelab.engine.store import Key, Obj

EVENT_TTL = 3600.0  # kube-apiserver --event-ttl default
LEASE_REUSE = 60.0  # the etcd3 lease manager's reuse window (5% of the TTL, at most 60 s)


class EventExpiry(Controller):
    """Records every Event write against the current lease; reconciles nothing."""

    watches = ("Event",)

    def __init__(self, engine: Engine, ttl: float = EVENT_TTL) -> None:
        super().__init__(engine)
        self.ttl = ttl
        self._reuse_until = float("-inf")  # the current lease is handed out until then
        self._bucket: list[str] = []  # its writes, flat: namespace, name, resourceVersion, ...

    def keys_for(self, event: str, obj: Obj, old: Obj | None) -> Iterable[Key]:
        # on every Event write, so kept short: one clock read, one comparison, one extend
        if event != "DELETED":
            now = self.clock.now()
            if now >= self._reuse_until:  # less than the TTL left on the lease: take a new one
                self._reuse_until = now + LEASE_REUSE
                self._bucket = bucket = []
                self.clock.call_at(now + self.ttl + LEASE_REUSE, lambda: self._expire(bucket), progress=False)
            meta = obj["metadata"]
            self._bucket += (meta["namespace"], meta["name"], meta["resourceVersion"])
        return ()

    def _expire(self, bucket: list[str]) -> None:
        store = self.store
        for i in range(0, len(bucket), 3):
            ns, name, rv = bucket[i:i + 3]
            current = store.get("Event", ns, name)
            if current is not None and current["metadata"]["resourceVersion"] == rv:
                store.remove("Event", ns, name)


def install(engine: Engine) -> None:
    """Expire Events as kube-apiserver does with its default --event-ttl."""
    engine.add(EventExpiry(engine))
