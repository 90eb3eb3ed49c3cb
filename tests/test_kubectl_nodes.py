"""taint, cordon, uncordon, drain and top: kubectl 1.32's messages, errors, and what the
cluster does about them (the scheduler keeps off tainted and cordoned nodes, drained pods
come back elsewhere)."""
from __future__ import annotations

from kubelab import Cluster

BARE = """apiVersion: v1
kind: Pod
metadata:
  name: {name}
spec:
  nodeSelector:
    kubernetes.io/hostname: kubelab-m02
  containers:
  - name: app
    image: nginx
"""
SCRATCH = BARE.format(name="scratch") + "  volumes:\n  - name: s\n    emptyDir: {}\n"


def run(c: Cluster, line: str, out: str = "", err: str = "", code: int = 0) -> None:
    r = c.kubectl(line)
    assert (r.stdout, r.stderr, r.returncode) == (out, err, code), line


def taints(c: Cluster, node: str = "kubelab-m02") -> list[dict]:
    return c.client.get("Node", node)["spec"].get("taints", [])


def on_node(c: Cluster, node: str, ns: str | None = "default") -> list[dict]:
    pods = c.client.list("Pod", ns, field_selector=f"spec.nodeName={node}")["items"]
    return sorted(pods, key=lambda p: (p["metadata"]["namespace"], p["metadata"]["name"]))


def test_taint_add_overwrite_and_remove():
    c = Cluster(clock="virtual", seed=1)
    run(c, "taint nodes kubelab-m02 dedicated=batch:NoSchedule", "node/kubelab-m02 tainted\n")
    assert taints(c) == [{"effect": "NoSchedule", "key": "dedicated", "value": "batch"}]
    run(c, "taint nodes kubelab-m02 dedicated=other:NoSchedule", code=1,
        err="error: node kubelab-m02 already has dedicated taint(s) with same effect(s) and --overwrite is false\n")
    run(c, "taint nodes kubelab-m02 dedicated=other:NoSchedule --overwrite", "node/kubelab-m02 modified\n")
    run(c, "taint node kubelab-m02 gpu:NoExecute", "node/kubelab-m02 tainted\n")
    assert taints(c) == [{"effect": "NoExecute", "key": "gpu"},
                         {"effect": "NoSchedule", "key": "dedicated", "value": "other"}]
    run(c, "taint nodes kubelab-m02 dedicated:NoSchedule-", "node/kubelab-m02 untainted\n")
    run(c, "taint no kubelab-m02 gpu-", "node/kubelab-m02 untainted\n")
    assert taints(c) == []
    run(c, "taint nodes kubelab-m02 dedicated:NoSchedule-", code=1, err='error: taint "dedicated:NoSchedule" not found\n')
    run(c, "taint nodes kubelab-m02 a=b:NoSchedule --dry-run=client", "node/kubelab-m02 tainted (dry run)\n")
    assert taints(c) == []


def test_taint_errors_change_nothing():
    c = Cluster(clock="virtual", seed=1)
    qualified = ("name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with "
                 "an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation "
                 "is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')")
    help_line = "See 'kubectl taint -h' for help and examples\n"
    run(c, "taint nodes kubelab-m02 a=b:Sometimes", code=1,
        err="error: invalid taint effect: Sometimes, unsupported taint effect\n" + help_line)
    run(c, "taint nodes kubelab-m02 a=b", code=1, err=f"error: invalid taint spec: a=b, {qualified}\n" + help_line)
    run(c, "taint nodes kubelab-m02", code=1, err="error: at least one taint update is required\n")
    run(c, "taint a=b:NoSchedule", code=1, err="error: one or more resources must be specified as <resource> <name>\n")
    run(c, "taint nodes a=b:NoSchedule", code=1,
        err="error: at least one resource name must be specified since 'all' parameter is not set\n")
    run(c, "taint pods web a=b:NoSchedule", code=1, err="error: invalid resource type pods, only node types are supported\n")
    run(c, "taint nodes nowhere a=b:NoSchedule", code=1, err='Error from server (NotFound): nodes "nowhere" not found\n')
    run(c, "taint nodes kubelab-m02 a=b:NoSchedule a-", code=1,
        err='error: can not both modify and remove the following taint(s) in the same command: {"a":""}\n')
    run(c, "taint nodes kubelab-m02 a=b:NoSchedule kubelab-m03", code=1,
        err="error: all resources must be specified before taint changes: kubelab-m03\n")
    assert all(taints(c, n["metadata"]["name"]) == [] for n in c.client.list("Node")["items"])


def test_taint_all_nodes_and_the_scheduler_keeps_off():
    c = Cluster(clock="virtual", seed=1)
    run(c, "taint nodes --all dedicated=batch:NoSchedule",
        "node/kubelab tainted\nnode/kubelab-m02 tainted\nnode/kubelab-m03 tainted\n")
    run(c, "taint nodes kubelab dedicated:NoSchedule-", "node/kubelab untainted\n")
    run(c, "create deployment web --image=nginx --replicas=4", "deployment.apps/web created\n")
    c.settle()
    assert {p["spec"]["nodeName"] for p in c.client.list("Pod", "default")["items"]} == {"kubelab"}


def test_cordon_and_uncordon():
    c = Cluster(clock="virtual", seed=1)
    run(c, "cordon kubelab-m02", "node/kubelab-m02 cordoned\n")
    c.settle()
    node = c.client.get("Node", "kubelab-m02")
    assert node["spec"]["unschedulable"] is True
    assert [t["key"] for t in node["spec"]["taints"]] == ["node.kubernetes.io/unschedulable"]
    run(c, "cordon kubelab-m02", "node/kubelab-m02 already cordoned\n")
    r = c.kubectl("get node kubelab-m02")
    assert r.stdout.splitlines()[1].split()[1] == "Ready,SchedulingDisabled"
    run(c, "uncordon kubelab-m02", "node/kubelab-m02 uncordoned\n")
    c.settle()
    assert "unschedulable" not in c.client.get("Node", "kubelab-m02")["spec"]
    assert "taints" not in c.client.get("Node", "kubelab-m02")["spec"]
    run(c, "uncordon kubelab-m02", "node/kubelab-m02 already uncordoned\n")
    run(c, "cordon kubelab-m03 --dry-run=client", "node/kubelab-m03 cordoned (dry run)\n")
    assert "unschedulable" not in c.client.get("Node", "kubelab-m03")["spec"]
    run(c, "cordon", code=1, err="error: USAGE: cordon NODE [flags]\nSee 'kubectl cordon -h' for help and examples\n")
    run(c, "cordon nowhere", code=1, err='Error from server (NotFound): nodes "nowhere" not found\n')
    run(c, "cordon -l kubernetes.io/hostname=kubelab-m03", "node/kubelab-m03 cordoned\n")


def daemon_warning(c: Cluster, node: str) -> str:
    """The DaemonSet-managed pods drain leaves on a node (namespace/name, listed in order)."""
    managed = [p for p in on_node(c, node, None) if any(
        r.get("kind") == "DaemonSet" for r in p["metadata"].get("ownerReferences", []))]
    names = ", ".join(f'{p["metadata"]["namespace"]}/{p["metadata"]["name"]}' for p in managed)
    return f"ignoring DaemonSet-managed Pods: {names}" if managed else ""


def test_drain_refuses_bare_and_emptydir_pods_without_the_flags():
    c = Cluster(clock="virtual", seed=1)
    c.kubectl("apply -f -", stdin=BARE.format(name="bare"))
    c.kubectl("apply -f -", stdin=SCRATCH)
    c.settle()
    problems = ("cannot delete cannot delete Pods that declare no controller (use --force to override): default/bare",
                "cannot delete Pods with local storage (use --delete-emptydir-data to override): default/scratch")
    ds = daemon_warning(c, "kubelab-m02")
    flag = " --ignore-daemonsets" if ds else ""
    run(c, f"drain kubelab-m02{flag}", "node/kubelab-m02 cordoned\n", code=1,
        err=f'error: unable to drain node "kubelab-m02" due to error: [{", ".join(problems)}], continuing command...\n'
            "There are pending nodes to be drained:\n kubelab-m02\n" + "".join(p + "\n" for p in problems))
    # with emptyDir allowed, both pods still lack a controller
    both = problems[0] + ", default/scratch"
    run(c, f"drain kubelab-m02 --delete-emptydir-data{flag}", "node/kubelab-m02 already cordoned\n", code=1,
        err=f'error: unable to drain node "kubelab-m02" due to error: {both}, continuing command...\n'
            f"There are pending nodes to be drained:\n kubelab-m02\n{both}\n")
    assert [p["metadata"]["name"] for p in on_node(c, "kubelab-m02")] == ["bare", "scratch"]
    assert c.client.get("Node", "kubelab-m02")["spec"]["unschedulable"] is True


def test_drain_evicts_and_the_replicaset_replaces_elsewhere():
    c = Cluster(clock="virtual", seed=1)
    c.kubectl("create deployment web --image=nginx --replicas=6")
    c.kubectl("apply -f -", stdin=BARE.format(name="bare"))
    c.kubectl("apply -f -", stdin=SCRATCH)
    c.settle()
    # everything on the node but DaemonSet pods (kube-proxy) leaves, kube-system's too
    leaving = [p for p in on_node(c, "kubelab-m02", None) if not any(
        r.get("kind") == "DaemonSet" for r in p["metadata"].get("ownerReferences", []))]
    assert [p["metadata"]["name"] for p in leaving][:2] == ["bare", "scratch"] and len(leaving) > 2
    # kubectl ranges over a Go map of messages (any order); kubelab lists by the first pod named
    warnings = [w for w in ("deleting Pods that declare no controller: default/bare, default/scratch",
                            daemon_warning(c, "kubelab-m02")) if w]
    evicting = "".join(f"evicting pod {p['metadata']['namespace']}/{p['metadata']['name']}\n" for p in leaving)
    # evictions run as goroutines do: the one started last first (the dry run is a plain loop)
    started = leaving[-1:] + leaving[:-1]
    asked = "".join(f"evicting pod {p['metadata']['namespace']}/{p['metadata']['name']}\n" for p in started)
    evicted = "".join(f"pod/{p['metadata']['name']} evicted\n" for p in started)
    run(c, "drain kubelab-m02 --ignore-daemonsets --delete-emptydir-data --force --dry-run=client",
        "node/kubelab-m02 cordoned (dry run)\n" + evicting.replace("\n", " (dry run)\n")
        + "node/kubelab-m02 drained (dry run)\n", err="Warning: " + "; ".join(warnings) + "\n")
    assert len(on_node(c, "kubelab-m02", None)) == len(leaving) + bool(daemon_warning(c, "kubelab-m02"))
    run(c, "drain kubelab-m02 --ignore-daemonsets --delete-emptydir-data --force",
        "node/kubelab-m02 cordoned\n" + asked + evicted + "node/kubelab-m02 drained\n",
        err="Warning: " + "; ".join(warnings) + "\n")
    assert on_node(c, "kubelab-m02") == []
    assert daemon_warning(c, "kubelab-m02"), "kube-proxy stays: DaemonSets ignore cordons"
    c.settle()
    web = [p for p in c.client.list("Pod", "default")["items"] if p["metadata"]["name"].startswith("web-")]
    assert len(web) == 6 and all(p["spec"]["nodeName"] != "kubelab-m02" for p in web)
    assert all(p["status"]["phase"] == "Running" for p in web)
    run(c, "uncordon kubelab-m02", "node/kubelab-m02 uncordoned\n")


def test_top_before_the_first_metrics():
    """metrics-server needs two reads of a pod (15 s apart) before it serves its rate."""
    c = Cluster(clock="virtual", seed=1)
    c.kubectl("run idle --image=nginx")
    run(c, "top pods", code=1, err="error: metrics not available yet\n")
    c.advance(35)
    assert c.kubectl("top pods").stdout.startswith("NAME   CPU(cores)   MEMORY(bytes)   \nidle   1m ")
