"""The embedded control plane's parts, wired explicitly: who gets what, in start-up order.

Each part's ``install`` takes only what it uses (the engine, the API server, the node
agent...) and returns what others need, so the order below is checked by the calls
themselves rather than kept as an unwritten contract. Order still matters where a part
reads what an earlier one made: nodes before the Services that take the control plane's
IP and before the kubelet and system images that go onto each node; the namespaces before
the service-account controllers that fill them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kubelab.engine import (cronjob, daemonset, deployment, disruption, endpoints, eventttl, garbage,
                            ingress, job, kubelet, limitranger, metrics, namespaces, nodelifecycle, nodes,
                            podautoscaler, priority, rbac, replicaset, replicationcontroller, resourcequota,
                            scheduler, serviceaccounts, services, statefulset, storage, system)
from kubelab.engine.apiserver import APIServer
from kubelab.engine.core import Engine
from kubelab.engine.kubelet import Kubelet
from kubelab.engine.network import Network
from kubelab.engine.nodelifecycle import NodeHealth


@dataclass(frozen=True)
class Parts:
    """What the cluster holds on to after start-up: the node agent, the pod network and the
    node health monitor (told when a node stops and starts)."""

    kubelet: Kubelet
    network: Network
    health: NodeHealth


def install(engine: Engine, api: APIServer, node_spec: nodes.NodesSpec, images: dict[str, Any] | None) -> Parts:
    """Start every part of the control plane on ``engine``, serving through ``api``."""
    nodes.install(engine, node_spec)
    health = nodelifecycle.install(engine, api)
    namespaces.install(engine, api)
    eventttl.install(engine)
    serviceaccounts.install(engine, api)
    limitranger.install(engine, api)
    resourcequota.install(engine, api)
    priority.install(api)
    services.install(engine, api)
    garbage.install(engine, api)
    replicaset.install(engine, api)
    replicationcontroller.install(engine, api)
    deployment.install(engine, api)
    job.install(engine, api)
    cronjob.install(engine, api)
    statefulset.install(engine, api)
    daemonset.install(engine, api)
    storage.install(engine, api)
    endpoints.install(engine, api)
    rbac.install(engine, api)
    disruption.install(engine)
    scheduler.install(engine, api)
    agent = kubelet.install(engine, api, images)
    system.install(engine, agent)
    ingress.install(engine, api, agent.network)
    metrics.install(engine, api, agent)
    podautoscaler.install(engine, api)
    return Parts(agent, agent.network, health)
