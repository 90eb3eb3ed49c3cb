"""The group/version/kind registry: how a word typed in kubectl becomes an API resource.

Mirrors what ``kubectl api-resources`` lists for a 1.32 cluster, for the kinds kubelab serves.
"""
from __future__ import annotations

from dataclasses import dataclass

from kubelab.api.errors import StatusError


@dataclass(frozen=True)
class Kind:
    """One API resource: its kind, where it lives, and every name kubectl accepts for it."""

    kind: str
    group: str
    version: str
    plural: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")

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


_ALL = ("all",)
KINDS: tuple[Kind, ...] = (
    Kind("Binding", "", "v1", "bindings", True, verbs=("create",)),
    Kind("ConfigMap", "", "v1", "configmaps", True, ("cm",)),
    Kind("Endpoints", "", "v1", "endpoints", True, ("ep",)),
    Kind("Event", "", "v1", "events", True, ("ev",)),
    Kind("Namespace", "", "v1", "namespaces", False, ("ns",),
         verbs=("create", "delete", "get", "list", "patch", "update", "watch")),
    Kind("Node", "", "v1", "nodes", False, ("no",)),
    Kind("Pod", "", "v1", "pods", True, ("po",), _ALL),
    Kind("Secret", "", "v1", "secrets", True),
    Kind("ServiceAccount", "", "v1", "serviceaccounts", True, ("sa",)),
    Kind("Service", "", "v1", "services", True, ("svc",), _ALL),
    Kind("ControllerRevision", "apps", "v1", "controllerrevisions", True),
    Kind("DaemonSet", "apps", "v1", "daemonsets", True, ("ds",), _ALL),
    Kind("Deployment", "apps", "v1", "deployments", True, ("deploy",), _ALL),
    Kind("ReplicaSet", "apps", "v1", "replicasets", True, ("rs",), _ALL),
    Kind("StatefulSet", "apps", "v1", "statefulsets", True, ("sts",), _ALL),
    Kind("Job", "batch", "v1", "jobs", True, (), _ALL),
    Kind("CronJob", "batch", "v1", "cronjobs", True, ("cj",), _ALL),
    Kind("EndpointSlice", "discovery.k8s.io", "v1", "endpointslices", True),
)

BY_KIND: dict[str, Kind] = {k.kind: k for k in KINDS}
_BY_API: dict[tuple[str, str], Kind] = {(k.api_version, k.kind): k for k in KINDS}
_BY_NAME: dict[str, Kind] = {}
for _k in KINDS:
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
    """What ``kubectl get all`` lists, in kubectl's order."""
    order = ["Pod", "Service", "DaemonSet", "Deployment", "ReplicaSet", "StatefulSet", "Job", "CronJob"]
    return [BY_KIND[k] for k in order]
