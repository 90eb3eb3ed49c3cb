"""kube-system as ``minikube start`` leaves it: the control plane's static pods, kube-proxy on
every node, CoreDNS and the storage provisioner, so ``kubectl get pods -A`` reads as it does
on minikube.

* The kubelet of the first node runs etcd, kube-apiserver, kube-controller-manager and
  kube-scheduler from static manifests; the API server holds their *mirror pods*
  (``<component>-<node>``, owned by the Node, annotated ``kubernetes.io/config.mirror``).
* kubeadm's ``kube-proxy`` DaemonSet and ``coredns`` Deployment (scaled to one replica, as
  minikube does), with their ServiceAccounts and ConfigMaps.
* minikube's ``storage-provisioner`` addon: a bare pod on the first node, and the
  default-storageclass addon's ``standard`` StorageClass.

Their images are preloaded on every node, as minikube's preload tarball does. The API
server's two system PriorityClasses are made first (kubelab.engine.priority): the Priority
admission plugin gives these pods their priority from them.
"""
from __future__ import annotations

import hashlib
from contextlib import contextmanager
from typing import Iterator

from kubelab.engine.apiserver import APIServer
from kubelab.engine.kubelet import Kubelet
from kubelab.engine.core import Engine
from kubelab.engine.nodes import KUBELET_VERSION
from kubelab.engine.runtime import parse_reference
from kubelab.engine.storage import default_class
from kubelab.engine.store import Obj

NS = "kube-system"
VERSION = KUBELET_VERSION
ETCD_IMAGE = "registry.k8s.io/etcd:3.5.16-0"
COREDNS_IMAGE = "registry.k8s.io/coredns/coredns:v1.11.3"
PROXY_IMAGE = f"registry.k8s.io/kube-proxy:{VERSION}"
PROVISIONER_IMAGE = "gcr.io/k8s-minikube/storage-provisioner:v5"
IMAGES = (ETCD_IMAGE, COREDNS_IMAGE, PROXY_IMAGE, PROVISIONER_IMAGE,
          *(f"registry.k8s.io/kube-{c}:{VERSION}" for c in ("apiserver", "controller-manager", "scheduler")))
MIRROR = "kubernetes.io/config.mirror"

COREFILE = """.:53 {
    log
    errors
    health {
       lameduck 5s
    }
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus :9153
    hosts {
       192.168.49.1 host.minikube.internal
       fallthrough
    }
    forward . /etc/resolv.conf {
       max_concurrent 1000
    }
    cache 30 {
       disable success cluster.local
       disable denial cluster.local
    }
    loop
    reload
    loadbalance
}
"""
PROXY_CONFIG = """apiVersion: kubeproxy.config.k8s.io/v1alpha1
bindAddress: 0.0.0.0
clientConnection:
  kubeconfig: /var/lib/kube-proxy/kubeconfig.conf
clusterCIDR: 10.244.0.0/16
kind: KubeProxyConfiguration
metricsBindAddress: 0.0.0.0:10249
mode: ""
"""
PROXY_KUBECONFIG = """apiVersion: v1
kind: Config
clusters:
- cluster:
    certificate-authority: /var/run/secrets/kubernetes.io/serviceaccount/ca.crt
    server: https://control-plane.minikube.internal:8443
  name: default
contexts:
- context:
    cluster: default
    namespace: default
    user: default
  name: default
current-context: default
users:
- name: default
  user:
    tokenFile: /var/run/secrets/kubernetes.io/serviceaccount/token
"""


def _host_path(name: str, path: str, kind: str = "DirectoryOrCreate") -> Obj:
    return {"name": name, "hostPath": {"path": path, "type": kind}}


def _mount(name: str, path: str, read_only: bool = False) -> Obj:
    return {"mountPath": path, "name": name, **({"readOnly": True} if read_only else {})}


def _static(component: str, image: str, cpu: str, command: list[str], volumes: list[tuple[str, str, str, bool]],
            node: Obj, seen: str, memory: str = "") -> Obj:
    """The mirror pod of a control-plane static pod on ``node``."""
    name = node["metadata"]["name"]
    config_hash = hashlib.md5(f"{component}/{name}".encode()).hexdigest()
    requests = {"cpu": cpu, **({"memory": memory} if memory else {})}
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {
            "name": f"{component}-{name}", "namespace": NS,
            "labels": {"component": component, "tier": "control-plane"},
            "annotations": {"kubernetes.io/config.hash": config_hash, MIRROR: config_hash,
                            "kubernetes.io/config.seen": seen, "kubernetes.io/config.source": "file"},
            "ownerReferences": [{"apiVersion": "v1", "controller": True, "kind": "Node", "name": name,
                                 "uid": node["metadata"]["uid"]}],
        },
        "spec": {
            "containers": [{"name": component, "image": image, "imagePullPolicy": "IfNotPresent",
                            "command": command, "resources": {"requests": requests},
                            "volumeMounts": [_mount(v, p, ro) for v, p, _, ro in volumes]}],
            "hostNetwork": True, "nodeName": name, "priorityClassName": "system-node-critical",
            "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
            "tolerations": [{"effect": "NoExecute", "operator": "Exists"}],
            "volumes": [_host_path(v, host) for v, _, host, _ in volumes],
        },
    }


def control_plane(node: Obj, seen: str) -> list[Obj]:
    """etcd, kube-apiserver, kube-controller-manager and kube-scheduler, with kubeadm's requests."""
    ip = next(a["address"] for a in node["status"]["addresses"] if a["type"] == "InternalIP")
    certs = ("k8s-certs", "/var/lib/minikube/certs", "/var/lib/minikube/certs", True)
    ca = ("ca-certs", "/etc/ssl/certs", "/etc/ssl/certs", True)
    return [
        _static("etcd", ETCD_IMAGE, "100m",
                ["etcd", f"--advertise-client-urls=https://{ip}:2379", "--data-dir=/var/lib/minikube/etcd",
                 f"--listen-client-urls=https://127.0.0.1:2379,https://{ip}:2379", f"--name={node['metadata']['name']}"],
                [("etcd-data", "/var/lib/minikube/etcd", "/var/lib/minikube/etcd", False),
                 ("etcd-certs", "/var/lib/minikube/certs/etcd", "/var/lib/minikube/certs/etcd", False)],
                node, seen, memory="100Mi"),
        _static("kube-apiserver", f"registry.k8s.io/kube-apiserver:{VERSION}", "250m",
                ["kube-apiserver", f"--advertise-address={ip}", "--secure-port=8443",
                 "--service-cluster-ip-range=10.96.0.0/12", "--service-account-issuer=https://kubernetes.default.svc.cluster.local"],
                [ca, certs], node, seen),
        _static("kube-controller-manager", f"registry.k8s.io/kube-controller-manager:{VERSION}", "200m",
                ["kube-controller-manager", "--allocate-node-cidrs=true", "--cluster-cidr=10.244.0.0/16",
                 "--cluster-name=mk", "--leader-elect=false"],
                [ca, certs, ("kubeconfig", "/etc/kubernetes/controller-manager.conf",
                             "/etc/kubernetes/controller-manager.conf", True)], node, seen),
        _static("kube-scheduler", f"registry.k8s.io/kube-scheduler:{VERSION}", "100m",
                ["kube-scheduler", "--kubeconfig=/etc/kubernetes/scheduler.conf", "--leader-elect=false"],
                [("kubeconfig", "/etc/kubernetes/scheduler.conf", "/etc/kubernetes/scheduler.conf", True)],
                node, seen),
    ]


def _account(name: str) -> Obj:
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": NS}}


def _config_map(name: str, data: dict[str, str], labels: dict[str, str] | None = None) -> Obj:
    return {"apiVersion": "v1", "kind": "ConfigMap", "data": data,
            "metadata": {"name": name, "namespace": NS, **({"labels": labels} if labels else {})}}


def kube_proxy() -> Obj:
    """kubeadm's kube-proxy DaemonSet."""
    labels = {"k8s-app": "kube-proxy"}
    return {
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": "kube-proxy", "namespace": NS, "labels": labels},
        "spec": {"selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels}, "spec": {
            "containers": [{
                "name": "kube-proxy", "image": PROXY_IMAGE, "imagePullPolicy": "IfNotPresent",
                "command": ["/usr/local/bin/kube-proxy", "--config=/var/lib/kube-proxy/config.conf",
                            "--hostname-override=$(NODE_NAME)"],
                "env": [{"name": "NODE_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1",
                                                                         "fieldPath": "spec.nodeName"}}}],
                "securityContext": {"privileged": True},
                "volumeMounts": [_mount("kube-proxy", "/var/lib/kube-proxy"),
                                 _mount("xtables-lock", "/run/xtables.lock"),
                                 _mount("lib-modules", "/lib/modules", True)]}],
            "hostNetwork": True, "nodeSelector": {"kubernetes.io/os": "linux"},
            "priorityClassName": "system-node-critical", "serviceAccountName": "kube-proxy",
            "tolerations": [{"operator": "Exists"}],
            "volumes": [{"name": "kube-proxy", "configMap": {"name": "kube-proxy", "defaultMode": 420}},
                        _host_path("xtables-lock", "/run/xtables.lock", "FileOrCreate"),
                        _host_path("lib-modules", "/lib/modules", "")]}}},
    }


def coredns() -> Obj:
    """kubeadm's coredns Deployment, scaled to one replica as minikube does."""
    labels = {"k8s-app": "kube-dns"}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "coredns", "namespace": NS, "labels": labels},
        "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                 "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": "25%"}},
                 "template": {"metadata": {"labels": labels}, "spec": {
                     "containers": [{
                         "name": "coredns", "image": COREDNS_IMAGE, "imagePullPolicy": "IfNotPresent",
                         "args": ["-conf", "/etc/coredns/Corefile"],
                         "ports": [{"containerPort": 53, "name": "dns", "protocol": "UDP"},
                                   {"containerPort": 53, "name": "dns-tcp", "protocol": "TCP"},
                                   {"containerPort": 9153, "name": "metrics", "protocol": "TCP"}],
                         "resources": {"limits": {"memory": "170Mi"}, "requests": {"cpu": "100m", "memory": "70Mi"}},
                         "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                                             "capabilities": {"add": ["NET_BIND_SERVICE"], "drop": ["ALL"]}},
                         "volumeMounts": [_mount("config-volume", "/etc/coredns", True)]}],
                     "dnsPolicy": "Default", "nodeSelector": {"kubernetes.io/os": "linux"},
                     "priorityClassName": "system-cluster-critical", "serviceAccountName": "coredns",
                     "tolerations": [{"key": "CriticalAddonsOnly", "operator": "Exists"},
                                     {"effect": "NoSchedule", "key": "node-role.kubernetes.io/control-plane"}],
                     "volumes": [{"name": "config-volume", "configMap": {
                         "name": "coredns", "defaultMode": 420, "items": [{"key": "Corefile", "path": "Corefile"}]}}]}}},
    }


def storage_provisioner(node: str) -> Obj:
    """minikube's storage-provisioner addon: a bare pod on the primary node."""
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "storage-provisioner", "namespace": NS,
                     "labels": {"addonmanager.kubernetes.io/mode": "Reconcile",
                                "integration-test": "storage-provisioner"}},
        "spec": {"containers": [{"name": "storage-provisioner", "image": PROVISIONER_IMAGE,
                                 "imagePullPolicy": "IfNotPresent", "command": ["/storage-provisioner"],
                                 "volumeMounts": [_mount("tmp", "/tmp")]}],
                 "hostNetwork": True, "nodeName": node, "serviceAccountName": "storage-provisioner",
                 "volumes": [_host_path("tmp", "/tmp", "Directory")]},
    }


@contextmanager
def _side_stream(engine: Engine) -> Iterator[None]:
    """Draw from a stream seeded by the boot stream's state (no draw taken from it), then put
    the boot stream back as it was: what is made inside shifts no name, uid or tie-break of
    what the boot makes after it (which node CoreDNS lands on, say)."""
    rng = engine.rng
    saved = rng.getstate()
    rng.seed(hashlib.sha256(repr(saved).encode()).hexdigest())
    try:
        yield
    finally:
        rng.setstate(saved)


def boot(engine: Engine, api: APIServer) -> None:
    """Create what minikube starts in kube-system (the controllers and kubelets take it from
    there): called once, by the Cluster, while it brings the cluster up. The RBAC defaults
    come first, as the apiserver's bootstrap-roles hook makes them before anything else runs."""
    from kubelab.engine import ingress, priority, rbac

    rbac.bootstrap(api)
    with _side_stream(engine):  # the classes came after the other boot objects: they move none of their draws
        priority.bootstrap(api)
    store = engine.store
    nodes = sorted(store.list("Node"), key=lambda n: n["metadata"]["creationTimestamp"])
    if not nodes or store.get("Namespace", "", NS) is None:
        return
    first = nodes[0]
    for obj in (_account("coredns"), _account("kube-proxy"), _account("storage-provisioner"),
                _config_map("coredns", {"Corefile": COREFILE}),
                _config_map("kube-proxy", {"config.conf": PROXY_CONFIG, "kubeconfig.conf": PROXY_KUBECONFIG},
                            {"app": "kube-proxy"})):
        api.create(obj)
    for pod in control_plane(first, engine.clock.timestamp().replace("Z", ".000000000Z")):
        api.create(pod)
    api.create(kube_proxy())
    api.create(coredns())
    api.create(storage_provisioner(first["metadata"]["name"]))
    api.create(default_class())
    api.create(ingress.ingress_class_object())  # the ingress addon's class


def install(engine: Engine, kubelet: Kubelet) -> None:
    """Preload the system images on every node."""
    canonical = [parse_reference(image).canonical for image in IMAGES]
    for node in engine.store.list("Node"):
        kubelet.add_images(node["metadata"]["name"], canonical)
