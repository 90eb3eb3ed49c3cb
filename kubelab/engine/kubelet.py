"""The simulated kubelet: drives every pod bound to a node the way a real kubelet does.

For each pod it creates a sandbox (the pod IP), runs init containers one by one, then pulls
images, creates and starts the containers, probes them, restarts them with back-off, and
writes what happened to ``pod.status`` and to events, with kubectl's reasons and messages.
Each step takes a little cluster time (timers), so a notebook on a real clock shows
ContainerCreating before Running. Deletion is graceful: containers get SIGTERM, then SIGKILL
when the grace period ends, and only then does the pod leave the store.
"""
from __future__ import annotations

import base64
import copy
import dataclasses
import functools
import hashlib
import math
import posixpath
import re
from dataclasses import dataclass, field
from typing import AbstractSet, Any, Callable, Iterable

from kubelab.api import errors
from kubelab.api.pods import qos_class
from kubelab.engine.results import ExecResult, PortForwardError
from kubelab.engine.apiserver import APIServer
from kubelab.engine.clock import Timer, parse_timestamp
from kubelab.engine.core import Controller, Engine
from kubelab.engine.disks import Disks
from kubelab.engine.events import Recorder
from kubelab.engine.network import DNS_SERVER, ConnectError, HttpRequest, Network, Sandbox
from kubelab.engine.session import ProcessSession, Runner
from kubelab.engine.runtime import (Catalog, InvalidImageName, Process, PullError, Reference, Runtime, Spec,
                                    StartError, Volume, image_digest, parse_reference)
from kubelab.engine.nodes import posted_conditions
from kubelab.engine.store import Key, Obj, compact, key_of

SANDBOX_DELAY = 0.5  # binding to sandbox ready (the pod IP is known)
CREATE_DELAY = 0.3  # create + start a container
ERR_PULL_TO_BACKOFF = 2.0  # ErrImagePull shows before the pod worker moves to ImagePullBackOff
BACKOFF_START = 10.0
BACKOFF_MAX = 300.0
CONFIG_RETRY = 10.0  # a CreateContainerConfigError is retried on every pod resync
VOLUME_SYNC_DELAY = 30.0  # a changed ConfigMap reaches mounted files after the kubelet's sync
DEFAULT_GRACE = 30
MIN_STOP_SECONDS = 2  # minimumGracePeriodInSeconds: SIGTERM always gets this long, whatever preStop took
# kubetypes.PodConditionsByKubelet: the conditions the kubelet writes itself
_KUBELET_CONDITIONS = frozenset(("PodScheduled", "Ready", "Initialized", "ContainersReady", "PodReadyToStartContainers"))
NODE_STATUS_MAX_IMAGES = 50  # the kubelet's nodeStatusMaxImages default
MAX_NAMES_PER_IMAGE = 5  # names per image the Images setter reports


class ConfigError(Exception):
    """A referenced ConfigMap, Secret or key is missing."""


class MountError(Exception):
    """A volume the kubelet cannot set up yet (its claim is missing or unbound): the message is
    the kubelet's whole FailedMount text."""


MOUNT_BACKOFF, MAX_MOUNT_BACKOFF = 0.5, 122.0  # nestedpendingoperations' exponential back-off
# What a minikube node holds before any pod writes to it, for hostPath's type checks.
NODE_DIRS = frozenset({
    "/", "/data", "/dev", "/etc", "/etc/ca-certificates", "/etc/kubernetes", "/etc/ssl", "/etc/ssl/certs",
    "/home", "/lib", "/lib/modules", "/mnt", "/opt", "/proc", "/root", "/run", "/srv", "/sys", "/tmp",
    "/tmp/hostpath-provisioner", "/usr", "/usr/local", "/usr/local/share/ca-certificates", "/usr/share",
    "/usr/share/ca-certificates", "/var", "/var/lib", "/var/lib/docker", "/var/lib/docker/containers",
    "/var/lib/kubelet", "/var/lib/minikube", "/var/log", "/var/log/pods", "/var/run"})
NODE_FILES = {"/etc/hostname": "minikube\n", "/etc/hosts": "127.0.0.1\tlocalhost\n", "/etc/localtime": "TZif2\n",
              "/etc/machine-id": "6e1b1d1ac3474a5e8c7b0f6f2a9d3c41\n",
              "/etc/os-release": 'PRETTY_NAME="Ubuntu 22.04.5 LTS"\n', "/etc/resolv.conf": "nameserver 192.168.49.1\n"}
NODE_SOCKETS = frozenset({"/var/run/docker.sock", "/run/docker.sock", "/var/run/cri-dockerd.sock",
                          "/run/cri-dockerd.sock"})
NODE_CHAR_DEVICES = frozenset({"/dev/null", "/dev/zero", "/dev/random", "/dev/urandom", "/dev/tty", "/dev/kmsg",
                               "/dev/fuse", "/dev/full"})
# Volume sources a minikube node cannot attach or mount: cloud disks (their in-tree plugins
# migrated to CSI drivers that only run on their cloud) and plugins removed from the kubelet.
_UNMOUNTABLE = frozenset({"awsElasticBlockStore", "azureDisk", "azureFile", "cinder", "gcePersistentDisk",
                          "vsphereVolume", "portworxVolume", "photonPersistentDisk", "glusterfs", "rbd", "cephfs",
                          "flocker", "quobyte", "storageos", "scaleIO"})
_TYPE_CHECKS = {"Directory": "is not a directory", "File": "is not a file", "Socket": "is not a socket file",
                "CharDevice": "is not a character device", "BlockDevice": "is not a block device"}


def _compacted(status: dict[str, Any], old: dict[str, Any]) -> dict[str, Any]:
    """A status as it is stored: key-sharing dicts, and the previous status's container
    statuses where they did not change (100,000 pods keep 100,000 statuses)."""
    for field_ in ("initContainerStatuses", "containerStatuses"):
        if field_ in status:
            before = old.get(field_) or ()
            status[field_] = [before[i] if i < len(before) and before[i] == st else compact(st)
                              for i, st in enumerate(status[field_])]
    return compact(status)


@functools.lru_cache(maxsize=1024)
def _field_path(init: bool, name: str, ephemeral: bool = False) -> str:
    """One string per container name: every event about a pod's container carries it."""
    return f"spec.{'ephemeralContainers' if ephemeral else 'initContainers' if init else 'containers'}{{{name}}}"


@dataclass(slots=True)
class Container:
    """The kubelet's view of one container of a pod, across restarts."""

    spec: dict[str, Any]
    init: bool
    proc: Process | None = None
    previous: Process | None = None
    busy: bool = False  # a pull, create or back-off timer is pending
    stuck: bool = False  # an error only a spec change would fix
    waiting: tuple[str, str] | None = None
    terminated: dict[str, Any] | None = None
    last_terminated: dict[str, Any] | None = None
    restart_count: int = 0
    backoff: float = 0.0
    pull_backoff: float = BACKOFF_START
    config_error: bool = False
    ready: bool = False
    image_ref: Reference | None = None
    probe_ok: int = 0
    probe_fail: dict[str, int] = field(default_factory=dict)
    timers: list[Timer] = field(default_factory=list)  # this container's pending pull/create/back-off steps
    changed: bool = False  # its image changed: restart it whatever the restart policy says
    ephemeral: bool = False  # added by kubectl debug: runs once, never restarts, no readiness
    started_once: bool = False  # a sidecar that has started: the next init container may start
    stopping: Process | None = None  # the process whose preStop hook runs (see Kubelet._kill)

    @property
    def name(self) -> str:
        return self.spec["name"]

    @property
    def field_path(self) -> str:
        return _field_path(self.init, self.name, self.ephemeral)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.running

    @property
    def succeeded(self) -> bool:
        return self.terminated is not None and self.terminated["exitCode"] == 0

    @property
    def sidecar(self) -> bool:
        """A restartable init container (restartPolicy Always, KEP-753): it starts in order with
        the init containers, keeps running beside the main ones, and is restarted whenever it
        exits."""
        return self.init and self.spec.get("restartPolicy") == "Always"

    @property
    def initialized(self) -> bool:
        """Done as an init container: exited 0, or (a sidecar) started once."""
        return self.started_once if self.sidecar else self.succeeded


@dataclass(slots=True)
class PodState:
    key: Key
    uid: str
    node: str
    hostname: str
    containers: list[Container]
    start_time: str
    sandbox: Sandbox | None = None
    sandbox_pending: bool = False
    volumes: dict[str, Volume] | None = None
    volume_sources: AbstractSet[tuple[str, str]] = frozenset()  # (kind, name) mounted
    mount_backoff: float = 0.0  # the next wait before mounting again after a failure (0: none failed)
    timers: list[Timer] = field(default_factory=list)
    terminating: bool = False
    stop_grace: float = 0.0  # the grace period its containers were stopped with (a later delete may cut it)
    failed: bool = False  # an init container failed and the pod will not retry
    written: dict[str, Any] | None = None  # the status this kubelet last wrote (the store keeps it as is)

    @property
    def init(self) -> list[Container]:
        return [c for c in self.containers if c.init]

    @property
    def main(self) -> list[Container]:
        return [c for c in self.containers if not c.init and not c.ephemeral]

    @property
    def ephemeral(self) -> list[Container]:
        return [c for c in self.containers if c.ephemeral]


class Kubelet(Controller):
    """Every node's kubelet in one controller (the nodes share the cluster clock)."""

    watches = ("Pod", "ConfigMap", "Secret", "PersistentVolumeClaim", "PersistentVolume")

    def __init__(self, engine: Engine, network: Network, runtime: Runtime) -> None:
        super().__init__(engine)
        self.network = network
        self.runtime = runtime
        self.rng = engine.rng
        self.pods: dict[str, PodState] = {}
        self._by_key: dict[Key, str] = {}
        self._finished: dict[Key, str] = {}  # the uid of a deleted pod finalizers keep in the store
        self._in_ns: dict[str, set[str]] = {}  # namespace -> uids, so a ConfigMap change scans one namespace
        self._recorders: dict[str, Recorder] = {}
        self.images_on: dict[str, set[str]] = {}
        self._host_ips: dict[str, tuple[Obj, str | None]] = {}  # node -> (Node object seen, InternalIP)
        self._parts: dict[tuple[Any, ...], Any] = {}  # see _shared
        self._service_envs: dict[str, tuple[list[Obj], dict[str, str]]] = {}  # ns -> (Services seen, env)
        self._rebooted: dict[str, str] = {}  # pod uid -> when its node went down (see restart_all)
        # What outlives a pod's containers, on the nodes' disks: a PersistentVolume's files,
        # a node's hostPath directories and files, disk-backed emptyDirs (see disks.py)
        self.disks = Disks()
        self.stopped: dict[str, str] = {}  # node -> when its machine went off (its pods are not looked after)

    def restart_all(self, stopped_at: str) -> None:
        """The nodes came back up (``minikube start`` after ``minikube stop`` at ``stopped_at``):
        every pod they ran lost its sandbox and containers. Each pod's next sync makes them
        again, as computePodActions (kuberuntime_manager.go) decides for a sandbox that is
        gone: a SandboxChanged event, every container started anew with its restartCount + 1
        and the one that was running as its last state. The images stay on the nodes."""
        for pod in self.store.list("Pod"):
            if (pod.get("spec") or {}).get("nodeName") and \
                    (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed"):
                self._rebooted[pod["metadata"]["uid"]] = stopped_at
        self._drop_orphaned_empty_dirs()
        for node in self.store.list("Node"):
            names = [n for image in (node.get("status") or {}).get("images") or () for n in image.get("names") or ()
                     if "@" not in n]
            canonical = []
            for name in names:
                try:
                    canonical.append(parse_reference(name).canonical)
                except InvalidImageName:
                    continue
            self.images_on.setdefault(node["metadata"]["name"], set()).update(canonical)

    def _resume(self, ps: PodState, pod: Obj, stopped_at: str) -> None:
        """Carry a rebooted pod's containers over from its last status (see restart_all)."""
        status = pod.get("status") or {}
        seen = {s.get("name"): s for s in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or [])}
        never = pod["spec"].get("restartPolicy") == "Never"
        if never and any("running" in (st.get("state") or {}) or "terminated" in (st.get("state") or {})
                         for st in seen.values()):
            # computePodActions keeps a restartPolicy=Never pod that already ran from getting
            # a new sandbox: what was running stays dead, and the pod fails
            for c in ps.containers:
                st = seen.get(c.name) or {}
                c.restart_count = st.get("restartCount") or 0
                state = st.get("state") or {}
                if "running" in state:
                    c.terminated = {"exitCode": 255, "reason": "Unknown", "startedAt": state["running"].get("startedAt"),
                                    "finishedAt": stopped_at, "containerID": st.get("containerID", "")}
                elif "terminated" in state:
                    c.terminated = dict(state["terminated"])
            if status.get("startTime"):
                ps.start_time = status["startTime"]
            return
        for c in ps.containers:
            st = seen.get(c.name)
            if st is None:
                continue
            c.restart_count = st.get("restartCount") or 0
            state = st.get("state") or {}
            if "running" in state:  # killed by the node going down: containerd reports it so
                c.last_terminated = {"exitCode": 255, "reason": "Unknown",
                                     "startedAt": state["running"].get("startedAt"), "finishedAt": stopped_at,
                                     "containerID": st.get("containerID", "")}
            elif "terminated" in state:
                c.last_terminated = dict(state["terminated"])
            elif (st.get("lastState") or {}).get("terminated"):
                c.last_terminated = dict(st["lastState"]["terminated"])
        if status.get("startTime"):
            ps.start_time = status["startTime"]
        self._event(ps, "Normal", "SandboxChanged", "Pod sandbox changed, it will be killed and re-created.")

    # -- watching ---------------------------------------------------------------------------
    def keys_for(self, event: str, obj: Obj, old: Obj | None) -> list[Key]:
        if obj["kind"] == "Pod":
            meta = obj["metadata"]
            ps = self.pods.get(meta["uid"])
            if ps is not None and old is not None and ps.written is not None and obj.get("status") is ps.written \
                    and old.get("status") is not ps.written:
                return []  # this kubelet's own status write: it already acted on everything it shows
            return [("Pod", meta["namespace"], meta["name"])]
        if obj["kind"] == "PersistentVolume":
            if event == "DELETED":
                self.disks.drop(("pv", obj["metadata"]["name"]))  # reclaimed: the data goes with it
            return []
        ns, name = obj["metadata"]["namespace"], obj["metadata"]["name"]
        keys = []
        for uid in list(self._in_ns.get(ns, ())):
            ps = self.pods[uid]
            if (obj["kind"], name) in ps.volume_sources and event == "MODIFIED":
                self._after(ps, VOLUME_SYNC_DELAY, lambda ps=ps: self._refresh_volumes(ps))
            if ps.volumes is None or any(c.config_error for c in ps.containers):
                for c in ps.containers:
                    c.config_error = False
                keys.append(ps.key)
        return keys

    def recorder(self, node: str) -> Recorder:
        if node not in self._recorders:
            self._recorders[node] = Recorder(self.store, "kubelet", node)
        return self._recorders[node]

    # -- the pod worker -----------------------------------------------------------------------
    def reconcile(self, key: Key) -> None:
        pod = self.store.get(*key)
        uid = self._by_key.get(key)
        if uid is not None and (pod is None or pod["metadata"]["uid"] != uid):
            self._forget(self.pods[uid])
        if self._finished.get(key) not in (None, pod and pod["metadata"]["uid"]):
            del self._finished[key]
        if pod is None or not pod.get("spec", {}).get("nodeName") or pod["spec"]["nodeName"] in self.stopped:
            return
        ps = self.pods.get(pod["metadata"]["uid"])
        if ps is None and key in self._finished:
            return  # terminated; only its finalizers keep it
        if ps is None:
            meta = pod["metadata"]
            if pod.get("status", {}).get("phase") in ("Succeeded", "Failed") and (
                    not meta.get("deletionTimestamp") or meta.get("deletionGracePeriodSeconds") == 0):
                return  # finished before this kubelet knew it (restored, or kept by its finalizers)
            ps = self._admit(pod)
        if pod["metadata"].get("deletionTimestamp"):
            self._terminate(ps, pod)
            return
        self._sync(ps, pod)
        self._write_status(ps)

    # -- a node's machine going off and on ------------------------------------------------------
    def stop_node(self, name: str) -> None:
        """Power the node off: its containers die with it, nothing reports on its pods any
        more (their API objects stay as they were last written)."""
        self.stopped[name] = self.clock.timestamp()
        for ps in [ps for ps in self.pods.values() if ps.node == name]:
            self._forget(ps, reboot=True)

    def start_node(self, name: str) -> None:
        """Boot the node again: the kubelet posts Ready and syncs every pod bound to it as after
        a reboot (see restart_all: new sandboxes, restartCount + 1; a pod deleted meanwhile is
        killed and removed)."""
        stopped_at = self.stopped.pop(name)
        node = self.store.get("Node", "", name)
        if node is not None:
            now = self.clock.timestamp()
            status = copy.deepcopy(node["status"])
            status["conditions"] = posted_conditions(status.get("conditions") or [], now)
            self.store.update({**node, "status": status}, status=True)
        for pod in self.store.list("Pod"):
            if (pod.get("spec") or {}).get("nodeName") == name:
                if (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed"):
                    self._rebooted[pod["metadata"]["uid"]] = stopped_at
                self.enqueue(key_of(pod))
        self._drop_orphaned_empty_dirs()

    def _drop_orphaned_empty_dirs(self) -> None:
        """After a reboot, the emptyDirs of the pods that finished or went meanwhile are
        removed (cleanupOrphanedPodDirs); those of the pods coming back stay."""
        keep = self.pods.keys() | self._rebooted.keys()
        for key in self.disks:
            if key[0] == "pod" and key[1] not in keep:
                self.disks.drop(key)

    def _admit(self, pod: Obj) -> PodState:
        spec = pod["spec"]
        containers = [Container(c, True) for c in spec.get("initContainers") or ()]
        containers += [Container(c, False) for c in spec.get("containers") or ()]
        meta = pod["metadata"]
        ps = PodState(("Pod", meta["namespace"], meta["name"]), meta["uid"], spec["nodeName"],
                      spec.get("hostname") or meta["name"], containers, self.clock.timestamp())
        self.pods[ps.uid] = ps
        self._by_key[ps.key] = ps.uid
        self._in_ns.setdefault(ps.key[1], set()).add(ps.uid)
        if self._rebooted:
            stopped_at = self._rebooted.pop(ps.uid, None)
            if stopped_at is not None:
                self._resume(ps, pod, stopped_at)
        return ps

    def _forget(self, ps: PodState, reboot: bool = False) -> None:
        """The pod left the store: stop whatever still runs and free its IP (and remove its
        emptyDirs, unless its node only went down: see _drop_orphaned_empty_dirs)."""
        for t in ps.timers:
            t.cancel()
        for c in ps.containers:
            if c.proc is not None and c.proc.running:
                c.proc.on_exit = lambda proc: None
                c.proc.kill()
        if ps.sandbox is not None and self.network.sandboxes.get(ps.sandbox.ip) is ps.sandbox:
            self.network.release(ps.node, ps.sandbox.ip)
        for name in () if reboot else ps.volumes or ():
            self.disks.drop(("pod", ps.uid, name))
        self.pods.pop(ps.uid, None)
        self._in_ns.get(ps.key[1], set()).discard(ps.uid)
        if self._by_key.get(ps.key) == ps.uid:
            del self._by_key[ps.key]

    def _after(self, ps: PodState, delay: float, fn: Callable[[], None], progress: bool = True,
               c: Container | None = None) -> None:
        """Run one step of this pod (of its container ``c``) later, then look at the pod again."""

        def fire() -> None:
            if self.pods.get(ps.uid) is ps:
                ps.timers = [t for t in ps.timers if not t.cancelled]  # fired ones included
                fn()
                self.enqueue(ps.key)

        ps.timers = [t for t in ps.timers if not t.cancelled]
        timer = self.clock.call_later(delay, fire, progress)
        ps.timers.append(timer)
        if c is not None:
            c.timers = [t for t in c.timers if not t.cancelled]
            c.timers.append(timer)

    def _pod(self, ps: PodState) -> Obj:
        pod = self.store.get(*ps.key)
        assert pod is not None
        return pod

    def _event(self, ps: PodState, type_: str, reason: str, message: str, c: Container | None = None) -> None:
        pod = self.store.get(*ps.key)
        if pod is not None:
            self.recorder(ps.node).event(pod, type_, reason, message, c.field_path if c else "")

    def _sync(self, ps: PodState, pod: Obj) -> None:
        if ps.failed:
            return
        if ps.sandbox is None:
            if not ps.sandbox_pending:
                ps.sandbox_pending = True
                self._after(ps, SANDBOX_DELAY, lambda: self._create_sandbox(ps))
            return
        if ps.volumes is None and not self._mount_volumes(ps, pod):
            return
        self._spec_changes(ps, pod)
        for c in ps.init:
            if c.sidecar and c.started_once:
                self._drive(ps, pod, c)  # restarted if it exited, as long as the pod runs
                continue
            if c.succeeded:
                continue
            self._drive(ps, pod, c)
            return
        for c in ps.main:
            self._drive(ps, pod, c)
        self._stop_sidecars(ps, pod)
        self._ephemeral(ps, pod)

    def _stop_sidecars(self, ps: PodState, pod: Obj) -> None:
        """Once every main container has exited for good (a Job's pod), the kubelet stops the
        sidecars, so that the pod can complete (killContainersWithSyncResult for restartable
        init containers)."""
        sidecars = [c for c in ps.init if c.sidecar]
        if not sidecars or any(c.running or c.terminated is None or self._should_restart(pod, c) for c in ps.main):
            return
        for c in sidecars:
            c.stuck = True  # not restarted any more
            if not c.running or c.proc is None:
                continue
            self._kill(ps, c, c.proc, float(self._grace(pod)))

    def _ephemeral(self, ps: PodState, pod: Obj) -> None:
        """Start the ephemeral containers kubectl debug added, once each, while the pod runs
        (the kubelet's computePodActions starts new ones; they are never restarted)."""
        wanted = pod["spec"].get("ephemeralContainers") or ()
        if not wanted or pod.get("status", {}).get("phase") in ("Succeeded", "Failed"):
            return
        known = {c.name for c in ps.ephemeral}
        for spec in wanted:
            if spec["name"] not in known:
                ps.containers.append(Container(spec, False, ephemeral=True))
        for c in ps.ephemeral:
            if c.terminated is None:
                self._drive(ps, pod, c)

    def _spec_changes(self, ps: PodState, pod: Obj) -> None:
        """A container whose image changed (``kubectl set image pod/...``) is killed and started
        again with the new image, whatever the restart policy: computePodActions in
        kuberuntime_manager.go compares the container's hash (its name and image). A container
        not running yet (pulling, backing off) drops what it was doing for the old image; its
        back-offs start over, as their keys carry that hash."""
        specs = {s["name"]: s for s in (pod["spec"].get("containers") or ())}
        specs.update({s["name"]: s for s in (pod["spec"].get("initContainers") or ())})
        for c in ps.containers:
            new = specs.get(c.name)
            if new is None or new.get("image") == c.spec.get("image") or (c.init and c.succeeded):
                continue
            c.spec, c.changed, c.stuck = new, True, False
            c.backoff, c.pull_backoff = 0.0, BACKOFF_START
            for t in c.timers:
                t.cancel()
            c.timers = []
            if c.running and c.proc is not None:
                self._event(ps, "Normal", "Killing", f"Container {c.name} definition changed, will be restarted", c)
                self._kill(ps, c, c.proc, float(self._grace(pod)))  # it exits, then _drive starts it again
            else:
                c.busy, c.waiting = False, None

    def _create_sandbox(self, ps: PodState) -> None:
        pod = self._pod(ps)
        meta = pod["metadata"]
        if pod["spec"].get("hostNetwork"):
            # the node's own network namespace: the pod's IP is the node's, nothing to allocate
            node = self.store.get("Node", "", ps.node) or {}
            ip = next((a["address"] for a in (node.get("status") or {}).get("addresses") or ()
                       if a["type"] == "InternalIP"), "")
            ps.sandbox = Sandbox(ip, meta["namespace"], meta["name"], ps.node)
            return
        ip = self.network.allocate(ps.node)
        ps.sandbox = Sandbox(ip, meta["namespace"], meta["name"], ps.node)
        self.network.attach(ps.sandbox)

    def _drive(self, ps: PodState, pod: Obj, c: Container) -> None:
        """Move one container a step: start it, or restart it after it exited."""
        if c.busy or c.stuck or c.config_error or c.running:
            return
        if c.terminated is None:
            self._launch(ps, c)
            return
        if not c.changed and not self._should_restart(pod, c):
            if c.init and not c.succeeded:
                ps.failed = True
            return
        if c.proc is not None and c.proc.started_at is not None and \
                c.terminated and self.clock.now() - c.proc.started_at >= 2 * BACKOFF_MAX:
            c.backoff = 0.0  # it ran long enough: the crash loop is forgiven
        c.last_terminated, c.terminated = c.terminated, None
        c.previous, c.proc = c.proc or c.previous, None
        c.changed = False
        if c.backoff == 0:
            c.backoff = BACKOFF_START
            self._launch(ps, c)
            return
        meta = pod["metadata"]
        wait = c.backoff
        c.waiting = ("CrashLoopBackOff", f"back-off {_go_duration(wait)} restarting failed container={c.name} "
                                         f"pod={meta['name']}_{meta['namespace']}({meta['uid']})")
        self._event(ps, "Warning", "BackOff", f"Back-off restarting failed container {c.name} in pod "
                                              f"{meta['name']}_{meta['namespace']}({meta['uid']})", c)
        c.busy = True
        c.backoff = min(c.backoff * 2, BACKOFF_MAX)

        def retry() -> None:
            c.busy = False
            self._launch(ps, c)

        self._after(ps, wait, retry, progress=False, c=c)

    def _should_restart(self, pod: Obj, c: Container) -> bool:
        if c.ephemeral:
            return False
        policy = pod["spec"].get("restartPolicy", "Always")
        if c.sidecar:  # restarted while the main containers run (_stop_sidecars ends it after)
            return True
        if c.init:
            return not c.succeeded and policy != "Never"
        return policy == "Always" or (policy == "OnFailure" and not c.succeeded)

    # -- image pulls ---------------------------------------------------------------------------
    def _launch(self, ps: PodState, c: Container) -> None:
        image = c.spec.get("image", "")
        c.busy = True
        try:
            ref = parse_reference(image)
        except InvalidImageName as exc:
            msg = f'Failed to apply default image tag "{image}": {exc}'
            c.waiting, c.busy, c.stuck = ("InvalidImageName", msg), False, True
            self._event(ps, "Warning", "InspectFailed", msg, c)
            self._event(ps, "Warning", "Failed", "Error: InvalidImageName", c)
            return
        c.image_ref = ref
        policy = c.spec.get("imagePullPolicy") or ("Always" if ref.tag == "latest" and not ref.digest
                                                   else "IfNotPresent")
        present = ref.canonical in self.images_on.setdefault(ps.node, set())
        if present and policy != "Always":
            self._event(ps, "Normal", "Pulled", f'Container image "{image}" already present on machine', c)
            self._after(ps, 0.05, lambda: self._create(ps, c), c=c)
        elif policy == "Never":
            msg = f'Container image "{image}" is not present with pull policy of Never'
            c.waiting, c.busy, c.stuck = ("ErrImageNeverPull", msg), False, True
            self._event(ps, "Warning", "ErrImageNeverPull", msg, c)
        else:
            self._event(ps, "Normal", "Pulling", f'Pulling image "{image}"', c)
            known = self.runtime.catalog.find(ref)
            size = known.size if known else 0
            took = 0.3 + 0.4 * self.rng.random() if present else \
                0.8 + min(size / 40e6, 2.0) + 0.4 * self.rng.random()
            self._after(ps, round(took, 3), lambda: self._pulled(ps, c, ref, took), c=c)

    def _pulled(self, ps: PodState, c: Container, ref: Reference, took: float) -> None:
        try:
            image = self.runtime.catalog.pull(ref)
        except PullError as exc:
            self._pull_failed(ps, c, ref, str(exc))
            return
        c.pull_backoff = BACKOFF_START
        d = _go_duration(took)
        self._event(ps, "Normal", "Pulled", f'Successfully pulled image "{ref.text}" in {d} ({d} including '
                                            f"waiting). Image size: {image.size} bytes.", c)
        self.add_images(ps.node, (ref.canonical,))
        self._create(ps, c)

    def add_images(self, node: str, canonical: Iterable[str]) -> None:
        """Record images now on ``node`` and, when its image set grew, report the set in the
        Node's ``status.images`` (what kube-scheduler's ImageLocality reads). One status write
        per new image on a node, never one per pod start."""
        have = self.images_on.setdefault(node, set())
        new = set(canonical) - have
        if not new:
            return
        have |= new
        obj = self.store.get("Node", "", node)
        if obj is None:
            return
        status = {k: v for k, v in obj.get("status", {}).items() if k != "images"}
        status["images"] = self._node_images(have)
        self.store.update({**obj, "status": dict(sorted(status.items()))}, status=True)

    def _node_images(self, canonical: AbstractSet[str]) -> list[dict[str, Any]]:
        """The Images setter over the runtime's image list: largest first (equal sizes by image
        ID, descending), at most 50 images, each named by its digests then its tags (Docker's
        short names, as cri-dockerd reports them), at most 5 names."""
        rows = []
        for text in canonical:
            ref = parse_reference(text)
            image = self.runtime.catalog.find(ref)
            digest = ref.digest or image_digest(ref)
            names = [f"{ref.short}@{digest}"] + ([] if ref.digest else [f"{ref.short}:{ref.tag}"])
            rows.append((image.size if image else 0, digest, names[:MAX_NAMES_PER_IMAGE]))
        rows.sort(key=lambda row: (row[0], row[1]), reverse=True)
        return [{"names": names, "sizeBytes": size} for size, _, names in rows[:NODE_STATUS_MAX_IMAGES]]

    def _pull_failed(self, ps: PodState, c: Container, ref: Reference, why: str) -> None:
        self._event(ps, "Warning", "Failed", f'Failed to pull image "{ref.text}": {why}', c)
        self._event(ps, "Warning", "Failed", "Error: ErrImagePull", c)
        c.waiting = ("ErrImagePull", why)
        wait = c.pull_backoff
        c.pull_backoff = min(c.pull_backoff * 2, BACKOFF_MAX)

        def back_off() -> None:
            c.waiting = ("ImagePullBackOff", f'Back-off pulling image "{ref.text}": ErrImagePull: {why}')
            self._event(ps, "Normal", "BackOff", f'Back-off pulling image "{ref.text}"', c)
            self._event(ps, "Warning", "Failed", "Error: ImagePullBackOff", c)
            self._after(ps, max(wait - ERR_PULL_TO_BACKOFF, 1.0), retry, progress=False, c=c)

        def retry() -> None:
            c.busy = False
            self._launch(ps, c)

        self._after(ps, ERR_PULL_TO_BACKOFF, back_off, c=c)

    # -- creating and starting ------------------------------------------------------------------
    def _create(self, ps: PodState, c: Container) -> None:
        pod = self._pod(ps)
        assert c.image_ref is not None and ps.sandbox is not None and ps.volumes is not None
        try:
            env = self._environment(pod, c)
        except ConfigError as exc:
            c.waiting, c.busy, c.config_error = ("CreateContainerConfigError", str(exc)), False, True
            self._event(ps, "Warning", "Failed", f"Error: {exc}", c)

            def resync() -> None:
                c.config_error = False

            self._after(ps, CONFIG_RETRY, resync, progress=False, c=c)
            return
        image = self.runtime.catalog.pull(c.image_ref)
        command, args = c.spec.get("command"), c.spec.get("args")
        argv = list(command or []) + list(args or []) if command else \
            (image.entrypoint + list(args) if args else [])
        env = compact(env)  # values were expanded in order, once (makeEnvironmentVariables)
        argv = [_expand(a, env) for a in argv]
        mounts = {m["mountPath"]: _mounted(ps.volumes[m["name"]], m) for m in c.spec.get("volumeMounts") or ()
                  if m.get("name") in ps.volumes}
        limit = ((c.spec.get("resources") or {}).get("limits") or {}).get("memory")
        spec = Spec(c.name, c.image_ref, image, argv, env, mounts, bool(c.spec.get("stdin")),
                    bool(c.spec.get("tty")), c.spec.get("workingDir", ""), bool(c.spec.get("stdinOnce")),
                    _quantity(str(limit)) if limit is not None else None,
                    self._resolv_conf(pod), _host_aliases(pod), _identity(pod, c.spec))
        self._after(ps, CREATE_DELAY, lambda: self._start(ps, c, spec), c=c)

    def _resolv_conf(self, pod: Obj) -> str | None:
        """The pod's resolv.conf when its dnsPolicy or dnsConfig changes the cluster's
        (GetPodDNS in pkg/kubelet/network/dns/dns.go): None keeps only dnsConfig; ClusterFirst
        appends dnsConfig's nameservers and searches and merges its options."""
        spec = pod["spec"]
        config = spec.get("dnsConfig") or {}
        policy = spec.get("dnsPolicy") or "ClusterFirst"
        if policy != "None" and not config:
            return None
        servers: list[str] = [] if policy == "None" else [DNS_SERVER]
        searches: list[str] = [] if policy == "None" else self.network.search_path(pod["metadata"]["namespace"])
        options: dict[str, str | None] = {} if policy == "None" else {"ndots": "5"}
        servers += [s for s in config.get("nameservers") or () if s not in servers]
        searches += [s for s in config.get("searches") or () if s not in searches]
        for opt in config.get("options") or ():
            options[opt["name"]] = opt.get("value")
        lines = ([f"search {' '.join(searches)}"] if searches else []) + [f"nameserver {s}" for s in servers[:3]]
        if options:
            lines.append("options " + " ".join(k if v is None else f"{k}:{v}" for k, v in options.items()))
        return "".join(line + "\n" for line in lines)

    def _start(self, ps: PodState, c: Container, spec: Spec) -> None:
        assert ps.sandbox is not None
        if c.previous is not None or c.last_terminated is not None:
            c.restart_count += 1
        try:
            proc = self.runtime.create(ps.sandbox, spec, ps.hostname, lambda p: self._exited(ps, c, p))
        except StartError as exc:
            self._event(ps, "Normal", "Created", f"Created container: {c.name}", c)
            self._event(ps, "Warning", "Failed", f"Error: {exc}", c)
            now = self.clock.timestamp()
            c.busy, c.waiting = False, None
            c.terminated = {"exitCode": 128, "reason": "StartError", "message": str(exc), "startedAt":
                            "1970-01-01T00:00:00Z", "finishedAt": now, "containerID": ""}
            return
        self._event(ps, "Normal", "Created", f"Created container: {c.name}", c)
        c.proc, c.busy, c.waiting = proc, False, None
        c.ready = "readinessProbe" not in c.spec and (not c.init or c.sidecar)
        c.started_once = True
        c.probe_ok, c.probe_fail = 0, {}
        proc.start()
        self._event(ps, "Normal", "Started", f"Started container {c.name}", c)  # before postStart, as upstream
        if not self._post_start(ps, c, proc):
            return
        for kind in ("readinessProbe", "livenessProbe"):
            probe = c.spec.get(kind)
            if probe:
                first = max(float(probe.get("initialDelaySeconds", 0)), 0.5)
                self._after(ps, first, lambda k=kind, p=proc: self._probe(ps, c, p, k),
                            progress=kind == "readinessProbe")

    def _post_start(self, ps: PodState, c: Container, proc: Process) -> bool:
        """The postStart exec hook, run as the container starts (runner.Run in lifecycle):
        when it fails the container is killed (FailedPostStartHook) and restarted by policy."""
        hook = ((c.spec.get("lifecycle") or {}).get("postStart") or {}).get("exec")
        if not hook or not hook.get("command"):
            return True
        result = proc.exec(list(hook["command"]))
        if result.exit_code == 0:
            return True
        # the hook's output stays out of the event (since 1.26), so that no secret leaks through it
        self._event(ps, "Warning", "FailedPostStartHook", "PostStartHook failed", c)
        self._event(ps, "Normal", "Killing", "FailedPostStartHook", c)
        self._kill(ps, c, proc, float(self._grace(self._pod(ps))))
        return False

    def _exited(self, ps: PodState, c: Container, proc: Process) -> None:
        code = proc.exit_code or 0
        reason = "OOMKilled" if proc.oom_killed else "Completed" if code == 0 else "Error"
        message = _termination_message(c.spec, proc)
        c.terminated = {"exitCode": code, "reason": reason, **({"message": message} if message else {}),
                        "startedAt": self.clock.timestamp(proc.started_at),
                        "finishedAt": self.clock.timestamp(proc.finished_at),
                        "containerID": "containerd://" + proc.id}
        c.ready = False
        self.enqueue(ps.key)

    # -- probes ----------------------------------------------------------------------------------
    def _probe(self, ps: PodState, c: Container, proc: Process, kind: str) -> None:
        if c.proc is not proc or not proc.running or ps.terminating:
            return
        probe = c.spec[kind]
        ok, output = self._run_probe(ps, c, proc, probe)
        label = "Readiness" if kind == "readinessProbe" else "Liveness"
        if ok:
            c.probe_fail[kind] = 0
            if kind == "readinessProbe":
                c.probe_ok += 1
                if c.probe_ok >= int(probe.get("successThreshold", 1)):
                    c.ready = True
        else:
            c.probe_ok = 0
            fails = c.probe_fail[kind] = c.probe_fail.get(kind, 0) + 1
            self._event(ps, "Warning", "Unhealthy", f"{label} probe failed: {output}", c)
            if fails >= int(probe.get("failureThreshold", 3)):
                if kind == "readinessProbe":
                    c.ready = False
                else:
                    self._event(ps, "Normal", "Killing",
                                f"Container {c.name} failed liveness probe, will be restarted", c)
                    self._kill(ps, c, proc, float(self._grace(self._pod(ps))))
                    return
        period = float(probe.get("periodSeconds", 10))
        self._after(ps, period, lambda: self._probe(ps, c, proc, kind), progress=False)

    def _run_probe(self, ps: PodState, c: Container, proc: Process, probe: dict[str, Any]) -> tuple[bool, str]:
        assert ps.sandbox is not None
        ip = ps.sandbox.ip
        if "exec" in probe:
            result = proc.exec(list(probe["exec"].get("command") or []))
            return result.exit_code == 0, (result.stdout + result.stderr).rstrip("\n")
        action = probe.get("httpGet") or probe.get("tcpSocket") or probe.get("grpc") or {}
        port = _port_number(action.get("port"), c.spec)
        if "httpGet" in probe:
            scheme = action.get("scheme", "HTTP").lower()
            host = action.get("host") or ip
            url = f"{scheme}://{host}:{port}{action.get('path', '/')}"
            fetch = self.network.fetch(None, url, "kube-probe/1.32")
            if fetch.error is not None:
                why = fetch.error.rsplit(": ", 1)[-1].lower()
                return False, f'Get "{url}": dial tcp {host}:{port}: connect: {why}'
            if 200 <= fetch.status < 400:
                return True, ""
            return False, f"HTTP probe failed with statuscode: {fetch.status}"
        try:
            self.network.connect(None, ip, port)
        except ConnectError as exc:
            return False, f"dial tcp {ip}:{port}: connect: {exc.message.lower()}"
        return True, ""

    # -- configuration ----------------------------------------------------------------------------
    def _source(self, kind: str, ns: str, name: str) -> dict[str, str] | None:
        obj = self.store.get(kind, ns, name)
        if obj is None:
            return None
        if kind == "Secret":
            data = {}
            for k, v in (obj.get("data") or {}).items():
                try:
                    data[k] = base64.b64decode(v).decode("utf-8", "replace")
                except ValueError:
                    data[k] = v
            for k, v in (obj.get("stringData") or {}).items():
                data[k] = v
            return data
        return dict(obj.get("data") or {})

    def _environment(self, pod: Obj, c: Container) -> dict[str, str]:
        """The container's environment, resolved now and fixed for this container's life."""
        ns = pod["metadata"]["namespace"]
        env = self._service_env(pod)
        for src in c.spec.get("envFrom") or ():
            for kind, field_name in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
                ref = src.get(field_name)
                if ref is None:
                    continue
                data = self._source(kind, ns, ref.get("name", ""))
                if data is None:
                    if ref.get("optional"):
                        continue
                    raise ConfigError(f'{kind.lower()} "{ref.get("name", "")}" not found')
                for k, v in data.items():
                    name = src.get("prefix", "") + k
                    if re.fullmatch(r"[-._a-zA-Z][-._a-zA-Z0-9]*", name):
                        env[name] = v
        for var in c.spec.get("env") or ():
            name = var["name"]
            if "valueFrom" not in var:
                env[name] = _expand(var.get("value", ""), env)
                continue
            value = self._value_from(pod, c, var["valueFrom"])
            if value is not None:
                env[name] = value
        return env

    def _value_from(self, pod: Obj, c: Container, source: dict[str, Any]) -> str | None:
        ns = pod["metadata"]["namespace"]
        for kind, field_name in (("ConfigMap", "configMapKeyRef"), ("Secret", "secretKeyRef")):
            ref = source.get(field_name)
            if ref is None:
                continue
            data = self._source(kind, ns, ref.get("name", ""))
            if data is None:
                if ref.get("optional"):
                    return None
                raise ConfigError(f'{kind.lower()} "{ref.get("name", "")}" not found')
            if ref.get("key") not in data:
                if ref.get("optional"):
                    return None
                raise ConfigError(f"couldn't find key {ref.get('key')} in {kind} {ns}/{ref.get('name')}")
            return data[ref["key"]]
        if "fieldRef" in source:
            return _field_value(pod, source["fieldRef"].get("fieldPath", ""))
        if "resourceFieldRef" in source:
            ref = source["resourceFieldRef"]
            target = next((x for x in pod["spec"].get("containers", []) + pod["spec"].get("initContainers", [])
                           if x["name"] == (ref.get("containerName") or c.name)), c.spec)
            return self._resource_value(pod, target, ref)
        return None

    def _resource_value(self, pod: Obj, container: dict[str, Any], ref: dict[str, Any]) -> str:
        where, _, resource = ref.get("resource", "").partition(".")
        value = (container.get("resources") or {}).get(where, {}).get(resource)
        if value is None:  # no limit: the node's allocatable
            node = self.store.get("Node", "", pod["spec"]["nodeName"]) or {}
            value = node.get("status", {}).get("allocatable", {}).get(resource, "0")
        amount = _quantity(str(value)) / _quantity(str(ref.get("divisor", "1")))
        return str(max(math.ceil(amount), 0 if amount == 0 else 1))

    def _service_env(self, pod: Obj) -> dict[str, str]:
        """Docker-link-style variables for the Services a pod can see when it starts."""
        ns = pod["metadata"]["namespace"]
        services = [s for s in self.store.list("Service", "default") if s["metadata"]["name"] == "kubernetes"]
        if pod["spec"].get("enableServiceLinks", True):
            services += [s for s in self.store.list("Service", ns)
                         if not (ns == "default" and s["metadata"]["name"] == "kubernetes")]
        cached = self._service_envs.get(ns)
        if cached is not None and len(cached[0]) == len(services) and all(
                a is b for a, b in zip(cached[0], services)):
            return dict(cached[1])  # same Service objects: same variables, one copy of each string
        env: dict[str, str] = {}
        for svc in sorted(services, key=lambda s: s["metadata"]["name"]):
            spec = svc.get("spec", {})
            ip, ports = spec.get("clusterIP"), spec.get("ports") or []
            if not ip or ip == "None" or not ports:
                continue
            name = svc["metadata"]["name"].upper().replace("-", "_")
            first = ports[0]
            proto = first.get("protocol", "TCP")
            env[f"{name}_SERVICE_HOST"] = ip
            env[f"{name}_SERVICE_PORT"] = str(first["port"])
            for p in ports:
                if p.get("name"):
                    env[f"{name}_SERVICE_PORT_{p['name'].upper().replace('-', '_')}"] = str(p["port"])
            env[f"{name}_PORT"] = f"{proto.lower()}://{ip}:{first['port']}"
            for p in ports:
                pr = p.get("protocol", "TCP")
                base = f"{name}_PORT_{p['port']}_{pr}"
                env[base] = f"{pr.lower()}://{ip}:{p['port']}"
                env[base + "_PROTO"] = pr.lower()
                env[base + "_PORT"] = str(p["port"])
                env[base + "_ADDR"] = ip
        self._service_envs[ns] = (services, env)
        return dict(env)

    # -- volumes -------------------------------------------------------------------------------------
    def _mount_volumes(self, ps: PodState, pod: Obj) -> bool:
        """Set the pod's volumes up; a failure is tried again with the volume manager's
        exponential back-off (0.5 s doubling to 2m2s), each try a FailedMount event."""
        try:
            ps.volumes = self._volumes(ps, pod)
        except (ConfigError, MountError) as exc:
            if isinstance(exc, ConfigError):
                name, why = exc.args
                message = f'MountVolume.SetUp failed for volume "{name}" : {why}'
            else:
                message = str(exc)
            self._event(ps, "Warning", "FailedMount", message)
            ps.mount_backoff = min(ps.mount_backoff * 2 or MOUNT_BACKOFF, MAX_MOUNT_BACKOFF)
            self._after(ps, ps.mount_backoff, lambda: None, progress=False)
            return False
        ps.mount_backoff = 0.0
        return True

    def _claim_volume(self, ps: PodState, pod: Obj, vol: dict[str, Any]) -> Volume:
        """A claim's volume: the files of the PersistentVolume it is bound to, which outlive
        every pod that mounts them."""
        ns, claim_name = pod["metadata"]["namespace"], vol["persistentVolumeClaim"].get("claimName", "")
        claim = self.store.get("PersistentVolumeClaim", ns, claim_name)
        unmounted = (f"Unable to attach or mount volumes: unmounted volumes=[{vol['name']}], unattached volumes=[], "
                     f"failed to process volumes=[{vol['name']}]: error processing PVC {ns}/{claim_name}: ")
        if claim is None:
            raise MountError(unmounted + f'failed to fetch PVC from API server: persistentvolumeclaims "{claim_name}" '
                                         "not found")
        volume_name = (claim.get("spec") or {}).get("volumeName")
        if not volume_name or (claim.get("status") or {}).get("phase") != "Bound":
            raise MountError(unmounted + "PVC is not bound")
        pv = self.store.get("PersistentVolume", "", volume_name)
        if pv is None:
            raise MountError(unmounted + f'failed to fetch PV {volume_name} from API server: persistentvolumes '
                                         f'"{volume_name}" not found')
        files = self.disks.open(("pv", volume_name))
        return Volume(files, readonly=bool(vol["persistentVolumeClaim"].get("readOnly")))

    def _host_path_volume(self, ps: PodState, vol: dict[str, Any]) -> Volume:
        """A hostPath: the node's own directory or file, shared by the pods on that node; the
        type is checked (or the path made) as the kubelet's hostPath mounter does."""
        host = vol["hostPath"]
        path = posixpath.normpath(host.get("path") or "/")
        kind = host.get("type") or ""
        key = ("node", ps.node, path)
        made = self.disks.get(key)
        is_file = (made is not None and "" in made) or path in NODE_FILES
        is_dir = (made is not None and "" not in made) or path in NODE_DIRS
        special = {"Socket": path in NODE_SOCKETS, "CharDevice": path in NODE_CHAR_DEVICES, "BlockDevice": False}
        if kind in special:
            if not special[kind]:
                raise ConfigError(vol["name"], f"hostPath type check failed: {path} {_TYPE_CHECKS[kind]}")
            return Volume(self.disks.open(key, {"": ""}), readonly=False)
        if kind == "Directory" and not is_dir:
            raise ConfigError(vol["name"], f"hostPath type check failed: {path} {_TYPE_CHECKS[kind]}")
        if kind == "File" and not is_file:
            raise ConfigError(vol["name"], f"hostPath type check failed: {path} {_TYPE_CHECKS[kind]}")
        if kind == "DirectoryOrCreate" and is_file:
            raise ConfigError(vol["name"], f"hostPath type check failed: {path} is not a directory")
        if kind == "FileOrCreate" and is_dir:
            raise ConfigError(vol["name"], f"hostPath type check failed: {path} is not a file")
        if made is None:
            made = self.disks.open(key, {"": NODE_FILES.get(path, "")} if kind == "FileOrCreate" or is_file else {})
        return Volume(made, readonly=False)

    def _volumes(self, ps: PodState, pod: Obj) -> dict[str, Volume]:
        volumes = {}
        mounted: set[tuple[str, str]] = set()
        for vol in pod["spec"].get("volumes") or ():
            if isinstance(vol.get("persistentVolumeClaim"), dict):
                volumes[vol["name"]] = self._claim_volume(ps, pod, vol)
                continue
            if isinstance(vol.get("hostPath"), dict):
                volumes[vol["name"]] = self._host_path_volume(ps, vol)
                continue
            if isinstance(vol.get("emptyDir"), dict) and not vol["emptyDir"].get("medium"):
                # on the node's disk until the pod leaves it (a Memory medium is a tmpfs)
                volumes[vol["name"]] = Volume(self.disks.open(("pod", ps.uid, vol["name"])))
                continue
            if any(k in vol for k in _UNMOUNTABLE):
                # a cloud disk (migrated to a CSI driver the node does not run) or a removed
                # in-tree plugin: never attached nor mounted, the kubelet's wait times out
                raise MountError(f"Unable to attach or mount volumes: unmounted volumes=[{vol['name']}], "
                                 f"unattached volumes=[{vol['name']}], failed to process volumes=[]: "
                                 "timed out waiting for the condition")
            files = self._volume_files(pod, vol, mounted)
            volumes[vol["name"]] = Volume(files, readonly=files is not None and "emptyDir" not in vol
                                          and "hostPath" not in vol and "persistentVolumeClaim" not in vol)
        # one set for the pods that mount the same objects (every pod mounts kube-root-ca.crt)
        ps.volume_sources = self._shared(("sources", *sorted(mounted)), lambda: frozenset(mounted))
        return volumes

    def _volume_files(self, pod: Obj, vol: dict[str, Any], mounted: set[tuple[str, str]]) -> dict[str, str]:
        """The files of one volume; the ConfigMaps and Secrets it reads go into ``mounted``."""
        ns = pod["metadata"]["namespace"]
        sources: list[tuple[str, dict[str, Any]]] = []
        if "configMap" in vol:
            sources.append(("ConfigMap", {**vol["configMap"]}))
        elif "secret" in vol:
            sources.append(("Secret", {**vol["secret"], "name": vol["secret"].get("secretName", "")}))
        elif "projected" in vol:
            for src in vol["projected"].get("sources") or ():
                if "configMap" in src:
                    sources.append(("ConfigMap", src["configMap"]))
                elif "secret" in src:
                    sources.append(("Secret", src["secret"]))
                elif "downwardAPI" in src:
                    sources.append(("downwardAPI", src["downwardAPI"]))
                elif "serviceAccountToken" in src:
                    sources.append(("token", src["serviceAccountToken"]))
        elif "downwardAPI" in vol:
            sources.append(("downwardAPI", vol["downwardAPI"]))
        files: dict[str, str] = {}
        for kind, ref in sources:
            if kind == "downwardAPI":
                for item in ref.get("items") or ():
                    if "resourceFieldRef" in item:  # a volume item must name its container
                        res = item["resourceFieldRef"]
                        target = next((x for x in pod["spec"].get("containers", []) +
                                       pod["spec"].get("initContainers", [])
                                       if x["name"] == res.get("containerName")), {})
                        files[item["path"]] = self._resource_value(pod, target, res)
                        continue
                    files[item["path"]] = _field_value(pod, (item.get("fieldRef") or {}).get("fieldPath", "")) or ""
                continue
            if kind == "token":
                files[ref.get("path", "token")] = "eyJhbGciOiJSUzI1NiIsImtpZCI6Imt1YmVsYWIifQ.simulated.token"
                continue
            mounted.add((kind, ref.get("name", "")))
            data = self._source(kind, ns, ref.get("name", ""))
            if data is None:
                if ref.get("optional"):
                    continue
                raise ConfigError(vol["name"], f'{kind.lower()} "{ref.get("name", "")}" not found')
            items = ref.get("items")
            if items:
                for item in items:
                    if item["key"] not in data:
                        if ref.get("optional"):
                            continue
                        raise ConfigError(vol["name"], f"configmap references non-existent config key: {item['key']}"
                                          if kind == "ConfigMap" else
                                          f"references non-existent secret key: {item['key']}")
                    files[item["path"]] = data[item["key"]]
            else:
                files.update(data)
        return compact(files)

    def _refresh_volumes(self, ps: PodState) -> None:
        """Mounted ConfigMaps and Secrets follow their source (env variables do not)."""
        pod = self.store.get(*ps.key)
        if pod is None or ps.volumes is None:
            return
        for vol in pod["spec"].get("volumes") or ():
            current = ps.volumes.get(vol["name"])
            if current is None or not current.readonly:
                continue
            try:
                files = self._volume_files(pod, vol, set())
            except ConfigError:
                continue
            current.files.clear()
            current.files.update(files)

    # -- termination --------------------------------------------------------------------------------
    def _grace(self, pod: Obj) -> int:
        value = pod["spec"].get("terminationGracePeriodSeconds")
        return DEFAULT_GRACE if value is None else int(value)

    def delete(self, pod: Obj, grace: int | None) -> Obj:
        """The API server's pod deletion: graceful for a pod a kubelet runs, at once otherwise
        (an unscheduled pod's grace period is 0); a later delete may only shorten it. A pod
        with finalizers is only marked, and stays until they are gone."""
        meta = pod["metadata"]
        ns, name = meta["namespace"], meta["name"]
        if not pod.get("spec", {}).get("nodeName"):
            grace = 0
        elif grace is None:
            grace = self._grace(pod)
        if grace == 0 and not meta.get("finalizers"):
            return self.store.remove("Pod", ns, name)
        return self.store.mark_deleted("Pod", ns, name, grace)

    def _terminate(self, ps: PodState, pod: Obj) -> None:
        if not ps.terminating:
            ps.terminating = True
            for t in ps.timers:
                t.cancel()
            ps.timers = []
            grace = ps.stop_grace = float(pod["metadata"].get("deletionGracePeriodSeconds", DEFAULT_GRACE))
            for c in ps.containers:
                c.busy = True
                if c.running and c.proc is not None:
                    self._event(ps, "Normal", "Killing", f"Stopping container {c.name}", c)
                    self._kill(ps, c, c.proc, grace)
        elif float(pod["metadata"].get("deletionGracePeriodSeconds", DEFAULT_GRACE)) < ps.stop_grace:
            # a later delete cut the grace period short: whatever still runs at the new deadline is killed
            ps.stop_grace = float(pod["metadata"]["deletionGracePeriodSeconds"])
            deadline = max(parse_timestamp(pod["metadata"]["deletionTimestamp"]), self.clock.now())
            self.clock.call_at(deadline, lambda: [c.proc.kill() for c in ps.containers if c.proc is not None])
        if any(c.running for c in ps.containers):
            return
        self._write_status(ps)
        self._forget(ps)
        self._finished[ps.key] = ps.uid
        current = self.store.get(*ps.key)
        if current is None:
            return
        if not current["metadata"].get("finalizers"):
            self.store.remove(*ps.key)
        else:  # the status manager's delete with no grace period: the finalizers still hold it
            self.store.mark_deleted("Pod", ps.key[1], ps.key[2], 0)

    def _kill(self, ps: PodState, c: Container, proc: Process, grace: float) -> None:
        """killContainer (kuberuntime_container.go): the preStop hook first, for at most the
        grace period (executePreStopHook), then SIGTERM with what is left of it in whole
        seconds, never less than MIN_STOP_SECONDS."""
        if c.stopping is proc or proc.terminating or not proc.running:
            return
        hook = (c.spec.get("lifecycle") or {}).get("preStop")
        if not hook or grace <= 0:
            proc.terminate(grace)
            return
        c.stopping = proc
        started = self.clock.now()
        runner: Runner | None = None
        over = False

        def signal() -> None:  # the hook ended or ran out of time
            nonlocal over
            if over:
                return
            over = True
            timeout.cancel()
            if runner is not None and not runner.finished:
                runner.interrupt()
            proc.terminate(max(grace - int(self.clock.now() - started), MIN_STOP_SECONDS))

        def ended(status: int) -> None:
            if status != 0 and not over:
                # the hook's output stays out of the event, so that no secret leaks through it
                self._event(ps, "Warning", "FailedPreStopHook", "PreStopHook failed", c)
            signal()

        timeout = self.clock.call_later(grace, signal)
        if "exec" in hook:
            runner = proc.run_hook(list((hook["exec"] or {}).get("command") or ()), ended)
        elif "sleep" in hook:
            self.clock.call_later(min(float((hook["sleep"] or {}).get("seconds", 0)), grace), lambda: ended(0))
        elif "httpGet" in hook:
            ended(0 if self._hook_get(ps, c, hook["httpGet"] or {}) else 1)
        else:
            ended(1)  # tcpSocket: the API accepts it, the kubelet's runner has no such handler

    def _hook_get(self, ps: PodState, c: Container, action: dict[str, Any]) -> bool:
        """An httpGet hook (runHTTPHandler): only a request that cannot be made fails; the
        answer's status is not looked at."""
        assert ps.sandbox is not None
        host = action.get("host") or ps.sandbox.ip
        url = f"{action.get('scheme', 'HTTP').lower()}://{host}:{_port_number(action.get('port'), c.spec)}" \
              f"{action.get('path', '/')}"
        return self.network.fetch(None, url, "kube-lifecycle/1.32").error is None

    # -- status --------------------------------------------------------------------------------
    def _write_status(self, ps: PodState) -> None:
        pod = self.store.get(*ps.key)
        if pod is None or pod["metadata"]["uid"] != ps.uid:
            return
        status = self._status(ps, pod)
        if status != pod.get("status"):
            status = ps.written = _compacted(status, pod.get("status") or {})
            # the status subresource takes only status from what it is given (and the pod's
            # resourceVersion, read just now, so no conflict)
            self.store.update({**pod, "status": status}, status=True)

    def _container_status(self, ps: PodState, c: Container, initializing: bool) -> dict[str, Any]:
        ref = c.image_ref
        proc = c.proc or c.previous
        st: dict[str, Any] = {"name": c.name}
        if c.running and c.proc is not None:
            started = self.clock.timestamp(c.proc.started_at)
            state: dict[str, Any] = self._shared(("running", started), lambda: {"running": {"startedAt": started}})
        elif c.waiting is not None:
            state = {"waiting": {"reason": c.waiting[0], "message": c.waiting[1]}}
        elif c.terminated is not None:
            state = {"terminated": {k: v for k, v in c.terminated.items() if k != "containerID" or v}}
        else:
            reason = "PodInitializing" if c.init or initializing else "ContainerCreating"
            state = self._shared(("waiting", reason), lambda: {"waiting": {"reason": reason}})
        st["state"] = state
        st["lastState"] = {"terminated": {k: v for k, v in c.last_terminated.items() if k != "containerID" or v}} \
            if c.last_terminated else self._shared((), dict)
        st["ready"] = c.ready if not c.init or c.sidecar else c.succeeded
        st["restartCount"] = c.restart_count
        st["image"] = ref.canonical if ref and proc is not None else c.spec.get("image", "")
        st["imageID"] = self._shared(("imageID", ref.canonical), lambda: f"{ref.domain}/{ref.path}@{image_digest(ref)}") \
            if ref and proc is not None else ""
        if proc is not None:
            st["containerID"] = "containerd://" + proc.id
        st["started"] = c.running
        return st

    def _status(self, ps: PodState, pod: Obj) -> dict[str, Any]:
        old = pod.get("status") or {}
        now = self.clock.timestamp()
        initialized = all(c.initialized for c in ps.init)
        main_ready = [c for c in ps.init if c.sidecar and not c.ready] + [c for c in ps.main if not c.ready]
        phase = self._phase(ps, pod, initialized)
        done = phase in ("Succeeded", "Failed")
        before: dict[str, dict[str, Any]] = {}
        for x in old.get("conditions") or ():
            before.setdefault(x["type"], x)
        parts = self._parts

        def cond(type_: str, ok: bool, reason: str = "", message: str = "") -> dict[str, Any]:
            prev = before.get(type_)
            status = "True" if ok else "False"
            since = prev["lastTransitionTime"] if prev and prev["status"] == status else now
            found = parts.get(("condition", type_, status, since, reason, message))
            if found is not None:  # looked up before it is built: most writes repeat conditions
                return found
            c: dict[str, Any] = {"type": type_, "status": status}
            if type_ != "PodReadyToStartContainers":
                c["lastProbeTime"] = None
            c["lastTransitionTime"] = since
            if reason:
                c["reason"] = reason
            if message:
                c["message"] = message
            return self._shared(("condition", type_, status, since, reason, message), lambda: c)

        unready = f"containers with unready status: [{' '.join(c.name for c in main_ready)}]"
        incomplete = [c.name for c in ps.init if not c.initialized]
        conditions = [
            cond("PodReadyToStartContainers", ps.sandbox is not None and not (done and ps.terminating)),
            cond("Initialized", initialized, *(("", "") if initialized else (
                "ContainersNotInitialized", f"containers with incomplete status: [{' '.join(incomplete)}]"))),
            cond("Ready", not main_ready and not done, *(
                ("PodCompleted", "") if done else ("", "") if not main_ready else ("ContainersNotReady", unready))),
            cond("ContainersReady", not main_ready and not done, *(
                ("PodCompleted", "") if done else ("", "") if not main_ready else ("ContainersNotReady", unready))),
        ]
        scheduled = before.get("PodScheduled")
        conditions.append(scheduled or {"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                                        "lastTransitionTime": ps.start_time})
        # mergePodStatus: conditions others own (an eviction's DisruptionTarget) stay, first
        foreign = [x for x in before.values() if x["type"] not in _KUBELET_CONDITIONS]
        if foreign:
            conditions = foreign + conditions
        status: dict[str, Any] = {"phase": phase, "conditions": conditions}
        host_ip = self._host_ip(ps.node)
        if host_ip:
            status["hostIP"] = host_ip
            status["hostIPs"] = self._shared(("hostIPs", host_ip), lambda: [{"ip": host_ip}])
        if ps.sandbox is not None:
            status["podIP"] = ip = ps.sandbox.ip
            status["podIPs"] = old["podIPs"] if old.get("podIP") == ip and "podIPs" in old else [compact({"ip": ip})]
        status["startTime"] = ps.start_time
        if ps.init:
            status["initContainerStatuses"] = [self._container_status(ps, c, True) for c in ps.init]
        status["containerStatuses"] = sorted((self._container_status(ps, c, not initialized) for c in ps.main),
                                             key=lambda s: s["name"])
        status["qosClass"] = old.get("qosClass") or qos_class(pod)
        if ps.ephemeral:
            status["ephemeralContainerStatuses"] = [self._container_status(ps, c, False) for c in ps.ephemeral]
        return status

    def _shared(self, key: tuple[Any, ...], make: Callable[[], Any]) -> Any:
        """One object for a status part many pods have alike (a condition that turned True in
        the same second, a running state, an image ID): stored objects are never changed in
        place, so pods can share them, and 100,000 pods' statuses take far less memory."""
        found = self._parts.get(key)
        if found is None:
            if len(self._parts) > 65536:
                self._parts.clear()
            found = self._parts[key] = make()
        return found

    def _host_ip(self, name: str) -> str | None:
        """The node's InternalIP, looked up again only when the Node object changed."""
        node = self.store.get("Node", "", name) or {}
        cached = self._host_ips.get(name)
        if cached is not None and cached[0] is node:
            return cached[1]
        ip = next((a["address"] for a in node.get("status", {}).get("addresses", ())
                   if a.get("type") == "InternalIP"), None)
        self._host_ips[name] = (node, ip)
        return ip

    def _phase(self, ps: PodState, pod: Obj, initialized: bool) -> str:
        if ps.failed:
            return "Failed"
        if not initialized:
            return "Pending"
        policy = pod["spec"].get("restartPolicy", "Always")
        running = waiting = stopped = succeeded = 0
        for c in ps.main:
            if c.running:
                running += 1
            elif c.terminated is not None:
                stopped += 1
                succeeded += c.succeeded
            elif c.last_terminated is not None:
                stopped += 1
            else:
                waiting += 1
        if waiting:
            return "Pending"
        if running:
            return "Running"
        if stopped:
            if ps.terminating:  # a deleted pod, every container stopped: it is over (getPhase, podIsTerminal)
                return "Succeeded" if succeeded == stopped else "Failed"
            if policy == "Always":
                return "Running"
            if succeeded == stopped:
                return "Succeeded"
            return "Failed" if policy == "Never" else "Running"
        return "Pending"

    # -- logs, exec, attach ----------------------------------------------------------------------
    def _container(self, pod: Obj, name: str | None) -> tuple[PodState | None, str]:
        spec = pod.get("spec", {})
        names = [c["name"] for c in spec.get("containers") or ()]
        all_names = [c["name"] for c in spec.get("initContainers") or ()] + names
        pod_name = pod["metadata"]["name"]
        if name is not None and name in (c["name"] for c in spec.get("ephemeralContainers") or ()):
            return self.pods.get(pod["metadata"]["uid"]), name
        if name is None:
            if len(names) != 1:
                raise errors.bad_request(f"a container name must be specified for pod {pod_name}, choose one of: "
                                         f"[{' '.join(names)}]" + (
                                             f" or one of the init containers: [{' '.join(all_names[:-len(names)])}]"
                                             if len(all_names) > len(names) else ""))
            name = names[0]
        if name not in all_names:
            raise errors.bad_request(f"container {name} is not valid for pod {pod_name}")
        return self.pods.get(pod["metadata"]["uid"]), name

    def logs(self, pod: Obj, container: str | None, previous: bool, tail: int | None) -> str:
        ps, name = self._container(pod, container)
        c = next((x for x in ps.containers if x.name == name), None) if ps else None
        pod_name = pod["metadata"]["name"]
        if previous:
            proc = c.previous if c and (c.last_terminated or c.proc is None) else None
            if c is not None and c.proc is not None and c.terminated is not None and c.previous is None:
                proc = None
            if proc is None:
                raise errors.bad_request(f'previous terminated container "{name}" in pod "{pod_name}" not found')
        else:
            proc = c.proc if c is not None and c.proc is not None else None
            if proc is None:
                why = c.waiting[0] if c is not None and c.waiting else "ContainerCreating"
                if why in ("ErrImagePull", "ImagePullBackOff"):
                    why = "trying and failing to pull image"
                elif why == "CreateContainerConfigError":
                    why = "CreateContainerConfigError"
                raise errors.bad_request(f'container "{name}" in pod "{pod_name}" is waiting to start: {why}')
        lines = [text for _, text in proc.log]
        if tail is not None and tail >= 0:
            lines = lines[-tail:] if tail else []
        return "".join(line + "\n" for line in lines)

    def _running_process(self, pod: Obj, container: str | None) -> Process:
        ps, name = self._container(pod, container)
        c = next((x for x in ps.containers if x.name == name), None) if ps else None
        if c is None or not c.running or c.proc is None:
            raise errors.bad_request(f'unable to upgrade connection: container not found ("{name}")')
        return c.proc

    def exec(self, pod: Obj, container: str | None, command: list[str], stdin: str | None,
             tty: bool = False) -> ExecResult:
        return self._running_process(pod, container).exec(list(command), stdin, tty)

    def open_exec(self, pod: Obj, container: str | None, command: list[str], stdin: bool,
                  tty: bool) -> ProcessSession:
        """``kubectl exec -i/-t``: a stream to a new process in a running container."""
        return self._running_process(pod, container).exec_session(self.engine.lock, command, stdin, tty)

    def open_attach(self, pod: Obj, container: str | None, stdin: bool, tty: bool) -> ProcessSession:
        """``kubectl attach`` / ``run -it``: a stream to the container's main process."""
        return self._running_process(pod, container).attach_session(self.engine.lock, stdin, tty)

    def port_forward(self, pod: str, namespace: str, port: int, method: str, path: str,
                     headers: dict[str, str], body: str) -> tuple[int, str, dict[str, str], str] | None:
        """One HTTP request to ``localhost:port`` in the pod's network namespace, as the
        kubelet's port-forward stream (containerd's PortForward in the sandbox's netns) carries
        it; ``(status, reason, headers, body)`` of the answer, None when what listens there
        does not speak HTTP. Raises PortForwardError with containerd's message when the pod
        has no sandbox or nothing listens on the port."""
        from email.utils import formatdate

        sandbox_id = hashlib.sha256(f"sandbox/{namespace}/{pod}".encode()).hexdigest()
        prefix = f"error forwarding port {port} to pod {sandbox_id}, uid : "
        obj = self.store.get("Pod", namespace, pod)
        ip = ((obj or {}).get("status") or {}).get("podIP", "")
        sandbox = self.network.sandboxes.get(ip) if obj is not None else None
        if sandbox is None or (sandbox.namespace, sandbox.pod) != (namespace, pod):
            raise PortForwardError(f'{prefix}failed to find sandbox "{sandbox_id}" in store: not found')
        try:
            handler, _, _ = self.network.connect(sandbox, "127.0.0.1", port)
        except ConnectError:
            h = hashlib.sha256(f"netns/{namespace}/{pod}".encode()).hexdigest()
            netns = f"/var/run/netns/cni-{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"
            raise PortForwardError(
                f'{prefix}failed to execute portforward in network namespace "{netns}": failed to connect '
                f'to localhost:{port} inside namespace "{sandbox_id}", IPv4: dial tcp4 127.0.0.1:{port}: '
                f"connect: connection refused IPv6 dial tcp6 [::1]:{port}: connect: connection refused ") from None
        if handler is None:
            return None
        response = handler(HttpRequest(method, path, dict(headers), "127.0.0.1", body))
        content_type = response.content_type
        if content_type.startswith(("text/", "application/json")) and "charset" not in content_type:
            content_type += "; charset=utf-8"
        head = {"Content-Type": content_type, "Content-Length": str(len(response.body.encode())),
                "Date": formatdate(self.clock.now(), usegmt=True), "Connection": "close"}
        return response.status, response.reason, head, response.body


# -- helpers ------------------------------------------------------------------------------------
def _go_duration(seconds: float) -> str:
    """Format like Go's time.Duration at millisecond precision: 512ms, 1.394s, 1m20s."""
    ms = int(round(seconds * 1000))
    if ms < 1000:
        return f"{ms}ms"
    if ms < 60_000:
        return f"{ms / 1000:.3f}".rstrip("0").rstrip(".") + "s"
    minutes, rest = divmod(ms, 60_000)
    hours, minutes = divmod(minutes, 60)
    secs = f"{rest / 1000:.3f}".rstrip("0").rstrip(".")
    return (f"{hours}h" if hours else "") + f"{minutes}m{secs}s"


def _expand(text: str, env: dict[str, str]) -> str:
    """Kubernetes' $(VAR) references in env values, command and args ($$ escapes)."""
    def sub(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        return env.get(m.group(1), m.group(0))

    if "$" not in text:  # nothing to expand (most values)
        return text
    return re.sub(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)", sub, text)


def _mounted(volume: Volume, mount: dict[str, Any]) -> Volume:
    """A volume as one volumeMount sees it: ``readOnly`` makes that mount read-only (the same
    files stay writable through the pod's other mounts of it)."""
    if mount.get("readOnly") and not volume.readonly:
        return dataclasses.replace(volume, readonly=True)
    return volume


def _termination_message(spec: dict[str, Any], proc: Process) -> str:
    """What the container wrote to its terminationMessagePath (/dev/termination-log), or with
    FallbackToLogsOnError and a failure, the log's last 80 lines (at most 2048 bytes)."""
    try:
        text = proc.fs.read(spec.get("terminationMessagePath") or "/dev/termination-log")
    except OSError:
        text = ""
    if not text and spec.get("terminationMessagePolicy") == "FallbackToLogsOnError" and proc.exit_code:
        text = "".join(line + "\n" for _, line in proc.log[-80:])[-2048:]
    return text[:4096]


def _identity(pod: Obj, container: dict[str, Any]) -> tuple[int, int, tuple[int, ...]]:
    """The user a container's process runs as: runAsUser / runAsGroup (the container's over
    the pod's; unset: the image's root), and as supplementary groups the fsGroup, the primary
    group and supplementalGroups, as containerd sets them."""
    pod_ctx = pod["spec"].get("securityContext") or {}
    ctx = container.get("securityContext") or {}
    uid = ctx.get("runAsUser", pod_ctx.get("runAsUser", 0)) or 0
    gid = ctx.get("runAsGroup", pod_ctx.get("runAsGroup", 0)) or 0
    groups = {g for g in (pod_ctx.get("fsGroup"), *(pod_ctx.get("supplementalGroups") or ())) if g is not None}
    if groups and gid:
        groups.add(gid)
    return int(uid), int(gid), tuple(sorted(int(g) for g in groups))


def _host_aliases(pod: Obj) -> str:
    """hostAliases as the kubelet appends them to the managed /etc/hosts."""
    aliases = pod["spec"].get("hostAliases") or ()
    if not aliases:
        return ""
    return "\n# Entries added by HostAliases.\n" + "".join(
        f"{a.get('ip', '')}\t" + "\t".join(a.get("hostnames") or ()) + "\n" for a in aliases)


def _field_value(pod: Obj, path: str) -> str | None:
    meta, spec, status = pod["metadata"], pod["spec"], pod.get("status", {})
    m = re.fullmatch(r"metadata\.(labels|annotations)\['([^']+)'\]", path) if "[" in path else None
    if m:
        return (meta.get(m.group(1)) or {}).get(m.group(2), "")
    if path in ("metadata.labels", "metadata.annotations"):
        return "\n".join(f'{k}="{v}"' for k, v in sorted((meta.get(path.split(".")[1]) or {}).items()))
    return {"metadata.name": meta.get("name"), "metadata.namespace": meta.get("namespace"),
            "metadata.uid": meta.get("uid"), "spec.nodeName": spec.get("nodeName"),
            "spec.serviceAccountName": spec.get("serviceAccountName", "default"),
            "status.podIP": status.get("podIP", ""), "status.hostIP": status.get("hostIP", ""),
            "status.podIPs": ",".join(x["ip"] for x in status.get("podIPs") or ()),
            "status.hostIPs": ",".join(x["ip"] for x in status.get("hostIPs") or ())}.get(path, "")


def _port_number(port: Any, container: dict[str, Any]) -> int:
    if isinstance(port, int) or (isinstance(port, str) and port.isdigit()):
        return int(port)
    for p in container.get("ports") or ():
        if p.get("name") == port:
            return int(p["containerPort"])
    return 0


_SUFFIX = {"": 1, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18,
           "Ki": 2 ** 10, "Mi": 2 ** 20, "Gi": 2 ** 30, "Ti": 2 ** 40, "Pi": 2 ** 50, "Ei": 2 ** 60}


def _quantity(text: str) -> float:
    m = re.fullmatch(r"([+-]?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)?", text.strip())
    if not m:
        return 0.0
    return float(m.group(1)) * _SUFFIX[m.group(2) or ""]


def install(engine: Engine, api: APIServer, images: dict[str, Any] | None) -> Kubelet:
    """Start the kubelets, the runtime and the network (``images``: the catalog's additions),
    and serve pods' log/exec/attach/portforward and graceful deletion."""
    network = Network(engine.store, engine.rng)
    kubelet = Kubelet(engine, network, Runtime(engine.clock, network, Catalog(images)))
    engine.add(kubelet)
    api.delete_handlers["Pod"] = kubelet.delete
    api.node_agent = kubelet
    for pod in engine.store.list("Pod"):
        kubelet.enqueue(("Pod", pod["metadata"]["namespace"], pod["metadata"]["name"]))
    return kubelet
