"""The store on disk (Cluster(state=...)): what a restart brings back, on a virtual clock."""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from kubelab import Cluster
from kubelab.engine.state import StateFile


def _objects(cluster: Cluster) -> dict[tuple[str, str, str], dict]:
    store = cluster.engine.store
    return {(k, o["metadata"].get("namespace", ""), o["metadata"]["name"]): json.loads(json.dumps(o))
            for k in store.kinds() for o in store.list(k)}


def _workload(path: Path) -> Cluster:
    c = Cluster(clock="virtual", seed=5, state=path)
    assert c.restored == 0
    for line in ("create deployment web --image=kennship/http-echo --replicas=2",
                 "create configmap cfg --from-literal=colour=blue",
                 "expose deployment web --port=80 --target-port=3000 --type=NodePort"):
        assert c.kubectl(line).returncode == 0
    c.settle()
    assert c.kubectl("scale deployment web --replicas=3").returncode == 0
    c.settle()
    return c


def test_the_file_holds_exactly_the_store(tmp_path: Path) -> None:
    c = _workload(tmp_path / "c.db")
    want, rv = _objects(c), c.engine.store.resource_version
    c.close()
    state = StateFile(tmp_path / "c.db")
    got = {(o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"]): o for o in state.load()}
    assert got == want
    assert state.meta()["resourceVersion"] == rv
    assert state.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    state.close()


def test_a_restart_keeps_objects_and_resource_versions_go_on(tmp_path: Path) -> None:
    c = _workload(tmp_path / "c.db")
    before, rv = _objects(c), int(c.engine.store.resource_version)
    c.close()
    c2 = Cluster(clock="virtual", seed=5, state=tmp_path / "c.db")
    assert c2.restored == len(before)
    after = _objects(c2)
    for key in [k for k in before if k[0] in ("ConfigMap", "Service", "Namespace", "ServiceAccount", "Secret")]:
        assert after[key] == before[key], key  # untouched by the restart: same uid, same resourceVersion
    deploy = before[("Deployment", "default", "web")]
    assert after[("Deployment", "default", "web")]["metadata"]["uid"] == deploy["metadata"]["uid"]
    assert after[("Deployment", "default", "web")]["spec"]["replicas"] == 3
    assert all(int(o["metadata"]["resourceVersion"]) <= rv for o in before.values())
    made = c2.client.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "later"}})
    assert int(made["metadata"]["resourceVersion"]) > int(c2.engine.store.resource_version) - 1 > rv
    versions = [int(o["metadata"]["resourceVersion"]) for o in _objects(c2).values()]
    assert len(versions) == len(set(versions))  # never one handed out twice
    c2.close()


def test_a_restart_restarts_containers_like_minikube_start(tmp_path: Path) -> None:
    c = _workload(tmp_path / "c.db")
    pods = {p["metadata"]["name"]: p for p in c.api.list("Pod", "default")["items"]}
    svc = c.api.get("Service", "web", "default")
    c.close()
    c2 = Cluster(clock="virtual", seed=5, state=tmp_path / "c.db")
    c2.settle()
    now = {p["metadata"]["name"]: p for p in c2.api.list("Pod", "default")["items"]}
    assert set(now) == set(pods)  # the same pods, not new ones from the ReplicaSet
    for name, pod in now.items():
        st = pod["status"]["containerStatuses"][0]
        assert st["restartCount"] == pods[name]["status"]["containerStatuses"][0]["restartCount"] + 1
        assert st["lastState"]["terminated"]["exitCode"] == 255 and "running" in st["state"]
        assert pod["metadata"]["uid"] == pods[name]["metadata"]["uid"]
    events = c2.kubectl("get events --field-selector reason=SandboxChanged -o name").stdout.split()
    assert len(events) == len(pods)
    assert "Pod sandbox changed, it will be killed and re-created." in c2.kubectl("describe pods").stdout
    assert c2.api.get("Service", "web", "default")["spec"] == svc["spec"]  # ClusterIP and NodePort kept
    port = svc["spec"]["ports"][0]["nodePort"]
    clash = c2.kubectl(f"create service nodeport other --tcp=81:81 --node-port={port}")
    assert clash.returncode != 0 and "provided port is already allocated" in clash.stderr
    ip = c2.kubectl("get svc web -o jsonpath={.spec.clusterIP}").stdout
    clash = c2.kubectl(f"create service clusterip again --tcp=82:82 --clusterip={ip}")
    assert clash.returncode != 0 and "provided IP is already allocated" in clash.stderr
    c2.close()


def test_an_acknowledged_write_is_on_disk_before_the_call_returns(tmp_path: Path) -> None:
    c = Cluster(clock="virtual", seed=1, state=tmp_path / "c.db")
    c.kubectl("create configmap now --from-literal=a=1")
    c.kubectl("create configmap gone --from-literal=a=1")
    c.kubectl("delete configmap gone")
    other = sqlite3.connect(tmp_path / "c.db")  # another reader, while the cluster is still open
    names = {row[0] for row in other.execute("SELECT name FROM objects WHERE kind='ConfigMap'")}
    assert "now" in names
    assert "gone" not in names
    other.close()
    c.close()


def test_a_deleted_object_stays_deleted(tmp_path: Path) -> None:
    c = _workload(tmp_path / "c.db")
    assert c.kubectl("delete configmap cfg").returncode == 0
    c.close()
    c2 = Cluster(clock="virtual", state=tmp_path / "c.db")
    assert c2.kubectl("get configmap cfg").returncode == 1
    c2.close()


def test_an_unreadable_state_file_is_kept_aside_and_a_new_cluster_starts(tmp_path: Path, monkeypatch,
                                                                           capsys) -> None:
    import kubelab.notebook as nb

    (tmp_path / ".kubelab").mkdir()
    (tmp_path / ".kubelab" / "lesson.db").write_bytes(b"this is not a database" * 100)
    monkeypatch.delenv("KUBELAB_STATE", raising=False)
    monkeypatch.setenv("JPY_SESSION_NAME", str(tmp_path / "lesson.ipynb"))
    monkeypatch.setattr(nb, "_cluster", None)
    monkeypatch.setattr(nb, "_client", None)
    assert nb.state_path() == str(tmp_path / ".kubelab" / "lesson.db")
    cluster = nb._open(nb.state_path(), clock="virtual")
    said = capsys.readouterr().out
    assert said.startswith("could not read the cluster in ") and "a new cluster is ready" in said
    assert cluster.restored == 0 and cluster.api.get("Namespace", "default")
    assert len(list((tmp_path / ".kubelab").glob("lesson.unreadable-*.db"))) == 1
    cluster.close()
