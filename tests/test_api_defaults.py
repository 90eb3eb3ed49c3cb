"""Server-side defaults, checked against what a 1.32 API server stores."""
from __future__ import annotations

import base64

import pytest

from kubelab.api import defaults, schema
from kubelab.api.kinds import BY_KIND


def admit(obj: dict) -> dict:
    kind = BY_KIND[obj["kind"]]
    out, _ = schema.decode(obj, kind)
    defaults.apply(out, kind)
    defaults.admission_plugins(out, kind)  # what a stored pod also has
    return out


def test_pod_defaults_like_a_real_cluster():
    pod = admit({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                 "spec": {"containers": [{"name": "c", "image": "nginx:1.27", "ports": [{"containerPort": 80}],
                                          "readinessProbe": {"httpGet": {"port": 80}}}]}})
    spec = pod["spec"]
    c = spec["containers"][0]
    assert c == {"name": "c", "image": "nginx:1.27", "imagePullPolicy": "IfNotPresent",
                 "ports": [{"containerPort": 80, "protocol": "TCP"}], "resources": {},
                 "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
                 "readinessProbe": {"httpGet": {"port": 80, "path": "/", "scheme": "HTTP"}, "timeoutSeconds": 1,
                                    "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3}}
    assert {k: v for k, v in spec.items() if k != "containers"} == {
        "dnsPolicy": "ClusterFirst", "restartPolicy": "Always", "securityContext": {},
        "terminationGracePeriodSeconds": 30, "schedulerName": "default-scheduler", "enableServiceLinks": True,
        "serviceAccountName": "default", "serviceAccount": "default",  # Priority: tests/test_priority.py
        "tolerations": [
            {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
             "tolerationSeconds": 300},
            {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
             "tolerationSeconds": 300}]}
    assert pod["status"] == {"phase": "Pending", "qosClass": "BestEffort"}


@pytest.mark.parametrize("image,policy", [
    ("nginx", "Always"), ("nginx:latest", "Always"), ("nginx:1.27", "IfNotPresent"),
    ("localhost:5000/app", "Always"), ("localhost:5000/app:v2", "IfNotPresent"),
    ("nginx@sha256:" + "a" * 64, "IfNotPresent"), ("nginx:latest@sha256:" + "a" * 64, "Always"),
])
def test_image_pull_policy(image, policy):
    assert defaults.image_pull_policy(image) == policy


def test_explicit_values_are_kept_and_user_tolerations_count():
    pod = admit({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                 "spec": {"restartPolicy": "Never", "serviceAccountName": "robot",
                          "tolerations": [{"operator": "Exists"}],
                          "containers": [{"name": "c", "image": "nginx", "imagePullPolicy": "Never"}]}})
    assert pod["spec"]["restartPolicy"] == "Never"
    assert pod["spec"]["serviceAccount"] == "robot"
    assert pod["spec"]["tolerations"] == [{"operator": "Exists"}]
    assert pod["spec"]["containers"][0]["imagePullPolicy"] == "Never"


def test_requests_default_to_limits_and_qos():
    pod = admit({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                 "spec": {"containers": [{"name": "c", "image": "x",
                                          "resources": {"limits": {"cpu": "0.5", "memory": "128Mi"}}}]}})
    res = pod["spec"]["containers"][0]["resources"]
    assert res["requests"] == {"cpu": "500m", "memory": "128Mi"}
    assert pod["status"]["qosClass"] == "Guaranteed"
    burst = admit({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                   "spec": {"containers": [{"name": "c", "image": "x", "resources": {"requests": {"cpu": "0.0001"}}}]}})
    assert burst["spec"]["containers"][0]["resources"]["requests"]["cpu"] == "1m"  # rounded up to milli
    assert burst["status"]["qosClass"] == "Burstable"


def test_deployment_defaults_and_template_is_not_a_pod():
    d = admit({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
               "spec": {"selector": {"matchLabels": {"app": "d"}},
                        "template": {"metadata": {"labels": {"app": "d"}},
                                     "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}})
    spec = d["spec"]
    assert spec["replicas"] == 1 and spec["revisionHistoryLimit"] == 10 and spec["progressDeadlineSeconds"] == 600
    assert spec["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}
    tpl = spec["template"]
    assert tpl["metadata"] == {"labels": {"app": "d"}, "creationTimestamp": None}
    assert tpl["spec"]["dnsPolicy"] == "ClusterFirst" and tpl["spec"]["containers"][0]["imagePullPolicy"] == "Always"
    for pod_only in ("enableServiceLinks", "tolerations", "serviceAccountName", "priority"):
        assert pod_only not in tpl["spec"]
    assert "status" not in d


def test_recreate_strategy_gets_no_rolling_update():
    d = admit({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
               "spec": {"replicas": 0, "strategy": {"type": "Recreate"}}})
    assert d["spec"]["strategy"] == {"type": "Recreate"} and d["spec"]["replicas"] == 0


def test_replicaset_daemonset_statefulset_job_cronjob():
    rs = admit({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "r"}, "spec": {}})
    assert rs["spec"]["replicas"] == 1 and "revisionHistoryLimit" not in rs["spec"]
    ds = admit({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "d"}, "spec": {}})
    assert ds["spec"]["updateStrategy"] == {"type": "RollingUpdate",
                                            "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}
    sts = admit({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "s"}, "spec": {}})
    assert sts["spec"]["podManagementPolicy"] == "OrderedReady"
    assert sts["spec"]["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}
    job = admit({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"},
                 "spec": {"template": {"metadata": {"labels": {"a": "b"}}, "spec": {"restartPolicy": "Never"}}}})
    assert {k: job["spec"][k] for k in ("completions", "parallelism", "backoffLimit", "completionMode", "suspend")} \
        == {"completions": 1, "parallelism": 1, "backoffLimit": 6, "completionMode": "NonIndexed", "suspend": False}
    assert job["metadata"]["labels"] == {"a": "b"}
    cj = admit({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c"},
                "spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": {"spec": {}}}}}})
    assert {k: cj["spec"][k] for k in ("concurrencyPolicy", "suspend", "successfulJobsHistoryLimit",
                                        "failedJobsHistoryLimit")} == {
        "concurrencyPolicy": "Allow", "suspend": False, "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 1}


def test_service_defaults():
    svc = admit({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
                 "spec": {"selector": {"app": "x"}, "ports": [{"port": 80}, {"port": 81, "targetPort": "http"}]}})
    spec = svc["spec"]
    assert spec["ports"] == [{"port": 80, "protocol": "TCP", "targetPort": 80},
                             {"port": 81, "targetPort": "http", "protocol": "TCP"}]
    assert (spec["type"], spec["sessionAffinity"], spec["internalTrafficPolicy"]) == ("ClusterIP", "None", "Cluster")
    assert spec["ipFamilies"] == ["IPv4"] and spec["ipFamilyPolicy"] == "SingleStack"
    assert "externalTrafficPolicy" not in spec and "allocateLoadBalancerNodePorts" not in spec
    assert svc["status"] == {"loadBalancer": {}}
    lb = admit({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
                "spec": {"type": "LoadBalancer", "sessionAffinity": "ClientIP", "ports": [{"port": 80}]}})
    assert lb["spec"]["externalTrafficPolicy"] == "Cluster" and lb["spec"]["allocateLoadBalancerNodePorts"] is True
    assert lb["spec"]["sessionAffinityConfig"] == {"clientIP": {"timeoutSeconds": 10800}}
    ext = admit({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
                 "spec": {"type": "ExternalName", "externalName": "example.com"}})
    assert "ipFamilies" not in ext["spec"] and "internalTrafficPolicy" not in ext["spec"]
    headless = admit({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
                      "spec": {"clusterIP": "None", "selector": {"a": "b"}}})
    assert headless["spec"]["clusterIPs"] == ["None"] and headless["spec"]["ipFamilyPolicy"] == "SingleStack"


def test_namespace_secret_configmap():
    ns = admit({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "dev"}})
    assert ns["metadata"]["labels"] == {"kubernetes.io/metadata.name": "dev"}
    assert ns["spec"] == {"finalizers": ["kubernetes"]} and ns["status"] == {"phase": "Active"}
    secret = admit({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
                    "data": {"a": base64.b64encode(b"1").decode()}, "stringData": {"b": "two", "a": "one"}})
    assert secret["type"] == "Opaque" and "stringData" not in secret
    assert {k: base64.b64decode(v) for k, v in secret["data"].items()} == {"a": b"one", "b": b"two"}
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": "v"}}
    assert admit(cm) == cm


def test_volume_defaults():
    pod = admit({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                 "spec": {"containers": [{"name": "c", "image": "x"}],
                          "volumes": [{"name": "a"}, {"name": "b", "configMap": {"name": "cm"}},
                                      {"name": "c", "secret": {"secretName": "s"}}]}})
    assert pod["spec"]["volumes"] == [{"name": "a", "emptyDir": {}},
                                      {"name": "b", "configMap": {"name": "cm", "defaultMode": 420}},
                                      {"name": "c", "secret": {"secretName": "s", "defaultMode": 420}}]


def test_defaulting_is_idempotent():
    pod = admit({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                 "spec": {"containers": [{"name": "c", "image": "x"}]}})
    again = admit(pod)
    assert again == pod
