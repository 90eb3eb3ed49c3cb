"""The notebook layer: the ``%kube`` magics, tables, diagrams and the dashboard.

One cluster per kernel, made on first use (``Cluster()``, real clock). Replace it with
``kubelab.notebook.use(cluster_or_client)`` (a ``Cluster``, or any object speaking the client
protocol, e.g. a remote one), start afresh with ``%kube reset``. Switch off the picture drawn
after ``%%kube apply`` with ``kubelab.notebook.options.show_changes = False`` (or
``%kube config show-changes off``).

The pictures are also plain Python calls on any client::

    from kubelab.notebook.diagram import diagram      # diagram(client, "default", "app=web", ["deploy"])
    from kubelab.notebook.route import route          # route(client, "my-service", "default")
    from kubelab.notebook.history import history      # history(client, "my-deployment", "default")
    from kubelab.notebook.dashboard import Dashboard  # Dashboard(client, "default")
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

__all__ = ["options", "use", "client", "cluster", "reset"]


@dataclass
class Options:
    #: draw the applied objects and their pods after ``%%kube apply``
    show_changes: bool = True
    #: at most this many real seconds to let new pods start before that picture is taken
    settle_seconds: float = 2.0


options = Options()

_lock = threading.Lock()
_cluster: Any = None  # the Cluster behind the client, when there is one
_client: Any = None


def use(target: Any) -> Any:
    """Point the magics at ``target``: a ``Cluster`` or a client. Returns the client."""
    global _cluster, _client
    with _lock:
        inner = getattr(target, "client", None)
        _cluster, _client = (target, inner) if inner is not None else (None, target)
        return _client


def client() -> Any:
    """The kernel's client, creating the default embedded cluster on first use."""
    global _cluster, _client
    with _lock:
        if _client is None:
            from kubelab.cluster import Cluster

            _cluster = Cluster()
            _client = _cluster.client
        return _client


def cluster() -> Any:
    """The kernel's embedded ``Cluster`` (None when the magics drive some other client)."""
    client()
    return _cluster


def reset() -> Any:
    """Throw the cluster away and start a new one shaped like it (same nodes and clock kind)."""
    global _cluster, _client
    with _lock:
        old = _cluster
        if old is None and _client is not None:
            raise RuntimeError("reset works on the embedded cluster only; this kernel uses another client")
        from kubelab.cluster import Cluster
        from kubelab.kubectl.portforward import stop_all

        if _client is not None:
            stop_all(_client)  # free the old cluster's forwarded ports before anything else
        if old is not None:
            old.close()  # its clock stops: nothing moves a discarded cluster any more
        if old is None:
            _cluster = Cluster()
        else:
            _cluster = Cluster(clock="virtual" if old.clock.virtual else "real", nodes=old.nodes_spec,
                               images=old.images or None)
        _client = _cluster.client
        return _cluster

