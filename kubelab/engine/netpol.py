"""NetworkPolicy, enforced as a policy-enforcing CNI (Calico, Cilium) enforces it.

A pod selected by a policy of its namespace whose ``policyTypes`` has Ingress (Egress) is
isolated in that direction: a connection then needs a rule of one of those policies that
lets it through (policies add up, never subtract). A rule's peers are pods (``podSelector``
in the policy's namespace, ``namespaceSelector`` over namespaces' labels, both together:
those pods in those namespaces) or ``ipBlock`` CIDRs minus ``except``; no peers means every
source/destination. Its ports match the destination pod's port by number, named container
port, or a ``port``..``endPort`` range, per protocol; no ports means every port. A denied
connection's packets are dropped, so the client's connect times out.
"""
from __future__ import annotations

import ipaddress
from typing import Any

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


def _direction_allows(store: Store, subject: Endpoint, other: Endpoint, dst_pod: Obj | None, port: int,
                      protocol: str, direction: str) -> bool:
    """Whether ``subject`` (a pod) may talk to/hear from ``other`` under its namespace's policies."""
    assert subject.pod is not None
    ns = subject.namespace or ""
    kind = "Ingress" if direction == "ingress" else "Egress"
    peers_key = "from" if direction == "ingress" else "to"
    isolated = False
    for policy in store.list("NetworkPolicy", ns):
        spec = policy.get("spec") or {}
        if kind not in (spec.get("policyTypes") or ()) or not _selects(spec.get("podSelector"), _labels(subject.pod)):
            continue
        isolated = True
        for rule in spec.get(direction) or ():
            peers = rule.get(peers_key) or []
            if peers and not any(_peer_matches(store, peer, ns, other) for peer in peers):
                continue
            ports = rule.get("ports") or []
            if ports and not any(_port_matches(p, dst_pod, port, protocol) for p in ports):
                continue
            return True
    return not isolated


def allowed(store: Store, src: Endpoint, dst: Endpoint, port: int, protocol: str = "TCP") -> bool:
    """Whether a connection from ``src`` to ``dst``:``port`` gets through (egress of the
    source pod, then ingress of the destination pod)."""
    if src.pod is not None and src.pod is not dst.pod:
        if not _direction_allows(store, src, dst, dst.pod, port, protocol, "egress"):
            return False
    if dst.pod is not None and src.pod is not dst.pod:
        if not _direction_allows(store, dst, src, dst.pod, port, protocol, "ingress"):
            return False
    return True
