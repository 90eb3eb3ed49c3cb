"""The kind registry's facts agree with Kubernetes 1.32's OpenAPI and with what reads them."""
from __future__ import annotations

from kubelab.api import schema
from kubelab.api.kinds import KINDS, all_category, namespace_content


def test_status_and_scale_subresources_agree_with_the_openapi():
    for kind in KINDS:
        fields = schema.root(kind.kind).fields
        if kind.status:
            assert "status" in fields, kind.kind
        if kind.scale:  # autoscaling/v1 Scale reads spec.replicas and status.replicas
            assert schema.child(fields["spec"], "replicas").go == "int32", kind.kind
            assert kind.status, kind.kind
        if kind.generation:  # the strategy counts changes to a spec
            assert "spec" in fields, kind.kind


def test_all_category_is_in_discovery_order():
    assert [k.kind for k in all_category()] == ["Pod", "ReplicationController", "Service", "DaemonSet", "Deployment", "ReplicaSet",
                                                "StatefulSet", "HorizontalPodAutoscaler", "CronJob", "Job"]


def test_namespace_termination_deletes_controllers_before_what_they_make():
    order = [k.kind for k in namespace_content()]
    assert order[:8] == ["Deployment", "StatefulSet", "DaemonSet", "CronJob", "Job", "ReplicationController",
                         "ReplicaSet", "Pod"]
    assert set(order) == {k.kind for k in KINDS if k.namespaced and "delete" in k.verbs}


def test_a_kind_without_a_printer_gets_the_api_servers_default_table():
    """kube-apiserver's defaultTableConvertor: Name and Created At (RFC 3339), as kubectl shows
    ``NAME  CREATED AT`` for such kinds; a new kind gets it until it has columns of its own."""
    from kubelab.api.tables import table

    obj = {"metadata": {"name": "lr", "creationTimestamp": "2026-01-01T00:00:00Z"}}
    out = table("LimitRange", [obj], 0.0)
    assert [(c["name"], c["type"], c["format"]) for c in out["columnDefinitions"]] == \
        [("Name", "string", "name"), ("Created At", "date", "")]
    assert out["rows"][0]["cells"] == ["lr", "2026-01-01T00:00:00Z"]
