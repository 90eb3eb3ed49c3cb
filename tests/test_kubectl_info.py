"""api-versions, cluster-info, config and version: what kubectl says about the cluster."""
from kubelab import Cluster


def test_api_versions():
    r = Cluster(clock="virtual", seed=1).kubectl("api-versions")
    assert r.stdout == "apps/v1\nbatch/v1\ndiscovery.k8s.io/v1\nv1\n"


def test_cluster_info_keeps_kubectl_colour_codes():
    r = Cluster(clock="virtual", seed=1).kubectl("cluster-info")
    assert r.stdout == (
        "\x1b[0;32mKubernetes control plane\x1b[0m is running at \x1b[0;33mhttps://192.168.49.2:8443\x1b[0m\n"
        "\x1b[0;32mCoreDNS\x1b[0m is running at \x1b[0;33mhttps://192.168.49.2:8443/api/v1/namespaces/kube-system/"
        "services/kube-dns:dns/proxy\x1b[0m\n"
        "\n"
        "To further debug and diagnose cluster problems, use 'kubectl cluster-info dump'.\n")


def test_set_context_namespace_changes_later_commands():
    c = Cluster(clock="virtual", seed=1)
    c.kubectl("create namespace team")
    c.client.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "only-in-team", "namespace": "team"}})
    r = c.kubectl("config set-context --current --namespace=team")
    assert (r.returncode, r.stdout) == (0, 'Context "kubelab" modified.\n')
    assert c.kubectl("config get-contexts").stdout == (
        "CURRENT   NAME      CLUSTER   AUTHINFO   NAMESPACE\n"
        "*         kubelab   kubelab   kubelab    team\n")
    assert c.kubectl("describe cm only-in-team").returncode == 0
    assert c.kubectl("config current-context").stdout == "kubelab\n"


def test_version():
    r = Cluster(clock="virtual", seed=1).kubectl("version")
    assert r.stdout == "Client Version: v1.32.0\nKustomize Version: v5.5.0\nServer Version: v1.32.0\n"


def test_node_ip_like_minikube_ip():
    c = Cluster(clock="virtual", seed=1)
    assert c.node_ip() == "192.168.49.2"
