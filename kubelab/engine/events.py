"""Events: what controllers, the scheduler and the kubelet say about objects.

Recorded as core/v1 Events, aggregated the way client-go's event recorder does: the same
object, reason and message again bumps ``count`` and ``lastTimestamp`` of one Event.
"""
from __future__ import annotations

from typing import Any

from kubelab.api.kinds import BY_KIND
from kubelab.engine.store import Obj, Store


class Recorder:
    """Writes Events into the store for one reporting component (``deployment-controller``)."""

    def __init__(self, store: Store, component: str, host: str | None = None) -> None:
        self.store = store
        self.component = component
        self.host = host
        self._seen: dict[tuple[str, str, str, str, str], str] = {}  # (ns, uid, reason, msg, fieldPath) -> name

    def event(self, obj: Obj, type_: str, reason: str, message: str, field_path: str = "",
              host: str | None = None) -> None:
        meta = obj["metadata"]
        ns = meta.get("namespace") or "default"
        now = self.store.clock.timestamp()
        key = (ns, meta.get("uid", ""), reason, message, field_path)
        existing = self._seen.get(key)
        if existing is not None:
            current = self.store.get("Event", ns, existing)
            if current is not None:
                self.store.update({**current, "count": current.get("count", 1) + 1, "lastTimestamp": now})
                return
        kind = BY_KIND[obj["kind"]]
        involved: dict[str, Any] = {"kind": obj["kind"], "namespace": ns, "name": meta["name"],
                                    "uid": meta.get("uid", ""), "apiVersion": kind.api_version,
                                    "resourceVersion": meta.get("resourceVersion", "")}
        if not kind.namespaced:
            involved.pop("namespace")
        if field_path:
            involved["fieldPath"] = field_path
        # name.<nanoseconds>, as client-go names events; virtual time stands still, so step past
        # names other recorders took at this instant (a Deployment and a Pod may share a name)
        stamp = int(self.store.clock.now() * 1e9) + len(self._seen)
        while self.store.get("Event", ns, f"{meta['name']}.{stamp:x}") is not None:
            stamp += 1
        name = f"{meta['name']}.{stamp:x}"
        source: dict[str, str] = {"component": self.component}
        if host or self.host:
            source["host"] = host or self.host or ""
        self.store.create({
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": name, "namespace": ns},
            "involvedObject": involved, "reason": reason, "message": message, "source": source,
            "firstTimestamp": now, "lastTimestamp": now, "count": 1, "type": type_,
            "eventTime": None, "reportingComponent": self.component,
            "reportingInstance": host or self.host or "",
        })
        self._seen[key] = name

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
