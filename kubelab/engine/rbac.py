"""The RBAC defaults of a 1.32 cluster and the clusterrole-aggregation controller.

* ``bootstrap`` creates what kube-apiserver's rbac/bootstrap-roles post-start hook creates
  (plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go): the user-facing roles
  cluster-admin, admin, edit and view (the last three aggregated from the
  ``system:aggregate-to-*`` roles by their labels), system:basic-user, system:discovery,
  system:public-info-viewer, and their ClusterRoleBindings (cluster-admin to system:masters...).
* ``AggregationController`` mirrors kube-controller-manager's clusterrole-aggregation
  controller (ClusterRoleAggregationController.syncClusterRole): a ClusterRole with an
  ``aggregationRule`` gets the rules of every ClusterRole its selectors match, in name order,
  without duplicates.
"""
from __future__ import annotations

import copy
from typing import Any, Iterable

from kubelab.api.kinds import RBAC_GROUP
from kubelab.api.selectors import from_label_selector
from kubelab.engine.apiserver import APIServer
from kubelab.engine.core import Controller, Engine
from kubelab.engine.store import Key, Obj

API_VERSION = f"{RBAC_GROUP}/v1"
_DEFAULTS = {"kubernetes.io/bootstrapping": "rbac-defaults"}
_AUTOUPDATE = {"rbac.authorization.kubernetes.io/autoupdate": "true"}
_RW = ["create", "delete", "deletecollection", "patch", "update"]
_READ = ["get", "list", "watch"]
_ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


def _rule(verbs: list[str], groups: list[str], resources: list[str]) -> Obj:
    return {"verbs": verbs, "apiGroups": groups, "resources": resources}


def _cluster_role(name: str, rules: list[Obj] | None, labels: dict[str, str] | None = None,
                  aggregate_from: str | None = None) -> Obj:
    role: Obj = {"apiVersion": API_VERSION, "kind": "ClusterRole",
                 "metadata": {"name": name, "labels": {**_DEFAULTS, **(labels or {})},
                              "annotations": dict(_AUTOUPDATE)}}
    if aggregate_from:
        role["aggregationRule"] = {"clusterRoleSelectors": [
            {"matchLabels": {f"rbac.authorization.k8s.io/aggregate-to-{aggregate_from}": "true"}}]}
        role["rules"] = None
    else:
        role["rules"] = rules
    return role


def _cluster_binding(name: str, role: str, groups: list[str]) -> Obj:
    return {"apiVersion": API_VERSION, "kind": "ClusterRoleBinding",
            "metadata": {"name": name, "labels": dict(_DEFAULTS), "annotations": dict(_AUTOUPDATE)},
            "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": role},
            "subjects": [{"apiGroup": RBAC_GROUP, "kind": "Group", "name": g} for g in groups]}


_DISCOVERY_URLS = ["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi", "/openapi/*",
                   "/readyz", "/version", "/version/"]
_PUBLIC_URLS = ["/healthz", "/livez", "/readyz", "/version", "/version/"]

_VIEW = [
    _rule(_READ, [""], ["configmaps", "endpoints", "persistentvolumeclaims", "persistentvolumeclaims/status", "pods",
                        "replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts", "services",
                        "services/status"]),
    _rule(_READ, [""], ["bindings", "events", "limitranges", "namespaces/status", "pods/log", "pods/status",
                        "replicationcontrollers/status", "resourcequotas", "resourcequotas/status"]),
    _rule(_READ, [""], ["namespaces"]),
    _rule(_READ, ["discovery.k8s.io"], ["endpointslices"]),
    _rule(_READ, ["apps"], ["controllerrevisions", "daemonsets", "daemonsets/status", "deployments",
                            "deployments/scale", "deployments/status", "replicasets", "replicasets/scale",
                            "replicasets/status", "statefulsets", "statefulsets/scale", "statefulsets/status"]),
    _rule(_READ, ["autoscaling"], ["horizontalpodautoscalers", "horizontalpodautoscalers/status"]),
    _rule(_READ, ["batch"], ["cronjobs", "cronjobs/status", "jobs", "jobs/status"]),
    _rule(_READ, ["extensions"], ["daemonsets", "daemonsets/status", "deployments", "deployments/scale",
                                  "deployments/status", "ingresses", "ingresses/status", "networkpolicies",
                                  "replicasets", "replicasets/scale", "replicasets/status",
                                  "replicationcontrollers/scale"]),
    _rule(_READ, ["policy"], ["poddisruptionbudgets", "poddisruptionbudgets/status"]),
    _rule(_READ, ["networking.k8s.io"], ["ingresses", "ingresses/status", "networkpolicies"]),
]
_EDIT = [
    _rule(_READ, [""], ["pods/attach", "pods/exec", "pods/portforward", "pods/proxy", "secrets", "services/proxy"]),
    _rule(["impersonate"], [""], ["serviceaccounts"]),
    _rule(_RW, [""], ["pods", "pods/attach", "pods/exec", "pods/portforward", "pods/proxy"]),
    _rule(["create"], [""], ["pods/eviction"]),
    _rule(_RW, [""], ["configmaps", "events", "persistentvolumeclaims", "replicationcontrollers",
                      "replicationcontrollers/scale", "secrets", "serviceaccounts", "services", "services/proxy"]),
    _rule(["create"], [""], ["serviceaccounts/token"]),
    _rule(_RW, ["apps"], ["daemonsets", "deployments", "deployments/rollback", "deployments/scale", "replicasets",
                          "replicasets/scale", "statefulsets", "statefulsets/scale"]),
    _rule(_RW, ["autoscaling"], ["horizontalpodautoscalers"]),
    _rule(_RW, ["batch"], ["cronjobs", "jobs"]),
    _rule(_RW, ["extensions"], ["daemonsets", "deployments", "deployments/rollback", "deployments/scale",
                                "ingresses", "networkpolicies", "replicasets", "replicasets/scale",
                                "replicationcontrollers/scale"]),
    _rule(_RW, ["policy"], ["poddisruptionbudgets"]),
    _rule(_RW, ["networking.k8s.io"], ["ingresses", "networkpolicies"]),
    _rule(_ALL_VERBS, ["coordination.k8s.io"], ["leases"]),
]
_ADMIN = [
    _rule(["create"], ["authorization.k8s.io"], ["localsubjectaccessreviews"]),
    _rule(_ALL_VERBS, [RBAC_GROUP], ["rolebindings", "roles"]),
]


def _aggregate_label(to: str) -> dict[str, str]:
    return {f"rbac.authorization.k8s.io/aggregate-to-{to}": "true"}


def defaults() -> list[Obj]:
    """The bootstrap ClusterRoles and ClusterRoleBindings, in the order kubelab creates them."""
    return [
        _cluster_role("cluster-admin", [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]},
                                        {"verbs": ["*"], "nonResourceURLs": ["*"]}]),
        _cluster_role("system:discovery", [{"verbs": ["get"], "nonResourceURLs": _DISCOVERY_URLS}]),
        _cluster_role("system:public-info-viewer", [{"verbs": ["get"], "nonResourceURLs": _PUBLIC_URLS}]),
        _cluster_role("system:basic-user", [
            _rule(["create"], ["authorization.k8s.io"], ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]),
            _rule(["create"], ["authentication.k8s.io"], ["selfsubjectreviews"])]),
        _cluster_role("admin", None, aggregate_from="admin"),
        _cluster_role("edit", None, _aggregate_label("admin"), aggregate_from="edit"),
        _cluster_role("view", None, _aggregate_label("edit"), aggregate_from="view"),
        _cluster_role("system:aggregate-to-admin", _ADMIN, _aggregate_label("admin")),
        _cluster_role("system:aggregate-to-edit", _EDIT, _aggregate_label("edit")),
        _cluster_role("system:aggregate-to-view", _VIEW, _aggregate_label("view")),
        _cluster_binding("cluster-admin", "cluster-admin", ["system:masters"]),
        _cluster_binding("system:discovery", "system:discovery", ["system:authenticated"]),
        _cluster_binding("system:public-info-viewer", "system:public-info-viewer",
                         ["system:authenticated", "system:unauthenticated"]),
        _cluster_binding("system:basic-user", "system:basic-user", ["system:authenticated"]),
    ]


def bootstrap(api: APIServer) -> None:
    """Create the defaults (the apiserver's post-start hook, once, on a new cluster)."""
    for obj in defaults():
        api.create(obj)


class AggregationController(Controller):
    """syncClusterRole: an aggregated ClusterRole's rules are the union of the rules of the
    ClusterRoles its selectors match (sorted by name; a rule already there is not added)."""

    watches = ("ClusterRole",)

    def __init__(self, engine: Engine, api: APIServer) -> None:
        super().__init__(engine)
        self.api = api

    def keys_for(self, event: str, obj: Obj, old: Obj | None) -> Iterable[Key]:
        # any change may feed an aggregated role: look at all of them (enqueueAll)
        return [("ClusterRole", "", r["metadata"]["name"]) for r in self.store.list("ClusterRole")
                if r.get("aggregationRule")]

    def reconcile(self, key: Key) -> None:
        role = self.store.get(*key)
        if role is None or not role.get("aggregationRule"):
            return
        selectors = [from_label_selector(s) for s in (role["aggregationRule"].get("clusterRoleSelectors") or [])]
        rules: list[Any] = []
        for other in sorted(self.store.list("ClusterRole"), key=lambda r: r["metadata"]["name"]):
            if other["metadata"]["name"] == role["metadata"]["name"]:
                continue
            labels = other["metadata"].get("labels") or {}
            if any(s.matches(labels) for s in selectors):
                for rule in other.get("rules") or []:
                    if rule not in rules:
                        rules.append(rule)
        if (role.get("rules") or []) == rules:
            return  # the usual case (every object change looks again): nothing copied
        updated = copy.deepcopy(role)
        updated["rules"] = copy.deepcopy(rules)
        self.api.update(updated)


def install(engine: Engine, api: APIServer) -> None:
    engine.add(AggregationController(engine, api))
