"""``Cluster``: the embedded Kubernetes cluster a notebook or a test holds in its hand."""
from __future__ import annotations

import json
import os
import shlex
import weakref
from typing import TYPE_CHECKING, Any, Sequence

from kubelab.client import EmbeddedClient
from kubelab.engine.apiserver import APIServer
from kubelab.engine.clock import VIRTUAL_EPOCH, Clock, RealClock, VirtualClock
from kubelab.engine.core import Engine

if TYPE_CHECKING:
    from kubelab.api.objects import Obj
    from kubelab.engine.state import StateFile
    from kubelab.kubectl.command import Result
    from kubelab.server import Server

# How long minikube has been up when the learner's first command arrives: kube-system's pods
# start in this time, before the cluster is handed over.
BOOT_SECONDS = 60.0


class Cluster:
    """An in-process Kubernetes cluster.

    ``clock="real"`` (the default, for notebooks) lets time pass as on a real cluster;
    ``clock="virtual"`` moves time only through :meth:`advance` and :meth:`settle`.
    ``nodes`` is a node count, a list of node descriptions (name, labels, taints, capacity),
    or ``"minikube"`` for a single node like minikube's.

    ``state`` is a file (SQLite, see :mod:`kubelab.engine.state`) the cluster lives in: every
    acknowledged write is on disk, and a new ``Cluster(state=...)`` on the same file comes back
    as after ``minikube stop`` / ``minikube start`` (``restored`` says how many objects), its
    containers restarted; ``nodes`` then come from the file.

    On a real clock a background thread (:mod:`kubelab.engine.driver`) moves the cluster as
    time passes; :meth:`close` (or leaving a ``with`` block, or dropping the cluster) ends it.
    """

    def __init__(self, clock: str | Clock = "real", nodes: int | str | Sequence[dict[str, Any]] = 3,
                 seed: int | None = None, images: dict[str, Any] | None = None,
                 state: str | os.PathLike[str] | None = None) -> None:
        self.state: StateFile | None = None
        if state is not None:
            from kubelab.engine import state as state_file  # sqlite3 only for a cluster that keeps a file

            self.state = state_file.StateFile(state)
        saved = self.state.meta() if self.state is not None and self.state.count() else None
        #: how many objects came back from the state file (0: a fresh cluster)
        self.restored = 0
        if saved is not None and clock == "virtual":
            clock = VirtualClock(float(saved["now"]))  # a virtual cluster resumes at its own time
        if isinstance(clock, RealClock):  # a real clock of the caller's (a test moves its wall)
            self.clock = clock
            ready_at = clock.now()
            clock.set(ready_at - BOOT_SECONDS)
        elif isinstance(clock, Clock):
            self.clock = clock
            ready_at = clock.now() + BOOT_SECONDS
        elif clock == "virtual":
            # booted before the fixed epoch, so a test's first command still runs at VIRTUAL_EPOCH
            self.clock = VirtualClock(VIRTUAL_EPOCH - BOOT_SECONDS)
            ready_at = VIRTUAL_EPOCH
        elif clock == "real":
            self.clock = RealClock()
            ready_at = self.clock.now()
            self.clock.set(ready_at - BOOT_SECONDS)  # the boot happened in the recent past
        else:
            raise ValueError(f"clock must be 'real', 'virtual' or a Clock, not {clock!r}")
        self.engine = Engine(self.clock, seed)
        self.api = APIServer(self.engine)
        self.nodes_spec = nodes
        self.images = dict(images or {})
        if saved is not None:
            assert self.state is not None
            objects = self.state.load()
            self.restored = len(objects)
            self.engine.load(objects, int(saved.get("resourceVersion") or 0))
            self.engine.rng.seed(f"kubelab-restart-{seed}-{saved.get('resourceVersion')}")  # fresh uids
        from kubelab.engine import parts  # the whole control plane: imported when a cluster starts

        started = parts.install(self.engine, self.api, nodes, self.images)
        self.kubelet, self.network = started.kubelet, started.network
        self._health = started.health
        self.client = EmbeddedClient(self.engine, self.api, self.network, self._keys())
        if self.state is not None:
            if saved is not None:
                self.kubelet.disks.load(*self.state.load_disks())  # before the pods mount them
            self.state.track(self.engine.store, {"nodes": json.dumps(nodes, default=str)}, self.kubelet.disks)
        if saved is not None:
            if isinstance(self.clock, RealClock):
                self.clock.set(float("inf"))  # no boot to replay: it is now
            self._restart(float(saved.get("now") or self.clock.now()))
        else:
            self._boot(ready_at, seed)
            if self.state is not None:
                self.state.save_all()
        if self.state is not None:
            state_file, clock_ = self.state, self.clock
            self.engine.persist = lambda: state_file.take(clock_.now())
        self.engine.sync() if not self.clock.virtual else self.engine.drain()
        self.engine.flush()
        self.driver = None
        if isinstance(self.clock, RealClock):
            from kubelab.engine.driver import Driver

            self.driver = Driver(self.engine)
            if self.state is not None:
                self.kubelet.disks.on_change = self.driver.wake
            weakref.finalize(self, self.driver.stop, 0)  # a dropped cluster stops its thread

    def close(self) -> None:
        """Stop the background driver. The objects stay readable; time no longer moves."""
        if self.driver is not None:
            self.driver.stop()
        if self.state is not None:
            with self.engine.lock:
                self.state.flush(self.clock.now())
                self.state.close()
            self.state = None
            self.engine.persist = None

    def __enter__(self) -> "Cluster":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _keys(self) -> bytes | None:
        """The keys a cluster signs its ServiceAccount tokens with come from the state file (as
        minikube keeps sa.key on its disk), so that its tokens outlive a restart: the token
        controller's is set here, the bound tokens' is returned for the client (None without
        a file: the client makes a random one)."""
        if self.state is None:
            return None
        import secrets

        from kubelab.engine.serviceaccounts import TokenController

        for controller in self.engine.controllers:  # the legacy token Secrets' (a seeded cluster's own)
            if isinstance(controller, TokenController):
                controller.key = self.state.secret("legacy-token-key", lambda: controller.key)
        return self.state.secret("service-account-key", lambda: secrets.token_bytes(32))

    def _boot(self, ready_at: float, seed: int | None) -> None:
        """Start kube-system and run the cluster to ``ready_at``. The boot draws from its own
        random stream, so the names and uids a seeded cluster makes afterwards do not depend
        on how many system pods it started."""
        from kubelab.engine import system

        rng = self.engine.rng
        saved = rng.getstate()
        rng.seed(f"kubelab-boot-{seed}")
        self.engine.drain()
        system.boot(self.engine, self.api)
        self.engine.run_until(ready_at)
        rng.setstate(saved)

    def _restart(self, stopped: float) -> None:
        """``minikube start`` on the objects read back: the kubelets restart every pod's
        containers (see Kubelet.restart_all), and every controller looks at every object
        once, as after a control-plane restart; allocators already read the used addresses
        from the store."""
        from kubelab.engine import priority

        priority.bootstrap(self.api)  # the API server's post-start hook: a file from before them has none
        self.kubelet.restart_all(self.clock.timestamp(stopped))
        self.engine.replay(skip=self.state.changed if self.state is not None else None)  # it read them

    def kubectl(self, *args: str, stdin: str | None = None) -> Result:
        """Run a kubectl command line (``"get pods -o wide"``) or its words; returns what
        kubectl would print and exit with (``returncode``, ``stdout``, ``stderr``)."""
        from kubelab.kubectl import run

        argv = shlex.split(args[0]) if len(args) == 1 else list(args)
        return run(self.client, argv, stdin=stdin)

    def advance(self, seconds: float) -> None:
        """Run the cluster forward ``seconds`` of cluster time (virtual clock only)."""
        self.engine.advance(seconds)

    def settle(self, timeout: float = 300) -> bool:
        """Run forward until nothing is left to do, at most ``timeout`` seconds of cluster
        time; True when the cluster reached that steady state (virtual clock only)."""
        return self.engine.settle(timeout)

    def serve(self, port: int = 0) -> Server:
        """Serve this cluster's Kubernetes API on 127.0.0.1 for the real kubectl and Python
        clients; returns the server handle (``url``, ``kubeconfig``, ``token``, ``close()``)."""
        from kubelab.server import serve

        return serve(self, port)

    def stop_node(self, name: str) -> None:
        """Power a node off, as if its machine went away: its kubelet stops heartbeating, so
        after 40 s the node goes NotReady and is tainted unreachable, and its pods are evicted
        300 s later (they stay Terminating until the node comes back)."""
        with self.engine.lock:
            self._node(name)
            if name in self.kubelet.stopped:
                return
            self.kubelet.stop_node(name)
            self._health.heartbeat_stopped(name)
            self.engine.drain()

    def start_node(self, name: str) -> None:
        """Power a stopped node on again: its kubelet posts Ready, the taints go, and the pods
        still bound to it start again (those deleted meanwhile are removed)."""
        with self.engine.lock:
            self._node(name)
            if name not in self.kubelet.stopped:
                return
            self._health.heartbeat_resumed(name)
            self.kubelet.start_node(name)
            self.engine.drain()

    def _node(self, name: str) -> Obj:
        from kubelab.api.errors import not_found

        node = self.engine.store.get("Node", "", name)
        if node is None:
            raise not_found("nodes", name)
        return node

    def node_ip(self, node: str | None = None) -> str:
        """The InternalIP of a node (the first one by default): what ``minikube ip`` prints."""
        nodes = self.api.list("Node")["items"]
        chosen = next((n for n in nodes if node in (None, n["metadata"]["name"])), None)
        if chosen is None:
            raise KeyError(node)
        return next(a["address"] for a in chosen["status"]["addresses"] if a["type"] == "InternalIP")
