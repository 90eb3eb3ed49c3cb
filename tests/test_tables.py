"""Server-side tables: the columns and cells of Kubernetes' printers."""
import pytest

from kubelab.api.pods import print_pod as pod_status
from kubelab.api.tables import human_duration, selector_string, table

NOW = 1_767_225_600.0  # 2026-01-01T00:00:00Z
T0 = "2026-01-01T00:00:00Z"


def pod(status=None, spec=None, **meta):
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web", "namespace": "default", "creationTimestamp": T0, **meta},
            "spec": spec or {"containers": [{"name": "c", "image": "nginx"}]}, "status": status or {}}


@pytest.mark.parametrize("seconds, text", [
    (-5, "<invalid>"), (-1, "0s"), (0, "0s"), (119, "119s"), (120, "2m"), (125, "2m5s"), (600, "10m"),
    (179 * 60, "179m"), (3 * 3600, "3h"), (3 * 3600 + 20 * 60, "3h20m"), (8 * 3600, "8h"), (47 * 3600, "47h"),
    (48 * 3600, "2d"), (50 * 3600, "2d2h"), (8 * 86400, "8d"), (730 * 86400, "2y"), (760 * 86400, "2y30d"),
    (9 * 365 * 86400, "9y"),
])
def test_human_duration(seconds, text):
    assert human_duration(seconds) == text


def running(ready=True, restarts=0, last=None):
    cs = {"name": "c", "ready": ready, "restartCount": restarts, "state": {"running": {"startedAt": T0}}}
    if last:
        cs["lastState"] = {"terminated": {"exitCode": 1, "finishedAt": last}}
    return cs


def test_pod_running_with_restarts_ago():
    p = pod({"phase": "Running", "containerStatuses": [running(restarts=2, last="2025-12-31T23:59:55Z")],
             "podIP": "10.244.1.3", "podIPs": [{"ip": "10.244.1.3"}]}, creationTimestamp="2025-12-31T23:58:00Z")
    p["spec"]["nodeName"] = "kubelab-m02"
    t = table("Pod", [p], NOW, wide=True)
    assert [c["name"] for c in t["columnDefinitions"]] == [
        "Name", "Ready", "Status", "Restarts", "Age", "IP", "Node", "Nominated Node", "Readiness Gates"]
    assert [c["priority"] for c in t["columnDefinitions"]] == [0, 0, 0, 0, 0, 1, 1, 1, 1]
    assert t["rows"][0]["cells"] == ["web", "1/1", "Running", "2 (5s ago)", "2m", "10.244.1.3", "kubelab-m02",
                                     "<none>", "<none>"]
    assert t["rows"][0]["object"]["metadata"]["name"] == "web"


@pytest.mark.parametrize("status, expected", [
    ({"phase": "Pending"}, ("Pending", 0)),
    ({"phase": "Pending", "containerStatuses": [
        {"name": "c", "ready": False, "restartCount": 0, "state": {"waiting": {"reason": "ContainerCreating"}}}]},
     ("ContainerCreating", 0)),
    ({"phase": "Running", "containerStatuses": [
        {"name": "c", "ready": False, "restartCount": 3, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]},
     ("CrashLoopBackOff", 0)),
    ({"phase": "Pending", "containerStatuses": [
        {"name": "c", "ready": False, "restartCount": 0, "state": {"waiting": {"reason": "ErrImagePull"}}}]},
     ("ErrImagePull", 0)),
    ({"phase": "Succeeded", "containerStatuses": [
        {"name": "c", "ready": False, "restartCount": 0,
         "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]}, ("Completed", 0)),
    ({"phase": "Running", "containerStatuses": [
        {"name": "c", "ready": False, "restartCount": 0, "state": {"terminated": {"exitCode": 2}}}]},
     ("ExitCode:2", 0)),
    ({"phase": "Running", "containerStatuses": [running(ready=False)]}, ("Running", 0)),
    ({"phase": "Running", "containerStatuses": [running()]}, ("Running", 1)),
])
def test_pod_status_column(status, expected):
    reason, ready, total, _, _ = pod_status(pod(status))
    assert (reason, ready) == expected and total == 1


def test_init_containers():
    spec = {"initContainers": [{"name": "init", "image": "busybox"}], "containers": [{"name": "c", "image": "x"}]}
    waiting = {"phase": "Pending", "initContainerStatuses": [
        {"name": "init", "ready": False, "restartCount": 0, "state": {"waiting": {"reason": "PodInitializing"}}}]}
    assert pod_status(pod(waiting, spec))[0] == "Init:0/1"
    failed = {"phase": "Pending", "initContainerStatuses": [
        {"name": "init", "ready": False, "restartCount": 1,
         "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}
    assert pod_status(pod(failed, spec))[:4] == ("Init:CrashLoopBackOff", 0, 1, 1)
    errored = {"phase": "Pending", "initContainerStatuses": [
        {"name": "init", "ready": False, "restartCount": 0, "state": {"terminated": {"exitCode": 1, "reason": "Error"}}}]}
    assert pod_status(pod(errored, spec))[0] == "Init:Error"


def test_terminating():
    p = pod({"phase": "Running", "containerStatuses": [running()]}, deletionTimestamp=T0)
    assert pod_status(p)[0] == "Terminating"


def test_completed_pod_row_condition():
    t = table("Pod", [pod({"phase": "Succeeded"})], NOW)
    assert t["rows"][0]["conditions"][0]["reason"] == "Succeeded"
    assert len(t["columnDefinitions"]) == 5 and len(t["rows"][0]["cells"]) == 5


def test_deployment_and_replicaset():
    spec = {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
            "template": {"spec": {"containers": [{"name": "a", "image": "nginx"}, {"name": "b", "image": "busybox"}]}}}
    d = {"kind": "Deployment", "metadata": {"name": "web", "creationTimestamp": T0}, "spec": spec,
         "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}}
    assert table("Deployment", [d], NOW + 30, wide=True)["rows"][0]["cells"] == [
        "web", "2/3", 3, 2, "30s", "a,b", "nginx,busybox", "app=web"]
    rs = {"kind": "ReplicaSet", "metadata": {"name": "web-1", "creationTimestamp": T0}, "spec": spec,
          "status": {"replicas": 3, "readyReplicas": 1}}
    assert table("ReplicaSet", [rs], NOW, wide=True)["rows"][0]["cells"] == [
        "web-1", 3, 3, 1, "0s", "a,b", "nginx,busybox", "app=web"]


def test_selector_string_sorted_with_expressions():
    sel = {"matchLabels": {"tier": "fe", "app": "x"},
           "matchExpressions": [{"key": "env", "operator": "In", "values": ["b", "a"]},
                                {"key": "zz", "operator": "DoesNotExist"}]}
    assert selector_string(sel) == "app=x,env in (a,b),tier=fe,!zz"


def svc(type_, ports, **extra):
    return {"kind": "Service", "metadata": {"name": "s", "creationTimestamp": T0},
            "spec": {"type": type_, "clusterIP": "10.96.0.5", "clusterIPs": ["10.96.0.5"], "ports": ports,
                     "selector": {"app": "web"}, **extra}, "status": {}}


def test_services():
    row = table("Service", [svc("NodePort", [{"port": 80, "nodePort": 30001, "protocol": "TCP"}])], NOW, True)
    assert row["rows"][0]["cells"] == ["s", "NodePort", "10.96.0.5", "<none>", "80:30001/TCP", "0s", "app=web"]
    lb = svc("LoadBalancer", [{"port": 80, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}])
    assert table("Service", [lb], NOW)["rows"][0]["cells"][3:5] == ["<pending>", "80/TCP,53/UDP"]
    lb["status"] = {"loadBalancer": {"ingress": [{"ip": "203.0.113.10"}]}}
    assert table("Service", [lb], NOW)["rows"][0]["cells"][3] == "203.0.113.10"
    assert table("Service", [svc("ClusterIP", [])], NOW)["rows"][0]["cells"][4] == "<none>"


def test_endpoints_and_slices():
    ep = {"kind": "Endpoints", "metadata": {"name": "s", "creationTimestamp": T0}, "subsets": [
        {"addresses": [{"ip": f"10.244.0.{i}"} for i in range(1, 6)], "ports": [{"port": 3000}]}]}
    assert table("Endpoints", [ep], NOW)["rows"][0]["cells"][1] == \
        "10.244.0.1:3000,10.244.0.2:3000,10.244.0.3:3000 + 2 more..."
    assert table("Endpoints", [{"metadata": {"name": "e", "creationTimestamp": T0}}], NOW)["rows"][0]["cells"][1] \
        == "<none>"
    es = {"metadata": {"name": "s-abc", "creationTimestamp": T0}, "addressType": "IPv4",
          "ports": [{"port": 3000, "name": ""}], "endpoints": [{"addresses": ["10.244.0.1"]}]}
    assert table("EndpointSlice", [es], NOW)["rows"][0]["cells"] == ["s-abc", "IPv4", "3000", "10.244.0.1", "0s"]
    es["endpoints"] = []
    assert table("EndpointSlice", [es], NOW)["rows"][0]["cells"][3] == "<unset>"


def test_config_objects_and_nodes():
    cm = {"metadata": {"name": "cfg", "creationTimestamp": T0}, "data": {"a": "1", "b": "2"}}
    assert table("ConfigMap", [cm], NOW)["rows"][0]["cells"] == ["cfg", 2, "0s"]
    s = {"metadata": {"name": "sec", "creationTimestamp": T0}, "type": "Opaque", "data": {"a": "MQ=="}}
    assert table("Secret", [s], NOW)["rows"][0]["cells"] == ["sec", "Opaque", 1, "0s"]
    node = {"metadata": {"name": "n1", "creationTimestamp": T0,
                         "labels": {"node-role.kubernetes.io/control-plane": ""}},
            "spec": {"unschedulable": True},
            "status": {"conditions": [{"type": "Ready", "status": "False"}], "nodeInfo": {"kubeletVersion": "v1.32.0"}}}
    assert table("Node", [node], NOW)["rows"][0]["cells"] == [
        "n1", "NotReady,SchedulingDisabled", "control-plane", "0s", "v1.32.0"]


def test_events_and_default():
    ev = {"metadata": {"name": "web.1", "creationTimestamp": T0}, "type": "Normal", "reason": "Scheduled",
          "involvedObject": {"kind": "Pod", "name": "web"}, "message": "Successfully assigned default/web\n",
          "firstTimestamp": "2025-12-31T23:59:00Z", "lastTimestamp": "2025-12-31T23:59:50Z", "count": 2,
          "source": {"component": "default-scheduler"}}
    t = table("Event", [ev], NOW)
    assert [c["name"] for c in t["columnDefinitions"]] == ["Last Seen", "Type", "Reason", "Object", "Message"]
    assert t["rows"][0]["cells"] == ["10s", "Normal", "Scheduled", "pod/web", "Successfully assigned default/web"]
    wide = table("Event", [ev], NOW, wide=True)["rows"][0]["cells"]
    assert wide == ["10s", "Normal", "Scheduled", "pod/web", "", "default-scheduler",
                    "Successfully assigned default/web", "60s", 2, "web.1"]
    other = table("Binding", [{"metadata": {"name": "j", "creationTimestamp": T0}}], NOW)
    assert [c["name"] for c in other["columnDefinitions"]] == ["Name", "Created At"]  # defaultTableConvertor
