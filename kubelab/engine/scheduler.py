"""kube-scheduler: binds each Pending pod to a node, or says why it cannot.

Filters, in the default profile's order: NodeUnschedulable, TaintToleration, NodeAffinity
(nodeSelector and required node affinity), NodePorts, NodeResourcesFit, PodTopologySpread
(DoNotSchedule), InterPodAffinity (required terms, and existing pods' anti-affinity). Scores, with
the default profile's weights: NodeResourcesFit LeastAllocated (1; a container asking for no cpu
or memory counts as 100m/200Mi) and BalancedAllocation (1; real requests), ImageLocality (1; from
the images nodes report in ``status.images``), InterPodAffinity (2; the pod's preferred terms),
NodeAffinity (2; preferred terms), PodTopologySpread (2; the pod's ScheduleAnyway constraints, or
the system defaults: hostname maxSkew 3 and zone maxSkew 5 over the pods its Services and
ReplicaSet/StatefulSet select), TaintToleration (3; PreferNoSchedule taints). The best node wins;
ties go to the cluster's seeded random generator, as kube-scheduler picks among equals at random.

Two ways to find the best node, sharing one set of per-plugin raw scores:

- Up to 100 nodes (kube-scheduler's minFeasibleNodesToFind: it filters and scores every node
  there), every feasible node is scored per pod and each plugin's NormalizeScore runs over the
  feasible nodes, so placements are kube-scheduler's. Per-node filter results and resource
  scores are cached until that node (or the pods that global filters count) changes.
- Past 100 nodes kube-scheduler itself only scores a sample (percentageOfNodesToScore), so exact
  global normalisation is not what it does either. There, pods with the same scheduling needs
  (a ReplicaSet's pods) share one "signature" holding heaps of nodes by a node-local score:
  normalisations that need every node's score (spreading's max/min, affinity's min/max) are
  replaced by node-local curves with the same ordering, which is what lets a heap find the best
  node; placing 100,000 pods on 1,000 nodes never lists pods or scans every node per pod.

Per-node sums of requests are kept from the store's change stream either way. Pods wait in an
activeQ ordered by priority, then arrival (PrioritySort). A pod that fits nowhere stays Pending
with PodScheduled=False/Unschedulable and a FailedScheduling event in kube-scheduler's words; it
is retried when a node it could use changes (pod removed, node added or relabelled), not by
rescanning. Before that, DefaultPreemption looks for pods of lower priority whose removal makes
it fit: it evicts the fewest and least important (PodDisruptionBudgets weigh the choice of
node), nominates the node and waits for them to go.
"""
from __future__ import annotations

import copy
import heapq
import json
import math
from dataclasses import dataclass, field, replace
from typing import Any, Iterable

from kubelab.api import quantity
from kubelab.api.selectors import Requirement, Selector, from_label_selector, from_map
from kubelab.api.tables import parse_time
from kubelab.engine.apiserver import APIServer
from kubelab.engine.core import Controller, Engine
from kubelab.engine.events import Recorder
from kubelab.engine.owners import controller_of
from kubelab.engine.storage import claim_class, claims_of
from kubelab.engine.store import Key, Obj, key_of

SCHEDULER_NAME = "default-scheduler"
HOSTNAME = "kubernetes.io/hostname"
ZONE = "topology.kubernetes.io/zone"
# What a container asks for in scoring when it asks for nothing (non-zero defaults).
DEFAULT_MILLI_CPU = 100
DEFAULT_MEMORY = 200 * 1024 * 1024
MAX_NODE_SCORE = 100
# kube-scheduler scores every feasible node up to this many nodes (minFeasibleNodesToFind)
EXACT_NODES = 100
# ImageLocality's bounds: images under 23 MiB score nothing, 1000 MiB per container scores 100
IMAGE_MIN = 23 * 1024 * 1024
IMAGE_MAX_PER_CONTAINER = 1000 * 1024 * 1024

R_UNSCHEDULABLE = "node(s) were unschedulable"
R_NODE_NAME = "node(s) didn't match the requested node name"
R_AFFINITY = "node(s) didn't match Pod's node affinity/selector"
R_PORTS = "node(s) didn't have free ports for the requested pod ports"
R_TOO_MANY = "Too many pods"
R_SPREAD = "node(s) didn't match pod topology spread constraints"
R_SPREAD_LABEL = "node(s) didn't match pod topology spread constraints (missing required label)"
R_POD_AFFINITY = "node(s) didn't match pod affinity rules"
R_POD_ANTI = "node(s) didn't match pod anti-affinity rules"
R_EXISTING_ANTI = "node(s) didn't satisfy existing pods anti-affinity rules"
R_VOLUME_AFFINITY = "node(s) had volume node affinity conflict"
# What DefaultPreemption says about a node, or about the pod, when it finds no victims.
R_NO_VICTIMS = "No preemption victims found for incoming pod"
R_NOT_HELPFUL = "Preemption is not helpful for scheduling"
NOT_ELIGIBLE_NEVER = "not eligible due to preemptionPolicy=Never."
NOT_ELIGIBLE_TERMINATING = "not eligible due to a terminating pod on the nominated node."
# The condition and event a victim gets (prepareCandidate).
PREEMPTED_REASON = "PreemptionByScheduler"
MAX_INT32 = 2**31 - 1
# Reasons preemption cannot help with (UnschedulableAndUnresolvable in kube-scheduler).
UNRESOLVABLE_PREFIXES = (R_UNSCHEDULABLE, R_NODE_NAME, R_AFFINITY, R_VOLUME_AFFINITY, "node(s) had untolerated taint",
                         R_SPREAD_LABEL, R_POD_AFFINITY)


# -- what a pod asks for ---------------------------------------------------------------------
def pod_requests(spec: dict[str, Any]) -> dict[str, int]:
    """Effective requests (millicores for cpu): containers plus restartable init containers,
    or the largest init container if that is more, plus overhead."""
    def of(container: dict[str, Any]) -> dict[str, int]:
        res = container.get("resources") or {}
        asked = {**(res.get("limits") or {}), **(res.get("requests") or {})}
        return {name: quantity.amount(name, value) for name, value in asked.items()}

    total: dict[str, int] = {}
    for c in spec.get("containers") or ():
        for name, value in of(c).items():
            total[name] = total.get(name, 0) + value
    sidecars: dict[str, int] = {}
    for c in spec.get("initContainers") or ():
        asked = of(c)
        if c.get("restartPolicy") == "Always":
            for name, value in asked.items():
                sidecars[name] = sidecars.get(name, 0) + value
                total[name] = total.get(name, 0) + value
        else:
            for name, value in asked.items():
                total[name] = max(total.get(name, 0), value + sidecars.get(name, 0))
    for name, value in (spec.get("overhead") or {}).items():
        total[name] = total.get(name, 0) + quantity.amount(name, value)
    return {k: v for k, v in total.items() if v}


def _nonzero(spec: dict[str, Any]) -> tuple[int, int]:
    """Requests for scoring: a container asking for no cpu or memory counts as 100m / 200Mi."""
    cpu = mem = 0
    for c in spec.get("containers") or ():
        res = c.get("resources") or {}
        asked = {**(res.get("limits") or {}), **(res.get("requests") or {})}
        cpu += quantity.amount("cpu", asked["cpu"]) if "cpu" in asked else DEFAULT_MILLI_CPU
        mem += quantity.amount("memory", asked["memory"]) if "memory" in asked else DEFAULT_MEMORY
    return cpu, mem


def _host_ports(spec: dict[str, Any]) -> list[tuple[str, int]]:
    return [(p.get("protocol", "TCP"), p["hostPort"]) for c in spec.get("containers") or ()
            for p in c.get("ports") or () if p.get("hostPort")]


def tolerates(tolerations: list[dict[str, Any]], taint: dict[str, Any]) -> bool:
    """Does any toleration match this taint (key, value, effect; ``Exists`` with no key
    tolerates everything)?"""
    for t in tolerations:
        if t.get("effect") and t["effect"] != taint.get("effect"):
            continue
        op = t.get("operator") or "Equal"
        if op == "Exists":
            if not t.get("key") or t["key"] == taint.get("key"):
                return True
        elif t.get("key") == taint.get("key") and (t.get("value") or "") == (taint.get("value") or ""):
            return True
    return False


def _node_term_matches(term: dict[str, Any], labels: dict[str, str], name: str) -> bool:
    exprs = term.get("matchExpressions") or []
    fields = term.get("matchFields") or []
    if not exprs and not fields:
        return False
    for e in exprs:
        if not Requirement(e["key"], e["operator"], tuple(e.get("values") or ())).matches(labels):
            return False
    for f in fields:
        if f.get("key") != "metadata.name" or not Requirement(
                "n", f["operator"], tuple(f.get("values") or ())).matches({"n": name}):
            return False
    return True


# -- cluster state the scheduler keeps ---------------------------------------------------------
@dataclass
class NodeState:
    name: str
    labels: dict[str, str]
    unschedulable: bool
    hard_taints: list[dict[str, Any]]  # NoSchedule / NoExecute
    soft_taints: list[dict[str, Any]]  # PreferNoSchedule
    allocatable: dict[str, int]
    requested: dict[str, int] = field(default_factory=dict)
    nonzero_cpu: int = 0
    nonzero_mem: int = 0
    pods: int = 0
    ports: dict[tuple[str, int], int] = field(default_factory=dict)
    images: dict[str, int] = field(default_factory=dict)  # status.images: name -> size in bytes
    version: int = 0


def _node_state(node: Obj) -> NodeState:
    spec = node.get("spec") or {}
    taints = spec.get("taints") or []
    alloc = (node.get("status") or {}).get("allocatable") or {}
    return NodeState(
        name=node["metadata"]["name"], labels=dict(node["metadata"].get("labels") or {}),
        unschedulable=bool(spec.get("unschedulable")),
        hard_taints=[t for t in taints if t.get("effect") in ("NoSchedule", "NoExecute")],
        soft_taints=[t for t in taints if t.get("effect") == "PreferNoSchedule"],
        allocatable={k: quantity.amount(k, v) for k, v in alloc.items()},
        images={name: int(image.get("sizeBytes") or 0) for image in (node.get("status") or {}).get("images") or ()
                for name in image.get("names") or ()})


def image_name(image: str) -> str:
    """An image as nodes list it: ``:latest`` added when the reference has no tag."""
    return image if image.rfind(":") > image.rfind("/") else image + ":latest"


def normalize(raw: list[int], reverse: bool = False) -> list[int]:
    """kube-scheduler's DefaultNormalizeScore: scale to 0..100 by the highest score (reversed:
    100 minus that); all zero stays zero, or 100 each when reversed."""
    top = max(raw, default=0)
    if top == 0:
        return [MAX_NODE_SCORE if reverse else 0] * len(raw)
    scaled = [MAX_NODE_SCORE * r // top for r in raw]
    return [MAX_NODE_SCORE - v for v in scaled] if reverse else scaled


def least_allocated(requested: int, capacity: int) -> int:
    """LeastAllocated for one resource: the share left free, 0..100, in integers."""
    if capacity == 0 or requested > capacity:
        return 0
    return (capacity - requested) * MAX_NODE_SCORE // capacity


def balanced_allocation(cpu: float, memory: float) -> int:
    """BalancedAllocation for cpu and memory fractions (capped at 1): 100 minus their standard
    deviation, truncated."""
    return int((1 - abs(min(cpu, 1.0) - min(memory, 1.0)) / 2) * MAX_NODE_SCORE)


def spread_raw(count: int, max_skew: int, weight: float) -> float:
    """PodTopologySpread's raw score for one constraint: matching pods in the domain weighted by
    log(domains + 2), plus maxSkew - 1 to water small skews down. Lower is better."""
    return count * weight + (max_skew - 1)


def go_round(value: float) -> int:
    """Go's math.Round for the non-negative scores here: halves go up."""
    return int(math.floor(value + 0.5))


@dataclass(slots=True)
class PodRecord:
    """What a bound pod adds to its node."""

    node: str
    namespace: str
    labels: dict[str, str]
    requests: dict[str, int]
    nonzero: tuple[int, int]
    ports: list[tuple[str, int]]
    counted: bool  # not terminating: counts for spreading and affinity
    anti_terms: list[str]
    priority: int = 0  # spec.priority: who may preempt it


class PodSet:
    """Counts the pods matching a selector in some namespaces, per node and per topology
    domain, kept up to date from pod changes."""

    def __init__(self, namespaces: frozenset[str] | None, selector: Selector) -> None:
        self.namespaces = namespaces
        self.selector = selector
        self.by_node: dict[str, int] = {}
        self.by_domain: dict[tuple[str, str], int] = {}
        self.keys: set[str] = set()

    def matches(self, namespace: str, labels: dict[str, str]) -> bool:
        return (self.namespaces is None or namespace in self.namespaces) and self.selector.matches(labels)

    def add(self, node: NodeState | None, name: str, delta: int) -> None:
        self.by_node[name] = self.by_node.get(name, 0) + delta
        if node is not None:
            for key in self.keys:
                value = node.labels.get(key)
                if value is not None:
                    pair = (key, value)
                    self.by_domain[pair] = self.by_domain.get(pair, 0) + delta

    def track(self, key: str, nodes: dict[str, NodeState]) -> None:
        if key in self.keys:
            return
        self.keys.add(key)
        self.reindex(nodes)

    def reindex(self, nodes: dict[str, NodeState]) -> None:
        self.by_domain = {}
        for name, count in self.by_node.items():
            node = nodes.get(name)
            if node is None or not count:
                continue
            for key in self.keys:
                value = node.labels.get(key)
                if value is not None:
                    self.by_domain[(key, value)] = self.by_domain.get((key, value), 0) + count

    def in_domain(self, key: str, node: NodeState) -> int:
        if key == HOSTNAME and node.labels.get(HOSTNAME) == node.name:
            return self.by_node.get(node.name, 0)
        value = node.labels.get(key)
        return 0 if value is None else self.by_domain.get((key, value), 0)


@dataclass
class Term:
    """A pod (anti-)affinity term or spread constraint, resolved to a counted pod set."""

    key: str  # topologyKey
    pods: PodSet
    weight: int = 0  # preferred terms: weight (negative for anti-affinity)
    max_skew: int = 1
    self_match: int = 0
    spread_weight: float = 0.0  # spreading terms: log(domains + 2)


class Signature:
    """Everything about scheduling one kind of pod that does not change pod to pod: what it
    asks for, which nodes pass the node-only filters, and heaps of nodes by score."""

    def __init__(self, sched: "Scheduler", pod: Obj, volume_terms: tuple[Any, ...] = ()) -> None:
        self.sched = sched
        # the required node terms of each bound PersistentVolume the pod mounts (VolumeBinding's Filter)
        self.volume_terms = volume_terms
        spec = pod["spec"]
        meta = pod["metadata"]
        self.namespace = meta.get("namespace", "default")
        self.labels = dict(meta.get("labels") or {})
        self.requests = pod_requests(spec)
        self.nonzero = _nonzero(spec)
        self.ports = _host_ports(spec)
        containers = [*(spec.get("initContainers") or ()), *(spec.get("containers") or ())]
        self.images = [image_name(c.get("image") or "") for c in containers]
        self.tolerations = spec.get("tolerations") or []
        self.node_selector = spec.get("nodeSelector") or {}
        affinity = spec.get("affinity") or {}
        node_aff = affinity.get("nodeAffinity") or {}
        self.required_terms = ((node_aff.get("requiredDuringSchedulingIgnoredDuringExecution") or {})
                               .get("nodeSelectorTerms"))
        self.preferred_terms = node_aff.get("preferredDuringSchedulingIgnoredDuringExecution") or []
        pod_aff = affinity.get("podAffinity") or {}
        pod_anti = affinity.get("podAntiAffinity") or {}
        self.affinity = [sched.term(self.namespace, t) for t in
                         pod_aff.get("requiredDuringSchedulingIgnoredDuringExecution") or ()]
        self.anti = [sched.term(self.namespace, t) for t in
                     pod_anti.get("requiredDuringSchedulingIgnoredDuringExecution") or ()]
        self.preferred: list[Term] = []
        for sign, block in ((1, pod_aff), (-1, pod_anti)):
            for w in block.get("preferredDuringSchedulingIgnoredDuringExecution") or ():
                term = sched.term(self.namespace, w.get("podAffinityTerm") or {})
                term.weight = sign * int(w.get("weight", 1))
                self.preferred.append(term)
        self.hard_spread: list[Term] = []
        self.all_soft_spread: list[Term] = []
        self.soft_spread: list[Term] = []  # those whose topology key some node has
        constraints = spec.get("topologySpreadConstraints") or []
        for c in constraints:
            pods = sched.pod_set(frozenset([self.namespace]), from_label_selector(c.get("labelSelector")))
            term = Term(c["topologyKey"], pods, max_skew=int(c.get("maxSkew", 1)),
                        self_match=int(pods.selector.matches(self.labels)))
            (self.hard_spread if c.get("whenUnsatisfiable") == "DoNotSchedule" else self.all_soft_spread).append(term)
        if not constraints:
            selector = sched.default_spread_selector(pod)
            if selector is not None:
                pods = sched.pod_set(frozenset([self.namespace]), selector)
                self.all_soft_spread = [Term(HOSTNAME, pods, max_skew=3), Term(ZONE, pods, max_skew=5)]
        for term in (*self.affinity, *self.anti, *self.preferred, *self.hard_spread, *self.all_soft_spread):
            term.pods.track(term.key, sched.nodes)
        self.explicit_spread = bool(constraints)  # nodes missing a key are then left unscored
        self.global_filters = bool(self.affinity or self.anti or self.hard_spread)
        self.retry_on_bind = bool(self.affinity or self.hard_spread)  # a new pod can make room
        self.node_gen = -1
        self.message: tuple[int, str] = (-1, "")
        self._diagnosis: tuple[int, dict[str, list[str]]] = (-1, {})
        self.pending: set[Key] = set()  # pods of this signature waiting for a node
        # exact path: node name -> ((node version, node_gen, pod_gen or -1), fits, resource+image score)
        self.cache: dict[str, tuple[tuple[int, int, int], bool, int]] = {}
        self.heaps: dict[tuple[str | None, ...], list[tuple[float, float, str, int]]] = {}
        self.dropped: set[str] = set()

    # -- node-only filters and scores, recomputed when nodes change --------------------------
    def refresh(self) -> None:
        sched = self.sched
        if self.node_gen == sched.node_gen:
            return
        self.node_gen = sched.node_gen
        self.static_reason: dict[str, str | None] = {}
        self.raw_pref: dict[str, int] = {}
        self.raw_taint: dict[str, int] = {}
        raw_pref, raw_taint = self.raw_pref, self.raw_taint
        only = self.named_nodes()
        for name, node in sched.nodes.items():
            reason = R_AFFINITY if only is not None and name not in only else self._static_filter(node)
            self.static_reason[name] = reason
            if reason is None:
                raw_pref[name] = sum(int(p.get("weight", 0)) for p in self.preferred_terms
                                     if _node_term_matches(p.get("preference") or {}, node.labels, name))
                raw_taint[name] = sum(1 for t in node.soft_taints if not tolerates(self.tolerations, t))
        self.any_taint = any(raw_taint.values())
        # the heap path normalises these over the nodes passing node-only filters
        names = list(raw_pref)
        self.static_score = {name: 2 * pref + 3 * taint for name, pref, taint in zip(
            names, normalize([raw_pref[n] for n in names]), normalize([raw_taint[n] for n in names], reverse=True))}
        domains = {key: len({n.labels[key] for n in sched.nodes.values() if key in n.labels})
                   for key in {t.key for t in self.all_soft_spread}}
        for term in self.all_soft_spread:
            term.spread_weight = math.log(domains.get(term.key, 0) + 2)
        self.soft_spread = [t for t in self.all_soft_spread if domains.get(t.key)]
        # nodes are grouped by the labels that scores depend on beyond the node itself
        self.part_keys = sorted({t.key for t in (*self.soft_spread, *self.preferred) if t.key != HOSTNAME})
        self.cache = {}
        if len(sched.nodes) > EXACT_NODES:
            self.rebuild()
        else:  # heaps are only for big clusters; crossing the line changes node_gen
            self.heaps, self.dropped = {}, set()

    def rebuild(self) -> None:
        """Fresh heaps from every node that passes the node-only filters."""
        self.heaps: dict[tuple[str | None, ...], list[tuple[float, float, str, int]]] = {}
        self.dropped: set[str] = set()
        self.dirty_version = self.sched.pod_gen
        self.reset_gen = self.sched.reset_gen
        for name, reason in self.static_reason.items():
            if reason is None:
                self.push(self.sched.nodes[name])
        for heap in self.heaps.values():
            heapq.heapify(heap)

    def part_of(self, node: NodeState) -> tuple[str | None, ...]:
        return tuple(node.labels.get(k) for k in self.part_keys)

    def push(self, node: NodeState) -> None:
        entry = (-self.node_score(node), self.sched.rng.random(), node.name, node.version)
        heap = self.heaps.setdefault(self.part_of(node), [])
        heapq.heappush(heap, entry)

    def _static_filter(self, node: NodeState) -> str | None:
        if node.unschedulable and not tolerates(self.tolerations, {
                "key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}):
            return R_UNSCHEDULABLE
        for taint in node.hard_taints:
            if not tolerates(self.tolerations, taint):
                return f"node(s) had untolerated taint {{{taint.get('key')}: {taint.get('value', '')}}}"
        if not self.fits_affinity(node):
            return R_AFFINITY
        for terms in self.volume_terms:
            if not any(_node_term_matches(t, node.labels, node.name) for t in terms):
                return R_VOLUME_AFFINITY
        return None

    def named_nodes(self) -> set[str] | None:
        """NodeAffinity's PreFilter: when every required term names nodes (``metadata.name In``,
        as a DaemonSet's pods do), only those nodes can fit; None when any node might."""
        if not self.required_terms:
            return None
        names: set[str] = set()
        for term in self.required_terms:
            fields = [f for f in term.get("matchFields") or () if f.get("key") == "metadata.name"
                      and f.get("operator") == "In"]
            if not fields:
                return None
            names.update(fields[0].get("values") or ())
        return names

    def fits_affinity(self, node: NodeState) -> bool:
        """nodeSelector and required node affinity: also which nodes count for spreading."""
        if any(node.labels.get(k) != v for k, v in self.node_selector.items()):
            return False
        return self.required_terms is None or any(
            _node_term_matches(t, node.labels, node.name) for t in self.required_terms)

    # -- filters and scores that depend on the pods on the node ------------------------------
    def dynamic_reasons(self, node: NodeState) -> list[str]:
        if any(node.ports.get(p) for p in self.ports):
            return [R_PORTS]
        reasons = []
        if node.pods + 1 > node.allocatable.get("pods", 0):
            reasons.append(R_TOO_MANY)
        for name, amount in self.requests.items():
            if node.requested.get(name, 0) + amount > node.allocatable.get(name, 0):
                reasons.append(f"Insufficient {name}")
        if reasons:
            return reasons
        for term in self.hard_spread:
            if term.key not in node.labels:
                return [R_SPREAD_LABEL]
            least = self.sched.min_domain_count(term, self)
            if term.pods.in_domain(term.key, node) + term.self_match - least > term.max_skew:
                return [R_SPREAD]
        for term in self.affinity:
            if term.key not in node.labels or not term.pods.in_domain(term.key, node):
                # the first pod of a group that wants itself may go anywhere
                if not (term.pods.matches(self.namespace, self.labels) and not any(term.pods.by_node.values())):
                    return [R_POD_AFFINITY]
        for term in self.anti:
            if term.key in node.labels and term.pods.in_domain(term.key, node):
                return [R_POD_ANTI]
        if self.sched.existing_anti_blocks(self, node):
            return [R_EXISTING_ANTI]
        return []

    # -- raw scores, shared by both paths ------------------------------------------------------
    def resource_score(self, node: NodeState) -> int:
        """LeastAllocated (non-zero requests) plus BalancedAllocation (real requests)."""
        cpu_alloc = node.allocatable.get("cpu", 0)
        mem_alloc = node.allocatable.get("memory", 0)
        least = (least_allocated(node.nonzero_cpu + self.nonzero[0], cpu_alloc)
                 + least_allocated(node.nonzero_mem + self.nonzero[1], mem_alloc)) // 2
        cpu_used = (node.requested.get("cpu", 0) + self.requests.get("cpu", 0)) / cpu_alloc if cpu_alloc else 1.0
        mem_used = (node.requested.get("memory", 0) + self.requests.get("memory", 0)) / mem_alloc if mem_alloc else 1.0
        return least + balanced_allocation(cpu_used, mem_used)

    def image_score(self, node: NodeState) -> int:
        """ImageLocality: the sizes of the pod's images the node has, each scaled by the share
        of nodes that have it (so a widely spread image does not pull pods to one node)."""
        if not node.images or not self.images:
            return 0
        spread = self.sched.image_spread()
        total = max(len(self.sched.nodes), 1)
        found = sum(int(node.images[name] * spread.get(name, 0) / total) for name in self.images if name in node.images)
        top = IMAGE_MAX_PER_CONTAINER * len(self.images)
        found = min(max(found, IMAGE_MIN), top)
        return MAX_NODE_SCORE * (found - IMAGE_MIN) // (top - IMAGE_MIN)

    # -- exact scoring (small clusters) --------------------------------------------------------
    def best_exact(self) -> NodeState | None:
        """Every feasible node scored as kube-scheduler does, normalisation included."""
        sched = self.sched
        gen = sched.pod_gen if (self.global_filters or sched.anti_groups) else -1
        feasible: list[NodeState] = []
        totals: list[int] = []
        for name, node in sched.nodes.items():
            if self.static_reason.get(name) is not None:
                continue
            key = (node.version, sched.node_gen, gen)
            hit = self.cache.get(name)
            if hit is None or hit[0] != key:
                fits = not self.dynamic_reasons(node)
                hit = self.cache[name] = (key, fits, self.resource_score(node) + self.image_score(node) if fits else 0)
            if hit[1]:
                feasible.append(node)
                totals.append(hit[2])
        if len(feasible) <= 1:
            return feasible[0] if feasible else None
        parts = []
        if self.any_taint:
            parts.append((3, normalize([self.raw_taint[n.name] for n in feasible], reverse=True)))
        else:  # nothing untolerated: 100 each
            totals = [t + 3 * MAX_NODE_SCORE for t in totals]
        if self.preferred_terms:
            parts.append((2, normalize([self.raw_pref[n.name] for n in feasible])))
        if self.all_soft_spread:
            parts.append((2, self.spread_scores(feasible)))
        if self.preferred:
            parts.append((2, self.affinity_scores(feasible)))
        for weight, scores in parts:
            totals = [t + weight * v for t, v in zip(totals, scores)]
        top = max(totals)
        best = [n for n, t in zip(feasible, totals) if t == top]
        return best[0] if len(best) == 1 else best[sched.rng.randrange(len(best))]

    def spread_scores(self, feasible: list[NodeState]) -> list[int]:
        """PodTopologySpread's Score and NormalizeScore over the feasible nodes."""
        terms = self.all_soft_spread
        # explicit constraints need every key on a node; the system defaults score what a node has
        scored = [all(t.key in n.labels for t in terms) for n in feasible] if self.explicit_spread else None
        in_play = feasible if scored is None else [n for n, ok in zip(feasible, scored) if ok]
        columns: list[list[float | None]] = []  # per term, each feasible node's raw part
        for term in terms:
            by_node = term.pods.by_node
            if term.key == HOSTNAME:
                weight = math.log(len(in_play) + 2)
                counts = [by_node.get(n.name, 0) if HOSTNAME in n.labels else None for n in feasible]
            else:
                values = {n.labels.get(term.key, "") for n in in_play}
                weight = math.log(len(values) + 2)
                if not any(term.key in n.labels for n in in_play):
                    continue
                domain = dict.fromkeys(values, 0)
                for node in self.sched.nodes.values():  # pods on nodes the pod's node affinity allows
                    value = node.labels.get(term.key)
                    if value in domain and self.fits_affinity(node):
                        domain[value] += by_node.get(node.name, 0)
                counts = [domain[n.labels[term.key]] if term.key in n.labels else None for n in feasible]
            parts: dict[int | None, float | None] = {None: None}
            columns.append([parts[c] if c in parts else parts.setdefault(c, spread_raw(c, term.max_skew, weight))
                            for c in counts])
        memo: dict[tuple[float | None, ...], int] = {}
        raw: list[int | None] = []
        for i, row in enumerate(zip(*columns) if columns else [()] * len(feasible)):
            if scored is not None and not scored[i]:
                raw.append(None)
            elif row in memo:
                raw.append(memo[row])
            else:
                raw.append(memo.setdefault(row, go_round(sum(v for v in row if v is not None))))
        valid = [r for r in raw if r is not None]
        low, high = min(valid, default=0), max(valid, default=0)
        if high == 0:
            return [0 if r is None else MAX_NODE_SCORE for r in raw]
        return [0 if r is None else MAX_NODE_SCORE * (high + low - r) // high for r in raw]

    def affinity_scores(self, feasible: list[NodeState]) -> list[int]:
        """InterPodAffinity's preferred terms: weight times matching pods in the node's domain,
        scaled between the lowest and highest feasible node."""
        raw = []
        for node in feasible:
            total = 0
            for term in self.preferred:
                if term.key in node.labels:
                    total += term.weight * term.pods.in_domain(term.key, node)
            raw.append(total)
        low, high = min(raw), max(raw)
        if high == low:
            return [0] * len(raw)
        return [int(MAX_NODE_SCORE * ((r - low) / (high - low))) for r in raw]

    # -- heap scoring (big clusters) -------------------------------------------------------------
    def node_score(self, node: NodeState) -> float:
        """Node-local score (the zone part is added per partition)."""
        score = self.static_score.get(node.name, 0) + self.resource_score(node) + self.image_score(node)
        for term in self.soft_spread:
            if term.key == HOSTNAME:
                score += _spread_score(term, term.pods.in_domain(HOSTNAME, node))
        for term in self.preferred:
            if term.key == HOSTNAME and term.pods.in_domain(HOSTNAME, node):
                score += 2 * term.weight
        return score

    def part_score(self, node: NodeState) -> float:
        score = 0.0
        for term in self.soft_spread:
            if term.key != HOSTNAME:
                score += _spread_score(term, term.pods.in_domain(term.key, node))
        for term in self.preferred:
            if term.key != HOSTNAME and term.pods.in_domain(term.key, node):
                score += 2 * term.weight
        return score

    # -- choosing --------------------------------------------------------------------------
    def best_node(self) -> NodeState | None:
        sched = self.sched
        self.refresh()
        if len(sched.nodes) <= EXACT_NODES:
            return self.best_exact()
        if (self.global_filters and self.dirty_version != sched.pod_gen) or self.reset_gen != sched.reset_gen:
            self.rebuild()
        best: tuple[float, float] | None = None
        chosen = None
        for heap in self.heaps.values():
            while heap:
                neg, tie, name, version = heap[0]
                node = sched.nodes.get(name)
                if node is None:
                    heapq.heappop(heap)
                    continue
                if version != node.version:
                    heapq.heappop(heap)
                    self.push(node)
                    continue
                if self.dynamic_reasons(node):
                    heapq.heappop(heap)
                    self.dropped.add(name)
                    sched.dropped_by.setdefault(name, set()).add(self)
                    continue
                rank = (-neg + self.part_score(node), tie)
                if best is None or rank > best:
                    best, chosen = rank, node
                break
        return chosen

    def restore(self, node: NodeState) -> None:
        """A node that changed may fit again."""
        if node.name in self.dropped and self.static_reason.get(node.name) is None:
            self.dropped.discard(node.name)
            self.push(node)

    def could_fit(self, node: NodeState) -> bool:
        self.refresh()
        return self.static_reason.get(node.name) is None and not self.dynamic_reasons(node)

    def diagnosis(self) -> dict[str, list[str]]:
        """Each node's filter reasons (none when it fits), as of the scheduler's last change."""
        if self._diagnosis[0] != self.sched.change_gen:
            self._diagnosis = (self.sched.change_gen, {
                name: [self.static_reason[name]] if self.static_reason.get(name) else self.dynamic_reasons(node)
                for name, node in self.sched.nodes.items()})
        return self._diagnosis[1]

    def filter_message(self) -> str:
        """FitError's first part: every node's reasons, counted."""
        counts: dict[str, int] = {}
        for reasons in self.diagnosis().values():
            for r in reasons:
                counts[r] = counts.get(r, 0) + 1
        return f"0/{len(self.sched.nodes)} nodes are available: {_histogram(counts)}."

    def failure_message(self) -> str:
        """kube-scheduler's FitError text when no pod has a lower priority than this one:
        per-node reasons counted, then what preemption found (no victims anywhere)."""
        if self.message[0] == self.sched.change_gen:
            return self.message[1]
        nodes = self.sched.nodes
        if not nodes:
            return "no nodes available to schedule pods"
        helpless = hopeless = 0
        for reasons in self.diagnosis().values():
            if reasons and _unresolvable(reasons):
                hopeless += 1
            else:
                helpless += 1
        pre = {R_NOT_HELPFUL: hopeless, R_NO_VICTIMS: helpless}
        message = (f"{self.filter_message()} preemption: 0/{len(nodes)} nodes are available: "
                   f"{_histogram({k: v for k, v in pre.items() if v})}.")
        self.message = (self.sched.change_gen, message)
        return message


def _unresolvable(reasons: list[str]) -> bool:
    return reasons[0].startswith(UNRESOLVABLE_PREFIXES)


def _histogram(counts: dict[str, int]) -> str:
    """FitError's reasons: ``<count> <reason>``, sorted as strings, comma-joined."""
    return ", ".join(sorted(f"{v} {k}" for k, v in counts.items()))


def _start_time(pod: Obj, now: float) -> float:
    """GetPodStartTime: status.startTime, or now for a pod not started yet."""
    started = parse_time((pod.get("status") or {}).get("startTime"))
    return now if started is None else started


def _split_by_budgets(pods: list[Obj], pdbs: list[Obj]) -> tuple[list[Obj], list[Obj]]:
    """filterPodsWithPDBViolation: walking the pods in order, each one a budget selects uses
    one of its disruptionsAllowed (unless the budget already lists it as disrupted); a pod
    that takes some budget below zero would violate it."""
    allowed = [int((b.get("status") or {}).get("disruptionsAllowed") or 0) for b in pdbs]
    violating: list[Obj] = []
    fine: list[Obj] = []
    for pod in pods:
        meta = pod.get("metadata") or {}
        labels = meta.get("labels") or {}
        hit = False
        for i, pdb in enumerate(pdbs if labels else ()):
            selector = (pdb.get("spec") or {}).get("selector")
            if pdb["metadata"].get("namespace") != meta.get("namespace") or not selector or \
                    not (selector.get("matchLabels") or selector.get("matchExpressions")):
                continue  # a nil or empty selector matches nothing here
            if not from_label_selector(selector).matches(labels):
                continue
            if meta.get("name") in ((pdb.get("status") or {}).get("disruptedPods") or {}):
                continue
            allowed[i] -= 1
            hit = hit or allowed[i] < 0
        (violating if hit else fine).append(pod)
    return violating, fine


def pod_priority(pod: Obj) -> int:
    """corev1helpers.PodPriority: spec.priority, 0 when unset."""
    return int((pod.get("spec") or {}).get("priority") or 0)


@dataclass(frozen=True)
class Nomination:
    """Preemption made room: the node the pod is nominated to."""

    node: str


@dataclass(frozen=True)
class NoPreemption:
    """Why preemption did not help (the message after ``preemption: ``); ``clears``: the
    pod's nominatedNodeName is cleared (no candidates), else left as it is (not eligible)."""

    message: str
    clears: bool


@dataclass
class Candidate:
    """One node where removing ``victims`` (most important first) makes the pod fit."""

    node: str
    victims: list[Obj]
    violations: int  # victims whose eviction a PodDisruptionBudget does not allow


def _spread_score(term: Term, count: int) -> float:
    """The heap path's stand-in for spreading's normalisation over every node (weight 2): a
    node-local curve, highest for an empty domain, each extra pod costing less as counts grow."""
    base = max(term.max_skew - 1, 1)
    return 200 * base / (spread_raw(count, term.max_skew, term.spread_weight) + base)


class Scheduler(Controller):
    """Binds Pending pods (``schedulerName: default-scheduler``) to nodes."""

    watches = ("Pod", "Node", "PersistentVolumeClaim")

    def __init__(self, engine: Engine, api: APIServer) -> None:
        super().__init__(engine)
        self.api = api  # victims are deleted as any client deletes a pod (graceful termination)
        self.claim_waiters: dict[tuple[str, str], set[Key]] = {}  # (namespace, claim) -> pods it holds back
        self.claim_blocked: set[Key] = set()  # pods waiting on a claim (their status writes wake nobody)
        self.rng = engine.rng
        self.recorder = Recorder(self.store, SCHEDULER_NAME)
        self.nodes: dict[str, NodeState] = {}
        self.node_gen = 0  # bumps when a node is added, removed, relabelled, tainted...
        self.pod_gen = 0  # bumps when a counted pod lands on or leaves a node
        self.change_gen = 0  # bumps on any change that can change where a pod fits
        self.reset_gen = 0  # bumps when every signature must look at every node again
        self.pods: dict[Key, PodRecord] = {}
        self.pod_sets: dict[tuple[Any, ...], PodSet] = {}
        self.anti_groups: dict[str, tuple[Term, dict[str, Any]]] = {}  # existing pods' required anti terms
        self.anti_counts: dict[str, int] = {}
        self.signatures: dict[str, Signature] = {}
        self.sig_of: dict[Key, Signature] = {}  # unschedulable pods -> their signature
        self.dropped_by: dict[str, set[Signature]] = {}
        self._record_parts: dict[tuple[Any, ...], tuple[Any, ...]] = {}  # see _record
        self._last_signature: tuple[Any, str] = (None, "")  # (the parts of a pod it reads, text)
        self._image_spread: tuple[int, dict[str, int]] = (-1, {})
        self.by_node: dict[str, set[Key]] = {}  # bound pods per node (preemption's NodeInfo.Pods)
        self.priorities: dict[int, int] = {}  # bound pods per priority: is anyone preemptible at all?
        # activeQ, ordered as PrioritySort orders it: higher priority first, then first come
        self.active: list[tuple[int, int, Key]] = []
        self.activated: set[Key] = set()
        self._seq = 0
        for node in self.store.list("Node"):
            self._node_changed(node, None)
        for pod in self.store.list("Pod"):
            self._pod_changed(pod, None)

    # -- keeping the caches --------------------------------------------------------------------
    def keys_for(self, event: str, obj: Obj, old: Obj | None) -> Iterable[Key]:
        if obj["kind"] == "PersistentVolumeClaim":
            return self._activate(self.claim_waiters.get((obj["metadata"]["namespace"], obj["metadata"]["name"]), ()))
        if obj["kind"] == "Node":
            return self._activate(self._node_changed(obj if event != "DELETED" else None, old))
        if event == "MODIFIED" and old is not None and _status_only_of_bound(obj, old):
            return ()  # a kubelet's status write: nothing the scheduler keeps or acts on changed
        return self._activate(self._pod_changed(obj if event != "DELETED" else None, old))

    def _activate(self, keys: Iterable[Key]) -> list[Key]:
        """Put pods in the activeQ and hand the engine one ticket per pod added: each ticket
        schedules whichever pod is first in the queue then (PrioritySort's order), so pods of
        one priority go first come, first served, and a higher priority goes ahead."""
        tickets: list[Key] = []
        for key in keys:
            if key in self.activated:
                continue
            pod = self.store.get(*key)
            self._seq += 1
            heapq.heappush(self.active, (-(pod_priority(pod) if pod is not None else 0), self._seq, key))
            self.activated.add(key)
            tickets.append(("SchedulingQueue", "", str(self._seq)))
        return tickets

    def _node_changed(self, node: Obj | None, old: Obj | None) -> list[Key]:
        name = (node or old or {})["metadata"]["name"]
        if node is None:
            self.nodes.pop(name, None)
            self.node_gen += 1
            self.change_gen += 1
            return []
        state = _node_state(node)
        current = self.nodes.get(name)
        if current is not None:
            same = (current.labels, current.unschedulable, current.hard_taints, current.soft_taints,
                    current.allocatable, current.images) == (state.labels, state.unschedulable, state.hard_taints,
                                                             state.soft_taints, state.allocatable, state.images)
            if same:
                return []
            state.requested, state.pods, state.ports = current.requested, current.pods, current.ports
            state.nonzero_cpu, state.nonzero_mem = current.nonzero_cpu, current.nonzero_mem
            state.version = current.version + 1
        self.nodes[name] = state
        self.node_gen += 1
        self.change_gen += 1
        if current is None or current.labels != state.labels:
            for pods in self.pod_sets.values():
                pods.reindex(self.nodes)
        return self._retry_all()

    def _pod_changed(self, pod: Obj | None, old: Obj | None) -> list[Key]:
        key = key_of(pod or old)  # type: ignore[arg-type]
        record = self.pods.get(key)
        new = self._record(pod) if pod is not None else None
        if record is not None and new is not None and record == new:
            pass
        else:
            if record is not None:
                self._account(key, record, -1)
            if new is not None:
                self._account(key, new, +1)
        freed = record is not None and (new is None or new.node != record.node)
        keys: list[Key] = []
        if pod is None or pod["metadata"].get("deletionTimestamp") or pod["spec"].get("nodeName"):
            if key in self.claim_blocked:
                self.claim_blocked.discard(key)
                for waiting in self.claim_waiters.values():
                    waiting.discard(key)
            sig = self.sig_of.pop(key, None)
            if sig is not None:
                sig.pending.discard(key)
        elif self._wants_scheduling(pod) and ((key not in self.sig_of and key not in self.claim_blocked)
                                              or _spec_changed(pod, old)):
            keys.append(key)
        if freed and record is not None:
            keys.extend(self._retry_for(self.nodes.get(record.node)))
        elif new is not None and record is None and self.sig_of:
            keys.extend(self._retry_global())
        return keys

    def _record(self, pod: Obj) -> PodRecord | None:
        spec = pod.get("spec") or {}
        node = spec.get("nodeName")
        if not node or (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            return None
        meta = pod["metadata"]
        old = self.pods.get(key_of(pod))
        labels = meta.get("labels") or {}  # the store's own: never changed in place, so kept as is
        counted = not meta.get("deletionTimestamp")
        if old is not None and old.node == node and old.labels == labels and old.counted == counted:
            return old
        anti = (spec.get("affinity") or {}).get("podAntiAffinity") or {}
        terms = [json.dumps(t, sort_keys=True) for t in anti.get("requiredDuringSchedulingIgnoredDuringExecution") or ()]
        # a workload's pods ask for the same: one copy of each part for 100,000 records
        requests, nonzero, ports = pod_requests(spec), _nonzero(spec), _host_ports(spec)
        shared = self._record_parts.setdefault((tuple(requests.items()), nonzero, tuple(ports), tuple(terms)),
                                               (requests, nonzero, ports, terms))
        if len(self._record_parts) > 4096:
            self._record_parts.clear()
        return PodRecord(node, meta.get("namespace", "default"), labels, shared[0], shared[1], shared[2], counted,
                         shared[3], pod_priority(pod))

    def _account(self, key: Key, rec: PodRecord, sign: int) -> None:
        if sign > 0:
            self.pods[key] = rec
            self.by_node.setdefault(rec.node, set()).add(key)
        else:
            self.pods.pop(key, None)
            on_node = self.by_node.get(rec.node)
            if on_node is not None:
                on_node.discard(key)
                if not on_node:
                    del self.by_node[rec.node]
        self.priorities[rec.priority] = self.priorities.get(rec.priority, 0) + sign
        if not self.priorities[rec.priority]:
            del self.priorities[rec.priority]
        node = self.nodes.get(rec.node)
        if node is not None:
            for name, amount in rec.requests.items():
                node.requested[name] = node.requested.get(name, 0) + sign * amount
            node.nonzero_cpu += sign * rec.nonzero[0]
            node.nonzero_mem += sign * rec.nonzero[1]
            node.pods += sign
            for port in rec.ports:
                node.ports[port] = node.ports.get(port, 0) + sign
            node.version += 1
            self.change_gen += 1
            for sig in self.dropped_by.pop(rec.node, set()) if sign < 0 else ():
                sig.restore(node)
        if not rec.counted:
            return
        self.pod_gen += 1
        for pods in self.pod_sets.values():
            if pods.matches(rec.namespace, rec.labels):
                pods.add(node, rec.node, sign)
        if rec.anti_terms and sign < 0:
            self.reset_gen += 1  # nodes it kept others off (a whole zone, maybe) are open again
        for text in rec.anti_terms:
            self.anti_counts[text + rec.namespace] = self.anti_counts.get(text + rec.namespace, 0) + sign
            if text + rec.namespace not in self.anti_groups:
                spaces, selector, key_ = _term_parts(rec.namespace, json.loads(text))
                self.anti_groups[text + rec.namespace] = (Term(key_, PodSet(spaces, selector)), {})
            domains = self.anti_groups[text + rec.namespace][1]
            value = node.labels.get(self.anti_groups[text + rec.namespace][0].key) if node else None
            if value is not None:
                domains[value] = domains.get(value, 0) + sign

    # -- shared lookups ------------------------------------------------------------------------
    def image_spread(self) -> dict[str, int]:
        """How many nodes list each image (ImageLocality's spread), kept per node generation."""
        if self._image_spread[0] != self.node_gen:
            counts: dict[str, int] = {}
            for node in self.nodes.values():
                for name in node.images:
                    counts[name] = counts.get(name, 0) + 1
            self._image_spread = (self.node_gen, counts)
        return self._image_spread[1]

    def pod_set(self, namespaces: frozenset[str] | None, selector: Selector) -> PodSet:
        key = (namespaces, selector.requirements)
        found = self.pod_sets.get(key)
        if found is None:
            found = self.pod_sets[key] = PodSet(namespaces, selector)
            for rec in self.pods.values():
                if rec.counted and found.matches(rec.namespace, rec.labels):
                    found.add(self.nodes.get(rec.node), rec.node, 1)
        return found

    def term(self, namespace: str, term: dict[str, Any]) -> Term:
        """A pod affinity term of the pod being scheduled, counted over the cluster's pods."""
        spaces, selector, key = _term_parts(namespace, term)
        return Term(key, self.pod_set(spaces, selector))

    def default_spread_selector(self, pod: Obj) -> Selector | None:
        """The system default spreading selects the pod's siblings: the pods its Services and
        its ReplicaSet/StatefulSet select."""
        meta = pod["metadata"]
        ns = meta.get("namespace", "default")
        labels = meta.get("labels") or {}
        reqs: list[Requirement] = []
        for svc in self.store.list("Service", ns):
            sel = (svc.get("spec") or {}).get("selector")
            if sel and from_map(sel).matches(labels):
                reqs.extend(from_map(sel).requirements)
        ref = controller_of(pod)
        if ref is not None and ref.get("kind") in ("ReplicaSet", "StatefulSet", "ReplicationController"):
            owner = self.store.get(ref["kind"], ns, ref["name"])
            if owner is not None:
                sel = (owner.get("spec") or {}).get("selector")
                reqs.extend((from_map(sel) if ref["kind"] == "ReplicationController" else
                             from_label_selector(sel)).requirements)
        if not reqs:
            return None
        return Selector(tuple(dict.fromkeys(reqs)))

    def min_domain_count(self, term: Term, sig: Signature) -> int:
        """The smallest count among the domains of the nodes the pod's node affinity allows
        (taints ignored, as nodeTaintsPolicy: Ignore): the skew baseline."""
        eligible = [n for n in self.nodes.values() if term.key in n.labels and sig.fits_affinity(n)]
        if term.key == HOSTNAME:
            return min((term.pods.by_node.get(n.name, 0) for n in eligible), default=0)
        values = {n.labels[term.key] for n in eligible}
        return min((term.pods.by_domain.get((term.key, v), 0) for v in values), default=0)

    def existing_anti_blocks(self, sig: Signature, node: NodeState) -> bool:
        for text, (term, domains) in self.anti_groups.items():
            if not self.anti_counts.get(text):
                continue
            value = node.labels.get(term.key)
            if value is not None and domains.get(value) and term.pods.matches(sig.namespace, sig.labels):
                return True
        return False

    # -- preemption (DefaultPreemption, pkg/scheduler/framework/preemption) ----------------------
    def preempt(self, pod: Obj, sig: Signature) -> "Nomination | NoPreemption":
        """Evaluator.Preempt: if the pod may preempt, find the nodes where removing pods of
        lower priority makes it fit, pick one, evict its victims and nominate it."""
        refusal = self._not_eligible(pod, sig)
        if refusal is not None:
            return NoPreemption(refusal, clears=False)
        diagnosis = sig.diagnosis()
        n = len(self.nodes)
        potential = [name for name, reasons in diagnosis.items() if reasons and not _unresolvable(reasons)]
        statuses: dict[str, int] = {}
        candidates: list[Candidate] = []
        if potential:
            pdbs = self.store.list("PodDisruptionBudget")
            nominated = self._nominated(pod)
            for name in potential:
                found = self._select_victims(pod, sig, name, pdbs, nominated.get(name, ()))
                if isinstance(found, Candidate):
                    candidates.append(found)
                else:
                    for reason in found:
                        statuses[reason] = statuses.get(reason, 0) + 1
        if not candidates:
            if n - len(potential):
                statuses[R_NOT_HELPFUL] = n - len(potential)
            return NoPreemption(f"0/{n} nodes are available: {_histogram(statuses)}.", clears=True)
        best = self._pick_one_node(candidates)
        self._prepare_candidate(best, pod)
        return Nomination(best.node)

    def _not_eligible(self, pod: Obj, sig: Signature) -> str | None:
        """PodEligibleToPreemptOthers: never with preemptionPolicy Never, nor while pods it
        already preempted on its nominated node are still terminating."""
        if pod["spec"].get("preemptionPolicy") == "Never":
            return NOT_ELIGIBLE_NEVER
        nominated = (pod.get("status") or {}).get("nominatedNodeName")
        if not nominated or nominated not in self.nodes:
            return None
        reasons = sig.diagnosis().get(nominated) or []
        if reasons and _unresolvable(reasons):
            return None
        priority = pod_priority(pod)
        for key in sorted(self.by_node.get(nominated, ())):
            if self.pods[key].priority < priority:
                other = self.store.get(*key)
                if other is not None and other["metadata"].get("deletionTimestamp") and any(
                        c.get("type") == "DisruptionTarget" and c.get("status") == "True"
                        and c.get("reason") == PREEMPTED_REASON
                        for c in (other.get("status") or {}).get("conditions") or ()):
                    return NOT_ELIGIBLE_TERMINATING
        return None

    def _nominated(self, pod: Obj) -> dict[str, list[tuple[dict[str, int], list[tuple[str, int]]]]]:
        """The requests and host ports of the other waiting pods nominated to each node, of at
        least this pod's priority: RunFilterPluginsWithNominatedPods counts them as if there."""
        priority, own = pod_priority(pod), key_of(pod)
        out: dict[str, list[tuple[dict[str, int], list[tuple[str, int]]]]] = {}
        for key in sorted(self.sig_of):
            other = self.store.get(*key) if key != own else None
            node = ((other or {}).get("status") or {}).get("nominatedNodeName")
            if node and other is not None and pod_priority(other) >= priority:
                out.setdefault(node, []).append((pod_requests(other["spec"]), _host_ports(other["spec"])))
        return out

    def _select_victims(self, pod: Obj, sig: Signature, name: str, pdbs: list[Obj],
                        nominated: Iterable[tuple[dict[str, int], list[tuple[str, int]]]] = ()
                        ) -> "Candidate | list[str]":
        """SelectVictimsOnNode: take every lower-priority pod off the node; if the pod then
        fits, put them back most important first (PDB-violating ones before the others) while
        it still fits; the rest are the victims. The node's filter reasons when it cannot fit.
        Resources, host ports and the pod count are recomputed without the victims and with
        the pods already nominated to the node; pod (anti-)affinity and spreading still count
        the victims (kube-scheduler's PreFilter extensions would not)."""
        priority = pod_priority(pod)
        lower = sorted(key for key in self.by_node.get(name, ()) if self.pods[key].priority < priority)
        if not lower:
            return [R_NO_VICTIMS]
        node = self.nodes[name]
        trial = replace(node, requested=dict(node.requested), ports=dict(node.ports))

        def move(rec: PodRecord, sign: int) -> None:
            for resource, amount in rec.requests.items():
                trial.requested[resource] = trial.requested.get(resource, 0) + sign * amount
            for port in rec.ports:
                trial.ports[port] = trial.ports.get(port, 0) + sign
            trial.pods += sign

        for key in lower:
            move(self.pods[key], -1)
        for requests, ports in nominated:
            move(PodRecord(name, "", {}, requests, (0, 0), ports, False, []), +1)
        reasons = sig.dynamic_reasons(trial)
        if reasons:
            return reasons
        pods = {key: self.store.get(*key) or {} for key in lower}
        now = self.clock.now()
        order = sorted(lower, key=lambda k: (-self.pods[k].priority, _start_time(pods[k], now), k))
        violating, fine = _split_by_budgets([pods[k] for k in order], pdbs)
        victims: list[Obj] = []
        violations = 0
        for group, counts in ((violating, 1), (fine, 0)):
            for victim in group:
                rec = self.pods[key_of(victim)]
                move(rec, +1)
                if sig.dynamic_reasons(trial):
                    move(rec, -1)
                    victims.append(victim)
                    violations += counts
        if violating and fine:
            victims.sort(key=lambda v: (-pod_priority(v), _start_time(v, now)))
        return Candidate(name, victims, violations)

    def _pick_one_node(self, candidates: list[Candidate]) -> Candidate:
        """pickOneNodeForPreemption: a node needing no victims at once; else the fewest PDB
        violations, the lowest highest victim priority, the lowest sum of priorities, the
        fewest victims, the latest start among the highest-priority victims; then any."""
        for c in candidates:
            if not c.victims:
                return c
        now = self.clock.now()

        def earliest_top(c: Candidate) -> float:
            top = max(pod_priority(v) for v in c.victims)
            return min(_start_time(v, now) for v in c.victims if pod_priority(v) == top)

        scores = (lambda c: -c.violations, lambda c: -pod_priority(c.victims[0]),
                  lambda c: -sum(pod_priority(v) + MAX_INT32 + 1 for v in c.victims),
                  lambda c: -len(c.victims), earliest_top)
        for score in scores:
            best = max(score(c) for c in candidates)
            candidates = [c for c in candidates if score(c) == best]
            if len(candidates) == 1:
                return candidates[0]
        return candidates[self.rng.randrange(len(candidates))]  # Go's map order: any of them

    def _prepare_candidate(self, chosen: Candidate, pod: Obj) -> None:
        """prepareCandidate: each victim gets the DisruptionTarget condition and is deleted
        (gracefully, as any client's delete), with a Preempted event; lower-priority pods
        nominated to the node lose their nomination."""
        from kubelab.api import errors

        uid = pod["metadata"].get("uid", "")
        for victim in chosen.victims:
            current = self.store.get(*key_of(victim))
            if current is None:
                continue
            conditions = list((current.get("status") or {}).get("conditions") or ())
            target = {"type": "DisruptionTarget", "status": "True", "lastProbeTime": None,
                      "lastTransitionTime": self.clock.timestamp(), "reason": PREEMPTED_REASON,
                      "message": f"{SCHEDULER_NAME}: preempting to accommodate a higher priority pod"}
            old = next((c for c in conditions if c.get("type") == "DisruptionTarget"), None)
            if old is None or any(old.get(k) != target[k] for k in ("status", "reason", "message")):
                if old is not None and old.get("status") == "True":
                    target["lastTransitionTime"] = old.get("lastTransitionTime")
                status = {**(current.get("status") or {}),
                          "conditions": [c for c in conditions if c.get("type") != "DisruptionTarget"] + [target]}
                current = self.store.update({**current, "status": status}, status=True)
            try:
                self.api.delete("Pod", current["metadata"]["name"], current["metadata"]["namespace"])
            except errors.StatusError:
                continue  # gone meanwhile
            self.recorder.normal(current, "Preempted", f"Preempted by pod {uid} on node {chosen.node}")
        priority = pod_priority(pod)
        for key in sorted(k for k in self.sig_of if k != key_of(pod)):
            other = self.store.get(*key)
            if other is not None and (other.get("status") or {}).get("nominatedNodeName") == chosen.node \
                    and pod_priority(other) < priority:
                status = {k: v for k, v in other["status"].items() if k != "nominatedNodeName"}
                self.store.update({**other, "status": status}, status=True)

    # -- retrying unschedulable pods -------------------------------------------------------------
    def _retry_all(self) -> list[Key]:
        return list(self.sig_of)

    def _retry_global(self) -> list[Key]:
        return [k for sig in {id(s): s for s in self.sig_of.values()}.values() if sig.retry_on_bind
                for k in sig.pending]

    def _retry_for(self, node: NodeState | None) -> list[Key]:
        keys: list[Key] = []
        for sig in {id(s): s for s in self.sig_of.values()}.values():
            if sig.global_filters or self.anti_groups or (node is not None and sig.could_fit(node)):
                keys.extend(sig.pending)
        return keys

    # -- scheduling one pod --------------------------------------------------------------------
    def _wants_scheduling(self, pod: Obj) -> bool:
        spec = pod.get("spec") or {}
        return (not spec.get("nodeName") and not pod["metadata"].get("deletionTimestamp")
                and (spec.get("schedulerName") or SCHEDULER_NAME) == SCHEDULER_NAME
                and (pod.get("status") or {}).get("phase", "Pending") == "Pending")

    def volume_terms(self, pod: Obj) -> tuple[Any, ...]:
        """Each bound PersistentVolume's required node terms, for the pod's claims (a local
        volume lives on some nodes only)."""
        out = []
        ns = pod["metadata"].get("namespace", "")
        for name in claims_of(pod):
            claim = self.store.get("PersistentVolumeClaim", ns, name)
            volume = claim and self.store.get("PersistentVolume", "", (claim.get("spec") or {}).get("volumeName") or "")
            terms = ((((volume or {}).get("spec") or {}).get("nodeAffinity") or {}).get("required") or {}).get(
                "nodeSelectorTerms")
            if terms:
                out.append(terms)
        return tuple(out)

    def signature(self, pod: Obj, volume_terms: tuple[Any, ...] = ()) -> Signature:
        spec = pod["spec"]
        ref = controller_of(pod)
        # what the text is made of; a sibling's parts are the same objects (the store shares
        # them), so comparing with the last pod's stops at identity and json runs once per kind
        parts = (pod["metadata"].get("namespace"), pod["metadata"].get("labels"), ref and ref.get("uid"),
                 [(c.get("resources"), c.get("ports"), c.get("restartPolicy"), c.get("image"))
                  for c in spec.get("containers") or ()],
                 [(c.get("resources"), c.get("ports"), c.get("restartPolicy"), c.get("image"))
                  for c in spec.get("initContainers") or ()],
                 [spec.get(k) for k in _SIGNATURE_SPEC_FIELDS], volume_terms)
        if parts == self._last_signature[0]:
            text = self._last_signature[1]
        else:
            text = self._signature_text(pod, spec, ref) + (json.dumps(volume_terms, sort_keys=True)
                                                           if volume_terms else "")
            self._last_signature = (parts, text)
        sig = self.signatures.get(text)
        if sig is None:
            if len(self.signatures) > 256:  # forget signatures nobody waits on
                for old_text, old in list(self.signatures.items()):
                    if not old.pending:
                        del self.signatures[old_text]
            sig = self.signatures[text] = Signature(self, pod, volume_terms)
        return sig

    @staticmethod
    def _signature_text(pod: Obj, spec: dict[str, Any], ref: dict[str, Any] | None) -> str:
        # only what scheduling reads: per-pod details (the kube-api-access-xxxxx volume mount)
        # would give every pod a signature, and a full node scan, of its own
        return json.dumps([pod["metadata"].get("namespace"), pod["metadata"].get("labels"), ref and ref.get("uid"),
                           [_sched_fields(c) for c in spec.get("containers") or ()],
                           [_sched_fields(c) for c in spec.get("initContainers") or ()],
                           {k: spec.get(k) for k in _SIGNATURE_SPEC_FIELDS}],
                          sort_keys=True, default=str)

    def reconcile(self, ticket: Key) -> None:
        """Schedule the pod first in the activeQ (see _activate)."""
        if not self.active:
            return
        key = heapq.heappop(self.active)[2]
        self.activated.discard(key)
        self.schedule_one(key)

    def schedule_one(self, key: Key) -> None:
        """ScheduleOne: filter and score, or when nothing fits, PostFilter (preemption)."""
        pod = self.store.get(*key)
        if pod is None or not self._wants_scheduling(pod):
            return
        if pod["spec"].get("schedulingGates"):
            self._set_condition(pod, "False", "SchedulingGated", "Scheduling is blocked due to non-empty scheduling gates")
            return
        problem = self._claims_problem(pod, key)
        self.claim_blocked.discard(key)
        if problem is not None:
            self.claim_blocked.add(key)
            n = len(self.nodes)
            clause = (NOT_ELIGIBLE_NEVER if pod["spec"].get("preemptionPolicy") == "Never"
                      else f"0/{n} nodes are available: {n} {R_NOT_HELPFUL}.")
            message = f"0/{n} nodes are available: {problem}. preemption: {clause}" if n \
                else "no nodes available to schedule pods"
            self._set_condition(pod, "False", "Unschedulable", message)
            self.recorder.warning(pod, "FailedScheduling", message)
            return
        sig = self.signature(pod, self.volume_terms(pod) if claims_of(pod) else ())
        node = sig.best_node()
        if node is None:
            sig.pending.add(key)
            self.sig_of[key] = sig
            nominate: str | None = None
            if pod["spec"].get("preemptionPolicy") != "Never" and min(self.priorities, default=0) >= pod_priority(pod):
                message = sig.failure_message()  # nobody has a lower priority: no victims anywhere
                nominate = ""
            else:
                outcome = self.preempt(pod, sig)
                if isinstance(outcome, Nomination):
                    message, nominate = sig.filter_message(), outcome.node
                else:
                    message = f"{sig.filter_message()} preemption: {outcome.message}"
                    nominate = "" if outcome.clears else None
            self._set_condition(pod, "False", "Unschedulable", message, nominate)
            self.recorder.warning(pod, "FailedScheduling", message)
            return
        sig.pending.discard(key)
        self.sig_of.pop(key, None)
        bind(self.store, pod, node.name)
        self.recorder.normal(self.store.get(*key) or pod, "Scheduled",
                             f"Successfully assigned {key[1]}/{key[2]} to {node.name}")

    def _claims_problem(self, pod: Obj, key: Key) -> str | None:
        """The VolumeBinding plugin's PreFilter: every claim the pod mounts must exist and not be
        going away, and a claim of an Immediate class must be bound already. The pod waits on
        its claims (a change to one retries it)."""
        ns = key[1]
        names = claims_of(pod)
        for name in list(self.claim_waiters):
            if name[0] == ns:
                self.claim_waiters[name].discard(key)
                if not self.claim_waiters[name]:
                    del self.claim_waiters[name]
        unbound = False
        problem = None
        for name in names:
            claim = self.store.get("PersistentVolumeClaim", ns, name)
            if claim is None:
                problem = f'persistentvolumeclaim "{name}" not found'
            elif claim["metadata"].get("deletionTimestamp"):
                problem = f'persistentvolumeclaim "{name}" is being deleted'
            elif not (claim.get("spec") or {}).get("volumeName"):
                sc = self.store.get("StorageClass", "", claim_class(claim))
                if sc is None or sc.get("volumeBindingMode") != "WaitForFirstConsumer":
                    unbound = True
                    self.claim_waiters.setdefault((ns, name), set()).add(key)
                continue
            else:
                continue
            self.claim_waiters.setdefault((ns, name), set()).add(key)
            return problem
        return "pod has unbound immediate PersistentVolumeClaims" if unbound else None

    def _set_condition(self, pod: Obj, status: str, reason: str, message: str, nominate: str | None = None) -> None:
        """updatePod: the PodScheduled condition, and ``status.nominatedNodeName`` when
        ``nominate`` says so ("" clears it, None leaves it)."""
        conditions = (pod.get("status") or {}).get("conditions") or []
        current = next((c for c in conditions if c.get("type") == "PodScheduled"), None)
        nominated = (pod.get("status") or {}).get("nominatedNodeName") or ""
        renominate = nominate is not None and nominate != nominated
        if current and (current.get("status"), current.get("reason"), current.get("message")) == (status, reason, message) \
                and not renominate:
            return
        new = copy.deepcopy(pod)
        if renominate:
            if nominate:
                new.setdefault("status", {})["nominatedNodeName"] = nominate
            else:
                new["status"].pop("nominatedNodeName", None)
        cond = {"type": "PodScheduled", "status": status, "lastProbeTime": None,
                "lastTransitionTime": current["lastTransitionTime"] if current and current.get("status") == status
                else self.clock.timestamp(), "reason": reason, "message": message}
        st = new.setdefault("status", {})
        st.setdefault("phase", "Pending")
        st["conditions"] = [c for c in conditions if c.get("type") != "PodScheduled"] + [cond]
        self.store.update(new, status=True)


_SIGNATURE_SPEC_FIELDS = ("overhead", "nodeSelector", "affinity", "tolerations", "topologySpreadConstraints")


def _term_parts(namespace: str, term: dict[str, Any]) -> tuple[frozenset[str] | None, Selector, str]:
    """A pod affinity term's namespaces (its pod's own by default; a namespaceSelector, even an
    empty one, widens it to every namespace), selector and topology key."""
    spaces: frozenset[str] | None = frozenset(term.get("namespaces") or [namespace])
    if term.get("namespaceSelector") is not None:
        spaces = None
    return spaces, from_label_selector(term.get("labelSelector")), term.get("topologyKey", HOSTNAME)


def _status_only_of_bound(pod: Obj, old: Obj) -> bool:
    """A bound pod's update that leaves alone everything its PodRecord depends on (spec,
    labels, deletion, whether it finished)."""
    meta, before = pod["metadata"], old["metadata"]
    return (pod.get("spec") is old.get("spec") and bool((pod.get("spec") or {}).get("nodeName"))
            and meta.get("labels") == before.get("labels")
            and meta.get("deletionTimestamp") == before.get("deletionTimestamp")
            and _finished(pod) == _finished(old))


def _finished(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def _sched_fields(container: dict[str, Any]) -> list[Any]:
    """The parts of a container the scheduler looks at: requests/limits, host ports, whether
    an init container is a sidecar, and its image (ImageLocality)."""
    return [container.get("resources"), [p for p in container.get("ports") or () if p.get("hostPort")],
            container.get("restartPolicy"), container.get("image")]


def _spec_changed(pod: Obj, old: Obj | None) -> bool:
    return old is None or pod.get("spec") != old.get("spec") or \
        pod["metadata"].get("labels") != old["metadata"].get("labels")


def bind(store: Any, pod: Obj, node: str) -> Obj:
    """The pod's ``binding`` subresource: set ``spec.nodeName`` and PodScheduled=True."""
    from kubelab.api import errors

    current = store.get(*key_of(pod))
    if current is None:
        raise errors.not_found("pods", pod["metadata"]["name"])
    if current["spec"].get("nodeName"):
        raise errors.conflict("pods", pod["metadata"]["name"], "",
                              f"pod {pod['metadata']['name']} is already assigned to node \"{current['spec']['nodeName']}\"")
    # shallow copies: the store copies what it keeps
    meta = {k: v for k, v in current["metadata"].items() if k != "resourceVersion"}
    bound = store.update({**current, "metadata": meta, "spec": {**current["spec"], "nodeName": node}})
    status = dict(bound.get("status") or {})
    status.setdefault("phase", "Pending")
    conditions = [c for c in status.get("conditions") or () if c.get("type") != "PodScheduled"]
    status["conditions"] = conditions + [{"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                                          "lastTransitionTime": store.clock.timestamp()}]
    return store.update({**bound, "status": status}, status=True)


def install(engine: Engine, api: APIServer) -> None:
    """Start the scheduler."""
    engine.add(Scheduler(engine, api))
