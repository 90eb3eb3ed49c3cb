"""kubectl get / apply / create / delete against an embedded cluster, full outputs."""
import pytest

from kubelab.cluster import BOOT_SECONDS, Cluster

# what minikube made before the test's first command (namespaces, the kubernetes Service, each
# namespace's CA bundle) is BOOT_SECONDS older than the test's own objects
SYSTEM_AGE = f"{(120 + int(BOOT_SECONDS)) // 60}m"


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
    # every namespace holds the cluster CA since the cluster started (root-ca-cert-publisher)
    r = c.kubectl("get configmaps")
    assert (r.returncode, r.stderr) == (0, "")
    assert r.stdout == ("NAME               DATA   AGE\n"
                        "alpha              1      2m\n"
                        "beta               2      30s\n"
                        f"kube-root-ca.crt   1      {SYSTEM_AGE}\n")


def test_get_short_name_names_and_missing(c):
    r = c.kubectl("get cm beta nope alpha")
    assert r.returncode == 1
    assert r.stdout == "NAME    DATA   AGE\nbeta    2      30s\nalpha   1      2m\n"
    assert r.stderr == 'Error from server (NotFound): configmaps "nope" not found\n'


def test_get_all_namespaces_labels_selector(c):
    r = c.kubectl("get cm -A --show-labels -l app")
    # kubeadm labels kube-system's kube-proxy ConfigMap app=kube-proxy
    assert r.stdout == ("NAMESPACE     NAME         DATA   AGE   LABELS\n"
                        "default       alpha        1      2m    app=web\n"
                        "default       beta         2      30s   app=api\n"
                        f"kube-system   kube-proxy   2      {SYSTEM_AGE}    app=kube-proxy\n")
    assert c.kubectl("get cm -n team --no-headers").stdout == "gamma              0     30s\nkube-root-ca.crt   1     2m\n"


def test_no_resources(c):
    r = c.kubectl("get cm -l app=nothing")
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "No resources found in default namespace.\n")
    assert c.kubectl("get cm -A -l app=nothing").stderr == "No resources found\n"
    assert c.kubectl("get secrets -n empty").stderr == "No resources found in empty namespace.\n"


def test_several_kinds_get_kind_prefix_and_blank_line(c):
    r = c.kubectl("get cm,svc")
    assert r.stdout == ("NAME                         DATA   AGE\n"
                        "configmap/alpha              1      2m\n"
                        "configmap/beta               2      30s\n"
                        f"configmap/kube-root-ca.crt   1      {SYSTEM_AGE}\n"
                        "\n"
                        "NAME                 TYPE        CLUSTER-IP   EXTERNAL-IP   PORT(S)   AGE\n"
                        f"service/kubernetes   ClusterIP   10.96.0.1    <none>        443/TCP   {SYSTEM_AGE}\n")
    assert c.kubectl("get cm/alpha svc/kubernetes -o name").stdout == "configmap/alpha\nservice/kubernetes\n"


def test_get_all_fresh_cluster(c):
    r = c.kubectl("get all")
    assert r.stdout == ("NAME                 TYPE        CLUSTER-IP   EXTERNAL-IP   PORT(S)   AGE\n"
                        f"service/kubernetes   ClusterIP   10.96.0.1    <none>        443/TCP   {SYSTEM_AGE}\n")


def test_output_yaml_single_and_list(c):
    r = c.kubectl("get cm alpha -o yaml")
    assert r.stdout.startswith("apiVersion: v1\ndata:\n  a: \"1\"\nkind: ConfigMap\nmetadata:\n")
    r = c.kubectl("get cm -o json")
    assert r.stdout.startswith('{\n    "apiVersion": "v1",\n    "items": [\n')
    assert r.stdout.endswith('    "kind": "List",\n    "metadata": {\n        "resourceVersion": ""\n    }\n}\n')


def test_output_jsonpath_and_custom_columns(c):
    r = c.kubectl("get", "cm", "-o", 'jsonpath={range .items[*]}{.metadata.name}:{.data.a}{"\\n"}{end}')
    assert r.stdout == "alpha:1\nbeta:1\nkube-root-ca.crt:\n"
    r = c.kubectl("get cm -o custom-columns=NAME:.metadata.name,APP:.metadata.labels.app --sort-by=.metadata.labels.app")
    # an item without the field sorts first, as kubectl's RuntimeSort puts empty results
    assert r.stdout == "NAME               APP\nkube-root-ca.crt   <none>\nbeta               api\nalpha              web\n"


def test_get_errors(c):
    r = c.kubectl("get foos")
    assert (r.returncode, r.stderr) == (1, 'error: the server doesn\'t have a resource type "foos"\n')
    r = c.kubectl("get cm -o foo")
    assert r.stderr.startswith('error: unable to match a printer suitable for the output format "foo", allowed '
                               "formats are: custom-columns,custom-columns-file,go-template,")
    r = c.kubectl("get cm cm/alpha")
    assert r.stderr.startswith("error: there is no need to specify a resource type as a separate argument")
    r = c.kubectl("get cm --foo")
    assert r.stderr == "error: unknown flag: --foo\nSee 'kubectl get --help' for usage.\n"


def test_get_nodes_wide_and_namespaces(c):
    r = c.kubectl("get ns")
    assert r.stdout.splitlines()[:2] == ["NAME              STATUS   AGE", f"default           Active   {SYSTEM_AGE}"]
    r = c.kubectl("get nodes")
    assert r.stdout.splitlines()[0].split() == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]


def test_watch_is_bounded_and_shows_changes(c):
    def later():
        c.client.create(cm("delta"))

    c.clock.call_later(2, later)
    r = c.kubectl("get cm -w")
    assert r.returncode == 0
    assert r.stdout == ("NAME               DATA   AGE\n"
                        "alpha              1      2m\n"
                        "beta               2      30s\n"
                        f"kube-root-ca.crt   1      {SYSTEM_AGE}\n"
                        "delta              0      0s\n")


DEPLOY = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: echo-server
spec:
  replicas: 2
  selector:
    matchLabels:
      app: echo
  template:
    metadata:
      labels:
        app: echo
    spec:
      containers:
      - name: echo
        image: ealen/echo-server
"""
SERVICE = """apiVersion: v1
kind: Service
metadata:
  name: echo
spec:
  selector:
    app: echo
  ports:
  - port: 80
"""


def test_apply_create_unchanged_configured(c, tmp_path):
    f = tmp_path / "app.yaml"
    f.write_text(DEPLOY + "---\n" + SERVICE)
    r = c.kubectl(f"apply -f {f}")
    assert (r.returncode, r.stdout, r.stderr) == (0, "deployment.apps/echo-server created\nservice/echo created\n", "")
    ann = c.client.get("Deployment", "echo-server")["metadata"]["annotations"]
    assert ann["kubectl.kubernetes.io/last-applied-configuration"].startswith(
        '{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"annotations":{},"name":"echo-server",'
        '"namespace":"default"},"spec":{"replicas":2,')
    assert c.kubectl(f"apply -f {f}").stdout == "deployment.apps/echo-server unchanged\nservice/echo unchanged\n"
    f.write_text(DEPLOY.replace("replicas: 2", "replicas: 3"))
    assert c.kubectl(f"apply -f {f}").stdout == "deployment.apps/echo-server configured\n"
    assert c.client.get("Deployment", "echo-server")["spec"]["replicas"] == 3
    r = c.kubectl(f"apply -f {f} --dry-run=client")
    assert r.stdout == "deployment.apps/echo-server unchanged (dry run)\n"


def test_apply_stdin_dry_runs_and_output(c):
    r = c.kubectl("apply -f - --dry-run=server", stdin=SERVICE)
    assert r.stdout == "service/echo created (server dry run)\n"
    assert c.kubectl("get svc echo").returncode == 1
    r = c.kubectl("apply -f - -o name", stdin=SERVICE)
    assert r.stdout == "service/echo\n"


def test_apply_errors_keep_going(c, tmp_path):
    f = tmp_path / "mixed.yaml"
    f.write_text("apiVersion: v1\nmetadata:\n  name: x\n---\n" + SERVICE)
    r = c.kubectl(f"apply -f {f}")
    assert r.returncode == 1 and r.stdout == "service/echo created\n"
    assert r.stderr == (f'error: error validating "{f}": error validating data: kind not set; if you choose to '
                        "ignore these errors, turn validation off with --validate=false\n")
    r = c.kubectl("apply -f nope.yaml")
    assert (r.returncode, r.stderr) == (1, 'error: the path "nope.yaml" does not exist\n')
    r = c.kubectl("apply -f -", stdin="apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n   labels: y\n")
    assert r.stderr == ("error: error parsing STDIN: error converting YAML to JSON: yaml: line 5: "
                        "mapping values are not allowed in this context\n")
    r = c.kubectl("apply -f -", stdin="apiVersion: v1\nkind: Foo\nmetadata:\n  name: x\n")
    assert r.stderr == ('error: resource mapping not found for name: "x" namespace: "" from "STDIN": '
                        'no matches for kind "Foo" in version "v1"\nensure CRDs are installed first\n')
    r = c.kubectl("apply -f - -n nowhere", stdin=SERVICE)
    assert r.stderr == 'Error from server (NotFound): error when creating "STDIN": namespaces "nowhere" not found\n'
    r = c.kubectl("apply")
    assert r.stderr == "error: must specify one of -f and -k\n"


def test_apply_namespace_mismatch(c):
    r = c.kubectl("apply -f - -n team", stdin=SERVICE.replace("name: echo", "name: echo\n  namespace: default"))
    assert r.stderr == ('error: the namespace from the provided object "default" does not match the namespace '
                        "\"team\". You must pass '--namespace=default' to perform this operation.\n")


def test_create_generators_dry_run_yaml(c):
    r = c.kubectl("create deployment web --image=nginx --replicas=3 --port=80 --dry-run=client -o yaml")
    assert r.stdout == """apiVersion: apps/v1
kind: Deployment
metadata:
  creationTimestamp: null
  labels:
    app: web
  name: web
spec:
  replicas: 3
  selector:
    matchLabels:
      app: web
  strategy: {}
  template:
    metadata:
      creationTimestamp: null
      labels:
        app: web
    spec:
      containers:
      - image: nginx
        name: nginx
        ports:
        - containerPort: 80
        resources: {}
status: {}
"""
    r = c.kubectl("create secret generic s --from-literal=p=pw --dry-run=client -o json")
    assert r.stdout == ('{\n    "kind": "Secret",\n    "apiVersion": "v1",\n    "metadata": {\n        "name": "s",\n'
                        '        "creationTimestamp": null\n    },\n    "data": {\n        "p": "cHc="\n    }\n}\n')


def test_create_objects_and_errors(c, tmp_path):
    assert c.kubectl("create namespace dev").stdout == "namespace/dev created\n"
    r = c.kubectl("create configmap cfg --from-literal=a=1 -n dev")
    assert r.stdout == "configmap/cfg created\n"
    assert c.client.get("ConfigMap", "cfg", "dev")["data"] == {"a": "1"}
    r = c.kubectl("create configmap cfg -n dev")
    assert r.stderr == 'error: failed to create configmap: configmaps "cfg" already exists\n'
    r = c.kubectl("create deployment x")
    assert r.stderr == 'error: required flag(s) "image" not set\n'
    r = c.kubectl("create deployment x --image=a --replicas=abc")
    assert r.stderr == ('error: invalid argument "abc" for "-r, --replicas" flag: strconv.ParseInt: parsing "abc": '
                        "invalid syntax\nSee 'kubectl create deployment --help' for usage.\n")
    f = tmp_path / "svc.yaml"
    f.write_text(SERVICE)
    assert c.kubectl(f"create -f {f}").stdout == "service/echo created\n"
    r = c.kubectl(f"create -f {f}")
    assert r.stderr == f'Error from server (AlreadyExists): error when creating "{f}": services "echo" already exists\n'
    assert c.kubectl("create foo x").stderr == "error: Unexpected args: [foo x]\nSee 'kubectl create -h' for help and examples\n"


def test_delete_forms(c, tmp_path):
    r = c.kubectl("delete cm alpha nope")
    assert (r.returncode, r.stdout, r.stderr) == (
        1, 'configmap "alpha" deleted\n', 'Error from server (NotFound): configmaps "nope" not found\n')
    assert c.kubectl("delete cm/beta --dry-run=client").stdout == 'configmap "beta" deleted (dry run)\n'
    assert c.kubectl("get cm beta").returncode == 0
    assert c.kubectl("delete cm -l app=api").stdout == 'configmap "beta" deleted\n'
    # --all takes the CA bundle too (the publisher puts it back)
    assert c.kubectl("delete cm --all -n team").stdout == \
        'configmap "gamma" deleted\nconfigmap "kube-root-ca.crt" deleted\n'
    assert c.kubectl("delete cm -l app=none").stdout == "No resources found\n"
    r = c.kubectl("delete svc kubernetes --force --dry-run=server")
    assert r.stderr.startswith("Warning: Immediate deletion does not wait for confirmation")
    assert c.kubectl("delete cm").stderr == "error: resource(s) were provided, but no name was specified\n"
    f = tmp_path / "svc.yaml"
    f.write_text(SERVICE)
    c.kubectl(f"apply -f {f}")
    assert c.kubectl(f"delete -f {f}").stdout == 'service "echo" deleted\n'
    assert c.kubectl(f"delete -f {f}").stderr == \
        f'Error from server (NotFound): error when deleting "{f}": services "echo" not found\n'


POD = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n  - name: c\n    image: nginx\n"


def test_pod_lifecycle_through_watch_get_and_delete():
    cluster = Cluster(clock="virtual", seed=1)
    assert cluster.kubectl("apply -f -", stdin=POD).stdout == "pod/web created\n"
    r = cluster.kubectl("get pods -w --request-timeout=10s")
    lines = r.stdout.splitlines()
    assert lines[0] == "NAME   READY   STATUS              RESTARTS   AGE"
    assert lines[1] == "web    0/1     ContainerCreating   0          0s"
    assert lines[-1].split()[:3] == ["web", "1/1", "Running"]
    r = cluster.kubectl("get po web -o jsonpath={.status.phase}")
    assert r.stdout == "Running"
    assert cluster.kubectl("delete pod web").stdout == 'pod "web" deleted\n'
    assert cluster.kubectl("get pods").stderr == "No resources found in default namespace.\n"


def test_delete_waits_for_the_deleted_uid_not_the_name():
    """A StatefulSet recreates web-1 under the same name at once: kubectl's --wait is over when
    the uid it deleted is gone."""
    cluster = Cluster(clock="virtual", seed=1)
    sts = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "web"},
           "spec": {"serviceName": "web", "replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                    "template": {"metadata": {"labels": {"app": "web"}},
                                 "spec": {"containers": [{"name": "nginx", "image": "nginx"}]}}}}
    cluster.client.create(sts)
    cluster.settle()
    old = cluster.client.get("Pod", "web-1")["metadata"]["uid"]
    started = cluster.clock.now()
    assert cluster.kubectl("delete pod web-1").stdout == 'pod "web-1" deleted\n'
    assert cluster.clock.now() - started < 60
    assert cluster.client.get("Pod", "web-1")["metadata"]["uid"] != old
