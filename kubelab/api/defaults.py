"""Server-side defaulting: what the API server fills in before validation and storage, so
that ``kubectl get -o yaml`` shows what a real 1.32 cluster shows.

Follows pkg/apis/core/v1/defaults.go, pkg/apis/apps/v1/defaults.go and batch/v1 defaults,
plus what the default admission plugins add to new pods (ServiceAccount,
DefaultTolerationSeconds) and what the registry strategies set on create (pod phase and
QoS class, namespace finalizer and phase, service IP families). Cluster-dependent values
(ClusterIPs, NodePorts, node assignment) are not here: engine hooks allocate them.
"""
from __future__ import annotations

import base64
import math
from fractions import Fraction
from functools import lru_cache
from typing import Any, Callable

from kubelab.api import quantity
from kubelab.api.kinds import Kind
from kubelab.api.objects import Obj
from kubelab.api.pods import qos_class


_NOT_READY_TOLERATIONS = (
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
)


def apply(obj: Obj, kind: Kind) -> None:
    """Fill in defaults in place (``obj`` is the freshly decoded copy)."""
    if not isinstance(obj.get("metadata"), dict):
        obj["metadata"] = {}
    fill = _BY_KIND.get(kind.kind)
    if fill is not None:
        fill(obj)


# -- pods -------------------------------------------------------------------------------

def image_pull_policy(image: str) -> str:
    """``Always`` for ``:latest`` or an untagged, undigested image; else ``IfNotPresent``."""
    name, _, digest = image.partition("@")
    last = name.rsplit("/", 1)[-1]
    tag = last.rsplit(":", 1)[1] if ":" in last else ""
    if not image or (not tag and digest):
        return "IfNotPresent"
    return "Always" if tag in ("", "latest") else "IfNotPresent"


def _probe(probe: Any) -> None:
    if not isinstance(probe, dict):
        return
    for key, value in (("timeoutSeconds", 1), ("periodSeconds", 10), ("successThreshold", 1),
                       ("failureThreshold", 3)):
        if not probe.get(key):
            probe[key] = value
    _http_get(probe)


def _http_get(handler: Any) -> None:
    http = handler.get("httpGet") if isinstance(handler, dict) else None
    if isinstance(http, dict):
        if not http.get("path"):
            http["path"] = "/"
        if not http.get("scheme"):
            http["scheme"] = "HTTP"


def _field_refs(container: Obj) -> None:
    for env in container.get("env") or []:
        ref = (env.get("valueFrom") or {}).get("fieldRef")
        if isinstance(ref, dict) and not ref.get("apiVersion"):
            ref["apiVersion"] = "v1"


def _resource_list(resources: Obj) -> None:
    """Resource quantities are rounded up to milli precision (SetDefaults_ResourceList)."""
    for key in ("limits", "requests"):
        values = resources.get(key)
        if isinstance(values, dict):
            for name, q in values.items():
                values[name] = _round_milli(q)


def _round_milli(text: str) -> str:
    return _round_milli_text(text) if type(text) is str else _rounded(text)


@lru_cache(maxsize=1024)
def _round_milli_text(text: str) -> str:
    """Cached: every pod of a ReplicaSet asks for the same quantities."""
    return _rounded(text)


def _rounded(text: str) -> str:
    q = quantity.parse(text)
    if (q.value * 1000).denominator == 1:
        return text
    return str(quantity.Quantity(Fraction(math.ceil(q.value * 1000), 1000), q.format))


def _container(c: Obj) -> None:
    if not c.get("imagePullPolicy"):
        c["imagePullPolicy"] = image_pull_policy(c.get("image", ""))
    if not c.get("terminationMessagePath"):
        c["terminationMessagePath"] = "/dev/termination-log"
    if not c.get("terminationMessagePolicy"):
        c["terminationMessagePolicy"] = "File"
    c.setdefault("resources", {})
    _resource_list(c["resources"])
    for port in c.get("ports") or []:
        if not port.get("protocol"):
            port["protocol"] = "TCP"
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        _probe(c.get(probe))
    lifecycle = c.get("lifecycle") or {}
    for hook in ("postStart", "preStop"):
        _http_get(lifecycle.get(hook))
    _field_refs(c)


def _volume(v: Obj) -> None:
    sources = [k for k in v if k != "name"]
    if not sources:
        v["emptyDir"] = {}
    for key in ("secret", "configMap", "downwardAPI", "projected"):
        if isinstance(v.get(key), dict) and v[key].get("defaultMode") is None:
            v[key]["defaultMode"] = 420
    if isinstance(v.get("hostPath"), dict):
        v["hostPath"].setdefault("type", "")
    for source in (v.get("projected") or {}).get("sources") or []:
        token = source.get("serviceAccountToken")
        if isinstance(token, dict) and token.get("expirationSeconds") is None:
            token["expirationSeconds"] = 3600


def pod_spec(spec: Obj) -> None:
    """SetDefaults_PodSpec and the type defaults below it (pods and pod templates alike)."""
    if not spec.get("dnsPolicy"):
        spec["dnsPolicy"] = "ClusterFirst"
    if not spec.get("restartPolicy"):
        spec["restartPolicy"] = "Always"
    if spec.get("securityContext") is None:
        spec["securityContext"] = {}
    if spec.get("terminationGracePeriodSeconds") is None:
        spec["terminationGracePeriodSeconds"] = 30
    if not spec.get("schedulerName"):
        spec["schedulerName"] = "default-scheduler"
    for key in ("containers", "initContainers", "ephemeralContainers"):
        for c in spec.get(key) or []:
            _container(c)
    for v in spec.get("volumes") or []:
        _volume(v)


def _template(template: Any) -> None:
    if not isinstance(template, dict):
        return
    meta = template.setdefault("metadata", {})
    meta.setdefault("creationTimestamp", None)  # a zero metav1.Time, as the server writes it
    pod_spec(template.setdefault("spec", {}))


def _pod(pod: Obj) -> None:
    spec = pod.setdefault("spec", {})
    pod_spec(spec)
    for key in ("containers", "initContainers"):
        for c in spec.get(key) or []:
            resources = c["resources"]
            if resources.get("limits"):
                requests = resources.setdefault("requests", {})
                for name, q in resources["limits"].items():
                    requests.setdefault(name, q)
    if spec.get("enableServiceLinks") is None:
        spec["enableServiceLinks"] = True
    if spec.get("hostNetwork"):
        for key in ("containers", "initContainers"):
            for c in spec.get(key) or []:
                for port in c.get("ports") or []:
                    if not port.get("hostPort"):
                        port["hostPort"] = port.get("containerPort")
    if not pod.get("status"):
        pod["status"] = {"phase": "Pending", "qosClass": qos_class({"spec": spec})}


def admission_plugins(obj: Obj, kind: Kind) -> None:
    """What kube-apiserver's mutating admission plugins fill in, after defaulting and after
    the field manager recorded the request (so no manager owns it): ServiceAccount and
    DefaultTolerationSeconds for pods (Priority needs the PriorityClasses: an engine hook,
    kubelab.engine.priority)."""
    if kind.kind != "Pod" or not isinstance(obj.get("spec"), dict):
        return
    spec = obj["spec"]
    account = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
    spec["serviceAccountName"] = account
    spec["serviceAccount"] = account
    tolerations = spec.setdefault("tolerations", [])
    for default in _NOT_READY_TOLERATIONS:
        if not any(_tolerates(t, default) for t in tolerations):
            tolerations.append(dict(default))


def _tolerates(t: Obj, taint: Obj) -> bool:
    """The DefaultTolerationSeconds plugin's test: same (or any) key, NoExecute (or any) effect."""
    return t.get("key") in (None, "", taint["key"]) and t.get("effect") in (None, "", taint["effect"])


# -- workloads --------------------------------------------------------------------------

def _deployment(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    strategy = spec.setdefault("strategy", {})
    if not strategy.get("type"):
        strategy["type"] = "RollingUpdate"
    if strategy["type"] == "RollingUpdate":
        rolling = strategy.setdefault("rollingUpdate", {})
        rolling.setdefault("maxUnavailable", "25%")
        rolling.setdefault("maxSurge", "25%")
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    _template(spec.setdefault("template", {}))


def _replicaset(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    _template(spec.setdefault("template", {}))


def _replicationcontroller(obj: Obj) -> None:
    """SetDefaults_ReplicationController: the selector and the object's labels default to the
    template's labels when empty (the one equality-based selector left in the API)."""
    spec = obj.setdefault("spec", {})
    template = spec.get("template")
    labels = ((template or {}).get("metadata") or {}).get("labels") if isinstance(template, dict) else None
    if labels:
        if not spec.get("selector"):
            spec["selector"] = dict(labels)
        meta = obj.setdefault("metadata", {})
        if not meta.get("labels"):
            meta["labels"] = dict(labels)
    spec.setdefault("replicas", 1)
    if template is not None:
        _template(template)


def _daemonset(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    strategy = spec.setdefault("updateStrategy", {})
    if not strategy.get("type"):
        strategy["type"] = "RollingUpdate"
    if strategy["type"] == "RollingUpdate":
        rolling = strategy.setdefault("rollingUpdate", {})
        rolling.setdefault("maxUnavailable", 1)
        rolling.setdefault("maxSurge", 0)
    spec.setdefault("revisionHistoryLimit", 10)
    _template(spec.setdefault("template", {}))


def _statefulset(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    if not spec.get("podManagementPolicy"):
        spec["podManagementPolicy"] = "OrderedReady"
    strategy = spec.setdefault("updateStrategy", {})
    if not strategy.get("type"):
        strategy["type"] = "RollingUpdate"
        strategy.setdefault("rollingUpdate", {})
    if strategy["type"] == "RollingUpdate" and isinstance(strategy.get("rollingUpdate"), dict):
        strategy["rollingUpdate"].setdefault("partition", 0)
    retention = spec.setdefault("persistentVolumeClaimRetentionPolicy", {})
    retention.setdefault("whenDeleted", "Retain")
    retention.setdefault("whenScaled", "Retain")
    spec.setdefault("replicas", 1)
    spec.setdefault("revisionHistoryLimit", 10)
    _template(spec.setdefault("template", {}))
    for claim in spec.get("volumeClaimTemplates") or ():
        if isinstance(claim, dict):
            # the v1 conversion writes each template as a full claim, defaulted as one
            claim.setdefault("apiVersion", "v1")
            claim.setdefault("kind", "PersistentVolumeClaim")
            claim.setdefault("metadata", {}).setdefault("creationTimestamp", None)
            _persistentvolumeclaim(claim)


def _job_spec(spec: Obj) -> None:
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
    spec.setdefault("parallelism", 1)
    spec.setdefault("backoffLimit", 2**31 - 1 if spec.get("backoffLimitPerIndex") is not None else 6)
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    spec.setdefault("podReplacementPolicy", "Failed" if spec.get("podFailurePolicy") else "TerminatingOrFailed")
    _template(spec.setdefault("template", {}))


def _job(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    _job_spec(spec)
    spec.setdefault("manualSelector", False)
    labels = spec["template"]["metadata"].get("labels")
    if labels and not obj["metadata"].get("labels"):
        obj["metadata"]["labels"] = dict(labels)


def _cronjob(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    if not spec.get("concurrencyPolicy"):
        spec["concurrencyPolicy"] = "Allow"
    spec.setdefault("suspend", False)
    spec.setdefault("successfulJobsHistoryLimit", 3)
    spec.setdefault("failedJobsHistoryLimit", 1)
    job = spec.setdefault("jobTemplate", {})
    job.setdefault("metadata", {}).setdefault("creationTimestamp", None)
    _template(job.setdefault("spec", {}).setdefault("template", {}))


# -- services, namespaces, config -------------------------------------------------------

def _service(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    if not spec.get("sessionAffinity"):
        spec["sessionAffinity"] = "None"
    if spec["sessionAffinity"] == "None":
        spec.pop("sessionAffinityConfig", None)
    elif spec["sessionAffinity"] == "ClientIP":
        client = (spec.get("sessionAffinityConfig") or {}).get("clientIP") or {}
        if client.get("timeoutSeconds") is None:
            spec["sessionAffinityConfig"] = {"clientIP": {"timeoutSeconds": 10800}}
    if not spec.get("type"):
        spec["type"] = "ClusterIP"
    kind = spec["type"]
    for port in spec.get("ports") or []:
        if not port.get("protocol"):
            port["protocol"] = "TCP"
        if port.get("targetPort") in (None, 0, ""):
            port["targetPort"] = port.get("port", 0)
    if (kind in ("NodePort", "LoadBalancer") or spec.get("externalIPs")) and not spec.get("externalTrafficPolicy"):
        spec["externalTrafficPolicy"] = "Cluster"
    if kind in ("ClusterIP", "NodePort", "LoadBalancer") and spec.get("internalTrafficPolicy") is None:
        spec["internalTrafficPolicy"] = "Cluster"
    if kind == "LoadBalancer" and spec.get("allocateLoadBalancerNodePorts") is None:
        spec["allocateLoadBalancerNodePorts"] = True
    if kind != "ExternalName":
        if spec.get("clusterIP") == "None" and not spec.get("clusterIPs"):
            spec["clusterIPs"] = ["None"]
        if not spec.get("ipFamilyPolicy"):
            headless_selectorless = spec.get("clusterIP") == "None" and not spec.get("selector")
            spec["ipFamilyPolicy"] = "RequireDualStack" if headless_selectorless else "SingleStack"
        if not spec.get("ipFamilies"):
            spec["ipFamilies"] = ["IPv4"]
    if not obj.get("status"):
        obj["status"] = {"loadBalancer": {}}


def _namespace(obj: Obj) -> None:
    meta = obj["metadata"]
    if meta.get("name"):
        meta.setdefault("labels", {})["kubernetes.io/metadata.name"] = meta["name"]
    spec = obj.setdefault("spec", {})
    if not spec.get("finalizers"):
        spec["finalizers"] = ["kubernetes"]
    status = obj.setdefault("status", {})
    if not status.get("phase"):
        status["phase"] = "Active"


def _secret(obj: Obj) -> None:
    if not obj.get("type"):
        obj["type"] = "Opaque"
    string_data = obj.pop("stringData", None)
    if string_data:
        data = obj.setdefault("data", {})
        for key, value in string_data.items():
            data[key] = base64.b64encode(value.encode()).decode()


def _endpoints(obj: Obj) -> None:
    for subset in obj.get("subsets") or []:
        for port in subset.get("ports") or []:
            if not port.get("protocol"):
                port["protocol"] = "TCP"


def _persistentvolume(obj: Obj) -> None:
    """SetDefaults_PersistentVolume: Retain, Filesystem, phase Pending (hostPath type "")."""
    spec = obj.setdefault("spec", {})
    spec.setdefault("persistentVolumeReclaimPolicy", "Retain")
    spec.setdefault("volumeMode", "Filesystem")
    if isinstance(spec.get("hostPath"), dict):
        spec["hostPath"].setdefault("type", "")
    status = obj.setdefault("status", {})
    if not status.get("phase"):
        status["phase"] = "Pending"


def _persistentvolumeclaim(obj: Obj) -> None:
    """SetDefaults_PersistentVolumeClaim(Spec): Filesystem, phase Pending."""
    spec = obj.setdefault("spec", {})
    spec.setdefault("volumeMode", "Filesystem")
    status = obj.setdefault("status", {})
    if not status.get("phase"):
        status["phase"] = "Pending"


def _storageclass(obj: Obj) -> None:
    """SetDefaults_StorageClass: reclaim Delete, bind Immediate."""
    if not obj.get("reclaimPolicy"):
        obj["reclaimPolicy"] = "Delete"
    if not obj.get("volumeBindingMode"):
        obj["volumeBindingMode"] = "Immediate"


def _binding(obj: Obj) -> None:
    """SetDefaults_RoleBinding / _ClusterRoleBinding / _Subject (rbac/v1/defaults.go): the
    roleRef's apiGroup, and a User's or Group's, default to rbac.authorization.k8s.io."""
    ref = obj.get("roleRef")
    if isinstance(ref, dict) and not ref.get("apiGroup"):
        ref["apiGroup"] = "rbac.authorization.k8s.io"
    for subject in obj.get("subjects") or []:
        if isinstance(subject, dict) and not subject.get("apiGroup") and subject.get("kind") in ("User", "Group"):
            subject["apiGroup"] = "rbac.authorization.k8s.io"


def _limitrange(obj: Obj) -> None:
    """SetDefaults_LimitRangeItem: a Container item's default limit falls back to its max, its
    default request to the default limit, then to its min."""
    for item in (obj.get("spec") or {}).get("limits") or []:
        if not isinstance(item, dict) or item.get("type") != "Container":
            continue
        default = item.setdefault("default", {})
        request = item.setdefault("defaultRequest", {})
        for source, target in ((item.get("max"), default), (default, request), (item.get("min"), request)):
            for name, value in (source or {}).items():
                target.setdefault(name, value)


def _networkpolicy(obj: Obj) -> None:
    """SetDefaults_NetworkPolicy: TCP ports, policyTypes from the rules present."""
    spec = obj.setdefault("spec", {})
    if spec.get("podSelector") is None:
        spec["podSelector"] = {}  # a plain struct in Go: always written
    for direction in ("ingress", "egress"):
        for rule in spec.get(direction) or []:
            for port in rule.get("ports") or []:
                if isinstance(port, dict) and not port.get("protocol"):
                    port["protocol"] = "TCP"
    if not spec.get("policyTypes"):
        spec["policyTypes"] = ["Ingress"] + (["Egress"] if spec.get("egress") else [])


def _priorityclass(obj: Obj) -> None:
    """SetDefaults_PriorityClass: PreemptLowerPriority. ``value`` is a plain int32 (0 when left
    out) and ``globalDefault`` an omitempty bool, so false is not written."""
    obj.setdefault("value", 0)
    if not obj.get("preemptionPolicy"):
        obj["preemptionPolicy"] = "PreemptLowerPriority"
    if obj.get("globalDefault") is False:
        del obj["globalDefault"]


# autoscaling/v2's default scaling rules (GenerateHPAScaleUpRules / GenerateHPAScaleDownRules).
# Scale-down's stabilization window stays unset: the controller applies its own
# --horizontal-pod-autoscaler-downscale-stabilization (5 minutes) when it reads it.
HPA_SCALE_UP = {"stabilizationWindowSeconds": 0, "selectPolicy": "Max",
                "policies": [{"type": "Pods", "value": 4, "periodSeconds": 15},
                             {"type": "Percent", "value": 100, "periodSeconds": 15}]}
HPA_SCALE_DOWN = {"selectPolicy": "Max", "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]}


def _scaling_rules(rules: Any, default: Obj) -> Obj:
    """Fill what a given rule leaves unset from the default rule."""
    rules = dict(rules) if isinstance(rules, dict) else {}
    for key, value in default.items():
        if rules.get(key) is None or (key == "policies" and not rules[key]):
            rules[key] = [dict(p) for p in value] if key == "policies" else value
    return rules


def _hpa(obj: Obj) -> None:
    """SetDefaults_HorizontalPodAutoscaler (autoscaling/v2): one replica at least, CPU at 80%
    when no metric is given, and a given ``behavior`` completed from the default rules."""
    spec = obj.setdefault("spec", {})
    if spec.get("minReplicas") is None:
        spec["minReplicas"] = 1
    if not spec.get("metrics"):
        spec["metrics"] = [{"type": "Resource", "resource": {"name": "cpu", "target": {
            "type": "Utilization", "averageUtilization": 80}}}]
    if isinstance(spec.get("behavior"), dict):
        behavior = spec["behavior"] = dict(spec["behavior"])
        behavior["scaleUp"] = _scaling_rules(behavior.get("scaleUp"), HPA_SCALE_UP)
        behavior["scaleDown"] = _scaling_rules(behavior.get("scaleDown"), HPA_SCALE_DOWN)


_BY_KIND: dict[str, Callable[[Obj], None]] = {
    "HorizontalPodAutoscaler": _hpa,
    "RoleBinding": _binding, "ClusterRoleBinding": _binding,
    "Pod": _pod, "Deployment": _deployment, "ReplicaSet": _replicaset, "DaemonSet": _daemonset,
    "ReplicationController": _replicationcontroller,
    "StatefulSet": _statefulset, "Job": _job, "CronJob": _cronjob, "Service": _service,
    "Namespace": _namespace, "Secret": _secret, "Endpoints": _endpoints,
    "PersistentVolume": _persistentvolume, "PersistentVolumeClaim": _persistentvolumeclaim,
    "StorageClass": _storageclass, "LimitRange": _limitrange, "NetworkPolicy": _networkpolicy,
    "PriorityClass": _priorityclass,
}
