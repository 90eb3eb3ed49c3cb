"""scale, label, annotate, expose, set env and set resources, and their kubectl messages and errors."""
from kubelab import Cluster
from kubelab.server import serve
from test_server import Kubectl, needs_kubectl

DEPLOY = {"apiVersion": "apps/v1", "kind": "Deployment",
          "metadata": {"name": "echo-server", "labels": {"app": "echo-server"}},
          "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "echo-server"}},
                   "template": {"metadata": {"labels": {"app": "echo-server"}},
                                "spec": {"containers": [{"name": "echo-server-container",
                                                         "image": "kennship/http-echo"}]}}}}


def with_deployment() -> Cluster:
    c = Cluster(clock="virtual", seed=1)
    c.client.create(DEPLOY)
    return c


def test_scale_and_its_precondition():
    c = with_deployment()
    r = c.kubectl("scale deploy/echo-server --replicas=2")
    assert (r.returncode, r.stdout) == (0, "deployment.apps/echo-server scaled\n")
    assert c.client.get("Deployment", "echo-server")["spec"]["replicas"] == 2
    r = c.kubectl("scale deployment echo-server --replicas=5 --current-replicas=3")
    assert (r.returncode, r.stderr) == (1, "error: Expected replicas to be 3, was 2\n")
    r = c.kubectl("scale deploy/echo-server")
    assert r.stderr == 'error: required flag(s) "replicas" not set\n'


def test_label_overwrite_rules_and_removal():
    c = with_deployment()
    r = c.kubectl("label deploy echo-server app=other")
    assert (r.returncode, r.stderr) == (1, "error: 'app' already has a value (echo-server), and --overwrite is false\n")
    assert c.kubectl("label deploy echo-server tier=web").stdout == "deployment.apps/echo-server labeled\n"
    assert c.kubectl("label deploy echo-server app=other --overwrite").stdout == "deployment.apps/echo-server labeled\n"
    assert c.kubectl("label deploy echo-server tier-").stdout == "deployment.apps/echo-server unlabeled\n"
    assert c.client.get("Deployment", "echo-server")["metadata"]["labels"] == {"app": "other"}


def test_annotate():
    c = with_deployment()
    assert c.kubectl("annotate deploy/echo-server team=blue").stdout == "deployment.apps/echo-server annotated\n"
    r = c.kubectl("annotate deploy/echo-server team=red")
    assert r.stderr == ("error: --overwrite is false but found the following declared annotation(s): "
                        "'team' already has a value (blue)\n")


def test_expose_takes_the_selector_from_the_deployment():
    c = with_deployment()
    r = c.kubectl("expose deploy echo-server --port=80 --target-port=3000 --name=web")
    assert (r.returncode, r.stdout) == (0, "service/web exposed\n")
    svc = c.client.get("Service", "web")
    assert svc["spec"]["selector"] == {"app": "echo-server"}
    assert svc["spec"]["ports"][0]["port"] == 80 and svc["spec"]["ports"][0]["targetPort"] == 3000


def test_set_env_from_a_configmap_rolls_the_deployment_out():
    """The notes' ConfigMap chapter: point the Deployment at new config and watch it roll out."""
    c = with_deployment()
    c.settle()
    c.client.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "echo-config"},
                     "data": {"PORT": "3000", "log-level": "debug"}})
    old = {p["metadata"]["name"] for p in c.client.list("Pod", "default")["items"]}
    r = c.kubectl("set env deploy/echo-server --from=configmap/echo-config --keys=PORT")
    assert (r.returncode, r.stdout, r.stderr) == (0, "deployment.apps/echo-server env updated\n", "")
    r = c.kubectl("set env deploy/echo-server MODE=prod --from=configmap/echo-config --prefix=APP_")
    assert (r.stdout, r.stderr) == ("deployment.apps/echo-server env updated\n",
                                    "Warning: key log-level transferred to LOG_LEVEL\n")
    assert c.kubectl("set env deploy/echo-server --list").stdout == (
        "# Deployment echo-server, container echo-server-container\n"
        "# PORT from configmap echo-config, key PORT\n"
        "APP_MODE=prod\n"
        "# APP_PORT from configmap echo-config, key PORT\n"
        "# APP_LOG_LEVEL from configmap echo-config, key log-level\n")
    assert "APP_PORT=3000\n" in c.kubectl("set env deploy/echo-server --list --resolve").stdout
    c.settle()
    pods = c.client.list("Pod", "default")["items"]
    assert len(pods) == 3 and not old & {p["metadata"]["name"] for p in pods}
    assert {e["name"] for e in pods[0]["spec"]["containers"][0]["env"]} == {"PORT", "APP_MODE", "APP_LOG_LEVEL",
                                                                           "APP_PORT"}
    assert c.kubectl("rollout history deploy/echo-server").stdout.count("<none>") == 3


def test_set_env_removes_and_refuses_what_kubectl_refuses():
    c = with_deployment()
    c.kubectl("set env deploy/echo-server A=1 B=2")
    r = c.kubectl("set env deploy/echo-server A=1")  # no change: no patch, nothing printed
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    assert c.kubectl("set env deploy/echo-server A-").stdout == "deployment.apps/echo-server env updated\n"
    env = c.client.get("Deployment", "echo-server")["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env == [{"name": "B", "value": "2"}]
    for line, err in (
            ("set env deploy/echo-server --from=configmap/nope", 'Error from server (NotFound): configmaps "nope" '
                                                                 'not found\n'),
            ("set env deploy/echo-server B=3 --overwrite=false",
             "error: deployments/echo-server 'B' already has a value (2), and --overwrite is false\n"),
            ("set env deploy/echo-server A=1 A-",
             "error: can not both modify and remove the same environment variable in the same command\n"),
            ("set env deploy/echo-server A=1 deploy/x",
             "error: all resources must be specified before environment changes: deploy/echo-server A=1 deploy/x\n"),
            ("set env deploy/echo-server --keys=A", "error: when specifying --keys, a configmap or secret must be "
                                                    "provided with --from\n")):
        r = c.kubectl(line)
        assert (r.returncode, r.stdout, r.stderr) == (1, "", err), line
    r = c.kubectl("set env deploy/echo-server C=1 -c nope")
    assert (r.returncode, r.stdout, r.stderr) == (
        0, "", 'Warning: Deployment/echo-server does not have any containers matching "nope"\n')
    assert c.client.get("Deployment", "echo-server")["spec"]["template"]["spec"]["containers"][0]["env"] == env


def test_set_resources():
    c = with_deployment()
    r = c.kubectl("set resources deploy/echo-server --limits=cpu=0.5,memory=1024Mi --requests=cpu=100m")
    assert (r.returncode, r.stdout) == (0, "deployment.apps/echo-server resource requirements updated\n")
    container = c.client.get("Deployment", "echo-server")["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"] == {"limits": {"cpu": "500m", "memory": "1Gi"}, "requests": {"cpu": "100m"}}
    r = c.kubectl("set resources deploy/echo-server")
    assert r.stderr == "error: you must specify an update to requests or limits (in the form of --requests/--limits)\n"
    r = c.kubectl("set resources deploy/echo-server --limits=cpu=1 -c nope")
    assert (r.returncode, r.stderr) == (1, "error: unable to find container named nope\n")


SET_SETUP = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg}
data: {MODE: dev}
---
apiVersion: v1
kind: Secret
metadata: {name: sec}
stringData: {api-key: s3cr3t}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: app
        image: nginx
        env:
        - {name: A, value: "1"}
        - name: FROM_CM
          valueFrom: {configMapKeyRef: {name: cfg, key: MODE}}
        - name: GONE
          valueFrom: {configMapKeyRef: {name: cfg, key: NOPE}}
      - {name: side, image: busybox}
---
apiVersion: v1
kind: Pod
metadata: {name: solo}
spec:
  containers: [{name: main, image: nginx, env: [{name: X, value: "y"}]}]
---
apiVersion: v1
kind: Service
metadata: {name: svc}
spec: {selector: {app: web}, ports: [{port: 80}]}
"""

SET_COMMANDS = [
    "set env deploy/web --list", "set env deploy/web --list --resolve", "set env deploy/web --list -c s*",
    "set env pod/solo --list", "set env deploy/web B=2", "set env deploy/web B=2", "set env deploy/web B=3 -c app",
    "set env deploy/web --list", "set env deploy/web B-", "set env deploy/web 1X=2",
    "set env deploy/web X=2 --dry-run=client", "set env deploy/web X=2 --dry-run=server",
    "set env deploy/web X=2 -o name", "set env deploy/web --from=configmap/cfg -c app",
    "set env deploy/web --from=configmap/nope", "set env deploy/web --from=secret/sec --prefix=S_ -c side",
    "set env deploy/web --list", "set env deploy/web --from=svc/svc", "set env deploy/web", "set env svc/svc A=1",
    "set env pod/solo X=z", "set env deploy/nope A=1", "set env A=1", "set env deploy/web --list -o yaml",
    "set env deploy/web A=5 --overwrite=false", "set env deploy/web Z=5 -c nope", "set env deploy/web -e Q=1 -e R=2",
    "set env deploy --all A=7", "set env deploy/web --list -l app=web",
    "set resources deploy/web --limits=cpu=200m,memory=512Mi", "set resources deploy/web --limits=cpu=200m",
    "set resources deploy/web -c app --requests=cpu=0.1,memory=1024Mi", "get deploy web -o yaml",
    "set resources deploy/web", "set resources deploy/nope", "set resources", "set resources deploy/web --limits=cpu",
    "set resources deploy/web --limits=cpu=abc", "set resources deploy/web --limits=cpu=1 -c nope",
    "set resources deploy/web --limits=cpu=1 --dry-run=client", "set resources deploy/web --limits=cpu=3 -o name",
    "set resources svc/svc --limits=cpu=1", "set resources pod/solo --limits=cpu=1",
    "set resources deploy/web --limits=cpu=1 --local",
]


@needs_kubectl
def test_set_env_and_resources_match_real_kubectl(tmp_path):
    """Two identical clusters: the real kubectl changes one (served), kubelab's the other; each
    command's exit code, stdout and stderr must be the same."""
    served, mine = Cluster(clock="virtual", seed=1), Cluster(clock="virtual", seed=1)
    for c in (served, mine):
        assert c.kubectl("apply -f -", stdin=SET_SETUP).returncode == 0
    with serve(served) as server:
        real = Kubectl(server.kubeconfig, str(tmp_path))
        for command in SET_COMMANDS:
            theirs, ours = real(command), mine.kubectl(command)
            assert (ours.returncode, ours.stdout, ours.stderr) == (theirs.returncode, theirs.stdout, theirs.stderr), \
                command
