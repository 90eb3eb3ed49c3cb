"""scale, label, annotate, expose and their kubectl messages and errors."""
from kubelab import Cluster

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
