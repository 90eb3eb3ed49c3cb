"""The scheduler binds pods like kube-scheduler and explains, in its words, when it cannot."""
import copy
from collections import Counter

import pytest

from kubelab.cluster import Cluster
from kubelab.engine import nodes as nodes_module
from kubelab.engine import parts, scheduler, services
from kubelab.engine.events import events_for
from kubelab.engine.scheduler import pod_requests, tolerates

def _scheduling_only(engine, api, node_spec, images):
    """Nodes, services and the scheduler only: pods stay as the scheduler leaves them."""
    nodes_module.install(engine, node_spec)
    services.install(engine, api)
    scheduler.install(engine, api)
    return parts.Parts(None, None, None)


@pytest.fixture
def make(monkeypatch):
    monkeypatch.setattr(parts, "install", _scheduling_only)

    def build(nodes=3, seed=1):
        return Cluster(clock="virtual", nodes=nodes, seed=seed)
    return build


def pod(name, cpu=None, memory=None, labels=None, **spec):
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v}
    container = {"name": "c", "image": "nginx"}
    if requests:
        container["resources"] = {"requests": requests}
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", "labels": labels or {"app": name}},
            "spec": {"containers": [container], **spec}, "status": {"phase": "Pending"}}


def create(c, *pods):
    for p in pods:
        c.engine.store.create(p)
    c.engine.drain()


def node_of(c, name):
    return c.engine.store.get("Pod", "default", name)["spec"].get("nodeName")


def scheduled(c, name):
    p = c.engine.store.get("Pod", "default", name)
    return next(x for x in p["status"]["conditions"] if x["type"] == "PodScheduled")


def messages(c, name, reason):
    p = c.engine.store.get("Pod", "default", name)
    return [e["message"] for e in events_for(c.engine.store, p) if e["reason"] == reason]


def test_binds_with_event_and_condition(make):
    c = make()
    create(c, pod("echo-server"))
    node = node_of(c, "echo-server")
    assert node in ("kubelab", "kubelab-m02", "kubelab-m03")
    assert scheduled(c, "echo-server")["status"] == "True"
    assert messages(c, "echo-server", "Scheduled") == [f"Successfully assigned default/echo-server to {node}"]
    p = c.engine.store.get("Pod", "default", "echo-server")
    ev = [e for e in events_for(c.engine.store, p) if e["reason"] == "Scheduled"][0]
    assert ev["source"]["component"] == "default-scheduler" and ev["type"] == "Normal"


def test_insufficient_cpu_then_room_frees(make):
    c = make(nodes=[{"name": "a", "cpu": "1"}])
    create(c, pod("first", cpu="600m"), pod("second", cpu="600m"))
    assert node_of(c, "first") == "a" and node_of(c, "second") is None
    cond = scheduled(c, "second")
    want = ("0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: "
            "1 No preemption victims found for incoming pod.")
    assert (cond["status"], cond["reason"], cond["message"]) == ("False", "Unschedulable", want)
    assert messages(c, "second", "FailedScheduling") == [want]
    c.engine.store.remove("Pod", "default", "first")
    c.engine.drain()
    assert node_of(c, "second") == "a"
    assert scheduled(c, "second")["status"] == "True"


def test_mixed_reasons_message(make):
    c = make(nodes=[{"name": "gpu", "taints": [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]},
                    {"name": "b", "cpu": "1"}, {"name": "d", "cpu": "1"}])
    create(c, pod("big", cpu="1500m"))
    assert scheduled(c, "big")["message"] == (
        "0/3 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 2 Insufficient cpu. "
        "preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, "
        "2 No preemption victims found for incoming pod.")


def test_memory_and_pods_reasons(make):
    c = make(nodes=[{"name": "a", "memory": "1Gi", "pods": 1}])
    create(c, pod("one"), pod("two", memory="2Gi"))
    assert node_of(c, "one") == "a"
    assert scheduled(c, "two")["message"].startswith(
        "0/1 nodes are available: 1 Insufficient memory, 1 Too many pods. preemption:")


def test_no_nodes(make):
    c = make(nodes=[{"name": "a"}])
    c.engine.store.remove("Node", "", "a")
    create(c, pod("p"))
    assert scheduled(c, "p")["message"] == "no nodes available to schedule pods"


def test_tolerations(make):
    c = make(nodes=[{"name": "gpu", "taints": [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]}])
    create(c, pod("plain"), pod("tolerant", tolerations=[{"key": "dedicated", "operator": "Equal",
                                                          "value": "gpu", "effect": "NoSchedule"}]))
    assert node_of(c, "plain") is None and node_of(c, "tolerant") == "gpu"
    assert tolerates([{"operator": "Exists"}], {"key": "x", "effect": "NoExecute"})
    assert not tolerates([{"key": "x", "value": "1"}], {"key": "x", "value": "2", "effect": "NoSchedule"})
    assert tolerates([{"key": "x", "operator": "Exists", "effect": "NoSchedule"}], {"key": "x", "effect": "NoSchedule"})


def test_node_selector_and_affinity(make):
    c = make(nodes=[{"name": "a", "labels": {"disk": "ssd", "gen": "3"}}, {"name": "b", "labels": {"gen": "5"}}])
    create(c, pod("sel", nodeSelector={"disk": "ssd"}))
    assert node_of(c, "sel") == "a"

    def req(*exprs):
        return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchExpressions": list(exprs)}]}}}
    cases = {
        "in": ({"key": "disk", "operator": "In", "values": ["ssd"]}, "a"),
        "notin": ({"key": "disk", "operator": "NotIn", "values": ["ssd"]}, "b"),
        "exists": ({"key": "disk", "operator": "Exists"}, "a"),
        "dne": ({"key": "disk", "operator": "DoesNotExist"}, "b"),
        "gt": ({"key": "gen", "operator": "Gt", "values": ["4"]}, "b"),
        "lt": ({"key": "gen", "operator": "Lt", "values": ["4"]}, "a"),
    }
    for name, (expr, want) in cases.items():
        create(c, pod(name, affinity=req(expr)))
        assert node_of(c, name) == want, name
    create(c, pod("none", nodeSelector={"disk": "hdd"}))
    assert scheduled(c, "none")["message"] == (
        "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector. "
        "preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.")
    # labelling a node makes it fit: the pending pod is retried
    c.api.patch("Node", "b", None, {"metadata": {"labels": {"disk": "hdd"}}}, "merge")
    c.engine.drain()
    assert node_of(c, "none") == "b"


def test_preferred_node_affinity_and_prefer_no_schedule(make):
    c = make(nodes=[{"name": "a"}, {"name": "b", "labels": {"fast": "yes"}},
                    {"name": "d", "taints": [{"key": "meh", "effect": "PreferNoSchedule"}]}])
    pref = {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 80, "preference": {"matchExpressions": [{"key": "fast", "operator": "In", "values": ["yes"]}]}}]}}
    create(c, pod("p", affinity=pref))
    assert node_of(c, "p") == "b"
    placed = set()
    for i in range(4):
        create(c, pod(f"q{i}", labels={"x": str(i)}))
        placed.add(node_of(c, f"q{i}"))
    assert "d" not in placed


def test_cordon_and_uncordon(make):
    c = make(nodes=[{"name": "a"}])
    c.api.patch("Node", "a", None, {"spec": {"unschedulable": True}}, "merge")
    c.engine.drain()
    create(c, pod("p"))
    assert scheduled(c, "p")["message"].startswith("0/1 nodes are available: 1 node(s) were unschedulable.")
    c.api.patch("Node", "a", None, {"spec": {"unschedulable": None}}, "merge")
    c.engine.drain()
    assert node_of(c, "p") == "a"


def test_new_node_takes_pending_pods(make):
    c = make(nodes=[{"name": "a", "cpu": "1"}])
    create(c, pod("p", cpu="2"))
    assert node_of(c, "p") is None
    nodes_module.add_nodes(c.engine, [{"name": "big", "cpu": "4"}])
    c.engine.drain()
    assert node_of(c, "p") == "big"


def test_spreads_pods_a_service_selects(make):
    c = make()
    c.engine.store.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "default"},
                           "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}})
    create(c, *(pod(f"web-{i}", labels={"app": "web"}) for i in range(9)))
    assert sorted(Counter(node_of(c, f"web-{i}") for i in range(9)).values()) == [3, 3, 3]


def test_spreads_across_zones(make):
    c = make(nodes=[{"name": "a1", "zone": "a"}, {"name": "a2", "zone": "a"}, {"name": "a3", "zone": "a"},
                    {"name": "b1", "zone": "b"}])
    c.engine.store.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "default"},
                           "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}})
    create(c, *(pod(f"web-{i}", labels={"app": "web"}) for i in range(4)))
    zones = Counter(node_of(c, f"web-{i}")[0] for i in range(4))
    assert zones["b"] >= 1


def test_required_anti_affinity(make):
    c = make()
    anti = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "db"}}, "topologyKey": "kubernetes.io/hostname"}]}}
    create(c, *(pod(f"db-{i}", labels={"app": "db"}, affinity=anti) for i in range(4)))
    placed = [node_of(c, f"db-{i}") for i in range(4)]
    assert len(set(p for p in placed if p)) == 3 and placed.count(None) == 1
    waiting = f"db-{placed.index(None)}"
    assert scheduled(c, waiting)["message"] == (
        "0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules. "
        "preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.")
    # an existing pod's anti-affinity keeps others away too
    c.engine.store.remove("Pod", "default", "db-0" if waiting != "db-0" else "db-1")
    c.engine.drain()
    assert node_of(c, waiting) is not None


def test_existing_pods_anti_affinity(make):
    c = make(nodes=[{"name": "a"}, {"name": "b"}])
    loner = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "noisy"}}, "topologyKey": "kubernetes.io/hostname"}]}}
    create(c, pod("loner", affinity=loner, nodeName=None, nodeSelector={"kubernetes.io/hostname": "a"}))
    assert node_of(c, "loner") == "a"
    create(c, *(pod(f"noisy-{i}", labels={"app": "noisy"}) for i in range(3)))
    assert {node_of(c, f"noisy-{i}") for i in range(3)} == {"b"}


def test_required_pod_affinity_waits_for_its_partner(make):
    c = make()
    near = {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "cache"}}, "topologyKey": "kubernetes.io/hostname"}]}}
    create(c, pod("web", affinity=near))
    assert node_of(c, "web") is None
    assert "3 node(s) didn't match pod affinity rules" in scheduled(c, "web")["message"]
    create(c, pod("cache"))
    assert node_of(c, "web") == node_of(c, "cache") is not None


def test_topology_spread_do_not_schedule(make):
    c = make(nodes=[{"name": "a"}, {"name": "b", "taints": [{"key": "k", "value": "v", "effect": "NoSchedule"}]}])
    spread = [{"maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "DoNotSchedule",
               "labelSelector": {"matchLabels": {"app": "s"}}}]
    create(c, pod("pin", labels={"app": "s"}, nodeName="a"))
    # b's taint does not take it out of the skew count (nodeTaintsPolicy: Ignore): a second pod on a
    # would make a skew of 2
    create(c, pod("s1", labels={"app": "s"}, topologySpreadConstraints=spread))
    assert node_of(c, "s1") is None
    assert scheduled(c, "s1")["message"] == (
        "0/2 nodes are available: 1 node(s) didn't match pod topology spread constraints, "
        "1 node(s) had untolerated taint {k: v}. preemption: 0/2 nodes are available: "
        "1 No preemption victims found for incoming pod, 1 Preemption is not helpful for scheduling.")
    c.api.patch("Node", "b", None, {"spec": {"taints": None}}, "merge")
    c.engine.drain()
    assert node_of(c, "s1") == "b"


def test_host_ports(make):
    c = make(nodes=[{"name": "a"}])
    ported = {"containers": [{"name": "c", "image": "nginx", "ports": [{"containerPort": 80, "hostPort": 8080}]}]}
    one, two = pod("one"), pod("two")
    one["spec"], two["spec"] = copy.deepcopy(ported), copy.deepcopy(ported)
    create(c, one, two)
    assert node_of(c, "one") == "a"
    assert "1 node(s) didn't have free ports for the requested pod ports" in scheduled(c, "two")["message"]


def test_other_schedulers_and_gates_are_left_alone(make):
    c = make()
    create(c, pod("custom", schedulerName="my-scheduler"),
           pod("gated", schedulingGates=[{"name": "wait"}]))
    assert node_of(c, "custom") is None and node_of(c, "gated") is None
    assert scheduled(c, "gated")["reason"] == "SchedulingGated"


def test_least_allocated_prefers_emptier_nodes(make):
    c = make(nodes=[{"name": "a"}, {"name": "b"}])
    create(c, pod("hog", cpu="1500m", memory="3Gi", nodeName="a"))
    create(c, pod("next", cpu="100m"))
    assert node_of(c, "next") == "b"


def test_same_seed_same_placement(make):
    def run(seed):
        c = make(nodes=5, seed=seed)
        create(c, *(pod(f"p{i}", labels={"n": str(i)}) for i in range(10)))
        return [node_of(c, f"p{i}") for i in range(10)]
    assert run(4) == run(4)


def test_pod_requests_rules():
    spec = {"containers": [{"resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}},
                           {"resources": {"limits": {"cpu": "200m"}}}],
            "initContainers": [{"resources": {"requests": {"cpu": "1"}}}],
            "overhead": {"memory": "1Mi"}}
    assert pod_requests(spec) == {"cpu": 1000, "memory": 65 * 1024 * 1024}


def test_many_pods_spread_evenly(make):
    c = make(nodes=20)
    c.engine.store.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": "default"},
                           "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}})
    create(c, *(pod(f"web-{i}", cpu="10m", labels={"app": "web"}) for i in range(2000)))
    counts = Counter(node_of(c, f"web-{i}") for i in range(2000))
    assert None not in counts
    assert max(counts.values()) - min(counts.values()) <= 2


# -- kube-scheduler's scores on small clusters ---------------------------------------------------
MI = 1024 * 1024
NODE_MEMORY = 4015008 * 1024  # a minikube node's allocatable memory
ECHO_DEPLOYMENT = {
    "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "echo-server", "labels": {"app": "echo-server"}},
    "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "echo-server"}},
             "template": {"metadata": {"labels": {"app": "echo-server"}},
                          "spec": {"containers": [{"name": "echo-server-container", "image": "kennship/http-echo"}]}}}}
ECHO_SERVICE = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "echo-server"},
                "spec": {"selector": {"app": "echo-server"}, "ports": [{"port": 80, "targetPort": 8080}]}}


def web_service(c, name="web"):
    c.engine.store.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": "default"},
                           "spec": {"selector": {"app": name}, "ports": [{"port": 80}]}})


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_notes_deployment_behind_a_service_lands_one_pod_per_node(seed):
    """The notes' echo-server (3 replicas, no requests) on the default cluster, kube-system on
    the control plane: kube-scheduler's spreading (normalised over the 3 nodes) outweighs the
    control plane's busier LeastAllocated/BalancedAllocation, so each node gets one."""
    c = Cluster(clock="virtual", seed=seed)
    c.api.create(ECHO_SERVICE, "default")
    c.api.create(ECHO_DEPLOYMENT, "default")
    c.settle(120)
    pods = c.engine.store.list("Pod", "default")
    assert sorted(p["spec"]["nodeName"] for p in pods) == ["kubelab", "kubelab-m02", "kubelab-m03"]


def test_six_replicas_two_per_node(make):
    c = make()
    web_service(c)
    create(c, *(pod(f"web-{i}", labels={"app": "web"}) for i in range(6)))
    assert Counter(node_of(c, f"web-{i}") for i in range(6)) == {"kubelab": 2, "kubelab-m02": 2, "kubelab-m03": 2}


def test_prefer_no_schedule_node_avoided_while_others_have_room(make):
    c = make(nodes=[{"name": "a", "cpu": "1"}, {"name": "b", "cpu": "1"},
                    {"name": "d", "cpu": "1", "taints": [{"key": "meh", "effect": "PreferNoSchedule"}]}])
    web_service(c)
    # spreading would put the third pod on d (200 vs 100 normalised, times 2), but the
    # untolerated taint costs 300: a and b take two each until they are full
    for i in range(5):
        create(c, pod(f"web-{i}", cpu="400m", labels={"app": "web"}))
    assert Counter(node_of(c, f"web-{i}") for i in range(4)) == {"a": 2, "b": 2}
    assert node_of(c, "web-4") == "d"
    create(c, pod("tolerant", labels={"app": "other"}, tolerations=[{"key": "meh", "operator": "Exists"}]))
    assert node_of(c, "tolerant") == "d"  # a tolerated taint costs nothing; d is the emptiest


def report_images(c, node, images):
    current = copy.deepcopy(c.engine.store.get("Node", "", node))
    current["status"]["images"] = [{"names": names, "sizeBytes": size} for names, size in images]
    c.engine.store.update(current, status=True)
    c.engine.drain()


def test_image_locality_then_spreading(make):
    c = make(nodes=[{"name": "a"}, {"name": "b"}, {"name": "d"}])
    # ImageLocality: 800 MiB on 1 of 3 nodes scales to 266 MiB: 100 * (266 - 23) / (1000 - 23) = 24
    report_images(c, "d", [(["registry.example/big@sha256:0f", "registry.example/big:1.0"], 800 * MI)])
    web_service(c)
    create(c, pod("web-0", labels={"app": "web"}))
    c.engine.store.remove("Pod", "default", "web-0")
    c.engine.drain()
    placed = []
    for i in range(3):
        p = pod(f"web-{i}", labels={"app": "web"})
        p["spec"]["containers"][0]["image"] = "registry.example/big:1.0"
        create(c, p)
        placed.append(node_of(c, f"web-{i}"))
    # the first pod goes where its image is; then spreading (100 normalised points, times 2)
    # outweighs the image's 24 and the pods go one per node
    assert placed[0] == "d" and sorted(placed) == ["a", "b", "d"]
    # an image under 23 MiB per node share scores nothing: placement is left to the tie-break
    report_images(c, "a", [(["registry.example/small:1"], 60 * MI)])
    seen = set()
    for i in range(12):
        p = pod(f"small-{i}", labels={"app": f"small-{i}"})
        p["spec"]["containers"][0]["image"] = "registry.example/small:1"
        create(c, p)
        seen.add(node_of(c, f"small-{i}"))
    assert len(seen) > 1


def _least(requested, capacity):
    return 0 if requested > capacity else (capacity - requested) * 100 // capacity


def _resources(nonzero_cpu, nonzero_mem, cpu, mem):
    """NodeResourcesFit (LeastAllocated, non-zero requests) + BalancedAllocation (real requests)
    for a node of 2 cpus and minikube's memory, the pod being placed included."""
    least = (_least(nonzero_cpu, 2000) + _least(nonzero_mem, NODE_MEMORY)) // 2
    balanced = int((1 - abs(min(cpu / 2000, 1) - min(mem / NODE_MEMORY, 1)) / 2) * 100)
    return least + balanced


def test_control_plane_requests_tilt_least_allocated_by_hand(make):
    """Three nodes, a control plane's requests on ``kubelab`` (650m cpu, 100Mi; five containers,
    two asking no memory and one asking nothing, as kube-system's), echo pods without requests
    behind a Service. Totals computed from kube-scheduler's formulas and weights."""
    c = make()
    system = [("etcd", "100m", "100Mi"), ("apiserver", "250m", None), ("manager", "200m", None),
              ("scheduler", "100m", None), ("proxy", None, None)]
    for name, cpu, mem in system:
        p = pod(name, cpu=cpu, memory=mem, nodeName="kubelab")
        p["metadata"]["namespace"] = "kube-system"
        c.engine.store.create(p)
    c.engine.drain()
    web_service(c, "echo")
    # non-zero requests: cpu 100+250+200+100+100 = 750m, memory 100Mi + 4 * 200Mi = 900Mi;
    # real requests: 650m, 100Mi; the echo pod adds 100m/200Mi non-zero and nothing real
    cp = lambda echo: _resources(750 + 100 * (echo + 1), (900 + 200 * (echo + 1)) * MI, 650, 100 * MI)  # noqa: E731
    worker = lambda echo: _resources(100 * (echo + 1), 200 * (echo + 1) * MI, 0, 0)  # noqa: E731
    assert (cp(0), worker(0), worker(1)) == (64 + 85, 94 + 100, 89 + 100)
    # spreading, hostname only (no zones): raw = round(count * log(3 + 2) + 3 - 1), normalised
    # 100 * (max + min - raw) / max; untolerated-taint score 100 each (weight 3) cancels out
    raw = {0: 2, 1: 4, 2: 5}
    spread = lambda count, counts: 100 * (max(raw[n] for n in counts) + min(raw[n] for n in counts) - raw[count]) // max(raw[n] for n in counts)  # noqa: E501,E731
    # pods 1 and 2: all spreading scores equal; the workers' 194 beat the control plane's 149
    create(c, pod("echo-0", labels={"app": "echo"}))
    first = node_of(c, "echo-0")
    assert first != "kubelab"
    create(c, pod("echo-1", labels={"app": "echo"}))
    assert node_of(c, "echo-1") not in ("kubelab", first)  # 194 + 2*100 > 189 + 2*50
    # pod 3: counts 0/1/1, so 149 + 2*100 = 349 on the control plane vs 189 + 2*50 = 289
    assert cp(0) + 2 * spread(0, (0, 1, 1)) == 349 and worker(1) + 2 * spread(1, (0, 1, 1)) == 289
    create(c, pod("echo-2", labels={"app": "echo"}))
    assert node_of(c, "echo-2") == "kubelab"
    # pod 4: one each, spreading equal again: the workers' 189 beat the control plane's 144
    assert (cp(1), worker(1)) == (144, 189)
    create(c, pod("echo-3", labels={"app": "echo"}))
    assert node_of(c, "echo-3") != "kubelab"
