"""A sample of the docs corpus applied by the real kubectl 1.32 through the served API: it
prints what kubelab's own kubectl prints for the same file (created objects, or the error a
1.32 apiserver answers), so the corpus' apply step holds for the real client too."""
from __future__ import annotations

import time

import pytest

from docs_corpus import CORPUS, load
from kubelab import Cluster
from kubelab.engine.clock import VirtualClock
from kubelab.server import serve
from test_server import KUBECTL, SKIP_REASON, Kubectl

SAMPLE = [
    "web-pods-simple-pod.yaml", "web-configmap-configure-pod.yaml", "web-application-web-statefulset.yaml",
    "web-controllers-replication.yaml", "web-controllers-daemonset.yaml", "web-application-job-cronjob.yaml",
    "web-application-mysql-pv.yaml", "web-storage-storageclass-low-latency.yaml", "web-access-simple-role.yaml",
    "web-admin-dns-horizontal-autoscaler.yaml", "web-service-networking-simple-fanout.yaml",
    "web-service-networking-networkpolicy.yaml", "web-policy-quota-list.yaml", "web-debug-node-problem-detector.yaml",
    "web-admin-resource-memory-constraints-pod-2.yaml", "web-secret-dockercfg-missing-key.yaml",
    "web-policy-example-psp.yaml", "web-pods-inject-envars-file-container.yaml", "web-service-dual-stack-ipv6-only.yaml",
]


@pytest.mark.skipif(KUBECTL is None, reason=SKIP_REASON)
@pytest.mark.parametrize("name", SAMPLE)
def test_real_kubectl_applies_a_corpus_file_as_kubelab_does(name, tmp_path):
    ex = load(CORPUS / name)

    def cluster() -> Cluster:
        c = Cluster(clock=VirtualClock(start=int(time.time()) - 3600), seed=1)
        for req in ex.requires:
            assert c.kubectl("apply", "-f", str(CORPUS / req)).returncode == 0
        if ex.namespace:
            c.kubectl(f"create namespace {ex.namespace}")
        return c

    ns = [f"--namespace={ex.namespace}"] if ex.namespace else []
    ours = cluster().kubectl("apply", "-f", str(ex.path), *ns)
    with serve(cluster()) as server:
        theirs = Kubectl(server.kubeconfig, str(tmp_path))(["apply", "-f", str(ex.path), *ns])
    assert (theirs.returncode, theirs.stdout, theirs.stderr) == (ours.returncode, ours.stdout, ours.stderr)
