"""Property-based tests: random sequences of what learners do, then the cluster's invariants.

After any sequence of apply / scale / delete pod / update template / rollback / delete
namespace / delete a node / a node going NotReady / stopping and starting a worker node (and
rejected requests mixed in), once the cluster settles:
- every ReplicaSet owns exactly ``spec.replicas`` live pods;
- nothing is left behind by a deleted owner;
- resourceVersions strictly increase;
- a rejected request changed nothing;
- no pod is bound to a node that is gone, a stopped node is NotReady, and no Deployment counts
  a pod on a stopped node as available;
- a restart in the middle (the cluster closed and brought back from its state file, as after a
  kernel restart) loses nothing that was acknowledged.
"""
from __future__ import annotations

import copy
import json
import os
import threading
import time

import served
from hypothesis import HealthCheck, example, given, settings, strategies as st

from kubelab import Cluster
from kubelab.api.errors import StatusError

EXAMPLES = int(os.environ.get("KUBELAB_PROPERTY_EXAMPLES", "25"))  # more by hand
IMAGES = ["kennship/http-echo", "nginx:1.27", "busybox:1.36"]
NAMESPACES = ["default", "team-a"]
WORKERS = ["kubelab-m02", "kubelab-m03"]


def deployment(name: str, replicas: int, image: str) -> dict:
    labels = {"app": name}
    container = {"name": "main", "image": image}
    if image.startswith("busybox"):
        container["command"] = ["sleep", "3600"]
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "labels": labels},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}}}}


names = st.sampled_from(["web", "api"])
steps = st.one_of(
    st.tuples(st.just("apply"), st.sampled_from(NAMESPACES), names, st.integers(0, 4), st.sampled_from(IMAGES)),
    st.tuples(st.just("scale"), st.sampled_from(NAMESPACES), names, st.integers(0, 5)),
    st.tuples(st.just("delete_pod"), st.sampled_from(NAMESPACES), st.integers(0, 10)),
    st.tuples(st.just("rollback"), st.sampled_from(NAMESPACES), names),
    st.tuples(st.just("delete_namespace"), st.just("team-a")),
    st.tuples(st.just("invalid"), st.sampled_from(NAMESPACES), names),
    st.tuples(st.just("advance"), st.integers(0, 30)),
    st.tuples(st.just("delete_node"), st.integers(0, 2)),
    st.tuples(st.just("node_not_ready"), st.integers(0, 2)),
    st.tuples(st.sampled_from(["stop_node", "start_node"]), st.sampled_from(WORKERS)),
    st.tuples(st.just("advance"), st.sampled_from([39, 41, 299, 301])),
)


def apply(c: Cluster, ns: str, obj: dict) -> None:
    try:
        live = c.api.get(obj["kind"], obj["metadata"]["name"], ns)
    except StatusError:
        c.api.create(obj, ns)
        return
    obj = copy.deepcopy(obj)
    obj["metadata"]["resourceVersion"] = live["metadata"]["resourceVersion"]
    c.api.update(obj, ns)


def ensure_namespace(c: Cluster, ns: str) -> bool:
    space = c.engine.store.get("Namespace", "", ns)
    if space is None:
        c.api.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        return True
    return not space["metadata"].get("deletionTimestamp")


NOT_READY: dict[int, dict[str, set[str]]] = {}  # cluster -> NotReady node -> pods it had then


def run_step(c: Cluster, step: tuple) -> None:
    op = step[0]
    if op == "apply":
        _, ns, name, replicas, image = step
        if ensure_namespace(c, ns):
            apply(c, ns, deployment(name, replicas, image))
    elif op == "scale":
        _, ns, name, replicas = step
        try:
            c.api.scale("Deployment", name, ns, replicas)
        except StatusError as e:
            assert e.reason == "NotFound"
    elif op == "delete_pod":
        _, ns, index = step
        pods = sorted(p["metadata"]["name"] for p in c.engine.store.list("Pod", ns))
        if pods:
            c.api.delete("Pod", pods[index % len(pods)], ns)
    elif op == "rollback":
        _, ns, name = step
        live = c.engine.store.get("Deployment", ns, name)
        if live is None:
            return
        owned = [rs for rs in c.engine.store.owned_by(live["metadata"]["uid"]) if rs["kind"] == "ReplicaSet"]
        older = sorted(owned, key=lambda rs: int(rs["metadata"].get("annotations", {})
                                                  .get("deployment.kubernetes.io/revision", "0")))[:-1]
        if older:
            template = copy.deepcopy(older[-1]["spec"]["template"])
            template["metadata"]["labels"].pop("pod-template-hash", None)
            new = copy.deepcopy(live)
            new["spec"]["template"] = template
            c.api.update(new, ns)
    elif op == "delete_namespace":
        if c.engine.store.get("Namespace", "", step[1]) is not None:
            c.api.delete("Namespace", step[1])
    elif op == "invalid":
        _, ns, name = step
        before = c.engine.store.resource_version
        bad = deployment(name.upper() + "_X", 1, IMAGES[0])  # an invalid name
        try:
            c.api.create(bad, ns)
        except StatusError:
            pass
        else:
            raise AssertionError("an invalid name was accepted")
        assert c.engine.store.resource_version == before, "a rejected request changed the store"
    elif op == "advance":
        c.advance(step[1])
    elif op == "delete_node":
        nodes = sorted(n["metadata"]["name"] for n in c.engine.store.list("Node"))
        if len(nodes) > 1:  # keep one node, so that the cluster can still settle
            c.api.delete("Node", nodes[step[1] % len(nodes)])
    elif op == "node_not_ready":
        nodes = sorted(n["metadata"]["name"] for n in c.engine.store.list("Node"))
        node = c.api.get("Node", nodes[step[1] % len(nodes)])
        for condition in node["status"]["conditions"]:
            if condition["type"] == "Ready":  # what a kubelet whose runtime is down reports
                condition.update(status="False", reason="KubeletNotReady", message="container runtime is down")
        c.api.update(node, subresource="status")
        # no new pod may land there now (TaintNodesByCondition's not-ready:NoSchedule)
        on_node = {p["metadata"]["uid"] for p in c.engine.store.pods_on(node["metadata"]["name"])}
        NOT_READY.setdefault(id(c), {}).setdefault(node["metadata"]["name"], on_node)
    elif op in ("stop_node", "start_node"):
        if c.engine.store.get("Node", "", step[1]) is not None:
            getattr(c, op)(step[1])


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(steps, min_size=1, max_size=12), st.integers(0, 2**16))
def test_invariants_hold_after_any_sequence(sequence: list[tuple], seed: int) -> None:
    c = Cluster(clock="virtual", seed=seed)
    versions: list[int] = []
    c.engine.store.subscribe(lambda ev, obj, old: versions.append(int(obj["metadata"]["resourceVersion"])))
    for step in sequence:
        run_step(c, step)
    assert c.settle(timeout=1800), "the cluster did not settle"
    assert_invariants(c, versions)


RESTARTS = int(os.environ.get("KUBELAB_RESTART_EXAMPLES", "12"))


def _acknowledged(c: Cluster) -> dict[tuple[str, str, str], str]:
    """What clients were told is stored: each object's identity and what it asks for (its spec,
    or its data). A restart may write statuses (containers restart), never these. An object
    being deleted (itself, its namespace or its owner) may finish going: that deletion was
    acknowledged."""
    store = c.engine.store
    leaving = {n["metadata"]["name"] for n in store.list("Namespace") if n["metadata"].get("deletionTimestamp")}
    uids = {o["metadata"]["uid"] for kind in list(store.kinds()) for o in store.list(kind)}

    def orphaned(o: dict) -> bool:  # its owner went: the garbage collector takes it
        return any(ref["uid"] not in uids for ref in o["metadata"].get("ownerReferences", ()))

    return {(kind, o["metadata"].get("namespace", ""), o["metadata"]["name"]):
            json.dumps([o["metadata"]["uid"], o["metadata"].get("labels"), o.get("spec"), o.get("data")],
                       sort_keys=True)
            for kind in list(store.kinds()) if kind != "Event" for o in store.list(kind)
            if not o["metadata"].get("deletionTimestamp") and o["metadata"].get("namespace") not in leaving
            and not orphaned(o)}


def _node_disks(c: Cluster) -> dict[tuple[str, ...], dict[str, str]]:
    """The files on the nodes' disks that outlive pods: volumes' and hostPaths' (a restart
    removes the emptyDirs of pods that finished meanwhile)."""
    disks = c.kubelet.disks
    return {k: dict(disks.get(k) or {}) for k in disks if k[0] != "pod"}


@settings(max_examples=RESTARTS, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(steps, st.just(("restart",))), min_size=1, max_size=10), st.integers(0, 2**16))
@example(sequence=[("apply", "team-a", "web", 2, "kennship/http-echo"), ("stop_node", "kubelab-m02"),
                   ("delete_namespace", "team-a")], seed=0)  # found once: it never settled
def test_invariants_hold_across_restarts(tmp_path_factory, sequence: list[tuple], seed: int) -> None:
    """The same sequences with kernel restarts mixed in: each restart finds every object the
    store held (same uid, same resourceVersion), and the cluster then settles as before."""
    path = tmp_path_factory.mktemp("state") / "cluster.db"
    c = Cluster(clock="virtual", seed=seed, state=path)
    versions: list[int] = []
    record = lambda ev, obj, old: versions.append(int(obj["metadata"]["resourceVersion"]))  # noqa: E731
    c.engine.store.subscribe(record)
    try:
        for step in sequence:
            if step[0] != "restart":
                run_step(c, step)
                continue
            c.engine.drain()  # what the controllers would do at this very instant is done first
            before = _acknowledged(c)
            disks = _node_disks(c)
            not_ready = NOT_READY.pop(id(c), None)
            c.close()
            c = Cluster(clock="virtual", seed=seed, state=path)
            after = _acknowledged(c)
            assert {k: after.get(k) for k in before} == before, "a restart lost or changed an object"
            assert _node_disks(c) == disks, "a restart lost or changed a volume's or a node's files"
            if not_ready is not None:
                NOT_READY[id(c)] = not_ready
            c.engine.store.subscribe(record)
        assert c.settle(timeout=1800), "the cluster did not settle"
        assert_invariants(c, versions)
    finally:
        NOT_READY.pop(id(c), None)
        c.close()


def assert_invariants(c: Cluster, versions: list[int]) -> None:
    """What must hold once the cluster settled, whatever was done to it."""
    store = c.engine.store

    assert versions == sorted(versions) and len(set(versions)) == len(versions)

    owners = ("Node", "DaemonSet", "Deployment", "ReplicaSet", "Pod")  # Nodes own static pods' mirrors
    uids = {o["metadata"]["uid"] for kind in owners for o in store.list(kind)}
    for kind in ("ReplicaSet", "Pod"):
        for obj in store.list(kind):
            if obj["metadata"].get("deletionTimestamp") and (obj.get("spec") or {}).get("nodeName") in c.kubelet.stopped:
                continue  # Terminating on a stopped node: nobody can confirm it gone, as on a real cluster
            for ref in obj["metadata"].get("ownerReferences", []):
                assert ref["uid"] in uids, f"{kind} {obj['metadata']['name']} outlived its owner"

    for rs in store.list("ReplicaSet"):
        live = [p for p in store.owned_by(rs["metadata"]["uid"])
                if p["kind"] == "Pod" and not p["metadata"].get("deletionTimestamp")]
        assert len(live) == rs["spec"]["replicas"], rs["metadata"]["name"]

    for d in store.list("Deployment"):
        ns = d["metadata"]["namespace"]
        selector = d["spec"]["selector"]["matchLabels"]
        pods = [p for p in store.list("Pod", ns) if selector.items() <= p["metadata"].get("labels", {}).items()
                and not p["metadata"].get("deletionTimestamp")]
        assert len(pods) == d["spec"]["replicas"], d["metadata"]["name"]

    for node, had in NOT_READY.pop(id(c), {}).items():
        if store.get("Node", "", node) is not None:
            landed = {p["metadata"]["name"] for p in store.pods_on(node)
                      if p["metadata"]["uid"] not in had and not p["metadata"].get("ownerReferences", [{}])[0]
                      .get("kind") in ("DaemonSet", "Node")}
            assert not landed, f"pods scheduled onto NotReady node {node}: {landed}"
    nodes = {n["metadata"]["name"]: n for n in store.list("Node")}
    for pod in store.list("Pod"):
        assert pod["spec"].get("nodeName", "") in {"", *nodes}, f"pod {pod['metadata']['name']} is bound to a node that is gone"
    stopped = set(c.kubelet.stopped) & set(nodes)
    for name in stopped:
        ready = next(x for x in nodes[name]["status"]["conditions"] if x["type"] == "Ready")
        assert ready["status"] == "Unknown", name
    for d in store.list("Deployment"):
        ns = d["metadata"]["namespace"]
        selector = d["spec"]["selector"]["matchLabels"]
        serving = [p for p in store.list("Pod", ns) if selector.items() <= p["metadata"].get("labels", {}).items()
                   and p["spec"].get("nodeName") not in stopped]
        assert d["status"].get("availableReplicas", 0) <= len(serving), d["metadata"]["name"]

    if store.get("Namespace", "", "team-a") is None:
        assert store.count("Pod", "team-a") == 0 and store.count("ReplicaSet", "team-a") == 0


def _http(server, method: str, path: str, body: dict | None = None) -> dict:
    code, answer = served.request(server, method, path, json.dumps(body).encode() if body is not None else None)
    assert code < 300, answer
    return answer


def test_concurrent_requests_through_the_api_and_the_cluster() -> None:
    """Two HTTP clients, kubectl through the Cluster and the clock moving, all at once. After
    settle the invariants hold, and every acknowledged write is there: each ConfigMap with the
    last value a client was told was stored, the Deployment at the last scale acknowledged."""
    from kubelab.server import serve

    c = Cluster(clock="virtual", seed=3)
    versions: list[int] = []
    c.engine.store.subscribe(lambda ev, obj, old: versions.append(int(obj["metadata"]["resourceVersion"])))
    c.api.create(deployment("web", 3, IMAGES[0]), "default")
    acked: dict[str, str] = {}
    scaled: list[int] = []
    failures: list[BaseException] = []
    base = "/api/v1/namespaces/default/configmaps"

    def http_writer(server, who: str) -> None:
        for i in range(15):
            name = f"{who}-{i}"
            _http(server, "POST", base, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name},
                                         "data": {"v": "0"}})
            acked[name] = "0"
            for v in range(1, 3):
                live = _http(server, "GET", f"{base}/{name}")
                live["data"] = {"v": str(v)}
                stored = _http(server, "PUT", f"{base}/{name}", live)
                acked[name] = stored["data"]["v"]
            if i % 5 == 4:  # and a pod of the Deployment goes, as a learner's delete would
                pods = _http(server, "GET", "/api/v1/namespaces/default/pods?labelSelector=app%3Dweb")["items"]
                if pods:
                    code, _ = served.request(server, "DELETE",
                                             f"/api/v1/namespaces/default/pods/{pods[0]['metadata']['name']}")
                    assert code in (200, 404)  # 404: the ReplicaSet or the other client got there first

    def kubectl_writer() -> None:
        for i in range(15):
            result = c.kubectl(f"create configmap kc-{i} --from-literal=v={i}")
            assert result.returncode == 0, result.stderr
            acked[f"kc-{i}"] = str(i)
            result = c.kubectl(f"scale deployment web --replicas={i % 5}")
            assert result.returncode == 0, result.stderr
            scaled.append(i % 5)

    def guarded(fn, *args) -> None:
        try:
            fn(*args)
        except BaseException as e:  # noqa: BLE001 - reported by the main thread
            failures.append(e)

    with serve(c) as server:
        threads = [threading.Thread(target=guarded, args=(http_writer, server, "a")),
                   threading.Thread(target=guarded, args=(http_writer, server, "b")),
                   threading.Thread(target=guarded, args=(kubectl_writer,))]
        for t in threads:
            t.start()
        for _ in range(120):  # the clock moves while they work (a live cluster's driver would)
            if not any(t.is_alive() for t in threads):
                break
            c.advance(1)
            time.sleep(0.01)  # real threads: let the others take the engine's lock
        for t in threads:
            t.join()
    assert not failures, failures
    assert c.settle(timeout=1800), "the cluster did not settle"
    assert_invariants(c, versions)
    stored = {cm["metadata"]["name"]: cm["data"]["v"] for cm in c.engine.store.list("ConfigMap", "default")
              if cm["metadata"]["name"] in acked}
    assert stored == acked and len(acked) == 45
    assert c.engine.store.get("Deployment", "default", "web")["spec"]["replicas"] == scaled[-1]
