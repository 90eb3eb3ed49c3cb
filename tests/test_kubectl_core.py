"""kubectl get / apply / create / delete against an embedded cluster, full outputs."""
import pytest

from kubelab.cluster import Cluster


def cm(name, ns="default", labels=None, **data):
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": ns, "labels": labels or {}}, "data": data}


@pytest.fixture
def c():
    cluster = Cluster(clock="virtual", seed=1)
    client = cluster.client
    client.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}})
    client.create(cm("alpha", labels={"app": "web"}, a="1"))
    cluster.advance(90)
    client.create(cm("beta", labels={"app": "api"}, a="1", b="2"))
    client.create(cm("gamma", ns="team"))
    cluster.advance(30)
    return cluster


def test_get_table(c):
    r = c.kubectl("get configmaps")
    assert (r.returncode, r.stderr) == (0, "")
    assert r.stdout == ("NAME    DATA   AGE\n"
                        "alpha   1      2m\n"
                        "beta    2      30s\n")


def test_get_short_name_names_and_missing(c):
    r = c.kubectl("get cm beta nope alpha")
    assert r.returncode == 1
    assert r.stdout == "NAME    DATA   AGE\nbeta    2      30s\nalpha   1      2m\n"
    assert r.stderr == 'Error from server (NotFound): configmaps "nope" not found\n'


def test_get_all_namespaces_labels_selector(c):
    r = c.kubectl("get cm -A --show-labels -l app")
    assert r.stdout == ("NAMESPACE   NAME    DATA   AGE   LABELS\n"
                        "default     alpha   1      2m    app=web\n"
                        "default     beta    2      30s   app=api\n")
    assert c.kubectl("get cm -n team --no-headers").stdout == "gamma   0     30s\n"


def test_no_resources(c):
    r = c.kubectl("get cm -l app=nothing")
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "No resources found in default namespace.\n")
    assert c.kubectl("get cm -A -l app=nothing").stderr == "No resources found\n"
    assert c.kubectl("get secrets -n empty").stderr == "No resources found in empty namespace.\n"


def test_several_kinds_get_kind_prefix_and_blank_line(c):
    r = c.kubectl("get cm,svc")
    assert r.stdout == ("NAME              DATA   AGE\n"
                        "configmap/alpha   1      2m\n"
                        "configmap/beta    2      30s\n"
                        "\n"
                        "NAME                 TYPE        CLUSTER-IP   EXTERNAL-IP   PORT(S)   AGE\n"
                        "service/kubernetes   ClusterIP   10.96.0.1    <none>        443/TCP   2m\n")
    assert c.kubectl("get cm/alpha svc/kubernetes -o name").stdout == "configmap/alpha\nservice/kubernetes\n"


def test_get_all_fresh_cluster(c):
    r = c.kubectl("get all")
    assert r.stdout == ("NAME                 TYPE        CLUSTER-IP   EXTERNAL-IP   PORT(S)   AGE\n"
                        "service/kubernetes   ClusterIP   10.96.0.1    <none>        443/TCP   2m\n")


def test_output_yaml_single_and_list(c):
    r = c.kubectl("get cm alpha -o yaml")
    assert r.stdout.startswith("apiVersion: v1\ndata:\n  a: \"1\"\nkind: ConfigMap\nmetadata:\n")
    r = c.kubectl("get cm -o json")
    assert r.stdout.startswith('{\n    "apiVersion": "v1",\n    "items": [\n')
    assert r.stdout.endswith('    "kind": "List",\n    "metadata": {\n        "resourceVersion": ""\n    }\n}\n')


def test_output_jsonpath_and_custom_columns(c):
    r = c.kubectl("get", "cm", "-o", 'jsonpath={range .items[*]}{.metadata.name}:{.data.a}{"\\n"}{end}')
    assert r.stdout == "alpha:1\nbeta:1\n"
    r = c.kubectl("get cm -o custom-columns=NAME:.metadata.name,APP:.metadata.labels.app --sort-by=.metadata.labels.app")
    assert r.stdout == "NAME    APP\nbeta    api\nalpha   web\n"


def test_get_errors(c):
    r = c.kubectl("get foos")
    assert (r.returncode, r.stderr) == (1, 'error: the server doesn\'t have a resource type "foos"\n')
    r = c.kubectl("get cm -o foo")
    assert r.stderr.startswith('error: unable to match a printer suitable for the output format "foo", allowed '
                               "formats are: custom-columns,custom-columns-file,go-template,")
    r = c.kubectl("get cm cm/alpha")
    assert r.stderr.startswith("error: there is no need to specify a resource type as a separate argument")
    r = c.kubectl("get cm --foo")
    assert r.stderr == "Error: unknown flag: --foo\nSee 'kubectl get --help' for usage.\n"


def test_get_nodes_wide_and_namespaces(c):
    r = c.kubectl("get ns")
    assert r.stdout.splitlines()[:2] == ["NAME              STATUS   AGE", "default           Active   2m"]
    r = c.kubectl("get nodes")
    assert r.stdout.splitlines()[0].split() == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]


def test_watch_is_bounded_and_shows_changes(c):
    def later():
        c.client.create(cm("delta"))

    c.clock.call_later(2, later)
    r = c.kubectl("get cm -w")
    assert r.returncode == 0
    assert r.stdout == ("NAME    DATA   AGE\n"
                        "alpha   1      2m\n"
                        "beta    2      30s\n"
                        "delta   0      0s\n")
