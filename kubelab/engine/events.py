"""Events: what controllers, the scheduler and the kubelet say about objects.

Recorded as core/v1 Events, aggregated the way client-go's event recorder does: the same
object, reason and message again bumps ``count`` and ``lastTimestamp`` of one Event, for as
long as the recorder's cache (an LRU of 4096 entries, as client-go's correlator) remembers it.
"""
from __future__ import annotations

from typing import Any

from kubelab.api.kinds import BY_KIND
from kubelab.engine.store import Obj, Store, compact

# client-go's EventCorrelator remembers this many recent events for aggregation (maxLruCacheEntries).
CACHE_ENTRIES = 4096

MIRROR = "kubernetes.io/config.mirror"


class Recorder:
    """Writes Events into the store for one reporting component (``deployment-controller``)."""

    def __init__(self, store: Store, component: str, host: str | None = None) -> None:
        self.store = store
        self.component = component
        self.host = host
        # (ns, uid, reason, msg, fieldPath) -> event name, least recently used first
        self._seen: dict[tuple[str, str, str, str, str], str] = {}
        self._keys = 0  # distinct keys recorded: spreads event names made at one instant
        # one copy of what many events repeat (a 100,000-pod cluster keeps 600,000 events)
        self._sources: dict[str, dict[str, str]] = {}
        self._texts: dict[str, str] = {}
        self._last_involved: tuple[tuple[str, ...], dict[str, Any]] = ((), {})

    def event(self, obj: Obj, type_: str, reason: str, message: str, field_path: str = "",
              host: str | None = None) -> None:
        meta = obj["metadata"]
        ns = meta.get("namespace") or "default"
        now = self.store.clock.timestamp()
        message = self._shared(message)  # also in the aggregation key, which outlives the event
        key = (ns, meta.get("uid", ""), reason, message, field_path)
        existing = self._seen.pop(key, None)
        if existing is not None:
            self._seen[key] = existing  # most recently used
            current = self.store.get("Event", ns, existing)
            if current is not None:
                self.store.update({**current, "count": current.get("count", 1) + 1, "lastTimestamp": now})
                return
        involved = self._involved_object(obj, ns, field_path)
        # name.<nanoseconds>, as client-go names events; virtual time stands still, so step past
        # names other recorders took at this instant (a Deployment and a Pod may share a name)
        stamp = int(self.store.clock.now() * 1e9) + self._keys
        name = f"{meta['name']}.{stamp:x}"
        while self.store.get("Event", ns, name) is not None:
            stamp += 1
            name = f"{meta['name']}.{stamp:x}"
        instance = host or self.host or ""
        source = self._sources.get(instance)
        if source is None:  # shared by this recorder's events: stored objects are never changed
            source = self._sources[instance] = {"component": self.component}
            if instance:
                source["host"] = instance
        self.store.create({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": name, "namespace": ns},
            "involvedObject": involved, "reason": reason, "message": message, "source": source,
            "firstTimestamp": now, "lastTimestamp": now, "count": 1, "type": type_,
            "eventTime": None, "reportingComponent": self.component,
            "reportingInstance": instance,
        })
        if key not in self._seen:
            self._keys += 1
        self._seen[key] = name
        if len(self._seen) > CACHE_ENTRIES:
            del self._seen[next(iter(self._seen))]

    def _involved_object(self, obj: Obj, ns: str, field_path: str) -> dict[str, Any]:
        """The event's involvedObject; consecutive events about one version of one object
        (Created then Started, a ReplicaSet's burst of SuccessfulCreate) share it."""
        meta = obj["metadata"]
        key = (obj["kind"], ns, meta["name"], meta.get("uid", ""), meta.get("resourceVersion", ""), field_path)
        if self._last_involved[0] == key:
            return self._last_involved[1]
        kind = BY_KIND[obj["kind"]]
        # the kubelet reports on a static pod, whose uid its mirror pod carries in an annotation
        uid = (meta.get("annotations") or {}).get(MIRROR) or meta.get("uid", "")
        involved: dict[str, Any] = {"kind": obj["kind"], "namespace": ns, "name": meta["name"],
                                    "uid": uid, "apiVersion": kind.api_version,
                                    "resourceVersion": meta.get("resourceVersion", "")}
        if not kind.namespaced:
            involved.pop("namespace")
        if field_path:
            involved["fieldPath"] = self._shared(field_path)
        involved = compact(involved)
        self._last_involved = (key, involved)
        return involved

    def _shared(self, text: str) -> str:
        """One string object for texts many events repeat ("Started container main")."""
        if len(self._texts) > CACHE_ENTRIES:
            self._texts.clear()
        return self._texts.setdefault(text, text)

    def normal(self, obj: Obj, reason: str, message: str, **kw: Any) -> None:
        self.event(obj, "Normal", reason, message, **kw)

    def warning(self, obj: Obj, reason: str, message: str, **kw: Any) -> None:
        self.event(obj, "Warning", reason, message, **kw)


def events_for(store: Store, obj: Obj) -> list[Obj]:
    """Events about ``obj`` (by uid), oldest first: what ``kubectl describe`` shows."""
    meta = obj["metadata"]
    ns = meta.get("namespace") or "default"
    uid = meta.get("uid")
    found = [e for e in store.list("Event", ns) if e["involvedObject"].get("uid") == uid]
    return sorted(found, key=lambda e: (e.get("firstTimestamp") or "", e["metadata"]["resourceVersion"]))
