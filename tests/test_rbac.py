"""RBAC: the kinds, the bootstrap roles, aggregation, validation, and the authorizer's rules."""
from __future__ import annotations

import pytest

from kubelab import Cluster
from kubelab.api import rbac


@pytest.fixture(scope="module")
def cluster() -> Cluster:
    return Cluster(clock="virtual")


def test_bootstrap_roles_and_bindings(cluster: Cluster) -> None:
    names = cluster.kubectl("get", "clusterroles", "-o", "name").stdout.split()
    for role in ("cluster-admin", "admin", "edit", "view", "system:basic-user", "system:discovery",
                 "system:public-info-viewer"):
        assert f"clusterrole.rbac.authorization.k8s.io/{role}" in names
    out = cluster.kubectl("get", "clusterrolebinding", "cluster-admin", "-o", "wide").stdout
    assert out.split("\n")[0].split() == ["NAME", "ROLE", "AGE", "USERS", "GROUPS", "SERVICEACCOUNTS"]
    assert "ClusterRole/cluster-admin" in out and "system:masters" in out


def test_aggregation_fills_and_follows_labels(cluster: Cluster) -> None:
    view = cluster.client.get("ClusterRole", "view")
    assert any("pods" in r["resources"] and "get" in r["verbs"] for r in view["rules"])
    admin = cluster.client.get("ClusterRole", "admin")  # admin <- edit <- view, through the labels
    assert any("rolebindings" in r.get("resources", []) for r in admin["rules"])
    assert any("pods/log" in r.get("resources", []) for r in admin["rules"])
    cluster.kubectl("create", "-f", "-", stdin="""apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: widgets-view
  labels: {rbac.authorization.k8s.io/aggregate-to-view: "true"}
rules: [{apiGroups: [example.com], resources: [widgets], verbs: [get]}]
""")
    cluster.settle()
    view = cluster.client.get("ClusterRole", "view")
    assert {"apiGroups": ["example.com"], "resources": ["widgets"], "verbs": ["get"]} in view["rules"]


def test_validation_messages(cluster: Cluster) -> None:
    bad = cluster.kubectl("create", "-f", "-", stdin="""apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: b}
roleRef: {kind: Rol, name: r}
subjects: [{kind: ServiceAccount, name: default, apiGroup: x}, {kind: User, name: ''}]
""")
    assert bad.returncode == 1
    assert bad.stderr == ('The RoleBinding "b" is invalid: \n'
                          '* roleRef.kind: Unsupported value: "Rol": supported values: "Role", "ClusterRole"\n'
                          '* subjects[0].apiGroup: Unsupported value: "x": supported values: ""\n'
                          '* subjects[1].name: Required value\n')
    bad = cluster.kubectl("create", "-f", "-", stdin="""apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: r}
rules: [{resources: [pods]}, {nonResourceURLs: [/x], verbs: [get]}]
""")
    assert "rules[0].verbs: Required value: verbs must contain at least one value" in bad.stderr
    assert "rules[0].apiGroups: Required value: resource rules must supply at least one api group" in bad.stderr
    assert ('rules[1].nonResourceURLs: Invalid value: ["/x"]: namespaced rules cannot apply to '
            'non-resource URLs') in bad.stderr


def _lister(objects: list[dict]):
    def lister(kind: str, namespace: str | None) -> list[dict]:
        return [o for o in objects if o["kind"] == kind
                and (namespace is None or o["metadata"].get("namespace") == namespace)]
    return lister


def test_rules_evaluation() -> None:
    role = {"kind": "Role", "metadata": {"name": "r", "namespace": "dev"}, "rules": [
        {"verbs": ["get"], "apiGroups": [""], "resources": ["pods/log"]},
        {"verbs": ["*"], "apiGroups": ["apps"], "resources": ["*/scale"]},
        {"verbs": ["get"], "apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["one"]}]}
    binding = {"kind": "RoleBinding", "metadata": {"name": "b", "namespace": "dev"},
               "roleRef": {"kind": "Role", "name": "r"},
               "subjects": [{"kind": "ServiceAccount", "name": "x"}]}
    lister = _lister([role, binding])
    x = rbac.service_account_user("dev", "x")
    allowed = rbac.authorize(x, rbac.Attributes("get", resource="pods", subresource="log", namespace="dev"), lister)
    assert allowed == (True, 'RBAC: allowed by RoleBinding "b/dev" of Role "r" to ServiceAccount "dev/x"')
    assert not rbac.authorize(x, rbac.Attributes("get", resource="pods", namespace="dev"), lister)[0]
    assert rbac.authorize(x, rbac.Attributes("update", api_group="apps", resource="deployments",
                                             subresource="scale", namespace="dev"), lister)[0]
    assert rbac.authorize(x, rbac.Attributes("get", resource="configmaps", name="one", namespace="dev"), lister)[0]
    assert not rbac.authorize(x, rbac.Attributes("list", resource="configmaps", namespace="dev"), lister)[0]
    other = rbac.service_account_user("prod", "x")
    assert not rbac.authorize(other, rbac.Attributes("get", resource="pods", subresource="log", namespace="dev"),
                              lister)[0]
    dangling = {"kind": "RoleBinding", "metadata": {"name": "c", "namespace": "dev"},
                "roleRef": {"kind": "ClusterRole", "name": "gone"}, "subjects": [{"kind": "ServiceAccount", "name": "x"}]}
    attrs = rbac.Attributes("list", resource="pods", namespace="dev")
    ok, reason = rbac.authorize(x, attrs, _lister([dangling]))
    assert (ok, reason) == (False, 'RBAC: clusterrole.rbac.authorization.k8s.io "gone" not found')
    assert rbac.forbidden(x, attrs).message == ('pods is forbidden: User "system:serviceaccount:dev:x" cannot list '
                                                'resource "pods" in API group "" in the namespace "dev"')
    url = rbac.Attributes("get", resource_request=False, path="/metrics")
    assert rbac.forbidden(x, url).message == 'forbidden: User "system:serviceaccount:dev:x" cannot get path "/metrics"'
