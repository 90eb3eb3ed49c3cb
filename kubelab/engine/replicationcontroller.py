"""The ReplicationController controller: the ReplicaSet controller with a plain label map as
its selector, reporting as ``replication-controller`` (kube-controller-manager's
ReplicationManager is the ReplicaSetController over converted objects; NewReplicationManager)."""
from __future__ import annotations

from kubelab.api.selectors import Selector, from_map
from kubelab.engine.apiserver import APIServer
from kubelab.engine.core import Engine
from kubelab.engine.replicaset import ReplicaSetController
from kubelab.engine.store import Obj


class ReplicationManager(ReplicaSetController):
    kind = "ReplicationController"
    component = "replication-controller"
    watches = ("ReplicationController", "Pod")

    @staticmethod
    def selector_of(spec: Obj) -> Selector:
        return from_map(spec.get("selector"))


def install(engine: Engine, api: APIServer) -> None:
    """Run the ReplicationController controller in this engine."""
    engine.add(ReplicationManager(engine, api))
