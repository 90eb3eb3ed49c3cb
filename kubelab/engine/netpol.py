"""NetworkPolicy, enforced as a policy-enforcing CNI (Calico, Cilium) enforces it.

A pod selected by a policy of its namespace whose ``policyTypes`` has Ingress (Egress) is
isolated in that direction: a connection then needs a rule of one of those policies that
lets it through (policies add up, never subtract). A rule's peers are pods (``podSelector``
in the policy's namespace, ``namespaceSelector`` over namespaces' labels, both together:
those pods in those namespaces) or ``ipBlock`` CIDRs minus ``except``; no peers means every
source/destination. Its ports match the destination pod's port by number, named container
port, or a ``port``..``endPort`` range, per protocol; no ports means every port. A denied
connection's packets are dropped, so the client's connect times out.

``decide`` is the one place this is judged: the network drops packets by its verdict, and the
route picture explains the same verdict (which side, which policies).
"""
from __future__ import annotations

import ipaddress
from dataclasses import asdict, dataclass
from typing import Any, NamedTuple

from kubelab.api.selectors import from_label_selector
from kubelab.engine.store import Obj, Store


def _labels(obj: Obj | None) -> dict[str, str]:
    return ((obj or {}).get("metadata") or {}).get("labels") or {}


def _selects(selector: Any, labels: dict[str, str]) -> bool:
    return from_label_selector(selector or {}).matches(labels)


class Endpoint:
    """One end of a connection: its IP, and its pod when it is one."""

    def __init__(self, ip: str, pod: Obj | None) -> None:
        self.ip, self.pod = ip, pod

    @property
    def namespace(self) -> str | None:
        return self.pod["metadata"].get("namespace") if self.pod else None


def _peer_matches(store: Store, peer: Obj, policy_ns: str, other: Endpoint) -> bool:
    block = peer.get("ipBlock")
    if block is not None:
        try:
            addr = ipaddress.ip_address(other.ip)
            if addr not in ipaddress.ip_network(block.get("cidr", ""), strict=False):
                return False
            return not any(addr in ipaddress.ip_network(e, strict=False) for e in block.get("except") or ())
        except ValueError:
            return False
    if other.pod is None:  # only an ipBlock names what is not a pod
        return False
    ns_selector, pod_selector = peer.get("namespaceSelector"), peer.get("podSelector")
    if ns_selector is None:
        if other.namespace != policy_ns:
            return False
    elif not _selects(ns_selector, _labels(store.get("Namespace", "", other.namespace or ""))):
        return False
    return pod_selector is None or _selects(pod_selector, _labels(other.pod))


def _port_matches(rule_port: Obj, pod: Obj | None, port: int, protocol: str) -> bool:
    if (rule_port.get("protocol") or "TCP") != protocol:
        return False
    want = rule_port.get("port")
    if want is None:
        return True
    if isinstance(want, str) and not want.isdigit():  # a named port of the destination pod
        return any(p.get("name") == want and p.get("containerPort") == port
                   and (p.get("protocol") or "TCP") == protocol
                   for c in ((pod or {}).get("spec") or {}).get("containers") or () for p in c.get("ports") or ())
    low = int(want)
    high = rule_port.get("endPort") or low
    return low <= port <= high


@dataclass(frozen=True)
class Verdict:
    """What NetworkPolicy makes of one connection, as data for whoever must explain it.

    ``allowed`` is None when no source was named and the answer depends on which pod
    connects (a rule lets some peers in). A refusal names the side that dropped it
    (``direction``: the source's "egress" or the destination's "ingress"), that pod, the
    policies isolating it in that direction, and those of them that have rules at all (none:
    a default deny). ``allowed_by`` names the policies whose rules let the connection through."""

    allowed: bool | None
    direction: str = ""
    pod: str = ""
    policies: tuple[str, ...] = ()
    with_rules: tuple[str, ...] = ()
    allowed_by: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Side(NamedTuple):
    allowed: bool | None
    policies: tuple[str, ...]
    with_rules: tuple[str, ...]
    allowed_by: str


def _direction(store: Store, subject: Endpoint, other: Endpoint | None, dst_pod: Obj | None, port: int,
               protocol: str, direction: str) -> _Side:
    """How ``subject`` (a pod)'s namespace's policies treat traffic to/from ``other`` (None:
    some pod of the cluster not named, so a rule with peers may or may not admit it)."""
    assert subject.pod is not None
    ns = subject.namespace or ""
    kind = "Ingress" if direction == "ingress" else "Egress"
    peers_key = "from" if direction == "ingress" else "to"
    isolating: list[str] = []
    with_rules: list[str] = []
    maybe = False
    for policy in store.list("NetworkPolicy", ns):
        spec = policy.get("spec") or {}
        if kind not in (spec.get("policyTypes") or ()) or not _selects(spec.get("podSelector"), _labels(subject.pod)):
            continue
        name = policy["metadata"]["name"]
        isolating.append(name)
        if spec.get(direction):
            with_rules.append(name)
        for rule in spec.get(direction) or ():
            ports = rule.get("ports") or []
            if ports and not any(_port_matches(p, dst_pod, port, protocol) for p in ports):
                continue
            peers = rule.get(peers_key) or []
            if not peers:
                return _Side(True, tuple(isolating), tuple(with_rules), name)
            if other is None:
                maybe = True
            elif any(_peer_matches(store, peer, ns, other) for peer in peers):
                return _Side(True, tuple(isolating), tuple(with_rules), name)
    if not isolating:
        return _Side(True, (), (), "")
    return _Side(None if maybe else False, tuple(isolating), tuple(with_rules), "")


def _identity(pod: Obj) -> tuple[Any, ...]:
    meta = pod["metadata"]
    return meta.get("namespace"), meta.get("name"), meta.get("uid")


def decide(store: Store, src: Endpoint | None, dst: Endpoint, port: int, protocol: str = "TCP") -> Verdict:
    """The verdict on a connection from ``src`` (None: some pod not named) to ``dst``:``port``:
    the egress policies of the source pod, then the ingress policies of the destination pod.
    A pod talking to itself is never policed."""
    allowed_by: list[str] = []
    unsure: Verdict | None = None
    same = src is not None and src.pod is not None and dst.pod is not None and _identity(src.pod) == _identity(dst.pod)
    steps = []
    if src is not None and src.pod is not None and not same:
        steps.append((src, dst, "egress"))
    if dst.pod is not None and not same:
        steps.append((dst, src, "ingress"))
    for subject, other, direction in steps:
        side = _direction(store, subject, other, dst.pod, port, protocol, direction)
        meta = subject.pod["metadata"] if subject.pod else {}
        where = f"{meta.get('namespace', '')}/{meta.get('name', '')}"
        if side.allowed is False:
            return Verdict(False, direction, where, side.policies, side.with_rules, tuple(allowed_by))
        if side.allowed is None:
            unsure = unsure or Verdict(None, direction, where, side.policies, side.with_rules)
        elif side.allowed_by:
            allowed_by.append(side.allowed_by)
    if unsure is not None:
        return Verdict(None, unsure.direction, unsure.pod, unsure.policies, unsure.with_rules, tuple(allowed_by))
    return Verdict(True, allowed_by=tuple(allowed_by))


def allowed(store: Store, src: Endpoint, dst: Endpoint, port: int, protocol: str = "TCP") -> bool:
    """Whether a connection from ``src`` to ``dst``:``port`` gets through."""
    return decide(store, src, dst, port, protocol).allowed is True
