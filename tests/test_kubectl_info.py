"""api-versions, cluster-info, config and version: what kubectl says about the cluster."""
import json

import yaml

from kubelab import Cluster
from kubelab.api.version import server_version
from kubelab.kubectl import printers
from kubelab.server import serve
from test_server import Kubectl, needs_kubectl


def test_api_versions():
    r = Cluster(clock="virtual", seed=1).kubectl("api-versions")
    assert r.stdout == ("apps/v1\nautoscaling/v1\nautoscaling/v2\nbatch/v1\ndiscovery.k8s.io/v1\n"
                        "metrics.k8s.io/v1beta1\nnetworking.k8s.io/v1\npolicy/v1\nrbac.authorization.k8s.io/v1\n"
                        "scheduling.k8s.io/v1\nstorage.k8s.io/v1\nv1\n")


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
    c = Cluster(clock="virtual", seed=1)
    r = c.kubectl("version")
    assert r.stdout == "Client Version: v1.32.0\nKustomize Version: v5.5.0\nServer Version: v1.32.0\n"
    assert c.kubectl("version --client").stdout == "Client Version: v1.32.0\nKustomize Version: v5.5.0\n"
    r = c.kubectl("version -o json")
    assert json.loads(r.stdout)["serverVersion"] == server_version()
    assert r.stdout.startswith('{\n  "clientVersion": {\n    "major": "1",\n    "minor": "32",\n'
                               '    "gitVersion": "v1.32.0",\n') and r.stdout.endswith('"\n  }\n}\n')
    r = c.kubectl("version --client -o yaml")
    assert r.stdout.startswith("clientVersion:\n  buildDate: ") and r.stdout.endswith("kustomizeVersion: v5.5.0\n\n")
    for line, err in (("version -o bogus", "error: --output must be 'yaml' or 'json'\n"),
                      ("version x", "error: extra arguments: [x]\n")):
        r = c.kubectl(line)
        assert (r.returncode, r.stdout, r.stderr) == (1, "", err)


@needs_kubectl
def test_version_matches_real_kubectl(tmp_path):
    """The real kubectl sees our /version as the server's; its client block is its own build,
    so only that block (a v1.32 kubectl's, in the same fields) may differ."""
    c = Cluster(clock="virtual", seed=1)
    with serve(c) as server:
        real = Kubectl(server.kubeconfig, str(tmp_path))
        for output in ("json", "yaml"):
            theirs, mine = real(f"version -o {output}"), c.kubectl(f"version -o {output}")
            load = json.loads if output == "json" else yaml.safe_load
            t, m = load(theirs.stdout), load(mine.stdout)
            assert t["serverVersion"] == m["serverVersion"] == server_version()
            assert list(t["clientVersion"]) == list(m["clientVersion"])
            assert t["clientVersion"]["gitVersion"].startswith("v1.32.")
            # same layout: their text, with our client block in place of theirs, is ours
            dump = (lambda o: json.dumps(o, indent=2) + "\n") if output == "json" else \
                (lambda o: printers.to_yaml(o) + "\n")
            assert dump(t) == theirs.stdout
            t["clientVersion"] = m["clientVersion"]
            assert dump(t) == mine.stdout
        theirs, mine = real("version"), c.kubectl("version")
        assert theirs.stdout.splitlines()[1:] == mine.stdout.splitlines()[1:]


def test_node_ip_like_minikube_ip():
    c = Cluster(clock="virtual", seed=1)
    assert c.node_ip() == "192.168.49.2"


def test_explain_kind_field_and_errors():
    """Layout of kubectl 1.32's plaintext template; the real binary is compared in
    test_explain_fidelity."""
    c = Cluster(clock="virtual", seed=1)
    r = c.kubectl("explain pods")
    assert r.returncode == 0
    assert r.stdout.startswith("KIND:       Pod\nVERSION:    v1\n\nDESCRIPTION:\n    Pod is a collection of "
                               "containers that can run on a host. This resource is\n    created by clients and "
                               "scheduled onto hosts.\n    \nFIELDS:\n")
    assert ("FIELDS:\n  apiVersion\t<string>\n    APIVersion defines the versioned schema of this representation "
            "of an object.\n    Servers should convert recognized schemas to the latest internal value, and\n    "
            "may reject unrecognized values. More info:\n    https://git.k8s.io/community/contributors/devel/"
            "sig-architecture/api-conventions.md#resources\n\n  kind\t<string>\n") in r.stdout
    assert "  spec\t<PodSpec>\n" in r.stdout and r.stdout.endswith("#spec-and-status\n\n\n")
    r = c.kubectl("explain pods.spec.containers")
    assert r.stdout.startswith("KIND:       Pod\nVERSION:    v1\n\nFIELD: containers <[]Container>\n\n\n"
                               "DESCRIPTION:\n    List of containers belonging to the pod. Containers cannot currently "
                               "be\n    added or removed. There must be at least one container in a Pod. Cannot be\n"
                               "    updated.\n    A single application container that you want to run within a pod.\n"
                               "    \nFIELDS:\n  args\t<[]string>\n")
    assert "\n  name\t<string> -required-\n" in r.stdout
    r = c.kubectl("explain deploy.spec.strategy")
    assert r.stdout == ("GROUP:      apps\nKIND:       Deployment\nVERSION:    v1\n\n"
                        "FIELD: strategy <DeploymentStrategy>\n\n\nDESCRIPTION:\n"
                        "    The deployment strategy to use to replace existing pods with new ones.\n"
                        "    DeploymentStrategy describes how to replace existing pods with new ones.\n    \nFIELDS:\n"
                        "  rollingUpdate\t<RollingUpdateDeployment>\n"
                        "    Rolling update config params. Present only if DeploymentStrategyType =\n"
                        "    RollingUpdate.\n\n"
                        "  type\t<string>\n    Type of deployment. Can be \"Recreate\" or \"RollingUpdate\". Default is\n"
                        "    RollingUpdate.\n\n\n")
    r = c.kubectl("explain deploy.spec.strategy --recursive")
    assert r.stdout.endswith("FIELDS:\n  rollingUpdate\t<RollingUpdateDeployment>\n    maxSurge\t<IntOrString>\n"
                             "    maxUnavailable\t<IntOrString>\n  type\t<string>\n\n")
    r = c.kubectl("explain pods.spec.foo")
    assert (r.returncode, r.stdout, r.stderr) == (1, "KIND:       Pod\nVERSION:    v1\n\n",
                                                  'error: field "foo" does not exist\n')
    r = c.kubectl("explain foos")
    assert (r.returncode, r.stdout, r.stderr) == (1, "", 'the server doesn\'t have a resource type "foos"\n')
    r = c.kubectl("explain pods --output=yaml")
    assert (r.returncode, r.stderr) == (1, "error: unrecognized format: yaml\n")