"""The cluster diagram: which pods a ReplicaSet owns, where they run, who sends them traffic.

Nodes are boxes holding their pods; Deployments, ReplicaSets, Services, ConfigMaps, Secrets and
PersistentVolumeClaims sit in their namespace's box with edges to the pods they own, select,
configure or give storage; a claim's PersistentVolume and StorageClass sit in a box of their own
(they belong to no namespace): StorageClass -> PersistentVolume -> claim -> pod. Everything
comes through the client seam, so the same picture works for a remote cluster.

``Diagram`` keeps a structural view (``nodes``, ``edges``) beside the graphviz source, so tests
and code can ask what is in the picture without reading SVG.
"""
from __future__ import annotations

import copy
import html
import re
from dataclasses import dataclass, field
from typing import Any, Iterable

from kubelab.api.objects import Obj
from kubelab.api.pods import controller_of, pod_status
from kubelab.notebook.display import AMBER, FILL, GREEN, GREY, RED, status_colour

Snapshot = dict[str, list[Obj]]

ROOT_CA = "kube-root-ca.crt"  # the root-ca-cert-publisher's ConfigMap in every namespace
KINDS = ("Node", "Pod", "Deployment", "ReplicaSet", "Service", "ConfigMap", "Secret", "PersistentVolumeClaim",
         "PersistentVolume", "StorageClass")
CLUSTER_SCOPED = ("Node", "PersistentVolume", "StorageClass")
STORAGE_GROUP = "cluster storage"
_KIND_WORDS = {
    "pod": "Pod", "pods": "Pod", "po": "Pod",
    "deployment": "Deployment", "deployments": "Deployment", "deploy": "Deployment",
    "replicaset": "ReplicaSet", "replicasets": "ReplicaSet", "rs": "ReplicaSet",
    "service": "Service", "services": "Service", "svc": "Service",
    "configmap": "ConfigMap", "configmaps": "ConfigMap", "cm": "ConfigMap",
    "secret": "Secret", "secrets": "Secret",
    "node": "Node", "nodes": "Node", "no": "Node",
    "persistentvolumeclaim": "PersistentVolumeClaim", "persistentvolumeclaims": "PersistentVolumeClaim",
    "pvc": "PersistentVolumeClaim", "persistentvolume": "PersistentVolume", "persistentvolumes": "PersistentVolume",
    "pv": "PersistentVolume", "storageclass": "StorageClass", "storageclasses": "StorageClass", "sc": "StorageClass",
}
MIN_SCALE = 0.6  # below this the labels get too small to read: scroll instead
GROUP_AT = 6  # a ReplicaSet with more pods than this is drawn as one box per node (expand=True: every pod)
_SHAPES = {"Deployment": "box3d", "ReplicaSet": "folder", "Service": "box", "ConfigMap": "note",
           "Secret": "note", "Pod": "box", "PodGroup": "box3d", "PersistentVolumeClaim": "cylinder",
           "PersistentVolume": "cylinder", "StorageClass": "component"}


def kind_names(words: Iterable[str]) -> set[str]:
    """``deploy,svc`` -> {"Deployment", "Service"} (kubectl's names and short names)."""
    out = set()
    for word in words:
        for w in word.split(","):
            if w.strip():
                try:
                    out.add(_KIND_WORDS[w.strip().lower()])
                except KeyError:
                    raise ValueError(f'the server doesn\'t have a resource type "{w.strip()}"') from None
    return out


def node_id(obj: Obj) -> str:
    meta = obj["metadata"]
    return f"{obj['kind']}/{meta.get('namespace', '')}/{meta['name']}"


def snapshot(client: Any, namespace: str | None = None) -> Snapshot:
    """The objects a diagram needs, read through the client (``namespace=None``: all)."""
    snap: Snapshot = {}
    for kind in KINDS:
        ns = None if kind in CLUSTER_SCOPED else namespace
        try:
            snap[kind] = client.list(kind, ns)["items"]
        except Exception:  # a kind the backend does not serve yet: leave it out of the picture
            snap[kind] = []
    # every namespace's CA bundle, mounted by every pod: cluster plumbing, not the learner's config
    snap["ConfigMap"] = [c for c in snap["ConfigMap"] if c["metadata"]["name"] != ROOT_CA]
    return snap


Key = tuple[str, str, str]  # (kind, namespace, name); namespace "" for a cluster-scoped object
_WORKLOADS = ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job")


def focus_objects(client: Any, focus: set[Key]) -> list[Obj]:
    """The focused objects as the server holds them now (gone ones left out)."""
    out = []
    for kind, ns, name in sorted(focus):
        try:
            out.append(client.get(kind, name, ns or None))
        except Exception:  # deleted since, or a kind the backend does not serve
            continue
    return out


def focus_pods(client: Any, objects: list[Obj]) -> list[Obj]:
    """The pods a picture of ``objects`` shows: a workload's or a Service's by its selector, a
    Pod itself, the pods of the namespace that use a focused ConfigMap or Secret. One list call
    per object, in that object's namespace only."""
    from kubelab.api.tables import selector_string

    pods: dict[str, Obj] = {}
    for o in objects:
        kind, meta, spec = o["kind"], o["metadata"], o.get("spec") or {}
        ns = meta.get("namespace")
        if kind == "Pod":
            found = [o]
        elif kind in _WORKLOADS or kind == "Service":
            sel = selector_string(spec.get("selector")) if kind != "Service" else \
                ",".join(f"{k}={v}" for k, v in sorted((spec.get("selector") or {}).items()))
            found = client.list("Pod", ns, label_selector=sel)["items"] if sel else []
        elif kind in ("ConfigMap", "Secret"):
            found = [p for p in client.list("Pod", ns)["items"]
                     if any(k == kind and n == meta["name"] for k, n, _ in config_refs(p))]
        else:
            found = []
        for p in found:
            pods[p["metadata"].get("uid") or node_id(p)] = p
    return list(pods.values())


def focus_snapshot(client: Any, focus: set[Key], objects: list[Obj] | None = None,
                   pods: list[Obj] | None = None) -> Snapshot:
    """Just what :func:`build` needs to draw ``focus`` (what an apply touched): those objects,
    their ReplicaSets and pods, the ConfigMaps and Secrets the pods use and the nodes; never
    every kind in every namespace."""
    from kubelab.api.tables import selector_string

    objects = focus_objects(client, focus) if objects is None else objects
    pods = focus_pods(client, objects) if pods is None else pods
    snap: Snapshot = {k: [] for k in KINDS}
    seen: set[str] = set()

    def add(o: Obj) -> None:
        if o.get("kind") in snap and node_id(o) not in seen:
            seen.add(node_id(o))
            snap[o["kind"]].append(o)

    for o in objects:
        add(o)
        if o["kind"] == "Deployment":
            sel = selector_string((o.get("spec") or {}).get("selector"))
            for rs in client.list("ReplicaSet", o["metadata"].get("namespace"), label_selector=sel)["items"]:
                add(rs)
    for p in pods:
        add(p)
        ns = p["metadata"].get("namespace", "")
        for kind, name, _ in config_refs(p):
            if f"{kind}/{ns}/{name}" not in seen and name != ROOT_CA:
                try:
                    add(client.get(kind, name, ns))
                except Exception:  # a missing ConfigMap: the pod's status says so
                    continue
    snap["Node"] = client.list("Node")["items"]
    return snap


def config_refs(pod: Obj) -> list[tuple[str, str, str]]:
    """(kind, name, how) for every ConfigMap/Secret a pod uses: env, envFrom, volume."""
    refs: list[tuple[str, str, str]] = []
    spec = pod.get("spec") or {}
    for c in (spec.get("initContainers") or []) + (spec.get("containers") or []):
        for env in c.get("env") or []:
            src = env.get("valueFrom") or {}
            if src.get("configMapKeyRef"):
                refs.append(("ConfigMap", src["configMapKeyRef"].get("name", ""), "env"))
            if src.get("secretKeyRef"):
                refs.append(("Secret", src["secretKeyRef"].get("name", ""), "env"))
        for ef in c.get("envFrom") or []:
            if ef.get("configMapRef"):
                refs.append(("ConfigMap", ef["configMapRef"].get("name", ""), "envFrom"))
            if ef.get("secretRef"):
                refs.append(("Secret", ef["secretRef"].get("name", ""), "envFrom"))
    for vol in spec.get("volumes") or []:
        if vol.get("configMap"):
            refs.append(("ConfigMap", vol["configMap"].get("name", ""), "volume"))
        if vol.get("secret"):
            refs.append(("Secret", vol["secret"].get("secretName", ""), "volume"))
        for source in (vol.get("projected") or {}).get("sources") or []:
            if source.get("configMap") and source["configMap"].get("name") != ROOT_CA:
                refs.append(("ConfigMap", source["configMap"].get("name", ""), "volume"))
            if source.get("secret"):
                refs.append(("Secret", source["secret"].get("name", ""), "volume"))
    seen, out = set(), []
    for r in refs:
        if r not in seen:
            seen.add(r)
            out.append(r)
    return out


def claim_refs(pod: Obj) -> list[str]:
    """The PersistentVolumeClaims a pod's volumes mount."""
    return [v["persistentVolumeClaim"].get("claimName", "") for v in (pod.get("spec") or {}).get("volumes") or []
            if isinstance(v.get("persistentVolumeClaim"), dict)]


def selects(service: Obj, pod: Obj) -> bool:
    sel = (service.get("spec") or {}).get("selector") or {}
    if not sel or service["metadata"].get("namespace") != pod["metadata"].get("namespace"):
        return False
    labels = pod["metadata"].get("labels") or {}
    return all(labels.get(k) == v for k, v in sel.items())


def port_label(service: Obj) -> str:
    """``80→3000/TCP`` for each port: where the Service listens and where it sends."""
    parts = []
    for p in (service.get("spec") or {}).get("ports") or []:
        target = p.get("targetPort", p.get("port"))
        proto = p.get("protocol", "TCP")
        parts.append(f"{p.get('port')}→{target}" + ("" if proto == "TCP" else f"/{proto}"))
    return ", ".join(parts)


def _owner_uid(obj: Obj) -> str | None:
    """The uid of what controls ``obj`` (its first owner when none is marked controller)."""
    ref = controller_of(obj) or next(iter(obj["metadata"].get("ownerReferences") or ()), None)
    return ref.get("uid") if ref else None


@dataclass
class Diagram:
    """A picture of (part of) the cluster: graphviz source plus what is in it."""

    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> {kind, name, namespace, ...}
    edges: list[tuple[str, str, str, str]] = field(default_factory=list)  # (from, to, relation, label)
    groups: dict[str, list[str]] = field(default_factory=dict)  # box label -> ids inside
    notes: dict[str, str] = field(default_factory=dict)  # box label -> second line (a node's IP, readiness)
    title: str = ""
    problems: list[str] = field(default_factory=list)  # what makes the picture's subject not work
    # the same picture with every pod drawn, when this one folds big ReplicaSets' pods into
    # boxes: the HTML carries both, and a click on a box shows it (no kernel round trip)
    expanded: "Diagram | None" = field(default=None, repr=False)
    _svg: str | None = field(default=None, repr=False)

    def ids(self, kind: str | None = None) -> list[str]:
        return [i for i, n in self.nodes.items() if kind is None or n["kind"] == kind]

    def names(self, kind: str) -> set[str]:
        return {n["name"] for n in self.nodes.values() if n["kind"] == kind}

    def has_edge(self, src: str, dst: str, relation: str | None = None) -> bool:
        return any(e[0] == src and e[1] == dst and (relation is None or e[2] == relation) for e in self.edges)

    @property
    def graph(self) -> Any:
        """The ``graphviz.Digraph`` of this picture."""
        return _to_graphviz(self)

    @property
    def source(self) -> str:
        return self.graph.source

    def svg(self) -> str:
        if self._svg is None:
            from kubelab.notebook.render import to_svg

            self._svg = to_svg(self.source)
        return self._svg

    def _repr_svg_(self) -> str:
        return self.svg()

    def html(self) -> str:
        """The picture as inline SVG that shrinks to the output's width, down to MIN_SCALE of
        its size (wider ones scroll sideways). JupyterLab shows ``image/svg+xml`` at its natural
        size and cuts off the right-hand side, which is where the pods are.

        A picture with boxes of pods carries its expanded form too, hidden: a click on a box
        (or the line under it) swaps the two in the browser. The handler is an inline
        ``onclick``, which a trusted output (one the kernel made, or a signed notebook) runs;
        an untrusted rendering shows the boxes, and ``--expand`` still draws every pod."""
        if self.expanded is None:
            return f'<div class="kubelab-diagram-fit" style="overflow-x:auto">{_fit(self.svg())}</div>'
        pods = sum(len(n["pods"]) for n in self.nodes.values() if n["kind"] == "PodGroup")
        hint = 'style="font:12px sans-serif;color:#616161;cursor:pointer;padding:2px 0"'
        return (f'<div class="kubelab-diagram-fit kubelab-diagram-toggle" style="overflow-x:auto" '
                f'onclick="{html.escape(_TOGGLE)}">'
                f'<div class="kubelab-view kubelab-view-grouped">{_fit(self.svg())}'
                f'<div class="kubelab-expand" {hint}>▸ click a box of pods to draw each of its {pods} pods</div>'
                f'</div><div class="kubelab-view kubelab-view-expanded" style="display:none">'
                f'{_fit(self.expanded.svg())}'
                f'<div class="kubelab-collapse" {hint}>▾ click here to fold the pods into boxes again</div>'
                f'</div></div>')

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"text/html": self.html(), "image/svg+xml": self.svg(), "text/plain": self.summary()}

    def summary(self) -> str:
        counts: dict[str, int] = {}
        for n in self.nodes.values():
            counts[n["kind"]] = counts.get(n["kind"], 0) + 1
        inside = ", ".join(f"{v} {k}{'s' if v != 1 else ''}" for k, v in counts.items()) or "nothing"
        return f"<{self.title or 'cluster diagram'}: {inside}>"

    def __repr__(self) -> str:
        return self.summary()


# Swaps a picture's two views: a click on a box of pods (or the line under the picture).
_TOGGLE = ("var t=event.target,g=t.closest('.kubelab-pod-group,.kubelab-expand'),"
           "c=t.closest('.kubelab-collapse');if(!g&&!c)return;"
           "var v=this.querySelectorAll(':scope>.kubelab-view');"
           "v[0].style.display=g?'none':'';v[1].style.display=g?'':'none';")


def _fit(svg: str) -> str:
    """An SVG that shrinks to its output's width, down to MIN_SCALE of its size."""
    svg = svg[svg.find("<svg"):]
    m = re.match(r'<svg width="([\d.]+)pt"', svg)
    fit = "max-width:100%;height:auto" + (f";min-width:{float(m.group(1)) * MIN_SCALE:.0f}pt" if m else "")
    return f'<svg style="{fit}"{svg[4:]}'


def build(snap: Snapshot, namespace: str | None = None, selector: str | None = None,
          kinds: set[str] | None = None, focus: set[tuple[str, str, str]] | None = None,
          title: str = "", expand: bool = False) -> Diagram:
    """Lay out a snapshot as a :class:`Diagram`.

    ``selector`` (``app=web``) keeps the pods it matches and what owns, selects or configures
    them; ``kinds`` keeps only those kinds; ``focus`` (``(kind, ns, name)`` keys, e.g. what an
    apply changed) keeps those objects, the ReplicaSets under them and their pods. A ReplicaSet
    with more than GROUP_AT pods shows one box per node counting them by status, unless
    ``expand``: 50 pods stay readable."""
    from kubelab.api.selectors import parse

    sel = parse(selector) if selector else None
    in_ns = (lambda o: o["metadata"].get("namespace") == namespace) if namespace else (lambda o: True)
    objs = {k: [o for o in snap.get(k, []) if k in CLUSTER_SCOPED or in_ns(o)] for k in KINDS}
    by_uid = {o["metadata"].get("uid"): o for k in ("Deployment", "ReplicaSet") for o in objs[k]}

    def key(o: Obj) -> tuple[str, str, str]:
        return (o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"])

    def chain(pod: Obj) -> list[Obj]:
        """The pod's owners, nearest first (ReplicaSet, then Deployment)."""
        out, cur = [], pod
        while (uid := _owner_uid(cur)) and uid in by_uid and len(out) < 5:
            cur = by_uid[uid]
            out.append(cur)
        return out

    pods = [p for p in objs["Pod"] if sel is None or sel.matches(p["metadata"].get("labels"))]
    if focus is not None:
        def focused_pod(p: Obj) -> bool:
            if key(p) in focus or any(key(o) in focus for o in chain(p)):
                return True
            if any(key(s) in focus and selects(s, p) for s in objs["Service"]):
                return True
            ns = p["metadata"].get("namespace", "")
            return any((k, ns, n) in focus for k, n, _ in config_refs(p))
        pods = [p for p in pods if focused_pod(p)]

    def wanted(kind: str) -> bool:
        return kinds is None or kind in kinds

    keep: dict[str, Obj] = {}
    show_pods = wanted("Pod")
    if show_pods:
        for p in pods:
            keep[node_id(p)] = p
    pod_list = pods
    related: dict[str, Obj] = {}
    for p in pod_list:
        for owner in chain(p):
            related[node_id(owner)] = owner
        for s in objs["Service"]:
            if selects(s, p):
                related[node_id(s)] = s
        ns = p["metadata"].get("namespace", "")
        for kind, name, _ in config_refs(p):
            cfg = next((c for c in objs[kind] if c["metadata"]["name"] == name
                        and c["metadata"].get("namespace") == ns), None)
            if cfg is not None:
                related[node_id(cfg)] = cfg
        for name in claim_refs(p):
            pvc = next((c for c in objs["PersistentVolumeClaim"] if c["metadata"]["name"] == name
                        and c["metadata"].get("namespace") == ns), None)
            if pvc is not None:
                related[node_id(pvc)] = pvc
    for kind in ("Deployment", "ReplicaSet", "Service"):
        for o in objs[kind]:
            oid = node_id(o)
            if focus is not None:
                include = key(o) in focus or (kind == "ReplicaSet" and any(
                    key(d) in focus for d in [by_uid.get(_owner_uid(o))] if d is not None))
            elif sel is not None:
                include = oid in related or sel.matches(o["metadata"].get("labels"))
            else:
                # Services without a selector (the ``kubernetes`` one) route nothing to pods.
                include = kind != "Service" or bool((o.get("spec") or {}).get("selector"))
            if include and wanted(kind):
                keep[oid] = o
    for kind in ("ConfigMap", "Secret"):  # only the ones pods in the picture use
        for o in objs[kind]:
            oid = node_id(o)
            if wanted(kind) and (oid in related or (focus is not None and key(o) in focus)):
                keep[oid] = o

    # storage: the claims in the picture (or asked for), then their volumes and classes
    def asked(kind: str) -> bool:
        return kinds is not None and kind in kinds

    pvs = {v["metadata"]["name"]: v for v in objs["PersistentVolume"]}
    classes = {c["metadata"]["name"]: c for c in objs["StorageClass"]}
    for o in objs["PersistentVolumeClaim"]:
        oid = node_id(o)
        if wanted("PersistentVolumeClaim") and (oid in related or asked("PersistentVolumeClaim")
                                                or (focus is not None and key(o) in focus)):
            keep[oid] = o
    claims_kept = [o for o in keep.values() if o["kind"] == "PersistentVolumeClaim"]
    for c in claims_kept:
        pv = pvs.get((c.get("spec") or {}).get("volumeName") or "")
        if pv is not None and wanted("PersistentVolume"):
            keep[node_id(pv)] = pv
    for o in objs["PersistentVolume"]:
        if asked("PersistentVolume"):
            keep[node_id(o)] = o
    for o in list(keep.values()):
        if o["kind"] in ("PersistentVolumeClaim", "PersistentVolume"):
            sc = classes.get((o.get("spec") or {}).get("storageClassName") or "")
            if sc is not None and wanted("StorageClass"):
                keep[node_id(sc)] = sc
    for o in objs["StorageClass"]:
        if asked("StorageClass"):
            keep[node_id(o)] = o

    d = Diagram(title=title)
    namespaces = sorted({o["metadata"].get("namespace", "") for o in keep.values() if o["kind"] not in CLUSTER_SCOPED})
    many_ns = len(namespaces) > 1 or namespace is None and namespaces not in ([], ["default"])
    for oid, o in keep.items():
        d.nodes[oid] = _describe(o, many_ns)
    # groups: nodes hold pods, namespaces hold everything else
    node_names = [n["metadata"]["name"] for n in objs["Node"]]
    for oid, o in keep.items():
        if o["kind"] == "Pod":
            node = (o.get("spec") or {}).get("nodeName")
            group = f"node {node}" if node else "unscheduled (Pending)"
            if node and node not in node_names:
                node_names.append(node)
        elif o["kind"] in CLUSTER_SCOPED:
            group = STORAGE_GROUP
        else:
            group = f"namespace {o['metadata'].get('namespace', '')}"
        d.groups.setdefault(group, []).append(oid)
    for n in objs["Node"]:
        d.notes[f"node {n['metadata']['name']}"] = _node_note(n)
    if wanted("Node") and (show_pods or kinds is not None):
        for name in node_names:  # empty nodes still show: where could pods go?
            if focus is None and sel is None:
                d.groups.setdefault(f"node {name}", [])
    # edges
    for oid, o in keep.items():
        kind = o["kind"]
        if kind in ("ReplicaSet", "Pod"):
            owner = by_uid.get(_owner_uid(o) or "")
            if owner is not None and node_id(owner) in keep:
                d.edges.append((node_id(owner), oid, "owns", ""))
        if kind == "Pod":
            for s in objs["Service"]:
                if node_id(s) in keep and selects(s, o):
                    d.edges.append((node_id(s), oid, "selects", port_label(s)))
            ns = o["metadata"].get("namespace", "")
            for ckind, name, how in config_refs(o):
                cid = f"{ckind}/{ns}/{name}"
                if cid in keep:
                    d.edges.append((cid, oid, "configures", how))
            for name in claim_refs(o):
                cid = f"PersistentVolumeClaim/{ns}/{name}"
                if cid in keep:
                    d.edges.append((cid, oid, "mounts", ""))
        if kind == "PersistentVolumeClaim":
            pid = f"PersistentVolume//{(o.get('spec') or {}).get('volumeName') or ''}"
            if pid in keep:
                d.edges.append((pid, oid, "bound", "bound"))
        if kind in ("PersistentVolume", "PersistentVolumeClaim"):
            sid = f"StorageClass//{(o.get('spec') or {}).get('storageClassName') or ''}"
            # a bound claim reaches its class through its volume
            if sid in keep and not (kind == "PersistentVolumeClaim" and
                                    f"PersistentVolume//{(o.get('spec') or {}).get('volumeName') or ''}" in keep):
                d.edges.append((sid, oid, "class", "class"))
    if not expand:
        full = copy.deepcopy(d)
        if _group_pods(d, keep, by_uid):
            d.expanded = full
    return d


def _group_pods(d: Diagram, keep: dict[str, Obj], by_uid: dict[str, Obj]) -> bool:
    """Fold each big ReplicaSet's pods into one box per node: ``12 pods`` with their statuses
    counted, and the edges that went to the pods going to the box. False: nothing to fold."""
    owned: dict[str, list[str]] = {}
    for oid, o in keep.items():
        if o["kind"] == "Pod" and (uid := _owner_uid(o)) in by_uid:
            owned.setdefault(uid, []).append(oid)
    into: dict[str, str] = {}
    for uid, pods in owned.items():
        if len(pods) <= GROUP_AT:
            continue
        rs = by_uid[uid]["metadata"]
        for oid in pods:
            node = (keep[oid].get("spec") or {}).get("nodeName") or ""
            into[oid] = f"Pods/{rs.get('namespace', '')}/{rs['name']}/{node}"
    if not into:
        return False
    members: dict[str, list[str]] = {}
    for oid, gid in into.items():
        members.setdefault(gid, []).append(oid)
    for gid, pods in members.items():
        _, ns, owner, node = gid.split("/", 3)
        counts: dict[str, int] = {}
        for oid in pods:
            counts[d.nodes[oid]["status"]] = counts.get(d.nodes[oid]["status"], 0) + 1
        colours = [status_colour(st) for st in counts]
        colour = RED if RED in colours else next((c for c in colours if c != GREEN), GREEN)
        lines = "\n".join(f"{n} {st}" for st, n in sorted(counts.items(), key=lambda kv: -kv[1]))
        d.nodes[gid] = {"kind": "PodGroup", "name": owner, "namespace": ns, "colour": colour,
                        "pods": sorted(d.nodes[oid]["name"] for oid in pods), "statuses": counts,
                        "label": f"{len(pods)} pods of {owner}\n{lines}",
                        "attrs": {"class": "kubelab-pod-group",
                                  "tooltip": f"{len(pods)} pods of ReplicaSet {ns}/{owner}: click to draw each"}}
        group = f"node {node}" if node else "unscheduled (Pending)"
        d.groups[group] = [i for i in d.groups.get(group, []) if i not in into] + [gid]
    for oid in into:
        del d.nodes[oid]
    seen: set[tuple[str, str, str, str]] = set()
    edges = []
    for src, dst, rel, label in d.edges:
        edge = (into.get(src, src), into.get(dst, dst), rel, label)
        if edge not in seen:
            seen.add(edge)
            edges.append(edge)
    d.edges = edges
    return True


def _node_note(node: Obj) -> str:
    status = node.get("status") or {}
    ip = next((a.get("address", "") for a in status.get("addresses") or [] if a.get("type") == "InternalIP"), "")
    ready = next((c.get("status") for c in status.get("conditions") or [] if c.get("type") == "Ready"), None)
    state = {"True": "", "False": "NotReady", "Unknown": "NotReady"}.get(ready or "", "")
    if (node.get("spec") or {}).get("unschedulable"):
        state = (state + ",SchedulingDisabled").lstrip(",")
    return " ".join(x for x in (ip, state) if x)


def _describe(o: Obj, many_ns: bool) -> dict[str, Any]:
    meta = o["metadata"]
    kind = o["kind"]
    name = meta["name"]
    info: dict[str, Any] = {"kind": kind, "name": name, "namespace": meta.get("namespace", "")}
    prefix = f"{info['namespace']}/" if many_ns and kind == "Pod" else ""
    spec, status = o.get("spec") or {}, o.get("status") or {}
    if kind == "Pod":
        st = pod_status(o)
        colour = status_colour(st)
        ip = status.get("podIP") or ""
        info.update(status=st, colour=colour, ip=ip,
                    label=f"{prefix}{name}\n{st}" + (f"\n{ip}" if ip else ""))
    elif kind in ("Deployment", "ReplicaSet"):
        want = spec.get("replicas", 1)
        ready = status.get("readyReplicas", 0) or 0
        colour = GREY if want == 0 else status_colour("Running" if ready == want else "Pending")
        images = ", ".join(c.get("image", "") for c in
                           ((spec.get("template") or {}).get("spec") or {}).get("containers") or [])
        rev = (meta.get("annotations") or {}).get("deployment.kubernetes.io/revision")
        extra = f" rev {rev}" if rev and kind == "ReplicaSet" else ""
        info.update(colour=colour, replicas=want, ready=ready,
                    label=f"{kind}\n{name}\n{ready}/{want} ready{extra}\n{images}")
    elif kind == "Service":
        ip = spec.get("clusterIP") or ""
        info.update(colour="#1565c0", ip=ip,
                    label=f"Service {spec.get('type', 'ClusterIP')}\n{name}\n{ip}\n{port_label(o)}")
    elif kind in ("PersistentVolumeClaim", "PersistentVolume"):
        phase = "Terminating" if meta.get("deletionTimestamp") else status.get("phase", "")
        size = ((status.get("capacity") if kind == "PersistentVolumeClaim" else spec.get("capacity")) or {}).get(
            "storage", "")
        extra = f"\n{spec.get('persistentVolumeReclaimPolicy', '')}" if kind == "PersistentVolume" else ""
        info.update(colour=status_colour(phase), status=phase,
                    label=f"{kind}\n{name}\n{phase}{' ' + size if size else ''}{extra}")
    elif kind == "StorageClass":
        info.update(colour="#00695c", label=f"StorageClass\n{name}\n{o.get('provisioner', '')}")
    else:
        info.update(colour="#6a1b9a" if kind == "ConfigMap" else "#4e342e", label=f"{kind}\n{name}")
    return info


def _to_graphviz(d: Diagram) -> Any:
    import graphviz

    g = graphviz.Digraph("kubelab", graph_attr={"rankdir": "LR", "fontname": "Helvetica", "fontsize": "11",
                                                "nodesep": "0.15", "ranksep": "0.6",
                                                # "namespace default" once: the box says it already
                                                "label": "" if d.title in d.groups else d.title,
                                                "labelloc": "t"},
                         node_attr={"fontname": "Helvetica", "fontsize": "10", "style": "filled,rounded",
                                    "shape": "box", "margin": "0.08,0.04"},
                         edge_attr={"fontname": "Helvetica", "fontsize": "9", "color": "#555555"})
    if len(d.nodes) > 80:  # big clusters: fewer crossing-minimisation passes keep layout < 1 s
        g.graph_attr.update(mclimit="0.2", nslimit="1", nslimit1="1")
    # dot stacks a left-to-right graph's same-rank boxes bottom-up: give the nodes last-first so
    # an idle cluster reads kubelab, kubelab-m02, kubelab-m03 from the top
    groups = sorted(d.groups.items())
    nodes = [g for g in groups if g[0].startswith("node ")]
    for i, (label, ids) in enumerate([g for g in groups if g not in nodes] + nodes[::-1]):
        with g.subgraph(name=f"cluster_{i}") as sub:
            is_node = label.startswith("node ")
            note = d.notes.get(label)
            sick = bool(note) and ("NotReady" in note or "Disabled" in note)
            sub.attr(label=f"{label}\n{note}" if note else label,
                     style="rounded,filled" if is_node else "dashed,rounded",
                     fillcolor=("#fff3e0" if sick else "#f5f5f5") if is_node else "white",
                     color=RED if sick else "#9e9e9e")
            if not ids:
                sub.node(f"empty/{label}", label="(no pods)", shape="plaintext", style="", fontcolor="#9e9e9e")
            for oid in ids:
                n = d.nodes[oid]
                colour = n.get("colour", GREY)
                style = "filled,rounded" if n["kind"] != "ReplicaSet" or n.get("replicas") else "filled,dashed"
                attrs = {"shape": _SHAPES.get(n["kind"], "box"), "color": colour, "style": style,
                         "fillcolor": FILL.get(colour, "#e3f2fd" if n["kind"] == "Service" else "#f3e5f5"),
                         "fontcolor": "black", "tooltip": f"{n['kind']} {n['namespace']}/{n['name']}",
                         **n.get("attrs", {})}
                sub.node(oid, label=n["label"], **attrs)
    styles = {"owns": {"arrowhead": "normal"},
              "selects": {"color": "#1565c0", "fontcolor": "#1565c0", "style": "bold"},
              "configures": {"color": "#6a1b9a", "fontcolor": "#6a1b9a", "style": "dashed"},
              "mounts": {"color": "#00695c", "fontcolor": "#00695c", "style": "bold"},
              "bound": {"color": "#00695c", "fontcolor": "#00695c"},
              "class": {"color": "#00695c", "fontcolor": "#00695c", "style": "dashed"},
              "sends": {"color": "#1565c0", "fontcolor": "#1565c0"},
              "answered": {"color": GREEN, "fontcolor": GREEN, "penwidth": "3"},
              "idle": {"color": "#9e9e9e", "fontcolor": "#9e9e9e", "style": "dashed"},
              "broken": {"color": RED, "fontcolor": RED, "style": "dashed", "penwidth": "2"},
              "denied": {"color": RED, "fontcolor": RED, "style": "dotted", "penwidth": "2", "arrowhead": "tee"},
              "limited": {"color": AMBER, "fontcolor": AMBER, "style": "dashed"}}
    labelled: set[tuple[str, str]] = set()
    for src, dst, rel, label in d.edges:
        if rel in ("selects", "configures"):  # one label per source is enough to read the picture
            label = "" if (src, label) in labelled else label
            labelled.add((src, label))
        g.edge(src, dst, label=label, **styles.get(rel, {}))
    return g


def diagram(client: Any, namespace: str | None = None, selector: str | None = None,
            kinds: Iterable[str] | None = None, focus: set[tuple[str, str, str]] | None = None,
            expand: bool = False) -> Diagram:
    """The cluster diagram from a client: ``diagram(cluster.client, "default", "app=web", ["deploy"])``;
    ``expand=True`` draws every pod of a big ReplicaSet instead of a box per node."""
    wanted = kind_names(kinds) if kinds else None
    scope = f"namespace {namespace}" if namespace else "all namespaces"
    return build(snapshot(client, namespace), namespace, selector, wanted, focus, title=scope, expand=expand)
