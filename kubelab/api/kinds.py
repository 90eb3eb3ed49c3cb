"""The group/version/kind registry: how a word typed in kubectl becomes an API resource,
and every fact about a kind that more than one layer needs.

Mirrors what ``kubectl api-resources`` lists for a 1.32 cluster, for the kinds kubelab serves.
The registry's order is the discovery order (the server lists kinds in it, and kubectl
expands a category such as ``all`` in it): groups by the aggregator's priority, resources of a
group by name, whatever order the entries are written in. Store, server, controllers and kubectl read the
facts below from here; adding a kind is one entry (plus its own modules), not an edit to
tables spread across layers.
"""
from __future__ import annotations

from dataclasses import dataclass

from kubelab.api.errors import StatusError


@dataclass(frozen=True)
class Kind:
    """One API resource: its kind, where it lives, every name kubectl accepts for it, and how
    the API server treats it (its REST strategy's facts)."""

    kind: str
    group: str
    version: str
    plural: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
    # A ``/status`` subresource: the main resource then never writes ``status`` (the
    # strategy's PrepareForUpdate keeps the stored one) and only ``/status`` does.
    status: bool = False
    # A ``/scale`` subresource (autoscaling/v1 Scale), what ``kubectl scale`` needs.
    scale: bool = False
    # Spec changes bump ``metadata.generation`` (the strategy increments it on any change
    # outside status and metadata), so controllers report ``observedGeneration``.
    generation: bool = False
    # ``metadata.generation`` is 1 from creation on and never moves (a strategy that sets it in
    # PrepareForCreate only, as PriorityClass's).
    generation_at_create: bool = False
    # Namespace termination deletes kinds with a rank first, lowest first (controllers before
    # what they make, so nothing is re-created meanwhile), then the rest in registry order.
    deletion_rank: int | None = None

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def resource(self) -> str:
        """``plural.group`` as kubectl prints it in ``deployment.apps/echo-server``."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def qualified_singular(self) -> str:
        """``deployment.apps`` / ``pod``: the prefix of kubectl's ``-o name`` and action messages."""
        return f"{self.singular}.{self.group}" if self.group else self.singular


# The groups' GroupPriorityMinimum (kube-aggregator's APIService priorities, kube-apiserver's
# built-in groups): /apis lists groups by it, highest first (ties by name).
GROUP_PRIORITY = {
    "": 18000, "apiregistration.k8s.io": 17800, "apps": 17800, "events.k8s.io": 17750,
    "authentication.k8s.io": 17700, "authorization.k8s.io": 17600, "autoscaling": 17500, "batch": 17400,
    "certificates.k8s.io": 17300, "networking.k8s.io": 17200, "policy": 17100, "rbac.authorization.k8s.io": 17000,
    "storage.k8s.io": 16800, "admissionregistration.k8s.io": 16700, "apiextensions.k8s.io": 16700,
    "scheduling.k8s.io": 16600, "coordination.k8s.io": 16500, "node.k8s.io": 16300, "discovery.k8s.io": 16200,
    "flowcontrol.apiserver.k8s.io": 16100,
    "metrics.k8s.io": 100,  # metrics-server's APIService
}


def discovery_order(kind: "Kind") -> tuple[int, str, str]:
    """Sort key: the group's priority, then its name, then the resource (the installer sorts
    a group version's paths)."""
    return (-GROUP_PRIORITY.get(kind.group, 0), kind.group, kind.plural)


_ALL = ("all",)
RBAC_GROUP = "rbac.authorization.k8s.io"
_WORKLOAD = {"status": True, "generation": True}  # the apps/batch controllers' kinds
KINDS: tuple[Kind, ...] = tuple(sorted((
    Kind("Binding", "", "v1", "bindings", True, verbs=("create",)),
    Kind("ConfigMap", "", "v1", "configmaps", True, ("cm",)),
    Kind("Endpoints", "", "v1", "endpoints", True, ("ep",)),
    Kind("Event", "", "v1", "events", True, ("ev",)),
    Kind("LimitRange", "", "v1", "limitranges", True, ("limits",)),
    Kind("Namespace", "", "v1", "namespaces", False, ("ns",),
         verbs=("create", "delete", "get", "list", "patch", "update", "watch"), status=True),
    Kind("Node", "", "v1", "nodes", False, ("no",), status=True),
    Kind("PersistentVolumeClaim", "", "v1", "persistentvolumeclaims", True, ("pvc",), status=True),
    Kind("PersistentVolume", "", "v1", "persistentvolumes", False, ("pv",), status=True),
    Kind("Pod", "", "v1", "pods", True, ("po",), _ALL, status=True, deletion_rank=7),
    Kind("ReplicationController", "", "v1", "replicationcontrollers", True, ("rc",), _ALL, **_WORKLOAD,
         scale=True, deletion_rank=6),
    Kind("ResourceQuota", "", "v1", "resourcequotas", True, ("quota",), status=True),
    Kind("Secret", "", "v1", "secrets", True),
    Kind("ServiceAccount", "", "v1", "serviceaccounts", True, ("sa",)),
    Kind("Service", "", "v1", "services", True, ("svc",), _ALL, status=True),
    Kind("ControllerRevision", "apps", "v1", "controllerrevisions", True),
    Kind("DaemonSet", "apps", "v1", "daemonsets", True, ("ds",), _ALL, **_WORKLOAD, deletion_rank=3),
    Kind("Deployment", "apps", "v1", "deployments", True, ("deploy",), _ALL, **_WORKLOAD, scale=True,
         deletion_rank=1),
    Kind("ReplicaSet", "apps", "v1", "replicasets", True, ("rs",), _ALL, **_WORKLOAD, scale=True,
         deletion_rank=6),
    Kind("StatefulSet", "apps", "v1", "statefulsets", True, ("sts",), _ALL, **_WORKLOAD, scale=True,
         deletion_rank=2),
    Kind("HorizontalPodAutoscaler", "autoscaling", "v2", "horizontalpodautoscalers", True, ("hpa",), _ALL,
         status=True),
    Kind("Job", "batch", "v1", "jobs", True, (), _ALL, **_WORKLOAD, deletion_rank=5),
    Kind("CronJob", "batch", "v1", "cronjobs", True, ("cj",), _ALL, **_WORKLOAD, deletion_rank=4),
    Kind("PodDisruptionBudget", "policy", "v1", "poddisruptionbudgets", True, ("pdb",), status=True,
         generation=True),
    Kind("ClusterRoleBinding", RBAC_GROUP, "v1", "clusterrolebindings", False),
    Kind("ClusterRole", RBAC_GROUP, "v1", "clusterroles", False),
    Kind("RoleBinding", RBAC_GROUP, "v1", "rolebindings", True),
    Kind("Role", RBAC_GROUP, "v1", "roles", True),
    Kind("StorageClass", "storage.k8s.io", "v1", "storageclasses", False, ("sc",)),
    Kind("PriorityClass", "scheduling.k8s.io", "v1", "priorityclasses", False, ("pc",), generation_at_create=True),
    Kind("EndpointSlice", "discovery.k8s.io", "v1", "endpointslices", True),
    Kind("IngressClass", "networking.k8s.io", "v1", "ingressclasses", False),
    Kind("Ingress", "networking.k8s.io", "v1", "ingresses", True, ("ing",), status=True, generation=True),
    Kind("NetworkPolicy", "networking.k8s.io", "v1", "networkpolicies", True, ("netpol",), generation=True),
), key=discovery_order))

BY_KIND: dict[str, Kind] = {k.kind: k for k in KINDS}

# metrics-server's aggregated API (APIService v1beta1.metrics.k8s.io, minikube's metrics-server
# addon): served beside the registry, not in it, as kube-aggregator proxies it beside
# kube-apiserver's own groups. kube-apiserver's OpenAPI has no schema for these kinds, nothing
# stores them, and only get and list exist (metrics-server answers from its memory).
METRICS: dict[str, Kind] = {k.kind: k for k in (
    Kind("NodeMetrics", "metrics.k8s.io", "v1beta1", "nodes", False, verbs=("get", "list")),
    Kind("PodMetrics", "metrics.k8s.io", "v1beta1", "pods", True, verbs=("get", "list")),
)}
_BY_API: dict[tuple[str, str], Kind] = {(k.api_version, k.kind): k for k in KINDS}
_BY_NAME: dict[str, Kind] = {}
for _k in (*KINDS, *METRICS.values()):  # the registry's words first: "pods" are the core ones
    for _name in (_k.plural, _k.singular, _k.kind, *_k.short_names, _k.resource, _k.qualified_singular,
                  f"{_k.plural}.{_k.version}.{_k.group}" if _k.group else _k.plural):
        _BY_NAME.setdefault(_name.lower() if _name != _k.kind else _name, _k)


def lookup(word: str) -> Kind:
    """The Kind for a resource word typed in kubectl (``po``, ``pods``, ``Deployment``, ``deployments.apps``)."""
    kind = _BY_NAME.get(word) or _BY_NAME.get(word.lower())
    if kind is None:
        raise StatusError(
            404, "NotFound", f'the server doesn\'t have a resource type "{word}"', word
        )
    return kind


def for_object(api_version: str, kind: str) -> Kind:
    """The Kind named by a manifest's ``apiVersion`` and ``kind``."""
    found = _BY_API.get((api_version, kind))
    if found is None:
        raise StatusError(
            400,
            "BadRequest",
            f'no matches for kind "{kind}" in version "{api_version}"',
            kind,
        )
    return found


def all_category() -> list[Kind]:
    """What ``kubectl get all`` lists: the kinds in category ``all``, in discovery order."""
    return [k for k in KINDS if "all" in k.categories]


def namespace_content() -> tuple[Kind, ...]:
    """The namespaced kinds namespace termination deletes, in the order it deletes them."""
    ranked = sorted((k for k in KINDS if k.deletion_rank is not None), key=lambda k: k.deletion_rank or 0)
    return tuple(ranked) + tuple(k for k in KINDS if k.namespaced and k.deletion_rank is None and "delete" in k.verbs)
