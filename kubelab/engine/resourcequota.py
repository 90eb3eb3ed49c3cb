"""ResourceQuota: the resource-quota controller keeping ``status.hard``/``status.used``
current (pkg/controller/resourcequota) and the ResourceQuota admission plugin refusing what
would pass a quota (plugin/pkg/admission/resourcequota, CheckRequest in controller.go).

Usage is counted as the 1.32 evaluators count it: a pod that has not terminated uses
``pods``/``count/pods`` and its requests and limits (``cpu`` = ``requests.cpu``); every
other namespaced object uses ``count/<resource>`` and, for the kinds quota knew before
object counts, its legacy name (``services``, ``configmaps``, ``secrets``...). Quota scopes
and scope selectors are not evaluated (a quota with scopes is left alone).
"""
from __future__ import annotations

from typing import Iterable

from kubelab.api import errors
from kubelab.api.kinds import BY_KIND, KINDS, Kind
from kubelab.api.quantity import Quantity, parse
from kubelab.engine.apiserver import APIServer
from kubelab.engine.core import Controller, Engine
from kubelab.engine.store import Key, Obj, Store

_LEGACY = {"Pod": "pods", "Service": "services", "ConfigMap": "configmaps", "Secret": "secrets",
           "ResourceQuota": "resourcequotas", "ReplicationController": "replicationcontrollers",
           "PersistentVolumeClaim": "persistentvolumeclaims"}
# the pod evaluator's compute resources: quota on them makes every container name them
_MUST_SPECIFY = ("cpu", "limits.cpu", "limits.memory", "memory", "requests.cpu", "requests.memory")
_ONE = parse("1")


def _counted() -> tuple[Kind, ...]:
    return tuple(k for k in KINDS if k.namespaced and "create" in k.verbs and k.kind not in ("Binding", "Event"))


def _sum(containers: list[Obj], field: str, init: bool, into: dict[str, Quantity]) -> None:
    for c in containers:
        for name, value in ((c.get("resources") or {}).get(field) or {}).items():
            q = parse(value)
            if name not in into:
                into[name] = q
            elif init:
                if q.value > into[name].value:
                    into[name] = q
            else:
                into[name] = into[name] + q


def _pod_totals(pod: Obj, field: str) -> dict[str, Quantity]:
    """resourcehelper.PodRequests/PodLimits: the containers' sum, at least the largest init container."""
    spec = pod.get("spec") or {}
    total: dict[str, Quantity] = {}
    _sum(spec.get("containers") or [], field, False, total)
    init: dict[str, Quantity] = {}
    _sum(spec.get("initContainers") or [], field, True, init)
    for name, q in init.items():
        if name not in total or q.value > total[name].value:
            total[name] = q
    return total


def _compute(requests: dict[str, Quantity], limits: dict[str, Quantity]) -> dict[str, Quantity]:
    """podComputeUsageHelper without the pod count."""
    usage: dict[str, Quantity] = {}
    for name in ("cpu", "memory", "ephemeral-storage"):
        if name in requests:
            usage[name] = usage[f"requests.{name}"] = requests[name]
        if name in limits:
            usage[f"limits.{name}"] = limits[name]
    return usage


def usage(obj: Obj) -> dict[str, Quantity]:
    """What one object counts against a quota (its evaluator's Usage)."""
    kind = BY_KIND[obj["kind"]]
    counted: dict[str, Quantity] = {f"count/{kind.resource}": _ONE}
    if kind.kind == "Pod":
        if (obj.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            return {}
        counted.update(_compute(_pod_totals(obj, "requests"), _pod_totals(obj, "limits")))
    if kind.kind == "Service":
        spec = obj.get("spec") or {}
        if spec.get("type") == "LoadBalancer":
            counted["services.loadbalancers"] = _ONE
        if spec.get("type") in ("NodePort", "LoadBalancer"):
            counted["services.nodeports"] = parse(len(spec.get("ports") or []))
    if kind.kind in _LEGACY:
        counted[_LEGACY[kind.kind]] = _ONE
    return counted


def _matching(kind: Kind, hard: Iterable[str]) -> list[str]:
    """The evaluator's MatchingResources: which of a quota's resources this kind uses."""
    names = {f"count/{kind.resource}"} | ({_LEGACY[kind.kind]} if kind.kind in _LEGACY else set())
    if kind.kind == "Pod":
        names |= {"cpu", "memory", "ephemeral-storage", "requests.cpu", "requests.memory",
                  "requests.ephemeral-storage", "limits.cpu", "limits.memory", "limits.ephemeral-storage"}
    if kind.kind == "Service":
        names |= {"services.loadbalancers", "services.nodeports"}
    return sorted(n for n in hard if n in names)


def _pretty(values: dict[str, Quantity | str]) -> str:
    return ",".join(f"{k}={values[k]}" for k in sorted(values))


def _add(a: Quantity | None, b: Quantity) -> Quantity:
    return b if a is None else a + b


def _total(store: Store, namespace: str, hard: Iterable[str]) -> dict[str, Quantity]:
    """Every hard resource's use in ``namespace`` (zero where nothing uses it)."""
    names = set(hard)
    used: dict[str, Quantity] = {}
    for kind in _counted():
        wanted = _matching(kind, names)
        if not wanted:
            continue
        for obj in store.list(kind.kind, namespace):
            for name, q in usage(obj).items():
                if name in names:
                    used[name] = _add(used.get(name), q)
    zero = parse("0")
    return {name: used.get(name, zero) for name in sorted(names)}


def _format_used(used: dict[str, Quantity], hard: dict[str, str]) -> dict[str, str]:
    return {name: str(q) for name, q in used.items() if name in hard}


class ResourceQuotaController(Controller):
    """syncResourceQuota: ``status.hard`` from the spec, ``status.used`` counted anew whenever
    the quota or anything it counts in its namespace changes (the quota monitors' replenishment)."""

    watches = ("ResourceQuota", *(k.kind for k in _counted() if k.kind != "ResourceQuota"))

    def keys_for(self, event: str, obj: Obj, old: Obj | None) -> Iterable[Key]:
        if obj["kind"] == "ResourceQuota":
            return () if event == "DELETED" else (("ResourceQuota", obj["metadata"]["namespace"],
                                                   obj["metadata"]["name"]),)
        ns = obj["metadata"].get("namespace", "")
        return [("ResourceQuota", ns, q["metadata"]["name"]) for q in self.store.list("ResourceQuota", ns)]

    def reconcile(self, key: Key) -> None:
        quota = self.store.get(*key)
        if quota is None or (quota.get("spec") or {}).get("scopes"):
            return
        hard = dict((quota.get("spec") or {}).get("hard") or {})
        used = _format_used(_total(self.store, key[1], hard), hard)
        status = {"hard": hard, "used": used}
        if (quota.get("status") or {}) != status:
            self.store.update({**quota, "status": status}, status=True)


def admit(store: Store, kind: Kind, obj: Obj, dry_run: bool) -> None:
    """CheckRequest: every quota of the namespace that limits what ``obj`` uses must have room;
    the quotas' ``status.used`` then counts it at once (so the next request sees it)."""
    meta = obj.get("metadata") or {}
    ns, name = meta.get("namespace", ""), meta.get("name", "")
    quotas = [q for q in sorted(store.list("ResourceQuota", ns), key=lambda q: q["metadata"]["name"])
              if not (q.get("spec") or {}).get("scopes")]

    def forbid(message: str) -> errors.StatusError:
        return errors.forbidden(kind.plural, name, f'{kind.resource} "{name}" is forbidden: {message}', kind.group)

    interesting = []
    for q in quotas:
        status = q.get("status") or {}
        restricted = _matching(kind, (status.get("hard") or {}))
        if not restricted:
            continue
        if kind.kind == "Pod":
            missing = _missing(obj, [r for r in restricted if r in _MUST_SPECIFY])
            if missing:
                raise forbid(f"failed quota: {q['metadata']['name']}: must specify {missing}")
        if any(r not in (status.get("used") or {}) for r in restricted):
            raise forbid(f"status unknown for quota: {q['metadata']['name']}, resources: {','.join(restricted)}")
        interesting.append(q)
    if not interesting:
        return
    delta = usage(obj)
    updates = []
    for q in interesting:
        hard = {k: parse(v) for k, v in q["status"]["hard"].items()}
        used = {k: parse(v) for k, v in (q["status"].get("used") or {}).items()}
        requested = {k: v for k, v in delta.items() if k in hard}
        new = {k: _add(used.get(k), v) for k, v in requested.items()}
        exceeded = sorted(k for k, v in new.items() if v.value > hard[k].value)
        if exceeded:
            raise forbid(f"exceeded quota: {q['metadata']['name']}, "
                         f"requested: {_pretty({k: requested[k] for k in exceeded})}, "
                         f"used: {_pretty({k: used.get(k, parse('0')) for k in exceeded})}, "
                         f"limited: {_pretty({k: hard[k] for k in exceeded})}")
        if requested:
            updates.append((q, {**q["status"]["used"], **{k: str(v) for k, v in new.items()}}))
    if not dry_run:
        for q, used_now in updates:
            store.update({**q, "status": {**q["status"], "used": used_now}}, status=True)


def _missing(pod: Obj, required: list[str]) -> str:
    """podEvaluator.Constraints: each required compute resource, and the containers that lack it."""
    lacking: dict[str, list[str]] = {}
    spec = pod.get("spec") or {}
    for c in [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]:
        resources = c.get("resources") or {}
        have = _compute({k: parse(v) for k, v in (resources.get("requests") or {}).items()},
                        {k: parse(v) for k, v in (resources.get("limits") or {}).items()})
        for r in required:
            if r not in have:
                lacking.setdefault(r, []).append(c.get("name", ""))
    return "; ".join(f"{r} for: {','.join(sorted(set(names)))}" for r, names in sorted(lacking.items()))


def install(engine: Engine, api: APIServer) -> None:
    """The controller and the admission step for every kind a quota can count (after LimitRanger)."""
    controller = ResourceQuotaController(engine)
    engine.add(controller)
    for kind in _counted():
        def hook(obj: Obj, old: Obj | None, dry_run: bool, kind: Kind = kind) -> None:
            if old is None:
                admit(engine.store, kind, obj, dry_run)
        api.add_hook(kind.kind, hook)
