"""What the nodes keep on their disks survives a restart of a cluster with a state file
(virtual clock): PersistentVolume data, hostPath files, disk-backed emptyDirs of the pods that
come back, and the keys that sign ServiceAccount tokens; containers' own files do not."""
from __future__ import annotations

import json
import sqlite3
import ssl
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from kubelab import Cluster
from kubelab.engine.disks import Disks

CLAIM = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data"},
         "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}


def _pod(name: str, script: str, restart: str = "Never") -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"restartPolicy": restart,
                     "containers": [{"name": "c", "image": "busybox", "command": ["sh", "-c", script],
                                     "volumeMounts": [{"name": "claim", "mountPath": "/data"},
                                                      {"name": "host", "mountPath": "/host"},
                                                      {"name": "scratch", "mountPath": "/scratch"},
                                                      {"name": "ram", "mountPath": "/ram"}]}],
                     "volumes": [{"name": "claim", "persistentVolumeClaim": {"claimName": "data"}},
                                 {"name": "host", "hostPath": {"path": "/srv/notes", "type": "DirectoryOrCreate"}},
                                 {"name": "scratch", "emptyDir": {}},
                                 {"name": "ram", "emptyDir": {"medium": "Memory"}}]}}


def _open(path: Path) -> Cluster:
    return Cluster(clock="virtual", nodes="minikube", seed=4, state=path)


def _phase(c: Cluster, name: str) -> str:
    return c.api.get("Pod", name, "default")["status"].get("phase", "")


def test_a_pods_writes_into_a_claim_and_a_host_path_outlive_a_restart(tmp_path: Path) -> None:
    c = _open(tmp_path / "c.db")
    c.api.create(CLAIM, "default")
    c.api.create(_pod("writer", "echo hi > /data/f && echo there > /host/g"), "default")
    c.settle()
    assert _phase(c, "writer") == "Succeeded"
    c.close()
    c = _open(tmp_path / "c.db")
    assert c.restored
    assert c.kubectl("delete pod writer").returncode == 0  # the data does not need its writer
    c.api.create(_pod("reader", "cat /data/f /host/g"), "default")
    c.settle()
    assert _phase(c, "reader") == "Succeeded", c.kubectl("describe pod reader").stdout
    assert c.kubectl("logs reader").stdout == "hi\nthere\n"
    c.close()


def test_a_file_written_by_exec_is_on_disk_when_exec_returns(tmp_path: Path) -> None:
    c = _open(tmp_path / "c.db")
    c.api.create(CLAIM, "default")
    c.api.create(_pod("app", "sleep 3600", restart="Always"), "default")
    c.settle()
    assert c.kubectl("exec", "app", "--", "sh", "-c", "echo kept > /data/notes.txt").returncode == 0
    other = sqlite3.connect(tmp_path / "c.db")  # another reader while the cluster is still open
    rows = other.execute("SELECT disk, path, body FROM files WHERE path = ?", (b"notes.txt",)).fetchall()
    other.close()
    assert [(json.loads(d)[0], body) for d, _, body in rows] == [("pv", b"kept\n")]
    c.close()


def test_a_pod_that_comes_back_keeps_its_empty_dir_but_not_its_own_files(tmp_path: Path) -> None:
    """minikube stop/start: the pod (same uid) gets a new sandbox and new containers, so what
    the container wrote into its own filesystem and into a tmpfs (medium: Memory) is gone, while
    its disk-backed emptyDir stays under /var/lib/kubelet/pods/<uid> (kubernetes#53423)."""
    c = _open(tmp_path / "c.db")
    c.api.create(CLAIM, "default")
    c.api.create(_pod("app", "sleep 3600", restart="Always"), "default")
    c.settle()
    uid = c.api.get("Pod", "app", "default")["metadata"]["uid"]
    for target in ("/scratch/s", "/ram/r", "/tmp/t"):
        assert c.kubectl("exec", "app", "--", "sh", "-c", f"echo x > {target}").returncode == 0
    c.close()
    c = _open(tmp_path / "c.db")
    c.settle()
    assert c.api.get("Pod", "app", "default")["metadata"]["uid"] == uid
    assert c.kubectl("exec app -- cat /scratch/s").stdout == "x\n"
    for gone in ("/ram/r", "/tmp/t"):
        missing = c.kubectl(f"exec app -- cat {gone}")
        assert missing.returncode == 1 and f"cat: can't open '{gone}': No such file or directory" in missing.stderr
    # the emptyDir goes with its pod: a new pod of the same name starts with an empty one
    assert c.kubectl("delete pod app").returncode == 0
    c.settle()
    assert not [k for k in c.kubelet.disks if k[0] == "pod" and k[1] == uid]
    c.close()
    other = sqlite3.connect(tmp_path / "c.db")
    disks = [json.loads(d) for (d,) in other.execute("SELECT disk FROM disks")]
    other.close()
    assert not [d for d in disks if d[:2] == ["pod", uid]]


def test_a_reclaimed_volume_takes_its_files_from_the_state_file(tmp_path: Path) -> None:
    c = _open(tmp_path / "c.db")
    c.api.create(CLAIM, "default")
    c.api.create(_pod("writer", "echo hi > /data/f"), "default")
    c.settle()
    volume = c.api.get("PersistentVolumeClaim", "data", "default")["spec"]["volumeName"]
    assert c.kubectl("delete pod writer").returncode == 0
    assert c.kubectl("delete pvc data").returncode == 0  # the standard class's reclaimPolicy: Delete
    c.settle()
    assert c.kubectl(f"get pv {volume}").returncode == 1
    c.close()
    other = sqlite3.connect(tmp_path / "c.db")
    assert other.execute("SELECT count(*) FROM files WHERE disk LIKE ?", (f'%{volume}%',)).fetchone() == (0,)
    other.close()
    c = _open(tmp_path / "c.db")
    assert ("pv", volume) not in c.kubelet.disks
    c.close()


def _status(url: str, token: str, tls: ssl.SSLContext) -> int:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, context=tls, timeout=30) as answer:
            return answer.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_tokens_issued_before_a_restart_still_authenticate_after_it(tmp_path: Path) -> None:
    c = _open(tmp_path / "c.db")
    # cluster-admin for the account, so an authenticated request answers 200 (not 403)
    assert c.kubectl("create clusterrolebinding robot --clusterrole=cluster-admin "
                     "--serviceaccount=default:default").returncode == 0
    embedded = c.kubectl("create token default").stdout.strip()
    server = c.serve()
    request = urllib.request.Request(f"{server.url}/api/v1/namespaces/default/serviceaccounts/default/token",
                                     data=b'{"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest"}',
                                     headers={"Authorization": f"Bearer {server.token}",
                                              "Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, context=server.client_tls(), timeout=30) as answer:
        served = json.loads(answer.read())["status"]["token"]
    pods = f"{server.url}/api/v1/namespaces/default/pods"
    assert _status(pods, served, server.client_tls()) == 200
    server.close()
    c.close()

    c = _open(tmp_path / "c.db")
    server = c.serve()  # a new kernel serves on a new port with a new certificate
    try:
        pods, tls = f"{server.url}/api/v1/namespaces/default/pods", server.client_tls()
        assert _status(pods, embedded, tls) == 200
        assert _status(pods, served, tls) == 200
        other = Cluster(clock="virtual", nodes="minikube", seed=4, state=tmp_path / "other.db")
        stranger = other.kubectl("create token default").stdout.strip()  # same seed, another cluster
        other.close()
        assert _status(pods, stranger, tls) == 401
    finally:
        server.close()
        c.close()


def test_legacy_token_secrets_are_signed_alike_before_and_after(tmp_path: Path) -> None:
    secret = {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
              "metadata": {"name": "%s", "annotations": {"kubernetes.io/service-account.name": "default"}}}

    def header(c: Cluster, name: str) -> str:
        c.api.create(json.loads(json.dumps(secret).replace("%s", name)), "default")
        c.settle()
        import base64

        token = base64.b64decode(c.api.get("Secret", name, "default")["data"]["token"]).decode()
        return token.split(".")[0]  # the JWT header: its kid names the signing key

    c = _open(tmp_path / "c.db")
    before = header(c, "first")
    c.close()
    c = _open(tmp_path / "c.db")
    assert header(c, "second") == before
    c.close()


def test_disks_note_only_the_files_that_changed_and_stay_bounded() -> None:
    disks = Disks(limit=20)
    disks.tracking = True
    a = disks.open(("pv", "a"), {"one": "1"})
    b = disks.open(("pv", "b"))
    assert disks.take() == ([], [("pv", "a"), ("pv", "b")], [(("pv", "a"), "one", "1")])
    a["two"] = "22"
    a["two"] += "2"
    del a["one"]
    assert disks.take() == ([], [], [(("pv", "a"), "two", "222"), (("pv", "a"), "one", None)])
    assert disks.take() == ([], [], [])
    with pytest.raises(OSError, match="No space left on device"):
        b["big"] = "x" * 18
    assert "big" not in b and disks.used == 3
    b.write("log", "x" * 17)
    with pytest.raises(OSError, match="No space left on device"):
        b.write("log", "y", append=True)  # refused before the file is copied
    assert b["log"] == "x" * 17
    del b["log"]
    disks.drop(("pv", "a"))
    assert disks.used == 0
    b["big"] = "x" * 18  # the space came back
    assert disks.take() == ([("pv", "a")], [], [(("pv", "b"), "log", None), (("pv", "b"), "big", "x" * 18)])


def test_a_full_disk_fails_the_write_as_a_shell_sees_it(tmp_path: Path) -> None:
    c = _open(tmp_path / "c.db")
    c.api.create(CLAIM, "default")
    c.api.create(_pod("app", "sleep 3600", restart="Always"), "default")
    c.settle()
    c.kubelet.disks.limit = c.kubelet.disks.used + 10
    full = c.kubectl("exec", "app", "--", "sh", "-c", "echo 0123456789abcdef > /data/big")
    assert full.returncode == 1 and full.stderr.startswith("sh: write error: No space left on device"), full
    assert c.kubectl("exec app -- cat /data/big").stdout == ""  # opened and emptied, then the write failed
    assert c.kubectl("exec", "app", "--", "sh", "-c", "echo small > /data/small").returncode == 0
    c.close()


def test_a_node_that_reboots_keeps_its_pods_empty_dirs() -> None:
    c = Cluster(clock="virtual", nodes=2, seed=4)
    pod = _pod("app", "sleep 3600", restart="Always")
    pod["spec"]["volumes"] = [{"name": n, "emptyDir": {}} for n in ("claim", "host", "scratch", "ram")]
    c.api.create(pod, "default")
    c.settle()
    node = c.api.get("Pod", "app", "default")["spec"]["nodeName"]
    assert c.kubectl("exec", "app", "--", "sh", "-c", "echo x > /scratch/s").returncode == 0
    c.stop_node(node)
    c.advance(10)
    c.start_node(node)
    c.settle()
    assert c.kubectl("exec app -- cat /scratch/s").stdout == "x\n"
    c.close()


def test_a_state_file_from_before_disks_were_kept_opens_and_keeps_them_from_then_on(tmp_path: Path) -> None:
    c = _open(tmp_path / "c.db")
    c.api.create(CLAIM, "default")
    c.close()
    old = sqlite3.connect(tmp_path / "c.db")
    old.executescript("DROP TABLE disks; DROP TABLE files; DROP TABLE secrets;")
    old.close()
    c = _open(tmp_path / "c.db")
    assert c.restored and c.api.get("PersistentVolumeClaim", "data", "default")
    c.api.create(_pod("writer", "echo hi > /data/f"), "default")
    c.settle()
    c.close()
    c = _open(tmp_path / "c.db")
    c.api.create(_pod("reader", "cat /data/f"), "default")
    c.settle()
    assert c.kubectl("logs reader").stdout == "hi\n"
    c.close()


def test_an_empty_directory_made_in_a_claim_is_there_for_the_next_pod(tmp_path: Path) -> None:
    c = _open(tmp_path / "c.db")
    c.api.create(CLAIM, "default")
    c.api.create(_pod("maker", "mkdir /data/empty && mkdir /data/empty/inner"), "default")
    c.settle()
    assert _phase(c, "maker") == "Succeeded", c.kubectl("logs maker").stdout
    c.close()
    c = _open(tmp_path / "c.db")
    c.api.create(_pod("looker", "ls /data; ls /data/empty; cat /data/empty"), "default")
    c.settle()
    logs = c.kubectl("logs looker").stdout
    assert logs.splitlines()[:2] == ["empty", "inner"], logs
    assert "Is a directory" in logs, logs
    c.close()
