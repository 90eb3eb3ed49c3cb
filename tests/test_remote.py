"""RemoteClient through the official ``kubernetes`` package, against kubelab's own REST server
(a real HTTP API server on 127.0.0.1), and kubelab's kubectl driving it."""
from __future__ import annotations

import threading

import pytest

from kubelab import Cluster
from kubelab.api.errors import StatusError
from kubelab.kubectl import run
from kubelab.remote import RemoteClient
from kubelab.server import serve

pytest.importorskip("kubernetes")

POD = {"apiVersion": "v1", "kind": "Pod",
       "metadata": {"name": "echo-server", "labels": {"app": "echo-server"}},
       "spec": {"containers": [{"name": "echo-server-container", "image": "kennship/http-echo"}]}}


@pytest.fixture
def cluster():
    return Cluster(clock="virtual", seed=1)


@pytest.fixture
def remote(cluster):
    with serve(cluster) as server:
        yield RemoteClient(server.kubeconfig)


def test_crud_round_trip(remote, cluster):
    created = remote.create(POD)
    assert created["metadata"]["namespace"] == "default" and created["metadata"]["uid"]
    assert cluster.client.get("Pod", "echo-server")["metadata"]["uid"] == created["metadata"]["uid"]
    got = remote.get("Pod", "echo-server")
    assert got["spec"]["containers"][0]["image"] == "kennship/http-echo"
    patched = remote.patch("Pod", "echo-server", "default", {"metadata": {"labels": {"tier": "web"}}})
    assert patched["metadata"]["labels"] == {"app": "echo-server", "tier": "web"}
    patched = remote.patch("Pod", "echo-server", "default",
                           [{"op": "add", "path": "/metadata/annotations", "value": {"a": "b"}}], "json")
    assert patched["metadata"]["annotations"] == {"a": "b"}
    patched = remote.patch("Pod", "echo-server", "default", {"metadata": {"annotations": None}}, "merge")
    assert "annotations" not in patched["metadata"]
    patched["metadata"]["labels"]["tier"] = "db"
    updated = remote.update(patched)
    assert updated["metadata"]["labels"]["tier"] == "db"
    with pytest.raises(StatusError) as stale:
        remote.update(patched)
    assert (stale.value.code, stale.value.reason) == (409, "Conflict")
    deleted = remote.delete("Pod", "echo-server", grace_period=0)
    assert deleted["metadata"]["name"] == "echo-server"
    cluster.settle()
    with pytest.raises(StatusError) as gone:
        remote.get("Pod", "echo-server")
    assert (gone.value.code, gone.value.reason, str(gone.value)) == (404, "NotFound", 'pods "echo-server" not found')


def test_list_with_selectors_and_namespaces(remote, cluster):
    remote.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}})
    for name, ns, app in (("a", "default", "web"), ("b", "default", "db"), ("c", "team-a", "web")):
        remote.create({**POD, "metadata": {"name": name, "labels": {"app": app}}}, ns)
    names = lambda result: sorted(o["metadata"]["name"] for o in result["items"])  # noqa: E731
    assert names(remote.list("Pod", "default")) == ["a", "b"]
    assert names(remote.list("Pod", None, "app=web")) == ["a", "c"]
    assert names(remote.list("Pod", "default", "app in (db)")) == ["b"]
    assert names(remote.list("Pod", None, field_selector="metadata.namespace=team-a")) == ["c"]
    assert remote.list("Pod", "default")["metadata"]["resourceVersion"]
    assert "team-a" in names(remote.list("Namespace"))


def test_errors_map_to_status_errors(remote):
    remote.create(POD)
    with pytest.raises(StatusError) as exists:
        remote.create(POD)
    assert (exists.value.code, exists.value.reason, exists.value.kind, exists.value.name) == \
        (409, "AlreadyExists", "pods", "echo-server")
    bad = {**POD, "metadata": {"name": "Bad_Name"}}
    with pytest.raises(StatusError) as invalid:
        remote.create(bad)
    assert invalid.value.code == 422 and invalid.value.reason == "Invalid"
    assert invalid.value.causes[0].field == "metadata.name"
    unknown = {**POD, "metadata": {"name": "x"}, "spec": {"containers": [{"name": "c", "image": "i", "bogus": 1}]}}
    with pytest.raises(StatusError) as strict:
        remote.create(unknown)
    assert strict.value.reason == "BadRequest" and 'unknown field "spec.containers[0].bogus"' in str(strict.value)
    warned = remote.create(unknown, field_validation="Warn")
    assert warned["__warnings__"] == ['unknown field "spec.containers[0].bogus"']
    dry = remote.create({**POD, "metadata": {"name": "dry"}}, dry_run=True)
    assert dry["metadata"]["name"] == "dry"
    with pytest.raises(StatusError):
        remote.get("Pod", "dry")


def test_scale_logs_and_tables(remote, cluster):
    remote.create({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                   "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                            "template": {"metadata": {"labels": {"app": "web"}},
                                         "spec": {"containers": [{"name": "c", "image": "kennship/http-echo"}]}}}})
    scaled = remote.scale("Deployment", "web", "default", 3)
    assert scaled["kind"] == "Deployment" and scaled["spec"]["replicas"] == 3
    cluster.settle()
    pods = remote.list("Pod", "default", "app=web")["items"]
    assert len(pods) == 3
    name = pods[0]["metadata"]["name"]
    assert remote.logs(name) == cluster.client.logs(name, "default")
    table = remote.table("Pod", pods)
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Ready", "Status", "Restarts", "Age"]
    assert table == cluster.client.table("Pod", pods) | {"rows": table["rows"]}
    assert [r["cells"] for r in table["rows"]] == [r["cells"] for r in cluster.client.table("Pod", pods)["rows"]]
    wide = remote.table("Pod", pods, wide=True)
    assert [r["cells"] for r in wide["rows"]] == [r["cells"] for r in cluster.client.table("Pod", pods, True)["rows"]]


def test_watch_calls_back_for_changes(remote, cluster):
    seen: list[tuple[str, str]] = []
    got = threading.Event()

    def on_event(kind: str, obj: dict) -> None:
        seen.append((kind, obj["metadata"]["name"]))
        if kind == "DELETED":
            got.set()

    stop = remote.watch("ConfigMap", "default", on_event)
    try:
        cluster.client.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c1"}})
        cluster.client.patch("ConfigMap", "c1", "default", {"data": {"a": "1"}})
        cluster.client.delete("ConfigMap", "c1", "default")
        assert got.wait(10)
    finally:
        stop()
    assert seen == [("ADDED", "c1"), ("MODIFIED", "c1"), ("DELETED", "c1")]


def test_kubelab_kubectl_drives_the_remote_client(remote, cluster):
    manifest = ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: echo-server\n  labels:\n    app: echo-server\n"
                "spec:\n  containers:\n  - name: echo-server-container\n    image: kennship/http-echo\n")
    r = run(remote, ["apply", "-f", "-"], stdin=manifest)
    assert (r.returncode, r.stdout, r.stderr) == (0, "pod/echo-server created\n", "")
    cluster.settle()
    embedded, over_http = cluster.kubectl("get pods -o wide"), run(remote, ["get", "pods", "-o", "wide"])
    assert over_http.stdout == embedded.stdout
    assert run(remote, ["get", "pod", "echo-server", "-o", "yaml"]).stdout == \
        cluster.kubectl("get pod echo-server -o yaml").stdout
    r = run(remote, ["get", "pod", "nope"])
    assert (r.returncode, r.stderr) == (1, 'Error from server (NotFound): pods "nope" not found\n')
    r = run(remote, ["label", "pod", "echo-server", "tier=web"])
    assert r.stdout == "pod/echo-server labeled\n"
    assert cluster.client.get("Pod", "echo-server")["metadata"]["labels"]["tier"] == "web"
    r = run(remote, ["delete", "pod", "echo-server", "--wait=false"])
    assert r.stdout == 'pod "echo-server" deleted\n'


def test_pictures_are_the_same_through_the_remote_client(remote, cluster):
    """Diagram, routing view, rollout history and the dashboard's buttons read and act through
    the client seam only, so over HTTP they show what they show on the embedded client."""
    from kubelab.notebook.dashboard import Dashboard
    from kubelab.notebook.diagram import diagram
    from kubelab.notebook.history import history
    from kubelab.notebook.route import route

    deploy = ("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 2\n"
              "  selector:\n    matchLabels:\n      app: web\n  template:\n    metadata:\n      labels:\n"
              "        app: web\n    spec:\n      containers:\n      - name: web\n        image: kennship/http-echo\n"
              "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  type: NodePort\n"
              "  selector:\n    app: web\n  ports:\n  - port: 80\n    targetPort: 3000\n")
    assert run(remote, ["apply", "-f", "-"], stdin=deploy).returncode == 0
    cluster.settle()
    assert run(remote, ["set", "image", "deploy/web", "web=kennship/http-echo:latest"]).returncode == 0
    cluster.settle()

    for local, over_http in [(diagram(cluster.client, "default"), diagram(remote, "default")),
                             (route(cluster.client, "web"), route(remote, "web"))]:
        assert over_http.ids() == local.ids() and len(over_http.ids()) > 3
        assert over_http.edges == local.edges
    assert history(remote, "web").rows() == history(cluster.client, "web").rows()
    assert len(history(remote, "web").rows()) == 2

    dash = Dashboard(remote, "default", autostart=False)
    try:
        dash.target.value = "deployment/web"
        dash.scale_up.click()
        assert "deployment.apps/web scaled" in dash.log.value
        cluster.settle()
        dash.refresh(force=True)
        assert len([d for _, _, d in dash._rows if d.pod]) == 3
        button = next(d for _, _, d in dash._rows if d.pod)
        victim = button.pod
        button.click()
        cluster.settle()
        names = {p["metadata"]["name"] for p in cluster.client.list("Pod", "default", "app=web")["items"]}
        assert victim not in names and len(names) == 3
    finally:
        dash.close()


def test_kubectl_top_and_autoscale_through_the_remote_client(remote, cluster):
    """metrics.k8s.io is read through the aggregated API's paths; autoscale sends autoscaling/v1."""
    manifest = ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: echo-server\nspec:\n  containers:\n"
                "  - name: echo-server-container\n    image: kennship/http-echo\n")
    run(remote, ["apply", "-f", "-"], stdin=manifest)
    cluster.settle()
    cluster.advance(40)
    assert run(remote, ["top", "pods"]).stdout == cluster.kubectl("top pods").stdout
    assert run(remote, ["top", "nodes"]).stdout == cluster.kubectl("top nodes").stdout
    run(remote, ["create", "deployment", "web", "--image=nginx"])
    r = run(remote, ["autoscale", "deployment", "web", "--max=3", "--cpu-percent=60"])
    assert (r.returncode, r.stdout) == (0, "horizontalpodautoscaler.autoscaling/web autoscaled\n"), r.stderr
    assert cluster.client.get("HorizontalPodAutoscaler", "web")["spec"]["metrics"][0]["resource"]["target"] == {
        "type": "Utilization", "averageUtilization": 60}
