"""Server-side apply and managedFields through the real kubectl 1.32 against the served cluster.

What is checked is what kube-apiserver 1.32 answers: the managedFields entry a create
records (defaulted fields included, ``.`` on nodes the zero object lacks), the conflict a
server-side apply meets on a field client-side apply owns (message and kubectl's advice),
``--force-conflicts`` taking the field over, pruning of fields an applier stops applying,
shared ownership of equal values, and ``kubectl diff`` (client- and server-side).
"""
from __future__ import annotations

import re

import pytest
import served

from kubelab import Cluster
from kubelab.api import managedfields
from kubelab.api.kinds import BY_KIND
from kubelab.server import serve
from test_server import DEPLOYMENT, KUBECTL, Kubectl

needs_kubectl = pytest.mark.skipif(KUBECTL is None, reason="no kubectl binary")

# What kube-apiserver records for `kubectl create deployment nginx --image=nginx`.
CREATE_FIELDS = {
    "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
    "f:spec": {
        "f:progressDeadlineSeconds": {}, "f:replicas": {}, "f:revisionHistoryLimit": {}, "f:selector": {},
        "f:strategy": {"f:rollingUpdate": {".": {}, "f:maxSurge": {}, "f:maxUnavailable": {}}, "f:type": {}},
        "f:template": {
            "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
            "f:spec": {
                "f:containers": {'k:{"name":"nginx"}': {
                    ".": {}, "f:image": {}, "f:imagePullPolicy": {}, "f:name": {}, "f:resources": {},
                    "f:terminationMessagePath": {}, "f:terminationMessagePolicy": {}}},
                "f:dnsPolicy": {}, "f:restartPolicy": {}, "f:schedulerName": {}, "f:securityContext": {},
                "f:terminationGracePeriodSeconds": {}}}},
}
ADVICE = """\
Please review the fields above--they currently have other managers. Here
are the ways you can resolve this warning:
* If you intend to manage all of these fields, please re-run the apply
  command with the `--force-conflicts` flag.
"""
_UID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
CONFIGMAP = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  PORT: "3000"
  MODE: fast
"""


@pytest.fixture
def cluster():
    return Cluster(clock="virtual")


@pytest.fixture
def kubectl(cluster, tmp_path):
    with serve(cluster) as server:
        yield Kubectl(server.kubeconfig, str(tmp_path))


def _managers(cluster: Cluster, kind: str, name: str) -> dict[str, dict]:
    obj = cluster.client.get(kind, name, "default" if BY_KIND[kind].namespaced else None)
    return {f'{m["manager"]}/{m["operation"]}': m for m in obj["metadata"].get("managedFields", [])}


def test_field_sets_paths_and_fields_v1():
    paths = {("f:spec", "f:replicas"), ("f:spec", "f:template", "f:spec", "f:containers", 'k:{"name":"a"}'),
             ("f:spec", "f:template", "f:spec", "f:containers", 'k:{"name":"a"}', "f:image"),
             ("f:metadata", "f:finalizers", 'v:"kubernetes"')}
    encoded = managedfields.encode(paths)
    assert encoded["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"a"}'] == {".": {}, "f:image": {}}
    assert managedfields.decode(encoded) == paths
    assert managedfields.path_string(("f:spec", "f:containers", 'k:{"name":"a"}', "f:image")) == \
        '.spec.containers[name="a"].image'
    assert managedfields.path_string(("f:ports", 'k:{"port":80,"protocol":"TCP"}')) == '.ports[port=80,protocol="TCP"]'
    assert managedfields.path_string(("f:finalizers", 'v:"kubernetes"')) == '.finalizers[="kubernetes"]'


def test_associative_lists_merge_by_key_keeping_live_only_items():
    schema = managedfields.kind_schema(BY_KIND["Pod"])
    live = {"spec": {"containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]}}
    config = {"spec": {"containers": [{"name": "c", "image": "z"}, {"name": "a", "image": "x2"}]}}
    merged = managedfields.merge(live, config, schema)
    assert merged["spec"]["containers"] == [{"name": "c", "image": "z"}, {"name": "a", "image": "x2"},
                                            {"name": "b", "image": "y"}]


@needs_kubectl
def test_create_records_the_managers_fields(kubectl, cluster):
    assert kubectl("create deployment nginx --image=nginx").returncode == 0
    entry = _managers(cluster, "Deployment", "nginx")["kubectl-create/Update"]
    assert entry["apiVersion"] == "apps/v1" and entry["fieldsType"] == "FieldsV1"
    assert entry["fieldsV1"] == CREATE_FIELDS
    assert entry["time"] == cluster.client.get("Deployment", "nginx", "default")["metadata"]["creationTimestamp"]
    shown = kubectl("get deployment nginx -o yaml")
    assert shown.returncode == 0 and "managedFields" not in shown.stdout
    assert "manager: kubectl-create" in kubectl("get deployment nginx -o yaml --show-managed-fields").stdout
    # kubelab's own kubectl hides them as well
    assert "managedFields" not in cluster.kubectl("get deployment nginx -o yaml").stdout


@needs_kubectl
def test_server_side_apply_conflicts_then_forces(kubectl, cluster):
    assert kubectl("apply -f -", stdin=DEPLOYMENT).returncode == 0
    five = DEPLOYMENT.replace("replicas: 3", "replicas: 5")
    result = kubectl("apply --server-side -f -", stdin=five)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith('error: Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" '
                                    "using apps/v1: .spec.replicas\n" + ADVICE)
    assert cluster.client.get("Deployment", "echo-server", "default")["spec"]["replicas"] == 3

    result = kubectl("apply --server-side --force-conflicts -f -", stdin=five)
    assert (result.returncode, result.stdout, result.stderr) == (0, "deployment.apps/echo-server serverside-applied\n", "")
    assert cluster.client.get("Deployment", "echo-server", "default")["spec"]["replicas"] == 5
    managers = _managers(cluster, "Deployment", "echo-server")
    assert "f:replicas" in managers["kubectl/Apply"]["fieldsV1"]["f:spec"]
    # ownership moved from kubectl-client-side-apply (kubectl also migrates its other fields)
    csa = managers.get("kubectl-client-side-apply/Update")
    assert csa is None or "f:replicas" not in csa["fieldsV1"].get("f:spec", {})


@needs_kubectl
def test_apply_creates_prunes_and_shares(kubectl, cluster):
    result = kubectl("apply --server-side -f -", stdin=CONFIGMAP)
    assert (result.returncode, result.stdout) == (0, "configmap/settings serverside-applied\n")
    managers = _managers(cluster, "ConfigMap", "settings")
    assert list(managers) == ["kubectl/Apply"]
    assert managers["kubectl/Apply"]["fieldsV1"] == {"f:data": {"f:MODE": {}, "f:PORT": {}}}

    # another manager applying an equal value shares it; a different one conflicts with "kubectl"
    other = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  PORT: "3000"\n'
    assert kubectl("apply --server-side --field-manager=tutor -f -", stdin=other).returncode == 0
    result = kubectl("apply --server-side --field-manager=tutor -f -", stdin=other.replace("3000", "4000"))
    assert result.returncode == 1
    assert result.stderr.startswith('error: Apply failed with 1 conflict: conflict with "kubectl": .data.PORT\n')

    # kubectl stops applying MODE: nobody else owns it, so it goes; PORT stays (tutor owns it too)
    result = kubectl("apply --server-side -f -", stdin=CONFIGMAP.replace("  MODE: fast\n", "").replace(
        "PORT: \"3000\"", "COLOR: blue"))
    assert result.returncode == 0, result.stderr
    assert cluster.client.get("ConfigMap", "settings", "default")["data"] == {"COLOR": "blue", "PORT": "3000"}


@needs_kubectl
def test_apply_patch_needs_a_field_manager(cluster):
    cluster.kubectl("apply -f -", stdin=CONFIGMAP)
    with serve(cluster) as server:
        code, status = served.request(server, "PATCH", "/api/v1/namespaces/default/configmaps/settings",
                                      CONFIGMAP.encode(), "application/apply-patch+yaml")
    assert code == 422
    assert status["message"] == ('PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: '
                                 "is required for apply patch")


@needs_kubectl
def test_diff_against_the_served_cluster(kubectl, cluster, tmp_path):
    manifest = tmp_path / "deployment.yaml"
    manifest.write_text(DEPLOYMENT)
    assert kubectl(f"apply -f {manifest}").returncode == 0
    unchanged = kubectl(f"diff -f {manifest}")
    assert (unchanged.returncode, unchanged.stdout, unchanged.stderr) == (0, "", "")
    manifest.write_text(DEPLOYMENT.replace("replicas: 3", "replicas: 4"))
    for extra in ("", "--server-side --force-conflicts "):
        changed = kubectl(f"diff {extra}-f {manifest}")
        assert changed.returncode == 1, changed.stderr
        body = [line for line in changed.stdout.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")]
        assert body == ["-  generation: 1", "+  generation: 2", "-  replicas: 3", "+  replicas: 4"], changed.stdout
    # nothing was changed by the dry runs
    live = cluster.client.get("Deployment", "echo-server", "default")
    assert live["spec"]["replicas"] == 3 and live["metadata"]["generation"] == 1


def _masked(text: str) -> str:
    """A diff's output without what differs from run to run: folder names and file times."""
    text = re.sub(r"/tmp/(LIVE|MERGED)-\d+", r"/tmp/\1-N", text)
    return re.sub(r"\t\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ [+-]\d{4}", "\tTIME", text)


@needs_kubectl
def test_kubelabs_own_diff_prints_what_the_real_one_prints(kubectl, cluster, tmp_path):
    deployment, secret, namespace = tmp_path / "d.yaml", tmp_path / "s.yaml", tmp_path / "n.yaml"
    deployment.write_text(DEPLOYMENT)
    namespace.write_text("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: zz\n")
    secret.write_text("apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\nstringData:\n  a: b\n")

    def same(command: str) -> None:
        theirs, ours = kubectl(command), cluster.kubectl(command)
        assert (theirs.returncode, _masked(theirs.stdout), theirs.stderr) == \
            (ours.returncode, _masked(ours.stdout), ours.stderr), command

    same(f"diff -f {deployment}")  # not there yet: everything is new
    same(f"diff -f {namespace} -f {secret}")  # cluster-scoped file name; masked Secret data
    assert kubectl(f"apply -f {deployment} -f {secret}").returncode == 0
    same(f"diff -f {deployment}")  # no differences, exit 0
    deployment.write_text(DEPLOYMENT.replace("replicas: 3", "replicas: 4"))
    secret.write_text("apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ndata:\n  a: Yw==\n  c: Yw==\n")
    same(f"diff -f {deployment} -f {secret}")
    same(f"diff --server-side --force-conflicts -f {deployment}")
    # a conflict: kubectl warns (klog) that it diffs without the lock, then fails with exit 2
    theirs, ours = kubectl(f"diff --server-side -f {deployment}"), cluster.kubectl(f"diff --server-side -f {deployment}")
    klog = re.compile(r"^W\d{4} \d\d:\d\d:\d\d\.\d{6} +\d+ ", re.M)
    assert (theirs.returncode, klog.sub("W ", theirs.stderr)) == (ours.returncode, klog.sub("W ", ours.stderr)) == \
        (2, 'W diff.go:723] Object (apps/v1, Kind=Deployment: echo-server) keeps changing, diffing without lock\n'
            'Error from server (Conflict): Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" '
            "using apps/v1: .spec.replicas\n")
    same(f"diff --show-managed-fields --server-side --force-conflicts -f {deployment}")
    same(f"diff {deployment}")  # usage errors exit 2
    same("diff")
    same(f"diff -f {tmp_path / 'missing.yaml'}")


@needs_kubectl
def test_kubelabs_own_apply_and_create_record_the_same_managers(tmp_path):
    """The same command lines through the real kubectl (served cluster) and kubelab's own (a
    twin): same output, and the same managedFields, spec and data after each step."""
    served, twin = Cluster(clock="virtual"), Cluster(clock="virtual")
    five = DEPLOYMENT.replace("replicas: 3", "replicas: 5")
    steps = [
        ("create deployment nginx --image=nginx", None, ("Deployment", "nginx")),
        ("apply -f -", DEPLOYMENT, ("Deployment", "echo-server")),
        ("apply --server-side -f -", five, ("Deployment", "echo-server")),  # conflict
        ("apply --server-side --dry-run=server --force-conflicts -f -", five, ("Deployment", "echo-server")),
        ("apply --server-side --force-conflicts -f -", five, ("Deployment", "echo-server")),  # + migration
        ("apply --server-side -f -", five.replace("  labels:\n    app: echo-server\nspec", "spec"),
         ("Deployment", "echo-server")),  # labels pruned
        ("apply --server-side --dry-run=client -f -", five, None),
        ("apply --force-conflicts -f -", five, None),
        ("apply --server-side -o yaml -f -", CONFIGMAP, ("ConfigMap", "settings")),
        ("apply --server-side --field-manager=tutor -f -", CONFIGMAP.replace("3000", "4000"), ("ConfigMap", "settings")),
        ("apply -f -", CONFIGMAP.replace("fast", "slower"), ("ConfigMap", "settings")),
        ("apply --server-side -f -", CONFIGMAP.replace("fast", "slowest"), ("ConfigMap", "settings")),
    ]

    def state(cluster: Cluster, kind: str, name: str) -> tuple:
        obj = cluster.client.get(kind, name, "default")
        return obj["metadata"].get("managedFields"), obj.get("spec"), obj.get("data"), obj["metadata"].get("labels")

    with serve(served) as server:
        kubectl = Kubectl(server.kubeconfig, str(tmp_path))
        for command, stdin, check in steps:
            theirs, ours = kubectl(command.split(), stdin=stdin), twin.kubectl(command, stdin=stdin)
            theirs_out = _UID.sub("UID", theirs.stdout)
            assert (theirs.returncode, theirs_out, theirs.stderr) == \
                (ours.returncode, _UID.sub("UID", ours.stdout), ours.stderr), command
            if check:
                assert state(served, *check) == state(twin, *check), command


@needs_kubectl
def test_kubelabs_own_commands_name_kubectls_field_managers(tmp_path):
    """label, annotate, set, rollout, expose, run and taint record the managers (and fields)
    the real kubectl's requests get; a pod's admission-filled fields (service account,
    priority, default tolerations) belong to nobody."""
    served, twin = Cluster(clock="virtual"), Cluster(clock="virtual")
    steps = [
        ("apply -f -", ("Deployment", "echo-server")),
        ("label deploy echo-server tier=web", ("Deployment", "echo-server")),
        ("annotate deploy echo-server note=hi", ("Deployment", "echo-server")),
        ("set image deploy/echo-server echo-server-container=nginx", ("Deployment", "echo-server")),
        ("set env deploy/echo-server A=B", ("Deployment", "echo-server")),
        ("rollout pause deploy/echo-server", ("Deployment", "echo-server")),
        ("expose deploy echo-server --port=80", ("Service", "echo-server")),
        ("run p --image=nginx --labels=app=p", ("Pod", "p")),
        ("taint node kubelab-m02 k=v:NoSchedule", ("Node", "kubelab-m02")),
    ]
    with serve(served) as server:
        kubectl = Kubectl(server.kubeconfig, str(tmp_path))
        for command, (kind, name) in steps:
            stdin = DEPLOYMENT if command.startswith("apply") else None
            theirs, ours = kubectl(command.split(), stdin=stdin), twin.kubectl(command, stdin=stdin)
            assert (theirs.returncode, theirs.stdout, theirs.stderr) == (ours.returncode, ours.stdout, ours.stderr)
            namespace = "default" if BY_KIND[kind].namespaced else None
            fields = [cluster.client.get(kind, name, namespace)["metadata"].get("managedFields")
                      for cluster in (served, twin)]
            assert fields[0] == fields[1], command
    pod = twin.client.get("Pod", "p", "default")
    owned = pod["metadata"]["managedFields"][0]["fieldsV1"]["f:spec"]
    assert pod["spec"]["serviceAccountName"] == "default" and "f:serviceAccountName" not in owned
    assert "f:tolerations" not in owned and "f:priority" not in owned and "f:enableServiceLinks" in owned


@needs_kubectl
def test_apply_prunes_list_items_and_defaults_what_it_drops(kubectl, cluster):
    two = DEPLOYMENT.replace("        image: kennship/http-echo\n", "        image: kennship/http-echo\n"
                             "      - name: side\n        image: busybox\n        env:\n        - name: A\n"
                             "          value: b\n")
    for manifest in (two, two.replace("        env:\n        - name: A\n          value: b\n", "")):
        assert kubectl("apply --server-side -f -", stdin=manifest).returncode == 0
    containers = cluster.client.get("Deployment", "echo-server", "default")["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["echo-server-container", "side"] and "env" not in containers[1]
    assert kubectl("apply --server-side -f -", stdin=DEPLOYMENT.replace("  replicas: 3\n", "")).returncode == 0
    spec = cluster.client.get("Deployment", "echo-server", "default")["spec"]
    assert [c["name"] for c in spec["template"]["spec"]["containers"]] == ["echo-server-container"]
    assert spec["replicas"] == 1  # nobody owns replicas any more: removed, then defaulted
