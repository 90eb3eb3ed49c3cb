"""``kubectl explain`` in kubelab prints, byte for byte, what the real kubectl 1.32 prints
against kubelab's HTTP server, which serves the same Kubernetes 1.32 OpenAPI v3 documents.
Skipped without a kubectl binary (the layout tests below run everywhere)."""
from __future__ import annotations

import copy
from typing import Iterator

import pytest

from kubelab import Cluster
from kubelab.api import openapi
from kubelab.kubectl.explain import wrap
from kubelab.server import serve
from test_server import Kubectl, needs_kubectl

COMMANDS = [
    "explain pods",
    "explain deploy",
    "explain svc",
    "explain cm",
    "explain secret",
    "explain ns",
    "explain nodes",
    "explain rs",
    "explain jobs",
    "explain cronjobs.spec",
    "explain deployment.spec",
    "explain deploy.spec.strategy",
    "explain deploy.spec.strategy --recursive",
    "explain svc.spec.type",
    "explain svc.spec.ports --recursive",
    "explain pods.spec.containers",
    "explain pods.spec.containers.resources.limits",
    "explain pods.metadata.creationTimestamp",
    "explain pods.spec.containers.ports.containerPort",
    "explain svc.spec.ports.appProtocol",
    "explain sts.spec.volumeClaimTemplates",
    "explain pods --recursive",
    "explain pods.spec.foo",
    "explain pods.foo.bar",
    "explain foos",
    "explain pods --output=yaml",
    "explain pods --api-version=v1",
    "explain deploy --api-version=v1",
    "explain deploy --api-version=apps/v2",
    "explain",
    "explain pods svc",
    "explain deploy --output=plaintext-openapiv2",
    # the v2 models (/openapi/v2 in protobuf) and kubectl's older explain printer
    "explain deploy --recursive --output=plaintext-openapiv2",
    "explain pods.spec.containers --output=plaintext-openapiv2",
    "explain pods.spec.restartPolicy --output=plaintext-openapiv2",
    "explain pods.spec.restartPolicy.foo --output=plaintext-openapiv2",
    "explain pods.spec.foo --output=plaintext-openapiv2",
    "explain deploy.spec.strategy.rollingUpdate.maxSurge --output=plaintext-openapiv2",
    "explain cm.data --output=plaintext-openapiv2",
    "explain pods.metadata.managedFields.fieldsV1 --output=plaintext-openapiv2",
    "explain pods.spec.containers.resources.limits --output=plaintext-openapiv2",
    "explain svc.spec.ports --recursive --output=plaintext-openapiv2",
    "explain nodes.status --output=plaintext-openapiv2",
    "explain deploy --api-version=v1 --output=plaintext-openapiv2",
    "explain foos --output=yaml",
    "explain deploy --api-version=v1 --output=yaml",
    "explain pods.spec.foo -o yaml",
    "explain pods.spec -o plaintext",
    "explain deployments.apps.spec.replicas",
    "explain deploy.apps",
    "explain deployments.v1.apps.spec",
    "explain endpointslices.discovery.k8s.io",
    "explain pods.spec.",
]


@pytest.fixture(scope="module")
def clusters(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Cluster, Kubectl]]:
    cluster = Cluster(clock="virtual", seed=1)
    with serve(cluster) as server:
        yield cluster, Kubectl(server.kubeconfig, str(tmp_path_factory.mktemp("home")))


def _same(cluster: Cluster, kubectl: Kubectl, command: str) -> None:
    real = kubectl(command)
    ours = cluster.kubectl(command)
    assert (ours.stdout, ours.stderr, ours.returncode) == (real.stdout, real.stderr, real.returncode)


@needs_kubectl
@pytest.mark.parametrize("command", COMMANDS)
def test_explain_matches_real_kubectl(clusters: tuple[Cluster, Kubectl], command: str) -> None:
    _same(*clusters, command)


@needs_kubectl
def test_every_kind_through_the_v2_models_matches_real_kubectl(clusters: tuple[Cluster, Kubectl]) -> None:
    from kubelab.api.kinds import KINDS

    for kind in KINDS:
        name = f"{kind.plural}.{kind.group}" if kind.group else kind.plural
        for command in (f"explain {name} --output=plaintext-openapiv2",
                        f"explain {name}.spec --recursive --output=plaintext-openapiv2"):
            _same(*clusters, command)


@needs_kubectl
def test_enum_lines_match_real_kubectl(clusters: tuple[Cluster, Kubectl], monkeypatch: pytest.MonkeyPatch) -> None:
    """The 1.32 definitions kubelab ships carry no enums; give a field some to check the
    ``ENUM:`` block, the ``enum:`` line and its four-value cut-off against the binary."""
    patched = copy.deepcopy(openapi.schemas())
    spec = patched["io.k8s.api.core.v1.ServiceSpec"]["properties"]
    spec["type"]["enum"] = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]
    spec["sessionAffinity"]["enum"] = ["", "ClientIP", "None", "A", "B"]
    monkeypatch.setattr(openapi, "schemas", lambda: patched)
    openapi._reachable.cache_clear()
    try:
        for command in ("explain svc.spec.type", "explain svc.spec.sessionAffinity", "explain svc.spec",
                        "explain svc.spec --recursive"):
            _same(*clusters, command)
    finally:
        openapi._reachable.cache_clear()


@needs_kubectl
def test_kind_missing_from_the_document_matches_real_kubectl(clusters: tuple[Cluster, Kubectl],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The template's own error, when no schema carries the kind's group-version-kind."""
    served = openapi.document

    def without_deployment(group_version: str) -> dict:
        doc = copy.deepcopy(served(group_version))
        doc["components"]["schemas"]["io.k8s.api.apps.v1.Deployment"].pop("x-kubernetes-group-version-kind")
        return doc

    monkeypatch.setattr(openapi, "document", without_deployment)
    _same(*clusters, "explain deploy")


def test_served_documents_hold_v3_schemas_with_group_version_kinds() -> None:
    doc = openapi.document("apps/v1")
    schemas = doc["components"]["schemas"]
    deployment = schemas["io.k8s.api.apps.v1.Deployment"]
    assert deployment["x-kubernetes-group-version-kind"] == [{"group": "apps", "kind": "Deployment", "version": "v1"}]
    assert deployment["type"] == "object" and "enum" not in deployment["properties"]["kind"]
    assert deployment["properties"]["spec"]["allOf"] == [{"$ref": "#/components/schemas/io.k8s.api.apps.v1.DeploymentSpec"}]
    assert "io.k8s.api.core.v1.PodSpec" in schemas and "io.k8s.api.core.v1.Pod" not in schemas
    patch = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {"group": "apps", "version": "v1", "kind": "Deployment"}
    assert "/api/v1/nodes/{name}" in openapi.document("v1")["paths"]


def test_wrap_is_go_wordwrap() -> None:
    assert wrap("aaa bbb ccc", 7) == "aaa bbb\nccc"
    assert wrap("a verylongword b", 5) == "a\nverylongword\nb"
    assert wrap("one\n\ntwo  three", 10) == "one\n\ntwo  three"
    assert wrap("one\n\ntwo  three", 9) == "one\n\ntwo\nthree"
    assert wrap("x" * 12, 5) == "x" * 12


def test_explain_without_a_resource_is_a_usage_error() -> None:
    r = Cluster(clock="virtual", seed=1).kubectl("explain")
    assert (r.returncode, r.stdout, r.stderr) == (1, "", 'error: You must specify the type of resource to explain. '
                                                  'Use "kubectl api-resources" for a complete list of supported '
                                                  'resources.\n')
