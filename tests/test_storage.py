"""Storage as a 1.32 cluster with minikube's addons has it: PersistentVolumes, claims, the
default ``standard`` StorageClass and its hostpath provisioner, binding, reclaiming, the
protection finalizers, pods that wait for their claims, data that outlives a pod, hostPath
and emptyDir semantics, StatefulSet claim templates. Engine tests run on the virtual clock;
the last ones compare get/describe/-o wide with the real kubectl 1.32 through the served API.
"""
from __future__ import annotations

import time

import pytest

from kubelab import Cluster
from kubelab.engine.clock import VirtualClock
from kubelab.server import serve
from test_against_kubectl import same, same_at_wall_clock
from test_server import KUBECTL, Kubectl


def apply(cluster: Cluster, manifest: str) -> None:
    r = cluster.kubectl("apply -f -", stdin=manifest)
    assert r.returncode == 0, r.stderr
    cluster.settle()


def get(cluster: Cluster, kind: str, name: str, ns: str | None = "default") -> dict:
    return cluster.api.get(kind, name, ns)


def claim(name: str, size: str = "1Gi", extra: str = "", modes: str = "[ReadWriteOnce]") -> str:
    return f"""
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {{name: {name}}}
spec:
  accessModes: {modes}
  resources: {{requests: {{storage: {size}}}}}
{extra}
"""


def volume(name: str, size: str = "1Gi", extra: str = "", labels: str = "{}") -> str:
    return f"""
apiVersion: v1
kind: PersistentVolume
metadata: {{name: {name}, labels: {labels}}}
spec:
  capacity: {{storage: {size}}}
  accessModes: [ReadWriteOnce]
  storageClassName: manual
  hostPath: {{path: /mnt/{name}}}
{extra}
"""


def pod(name: str, claim_name: str, command: str = "sleep 3600", node: str = "") -> str:
    placed = f"\n  nodeName: {node}" if node else ""
    return f"""
apiVersion: v1
kind: Pod
metadata: {{name: {name}}}
spec:{placed}
  containers:
  - name: c
    image: busybox:1.36
    command: [sh, -c, "{command}"]
    volumeMounts: [{{name: data, mountPath: /data}}]
  volumes:
  - name: data
    persistentVolumeClaim: {{claimName: {claim_name}}}
"""


# a local volume on two of the nodes (the docs' local-storage example, in short)
LOCAL = """
apiVersion: v1
kind: PersistentVolume
metadata: {name: local-disk}
spec:
  capacity: {storage: 5Gi}
  accessModes: [ReadWriteOnce]
  storageClassName: local-storage
  local: {path: /mnt/disks/ssd1}
  nodeAffinity:
    required:
      nodeSelectorTerms:
      - matchExpressions:
        - {key: kubernetes.io/hostname, operator: In, values: [kubelab-m02, kubelab-m03]}
        - {key: disktype, operator: Exists}
"""


@pytest.fixture
def cluster() -> Cluster:
    return Cluster(clock="virtual", seed=7)


# -- kinds, defaults, validation ------------------------------------------------------------
def test_default_storage_class_exists_at_boot(cluster):
    sc = get(cluster, "StorageClass", "standard", None)
    assert sc["provisioner"] == "k8s.io/minikube-hostpath"
    assert sc["reclaimPolicy"] == "Delete" and sc["volumeBindingMode"] == "Immediate"
    assert sc["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true"
    out = cluster.kubectl("get sc").stdout.splitlines()
    assert out[0].split() == ["NAME", "PROVISIONER", "RECLAIMPOLICY", "VOLUMEBINDINGMODE", "ALLOWVOLUMEEXPANSION",
                              "AGE"]
    assert out[1].split()[:6] == ["standard", "(default)", "k8s.io/minikube-hostpath", "Delete", "Immediate", "false"]


def test_short_names_and_defaults(cluster):
    apply(cluster, volume("pv1") + "---" + claim("c1", extra="  storageClassName: nobody-has-it"))
    pv, pvc = get(cluster, "PersistentVolume", "pv1", None), get(cluster, "PersistentVolumeClaim", "c1")
    assert pv["spec"]["persistentVolumeReclaimPolicy"] == "Retain" and pv["spec"]["volumeMode"] == "Filesystem"
    assert pv["spec"]["hostPath"]["type"] == ""
    assert pv["metadata"]["finalizers"] == ["kubernetes.io/pv-protection"]
    assert pvc["metadata"]["finalizers"] == ["kubernetes.io/pvc-protection"]
    assert pvc["spec"]["volumeMode"] == "Filesystem" and pvc["status"]["phase"] == "Pending"
    assert cluster.kubectl("get pv -o name").stdout == "persistentvolume/pv1\n"
    assert cluster.kubectl("get pvc -o name").stdout == "persistentvolumeclaim/c1\n"
    assert cluster.kubectl("get storageclass -o name").stdout == "storageclass.storage.k8s.io/standard\n"


def test_default_storage_class_admission(cluster):
    apply(cluster, claim("unset") + "---" + claim("empty", extra='  storageClassName: ""'))
    assert get(cluster, "PersistentVolumeClaim", "unset")["spec"]["storageClassName"] == "standard"
    # an empty class asks for a volume without a class: DefaultStorageClass leaves it alone
    assert get(cluster, "PersistentVolumeClaim", "empty")["spec"]["storageClassName"] == ""


@pytest.mark.parametrize("manifest, message", [
    (claim("x", modes="[]"), 'The PersistentVolumeClaim "x" is invalid: '
                             "spec.accessModes: Required value: at least 1 access mode is required\n"),
    ("apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: x}\nspec: {accessModes: [ReadWriteOnce]}\n",
     'The PersistentVolumeClaim "x" is invalid: spec.resources[storage]: Required value\n'),
    (claim("x", modes="[ReadWriteSometimes]"),
     'The PersistentVolumeClaim "x" is invalid: spec.accessModes: Unsupported value: "ReadWriteSometimes": '
     'supported values: "ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"\n'),
    (claim("x", size="0"), 'The PersistentVolumeClaim "x" is invalid: spec.resources[storage]: '
                           'Invalid value: "0": must be greater than zero\n'),
    ("apiVersion: v1\nkind: PersistentVolume\nmetadata: {name: x}\nspec: {accessModes: [ReadWriteOnce]}\n",
     'The PersistentVolume "x" is invalid: \n* spec.capacity: Required value\n'
     "* spec: Required value: must specify a volume type\n"),
    (volume("x", extra="  persistentVolumeReclaimPolicy: Keep"),
     'The PersistentVolume "x" is invalid: spec.persistentVolumeReclaimPolicy: Unsupported value: "Keep": '
     'supported values: "Delete", "Recycle", "Retain"\n'),
    ("apiVersion: v1\nkind: PersistentVolume\nmetadata: {name: x}\n"
     "spec: {capacity: {storage: 1Gi}, accessModes: [ReadWriteOnce], hostPath: {path: /x, type: Folder}}\n",
     'The PersistentVolume "x" is invalid: spec.hostPath.type: Unsupported value: "Folder": supported values: '
     '"", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate", "File", "FileOrCreate", "Socket"\n'),
    (LOCAL.replace("  nodeAffinity:", "  nodeAffinityX:").split("  nodeAffinityX:")[0],
     'The PersistentVolume "local-disk" is invalid: spec.nodeAffinity: Required value: '
     "Local volume requires node affinity\n"),
    ("apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: {name: x}\nvolumeBindingMode: Later\n",
     'The StorageClass "x" is invalid: \n* provisioner: Required value\n'
     '* volumeBindingMode: Unsupported value: "Later": supported values: "Immediate", "WaitForFirstConsumer"\n'),
])
def test_validation_messages(cluster, manifest, message):
    r = cluster.kubectl("apply -f -", stdin=manifest)
    assert (r.returncode, r.stderr) == (1, message)


def test_pod_volume_sources_are_validated(cluster):
    r = cluster.kubectl("apply -f -", stdin=pod("p", '""').replace(
        "  - name: data\n", "  - name: host\n    hostPath: {path: /x, type: Folder}\n  - name: data\n"))
    assert (r.returncode, r.stderr) == (1, 'The Pod "p" is invalid: \n'
                                           '* spec.volumes[0].hostPath.type: Unsupported value: "Folder": supported '
                                           'values: "", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate", '
                                           '"File", "FileOrCreate", "Socket"\n'
                                           "* spec.volumes[1].persistentVolumeClaim.claimName: Required value\n")


def test_storage_class_updates_are_forbidden(cluster):
    r = cluster.kubectl("patch sc standard -p '{\"provisioner\":\"other.io/x\",\"reclaimPolicy\":\"Retain\"}'")
    assert r.returncode == 1
    assert r.stderr == ('The StorageClass "standard" is invalid: \n'
                        "* provisioner: Forbidden: updates to provisioner are forbidden.\n"
                        "* reclaimPolicy: Forbidden: updates to reclaimPolicy are forbidden.\n")


def test_resizing_needs_a_class_that_allows_expansion(cluster):
    apply(cluster, claim("c1"))
    r = cluster.kubectl("patch pvc c1 -p '{\"spec\":{\"resources\":{\"requests\":{\"storage\":\"2Gi\"}}}}'")
    assert (r.returncode, r.stderr) == (1, 'Error from server (Forbidden): persistentvolumeclaims "c1" is forbidden: '
                                           "only dynamically provisioned pvc can be resized and the storageclass that "
                                           "provisions the pvc must support resize\n")
    assert cluster.kubectl("patch sc standard -p '{\"allowVolumeExpansion\":true}'").returncode == 0
    r = cluster.kubectl("patch pvc c1 -p '{\"spec\":{\"resources\":{\"requests\":{\"storage\":\"2Gi\"}}}}'")
    assert r.returncode == 0, r.stderr


def test_bound_claim_spec_is_immutable(cluster):
    apply(cluster, claim("c1"))
    r = cluster.kubectl("patch pvc c1 -p '{\"spec\":{\"accessModes\":[\"ReadWriteMany\"]}}'")
    assert r.returncode == 1
    assert "spec: Forbidden: spec is immutable after creation except resources.requests" in r.stderr


# -- binding and provisioning -----------------------------------------------------------------
def test_claim_binds_to_the_smallest_matching_volume(cluster):
    apply(cluster, volume("big", "10Gi") + "---" + volume("small", "2Gi") + "---" + volume("tiny", "1Mi")
          + "---" + claim("c1", "1Gi", "  storageClassName: manual"))
    pvc = get(cluster, "PersistentVolumeClaim", "c1")
    assert pvc["spec"]["volumeName"] == "small"
    assert pvc["status"] == {"phase": "Bound", "accessModes": ["ReadWriteOnce"], "capacity": {"storage": "2Gi"}}
    annotations = pvc["metadata"]["annotations"]
    assert (annotations["pv.kubernetes.io/bind-completed"], annotations["pv.kubernetes.io/bound-by-controller"]) == (
        "yes", "yes")
    pv = get(cluster, "PersistentVolume", "small", None)
    assert pv["status"]["phase"] == "Bound"
    ref = pv["spec"]["claimRef"]
    assert (ref["kind"], ref["namespace"], ref["name"], ref["uid"]) == (
        "PersistentVolumeClaim", "default", "c1", pvc["metadata"]["uid"])
    assert get(cluster, "PersistentVolume", "big", None)["status"]["phase"] == "Available"


def test_claim_naming_its_volume(cluster):
    apply(cluster, volume("mine") + "---" + volume("other") + "---"
          + claim("c1", extra="  storageClassName: manual\n  volumeName: mine"))
    pvc, pv = get(cluster, "PersistentVolumeClaim", "c1"), get(cluster, "PersistentVolume", "mine", None)
    assert pvc["status"]["phase"] == "Bound" and pv["spec"]["claimRef"]["uid"] == pvc["metadata"]["uid"]
    # the user pointed the claim at the volume; the controller pointed the volume at the claim
    assert "pv.kubernetes.io/bound-by-controller" not in pvc["metadata"]["annotations"]
    assert pv["metadata"]["annotations"]["pv.kubernetes.io/bound-by-controller"] == "yes"
    assert get(cluster, "PersistentVolume", "other", None)["status"]["phase"] == "Available"


def test_selector_and_access_modes_narrow_the_match(cluster):
    apply(cluster, volume("plain", "5Gi") + "---" + volume("gold", "5Gi", labels="{tier: gold}")
          + "---" + claim("c1", extra="  storageClassName: manual\n  selector: {matchLabels: {tier: gold}}")
          + "---" + claim("rwx", extra="  storageClassName: manual", modes="[ReadWriteMany]"))
    assert get(cluster, "PersistentVolumeClaim", "c1")["spec"]["volumeName"] == "gold"
    rwx = get(cluster, "PersistentVolumeClaim", "rwx")
    assert rwx["status"]["phase"] == "Pending" and "volumeName" not in rwx["spec"]
    events = cluster.kubectl("get events --field-selector involvedObject.name=rwx -o "
                             "custom-columns=R:.reason,M:.message --no-headers").stdout
    # a class nobody made: the binder says so, as kube-controller-manager does
    assert events == 'ProvisioningFailed   storageclass.storage.k8s.io "manual" not found\n'


def test_claim_without_class_and_volume_reports_failed_binding(cluster):
    apply(cluster, claim("lonely", extra='  storageClassName: ""'))
    out = cluster.kubectl("describe pvc lonely").stdout
    assert "no persistent volumes available for this claim and no storage class is set" in out


def test_unbound_claim_is_synced_every_15_seconds(cluster):
    apply(cluster, claim("lonely", extra='  storageClassName: ""'))
    cluster.advance(120)
    event = next(e for e in cluster.api.list("Event", "default")["items"] if e["reason"] == "FailedBinding")
    assert event["count"] == 9  # at creation, then every 15 s for two minutes
    apply(cluster, volume("late").replace("storageClassName: manual", 'storageClassName: ""'))
    assert get(cluster, "PersistentVolumeClaim", "lonely")["spec"]["volumeName"] == "late"
    cluster.advance(60)
    assert cluster.api.get("Event", event["metadata"]["name"], "default")["count"] == 9


def test_dynamic_provisioning_as_minikube(cluster):
    apply(cluster, claim("data", "3Gi"))
    pvc = get(cluster, "PersistentVolumeClaim", "data")
    uid = pvc["metadata"]["uid"]
    assert pvc["spec"]["volumeName"] == f"pvc-{uid}"
    assert pvc["metadata"]["annotations"]["volume.kubernetes.io/storage-provisioner"] == "k8s.io/minikube-hostpath"
    pv = get(cluster, "PersistentVolume", f"pvc-{uid}", None)
    assert pv["spec"]["hostPath"] == {"path": "/tmp/hostpath-provisioner/default/data", "type": ""}
    assert pv["spec"]["persistentVolumeReclaimPolicy"] == "Delete"
    assert pv["spec"]["storageClassName"] == "standard"
    assert pv["spec"]["capacity"] == {"storage": "3Gi"}
    assert pv["metadata"]["annotations"]["pv.kubernetes.io/provisioned-by"] == "k8s.io/minikube-hostpath"
    reasons = [(e["reason"], e["message"]) for e in cluster.api.list("Event", "default")["items"]
               if e["involvedObject"]["name"] == "data"]
    assert ("ProvisioningSucceeded", f"Successfully provisioned volume pvc-{uid}") in reasons
    assert ("Provisioning", 'External provisioner is provisioning volume for claim "default/data"') in reasons
    assert any(r == "ExternalProvisioning" and "external provisioner 'k8s.io/minikube-hostpath'" in m
               for r, m in reasons)


def test_reclaim_delete_removes_the_volume_and_retain_keeps_it_released(cluster):
    apply(cluster, claim("dyn") + "---" + volume("kept") + "---" + claim("manual", extra="  storageClassName: manual"))
    dyn_pv = get(cluster, "PersistentVolumeClaim", "dyn")["spec"]["volumeName"]
    cluster.kubectl("delete pvc dyn manual")
    cluster.settle()
    assert cluster.engine.store.get("PersistentVolume", "", dyn_pv) is None
    kept = get(cluster, "PersistentVolume", "kept", None)
    assert kept["status"]["phase"] == "Released"
    # a Released volume keeps its claimRef, so a new claim of the same name does not get it
    apply(cluster, claim("manual", extra="  storageClassName: manual"))
    assert get(cluster, "PersistentVolumeClaim", "manual")["status"]["phase"] == "Pending"


def test_claim_in_use_stays_terminating_until_its_pod_goes(cluster):
    apply(cluster, claim("data") + "---" + pod("user", "data"))
    assert get(cluster, "Pod", "user")["status"]["phase"] == "Running"
    cluster.kubectl("delete pvc data --wait=false")
    cluster.settle()
    pvc = get(cluster, "PersistentVolumeClaim", "data")
    assert pvc["metadata"]["deletionTimestamp"]
    assert "Terminating" in cluster.kubectl("get pvc data").stdout
    assert "Used By:       user" in cluster.kubectl("describe pvc data").stdout
    cluster.kubectl("delete pod user")
    cluster.settle()
    assert cluster.engine.store.get("PersistentVolumeClaim", "default", "data") is None
    assert cluster.engine.store.list("PersistentVolume") == []


def test_bound_volume_stays_terminating_while_bound(cluster):
    apply(cluster, volume("pv1") + "---" + claim("c1", extra="  storageClassName: manual"))
    cluster.kubectl("delete pv pv1 --wait=false")
    cluster.settle()
    assert get(cluster, "PersistentVolume", "pv1", None)["metadata"]["deletionTimestamp"]
    cluster.kubectl("delete pvc c1")
    cluster.settle()
    assert cluster.engine.store.get("PersistentVolume", "", "pv1") is None


def test_wait_for_first_consumer(cluster):
    apply(cluster, """
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: local}
provisioner: k8s.io/minikube-hostpath
volumeBindingMode: WaitForFirstConsumer
""" + "---" + claim("late", extra="  storageClassName: local"))
    assert get(cluster, "PersistentVolumeClaim", "late")["status"]["phase"] == "Pending"
    assert "waiting for first consumer to be created before binding" in cluster.kubectl("describe pvc late").stdout
    apply(cluster, pod("p", "late"))
    p, pvc = get(cluster, "Pod", "p"), get(cluster, "PersistentVolumeClaim", "late")
    assert p["status"]["phase"] == "Running" and pvc["status"]["phase"] == "Bound"
    assert pvc["metadata"]["annotations"]["volume.kubernetes.io/selected-node"] == p["spec"]["nodeName"]


def test_namespace_deletion_takes_its_claims_and_their_volumes(cluster):
    cluster.kubectl("create namespace team")
    for manifest in (claim("data"), pod("user", "data")):
        assert cluster.kubectl("apply -n team -f -", stdin=manifest).returncode == 0
    cluster.settle()
    assert cluster.kubectl("delete namespace team").returncode == 0
    cluster.settle()
    assert cluster.engine.store.get("Namespace", "", "team") is None
    assert cluster.engine.store.list("PersistentVolume") == []


# -- pods ------------------------------------------------------------------------------------------
def test_pod_waits_for_a_missing_claim_then_runs(cluster):
    apply(cluster, pod("p", "later"))
    p = get(cluster, "Pod", "p")
    assert p["status"]["phase"] == "Pending" and not p["spec"].get("nodeName")
    want = ('0/3 nodes are available: persistentvolumeclaim "later" not found. preemption: 0/3 nodes are '
            "available: 3 Preemption is not helpful for scheduling.")
    cond = next(c for c in p["status"]["conditions"] if c["type"] == "PodScheduled")
    assert (cond["status"], cond["reason"], cond["message"]) == ("False", "Unschedulable", want)
    events = [e for e in cluster.api.list("Event", "default")["items"] if e["reason"] == "FailedScheduling"]
    assert [e["message"] for e in events] == [want] and events[0]["count"] == 1
    apply(cluster, claim("later"))
    assert get(cluster, "Pod", "p")["status"]["phase"] == "Running"


def test_pod_waits_for_an_unbound_immediate_claim(cluster):
    apply(cluster, claim("manual", extra="  storageClassName: manual") + "---" + pod("p", "manual"))
    cond = next(c for c in get(cluster, "Pod", "p")["status"]["conditions"] if c["type"] == "PodScheduled")
    assert cond["message"] == ("0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims. "
                               "preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.")
    apply(cluster, volume("pv1"))
    assert get(cluster, "Pod", "p")["status"]["phase"] == "Running"


def test_pod_goes_where_its_local_volume_is(cluster):
    apply(cluster, LOCAL.replace("kubelab-m02, kubelab-m03", "kubelab-m03").replace(
        "        - {key: disktype, operator: Exists}\n", "")
          + "---" + claim("fast", extra="  storageClassName: local-storage") + "---" + pod("p", "fast"))
    assert get(cluster, "Pod", "p")["spec"]["nodeName"] == "kubelab-m03"


def test_volume_node_affinity_conflict(cluster):
    apply(cluster, LOCAL + "---" + claim("fast", extra="  storageClassName: local-storage") + "---" + pod("p", "fast"))
    cond = next(c for c in get(cluster, "Pod", "p")["status"]["conditions"] if c["type"] == "PodScheduled")
    assert cond["message"] == ("0/3 nodes are available: 3 node(s) had volume node affinity conflict. preemption: "
                               "0/3 nodes are available: 3 Preemption is not helpful for scheduling.")
    cluster.kubectl("label node kubelab-m02 disktype=ssd")
    cluster.settle()
    assert get(cluster, "Pod", "p")["spec"]["nodeName"] == "kubelab-m02"


def test_data_in_a_claim_survives_the_pod(cluster):
    apply(cluster, claim("data") + "---" + pod("writer", "data", "echo one >> /data/log; sleep 3600"))
    assert cluster.kubectl("exec writer -- cat /data/log").stdout == "one\n"
    first_node = get(cluster, "Pod", "writer")["spec"]["nodeName"]
    cluster.kubectl("delete pod writer")
    cluster.settle()
    # the next pod, on another node even, reads what the first one wrote
    other = next(n["metadata"]["name"] for n in cluster.engine.store.list("Node") if n["metadata"]["name"] != first_node)
    apply(cluster, pod("reader", "data", "echo two >> /data/log; sleep 3600", node=other))
    assert cluster.kubectl("exec reader -- cat /data/log").stdout == "one\ntwo\n"


def test_data_goes_with_a_deleted_volume(cluster):
    apply(cluster, claim("data") + "---" + pod("w", "data", "echo x > /data/f; sleep 3600"))
    cluster.kubectl("delete pod w")
    cluster.kubectl("delete pvc data")
    cluster.settle()
    apply(cluster, claim("data") + "---" + pod("w", "data"))
    r = cluster.kubectl("exec w -- cat /data/f")
    assert r.returncode == 1 and "No such file or directory" in r.stderr


def test_read_only_claim_mount(cluster):
    apply(cluster, claim("data") + "---" + pod("w", "data").replace("claimName: data}", "claimName: data, readOnly: true}"))
    r = cluster.kubectl("exec w -- sh -c 'echo x > /data/f'")
    assert r.returncode != 0 and "Read-only file system" in r.stderr


def host_path_pod(name: str, path: str, kind: str, node: str, command: str = "sleep 3600",
                  mount: str = "/host") -> str:
    return f"""
apiVersion: v1
kind: Pod
metadata: {{name: {name}}}
spec:
  nodeName: {node}
  containers:
  - name: c
    image: busybox:1.36
    command: [sh, -c, "{command}"]
    volumeMounts: [{{name: h, mountPath: {mount}}}]
  volumes:
  - name: h
    hostPath: {{path: {path}, type: "{kind}"}}
"""


@pytest.mark.parametrize("kind, path, why", [
    ("File", "/etc/app.conf", "/etc/app.conf is not a file"),
    ("Directory", "/srv/missing", "/srv/missing is not a directory"),
    ("Socket", "/run/app.sock", "/run/app.sock is not a socket file"),
    ("CharDevice", "/dev/nothing", "/dev/nothing is not a character device"),
    ("BlockDevice", "/dev/sdz", "/dev/sdz is not a block device"),
])
def test_host_path_type_check_failures(cluster, kind, path, why):
    apply(cluster, host_path_pod("h", path, kind, "kubelab"))
    p = get(cluster, "Pod", "h")
    assert p["status"]["containerStatuses"][0]["state"]["waiting"]["reason"] == "ContainerCreating"
    out = cluster.kubectl("describe pod h").stdout
    assert f'MountVolume.SetUp failed for volume "h" : hostPath type check failed: {why}' in out


def test_failed_mount_is_retried_with_back_off(cluster):
    apply(cluster, host_path_pod("h", "/srv/later", "Directory", "kubelab"))
    cluster.advance(120)
    event = next(e for e in cluster.api.list("Event", "default")["items"] if e["reason"] == "FailedMount")
    assert event["count"] == 8  # 0.5 s doubling: 0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5, 63.5 s
    apply(cluster, host_path_pod("maker", "/srv/later", "DirectoryOrCreate", "kubelab"))
    cluster.advance(130)  # the next try (2m2s at most) finds the directory
    assert get(cluster, "Pod", "h")["status"]["phase"] == "Running"


def test_host_path_lives_on_the_node(cluster):
    apply(cluster, host_path_pod("a", "/srv/shared", "DirectoryOrCreate", "kubelab-m02", "echo hi > /host/x; sleep 3600"))
    apply(cluster, host_path_pod("b", "/srv/shared", "Directory", "kubelab-m02"))
    assert cluster.kubectl("exec b -- cat /host/x").stdout == "hi\n"
    apply(cluster, host_path_pod("c", "/srv/shared", "DirectoryOrCreate", "kubelab-m03"))
    r = cluster.kubectl("exec c -- cat /host/x")  # another node, another disk
    assert r.returncode == 1 and "No such file or directory" in r.stderr
    cluster.kubectl("delete pod a b")
    cluster.settle()
    apply(cluster, host_path_pod("d", "/srv/shared", "Directory", "kubelab-m02"))
    assert cluster.kubectl("exec d -- cat /host/x").stdout == "hi\n"


def test_host_path_file_mounts_a_file(cluster):
    apply(cluster, host_path_pod("f", "/var/log/app.log", "FileOrCreate", "kubelab",
                                 "echo line >> /log/app.log; sleep 3600", mount="/log/app.log"))
    assert cluster.kubectl("exec f -- cat /log/app.log").stdout == "line\n"
    assert cluster.kubectl("exec f -- test -d /log/app.log").returncode == 1
    assert cluster.kubectl("exec f -- test -f /log/app.log").returncode == 0
    apply(cluster, host_path_pod("g", "/var/log/app.log", "File", "kubelab", mount="/in"))
    assert cluster.kubectl("exec g -- cat /in").stdout == "line\n"
    apply(cluster, host_path_pod("e", "/etc/hosts", "File", "kubelab", mount="/etc/hosts"))
    assert "localhost" in cluster.kubectl("exec e -- cat /etc/hosts").stdout
    # the docs' basic-daemonset.yaml mounts the node's machine id, which every node has
    apply(cluster, host_path_pod("m", "/etc/machine-id", "File", "kubelab", mount="/etc/machine-id"))
    assert len(cluster.kubectl("exec m -- cat /etc/machine-id").stdout.strip()) == 32


def test_empty_dir_is_shared_by_containers_and_goes_with_the_pod(cluster):
    manifest = """
apiVersion: v1
kind: Pod
metadata: {name: two}
spec:
  containers:
  - {name: a, image: busybox:1.36, command: [sh, -c, "echo from-a > /cache/f; sleep 3600"],
     volumeMounts: [{name: cache, mountPath: /cache}]}
  - {name: b, image: busybox:1.36, command: [sleep, "3600"], volumeMounts: [{name: cache, mountPath: /c}]}
  volumes:
  - {name: cache, emptyDir: {}}
"""
    apply(cluster, manifest)
    assert cluster.kubectl("exec two -c b -- cat /c/f").stdout == "from-a\n"
    cluster.kubectl("delete pod two")
    cluster.settle()
    apply(cluster, manifest.replace('echo from-a > /cache/f; ', ''))
    r = cluster.kubectl("exec two -c b -- cat /c/f")
    assert r.returncode == 1 and "No such file or directory" in r.stderr


# -- StatefulSet claim templates ----------------------------------------------------------------
STATEFUL = """
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  serviceName: nginx
  replicas: 2
  selector: {matchLabels: {app: nginx}}
  template:
    metadata: {labels: {app: nginx}}
    spec:
      containers:
      - name: nginx
        image: nginx:1.27
        volumeMounts: [{name: www, mountPath: /usr/share/nginx/html}]
  volumeClaimTemplates:
  - metadata: {name: www}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 1Gi}}
"""


def test_statefulset_claims_per_ordinal(cluster):
    apply(cluster, STATEFUL)
    for i in (0, 1):
        pvc = get(cluster, "PersistentVolumeClaim", f"www-web-{i}")
        assert pvc["metadata"]["labels"] == {"app": "nginx"}
        assert "ownerReferences" not in pvc["metadata"]  # Retain: the claims outlive the set
        assert pvc["status"]["phase"] == "Bound"
        p = get(cluster, "Pod", f"web-{i}")
        assert {"name": "www", "persistentVolumeClaim": {"claimName": f"www-web-{i}"}} in p["spec"]["volumes"]
        assert p["status"]["phase"] == "Running"
    sts = get(cluster, "StatefulSet", "web")
    template = sts["spec"]["volumeClaimTemplates"][0]
    assert (template["apiVersion"], template["kind"], template["spec"]["volumeMode"], template["status"]) == (
        "v1", "PersistentVolumeClaim", "Filesystem", {"phase": "Pending"})
    messages = [e["message"] for e in cluster.api.list("Event", "default")["items"]
                if e["involvedObject"]["kind"] == "StatefulSet"]
    assert "create Claim www-web-0 Pod web-0 in StatefulSet web success" in messages
    cluster.kubectl("exec web-1 -- sh -c 'echo page > /usr/share/nginx/html/index.html'")
    cluster.kubectl("scale sts web --replicas=1")
    cluster.settle()
    assert cluster.engine.store.get("Pod", "default", "web-1") is None
    assert get(cluster, "PersistentVolumeClaim", "www-web-1")["status"]["phase"] == "Bound"
    cluster.kubectl("scale sts web --replicas=2")
    cluster.settle()
    assert cluster.kubectl("exec web-1 -- cat /usr/share/nginx/html/index.html").stdout == "page\n"


def test_statefulset_claims_owned_when_deleted_policy_is_delete(cluster):
    apply(cluster, STATEFUL.replace("  serviceName: nginx\n", "  serviceName: nginx\n"
                                    "  persistentVolumeClaimRetentionPolicy: {whenDeleted: Delete}\n"))
    refs = get(cluster, "PersistentVolumeClaim", "www-web-0")["metadata"]["ownerReferences"]
    assert [(r["kind"], r["name"]) for r in refs] == [("StatefulSet", "web")]
    cluster.kubectl("delete sts web")
    cluster.settle()
    assert cluster.engine.store.list("PersistentVolumeClaim", "default") == []


def test_statefulset_claims_go_on_scale_down_when_scaled_policy_is_delete(cluster):
    apply(cluster, STATEFUL.replace("  serviceName: nginx\n", "  serviceName: nginx\n"
                                    "  persistentVolumeClaimRetentionPolicy: {whenScaled: Delete}\n"))
    cluster.kubectl("scale sts web --replicas=1")
    cluster.settle()
    assert cluster.engine.store.get("PersistentVolumeClaim", "default", "www-web-1") is None
    assert get(cluster, "PersistentVolumeClaim", "www-web-0")["status"]["phase"] == "Bound"
    assert "ownerReferences" not in get(cluster, "PersistentVolumeClaim", "www-web-0")["metadata"]


def test_statefulset_claim_template_is_validated(cluster):
    r = cluster.kubectl("apply -f -", stdin=STATEFUL.replace("accessModes: [ReadWriteOnce]", "accessModes: []"))
    assert r.returncode == 1
    assert r.stderr == ('The StatefulSet "web" is invalid: spec.volumeClaimTemplates[0].spec.accessModes: '
                        "Required value: at least 1 access mode is required\n")


# -- against the real kubectl 1.32 -------------------------------------------------------------
STATE = (LOCAL + "---" + volume("manual-pv", "2Gi", labels="{tier: gold}") + "---" + volume("spare", "5Gi") + "---"
         + volume("kept", "1Gi", extra="  persistentVolumeReclaimPolicy: Retain\n  volumeMode: Filesystem")
         + "---" + claim("bound", "1Gi", "  storageClassName: manual\n  selector: {matchLabels: {tier: gold}}")
         + "---" + claim("dynamic", "500Mi") + "---" + claim("waiting", "1Gi", '  storageClassName: ""')
         + "---" + claim("released", "1Gi", "  storageClassName: manual\n  volumeName: kept")
         + "---" + pod("user", "dynamic") + "---" + STATEFUL + """---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: fast, labels: {speed: high}}
provisioner: example.com/fast
parameters: {type: ssd}
reclaimPolicy: Retain
volumeBindingMode: WaitForFirstConsumer
allowVolumeExpansion: true
mountOptions: [debug]
""")

GETS = ["get pv", "get pvc", "get sc", "get pv,pvc,sc", "get pv -o wide", "get pvc -o wide", "get sc -o wide",
        "get pvc -A", "get pv spare -o yaml", "get pvc bound -o json", "get sc standard -o yaml",
        "get pvc www-web-0 --show-labels", "get persistentvolumeclaims,persistentvolumes", "api-resources",
        "api-versions", "get pv,pvc -o name", "get sc standard -o wide --show-labels", "get pv,pvc,sc -A",
        "get sc,pv -A", "get nodes,sc -A",
        "get sc -A", "get pv --sort-by=.spec.capacity.storage", "get pvc -o custom-columns=N:.metadata.name,V:.spec.volumeName"]
DESCRIBES = ["describe pv local-disk", "describe pv manual-pv", "describe pv kept", "describe pv spare", "describe pvc bound",
             "describe pvc dynamic", "describe pvc waiting", "describe pvc released", "describe sc standard",
             "describe sc fast", "describe pod user", "describe sts web"]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    if KUBECTL is None:
        pytest.skip("no kubectl binary")
    cluster = Cluster(clock=VirtualClock(start=int(time.time()) - 3600), seed=5)
    r = cluster.kubectl("apply -f -", stdin=STATE)
    assert r.returncode == 0, r.stderr
    cluster.settle(600)
    assert cluster.kubectl("delete pvc released").returncode == 0
    cluster.settle(60)
    cluster.advance(20 * 60)
    with serve(cluster) as server:
        kubectl = Kubectl(server.kubeconfig, str(tmp_path_factory.mktemp("home")))
        assert kubectl("get ns").returncode == 0
        yield cluster, kubectl


@pytest.mark.parametrize("command", GETS)
def test_get_matches_real_kubectl(served, command):
    cluster, kubectl = served
    same(cluster, kubectl(command), command)


@pytest.mark.parametrize("command", DESCRIBES)
def test_describe_matches_real_kubectl(served, command):
    cluster, kubectl = served
    same_at_wall_clock(cluster, kubectl, command)


# -- the diagram -------------------------------------------------------------------------------
def test_diagram_shows_the_claim_volume_class_chain(cluster):
    from kubelab.notebook.diagram import diagram

    apply(cluster, claim("data") + "---" + pod("user", "data"))
    pv = get(cluster, "PersistentVolumeClaim", "data")["spec"]["volumeName"]
    d = diagram(cluster.client, "default")
    assert d.has_edge("PersistentVolumeClaim/default/data", "Pod/default/user", "mounts")
    assert d.has_edge(f"PersistentVolume//{pv}", "PersistentVolumeClaim/default/data", "bound")
    assert d.has_edge("StorageClass//standard", f"PersistentVolume//{pv}", "class")
    assert sorted(d.groups["cluster storage"]) == [f"PersistentVolume//{pv}", "StorageClass//standard"]
    assert d.nodes["PersistentVolumeClaim/default/data"]["status"] == "Bound"
    # asked for by kind, an unused claim shows with its class (no volume yet)
    apply(cluster, claim("spare", extra='  storageClassName: manual'))
    apply(cluster, "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: {name: manual}\n"
                   "provisioner: kubernetes.io/no-provisioner\n")
    d = diagram(cluster.client, "default", kinds=["pvc,sc"])
    assert d.has_edge("StorageClass//manual", "PersistentVolumeClaim/default/spare", "class")
    assert not d.ids("Pod") and not d.ids("PersistentVolume")
    assert "<svg" in d.svg()
    out = cluster.kubectl("describe pvc spare").stdout
    assert "ProvisioningFailed  " in out and "no volume plugin matched name: kubernetes.io/no-provisioner" in out


# -- the chapter's exercise ---------------------------------------------------------------------
def test_exercise_09_storage_passes_with_a_solution(cluster):
    from kubelab.notebook.exercises import check

    assert not check("09-storage", cluster.client, wait=0).passed
    apply(cluster, claim("notes", "200Mi") + "---" + pod("writer", "notes", "echo hello > /data/hello.txt; sleep 3600"))
    cluster.kubectl("delete pod writer")
    cluster.settle()
    apply(cluster, pod("reader", "notes"))
    report = check("09-storage", cluster.client, wait=0)
    assert report.passed, str(report)


def test_exercise_09_storage_hints(cluster):
    from kubelab.notebook.exercises import check

    apply(cluster, claim("notes", "10Mi") + "---" + pod("reader", "notes"))
    report = check("09-storage", cluster.client, wait=0)
    assert not report.passed
    text = str(report)
    assert "it asks for less than 100Mi" in text and "/data/hello.txt does not exist" in text
    assert "files written under /data land on the claim's volume" in report.hints


def test_a_read_only_volume_mount_refuses_writes(cluster):
    """The docs' rro.yaml: one volume mounted read-only and read-write; writes through the
    readOnly mount fail as on a read-only file system, the other mount stays writable."""
    apply(cluster, """
apiVersion: v1
kind: Pod
metadata: {name: ro}
spec:
  containers:
  - name: c
    image: busybox:1.36
    command: [sleep, "3600"]
    volumeMounts:
    - {name: v, mountPath: /ro, readOnly: true}
    - {name: v, mountPath: /rw}
  volumes:
  - {name: v, emptyDir: {}}
""")
    r = cluster.kubectl("exec ro -- touch /ro/x")
    assert r.returncode == 1 and "Read-only file system" in r.stderr
    assert cluster.kubectl("exec ro -- sh -c 'echo hi > /rw/y; cat /ro/y'").stdout == "hi\n"


@pytest.mark.parametrize("source", [{"cinder": {"volumeID": "bd82f7e2", "fsType": "ext4"}},
                                    {"gcePersistentDisk": {"pdName": "mongo-disk", "fsType": "ext4"}}])
def test_a_cloud_disk_never_mounts_on_the_simulated_node(cluster, source):
    """kubernetes/examples' mysql-cinder-pd and mongo RC: a cloud disk needs its cloud's CSI
    driver (the in-tree plugins migrated to CSI), so the pod stays ContainerCreating."""
    name = "cloud-" + next(iter(source)).lower()
    cluster.api.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": {
        "containers": [{"name": "c", "image": "busybox:1.36", "command": ["sleep", "3600"],
                        "volumeMounts": [{"name": "disk", "mountPath": "/data"}]}],
        "volumes": [{"name": "disk", **source}]}})
    cluster.advance(30)
    pod = get(cluster, "Pod", name)
    assert pod["status"]["phase"] == "Pending"
    assert pod["status"]["containerStatuses"][0]["state"]["waiting"]["reason"] == "ContainerCreating"
    assert "unmounted volumes=[disk], unattached volumes=[disk]" in cluster.kubectl(f"describe pod {name}").stdout
