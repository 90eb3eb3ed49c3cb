"""kubectl describe: complete texts as kubectl 1.32 lays them out (Go tabwriter alignment)."""
from kubelab import Cluster
from kubelab.kubectl.describe import tabwrite

POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "echo-server", "labels": {"app": "echo-server"}},
       "spec": {"containers": [{"name": "echo-server-container", "image": "kennship/http-echo"}]}}


def cluster() -> Cluster:
    return Cluster(clock="virtual", seed=1)


def test_tabwriter_blocks_end_at_lines_without_the_column():
    text = "Name:\tx\nLonger name:\ty\nHeader\n  a:\tb\n"
    assert tabwrite(text) == "Name:         x\nLonger name:  y\nHeader\n  a:  b\n"


def test_describe_configmap_shows_data_blocks():
    c = cluster()
    c.client.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "echo-server-config-v1"},
                     "data": {"PORT": "3000"}})
    r = c.kubectl("describe configmap echo-server-config-v1")
    assert (r.returncode, r.stderr) == (0, "")
    assert r.stdout == (
        "Name:         echo-server-config-v1\n"
        "Namespace:    default\n"
        "Labels:       <none>\n"
        "Annotations:  <none>\n"
        "\n"
        "Data\n"
        "====\n"
        "PORT:\n"
        "----\n"
        "3000\n"
        "\n"
        "\n"
        "BinaryData\n"
        "====\n"
        "\n"
        "Events:  <none>\n")


def test_describe_secret_shows_byte_counts():
    c = cluster()
    c.client.create({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"},
                     "data": {"password": "c2VjcmV0", "user": "YWRtaW4="}})
    r = c.kubectl("describe secret db")
    assert r.stdout == (
        "Name:         db\n"
        "Namespace:    default\n"
        "Labels:       <none>\n"
        "Annotations:  <none>\n"
        "\n"
        "Type:  Opaque\n"
        "\n"
        "Data\n"
        "====\n"
        "password:  6 bytes\n"
        "user:      5 bytes\n")


def test_describe_namespace():
    r = cluster().kubectl("describe ns default")
    assert r.stdout == (
        "Name:         default\n"
        "Labels:       kubernetes.io/metadata.name=default\n"
        "Annotations:  <none>\n"
        "Status:       Active\n"
        "\n"
        "No resource quota.\n"
        "\n"
        "No LimitRange resource.\n")


def test_describe_running_pod_has_node_containers_conditions_and_events():
    c = cluster()
    c.client.create(POD)
    c.settle()
    r = c.kubectl("describe pod echo-server")
    assert r.returncode == 0
    lines = r.stdout.splitlines()
    assert lines[0] == "Name:             echo-server"
    assert any(line.startswith("Node:             kubelab-m") and "/192.168.49." in line for line in lines)
    assert "Status:           Running" in lines
    assert "    State:          Running" in lines
    assert "    Ready:          True" in lines
    assert "  Type                        Status" in lines
    # the ServiceAccount admission plugin's projected volume, as on any real cluster
    volume = next(v["name"] for v in c.client.get("Pod", "echo-server")["spec"]["volumes"])
    assert f"      /var/run/secrets/kubernetes.io/serviceaccount from {volume} (ro)" in lines
    at = lines.index("Volumes:")
    assert lines[at + 1:at + 8] == [
        f"  {volume}:",
        "    Type:                    Projected (a volume that contains injected data from multiple sources)",
        "    TokenExpirationSeconds:  3607",
        "    ConfigMapName:           kube-root-ca.crt",
        "    ConfigMapOptional:       <nil>",
        "    DownwardAPI:             true",
        "QoS Class:                   BestEffort"]
    assert "  Type    Reason     Age   From               Message" in lines
    assert "  ----    ------     ----  ----               -------" in lines


def test_describe_missing_pod_is_notfound_and_kind_list_with_nothing_says_so():
    c = cluster()
    r = c.kubectl("describe pod nope")
    assert (r.returncode, r.stdout, r.stderr) == (1, "", 'Error from server (NotFound): pods "nope" not found\n')
    r = c.kubectl("describe pods")
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "No resources found in default namespace.\n")
    r = c.kubectl("describe")
    assert r.stderr == ('error: You must specify the type of resource to describe. Use "kubectl api-resources" '
                        'for a complete list of supported resources.\n')


def test_describe_name_prefix_matches():
    c = cluster()
    c.client.create(POD)
    r = c.kubectl("describe pod echo")
    assert r.returncode == 0 and r.stdout.startswith("Name:             echo-server\n")
