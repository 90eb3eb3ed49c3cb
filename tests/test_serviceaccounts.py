"""The default ServiceAccount, the kube-root-ca.crt ConfigMap and the token volume every pod of
a real cluster gets, through the full cluster."""
from __future__ import annotations

import base64
import json

import pytest

from kubelab import Cluster
from kubelab.engine.serviceaccounts import CA_CERT, MOUNT_PATH

SYSTEM = ["default", "kube-node-lease", "kube-public", "kube-system"]


@pytest.fixture
def c() -> Cluster:
    return Cluster(clock="virtual", seed=3)


def names(c: Cluster, kind: str, name: str) -> list[str]:
    return sorted(o["metadata"]["namespace"] for o in c.client.list(kind)["items"] if o["metadata"]["name"] == name)


def test_every_namespace_has_a_default_serviceaccount_and_the_ca(c):
    assert names(c, "ServiceAccount", "default") == SYSTEM
    assert names(c, "ConfigMap", "kube-root-ca.crt") == SYSTEM
    c.kubectl("create namespace team")
    assert names(c, "ServiceAccount", "default") == sorted(SYSTEM + ["team"])
    cm = c.client.get("ConfigMap", "kube-root-ca.crt", "team")
    assert cm["data"] == {"ca.crt": CA_CERT} and CA_CERT.startswith("-----BEGIN CERTIFICATE-----\n")
    assert cm["metadata"]["annotations"]["kubernetes.io/description"].startswith("Contains a CA bundle")
    r = c.kubectl("get sa -n team")
    assert r.stdout == "NAME      SECRETS   AGE\ndefault   0         0s\n"


def test_controllers_put_back_what_is_deleted_or_changed(c):
    old_sa = c.client.get("ServiceAccount", "default")["metadata"]["uid"]
    assert c.kubectl("delete sa default").stdout == 'serviceaccount "default" deleted\n'
    assert c.client.get("ServiceAccount", "default")["metadata"]["uid"] != old_sa
    c.kubectl("delete cm kube-root-ca.crt")
    assert c.client.get("ConfigMap", "kube-root-ca.crt")["data"] == {"ca.crt": CA_CERT}

    c.kubectl("patch", "cm", "kube-root-ca.crt", "-p", '{"data":{"ca.crt":"mine"}}')
    assert c.client.get("ConfigMap", "kube-root-ca.crt")["data"] == {"ca.crt": CA_CERT}


def test_pods_get_the_token_volume_in_every_container(c):
    c.kubectl("run bb --image=busybox -- sleep 3600")
    pod = c.client.get("Pod", "bb")
    (volume,) = pod["spec"]["volumes"]
    assert volume["name"].startswith("kube-api-access-") and len(volume["name"]) == 21
    assert [list(s) for s in volume["projected"]["sources"]] == [["serviceAccountToken"], ["configMap"], ["downwardAPI"]]
    assert pod["spec"]["containers"][0]["volumeMounts"] == [
        {"mountPath": MOUNT_PATH, "name": volume["name"], "readOnly": True}]
    c.settle()
    r = c.kubectl(f"exec bb -- cat {MOUNT_PATH}/namespace")
    assert (r.returncode, r.stdout) == (0, "default")
    assert c.kubectl(f"exec bb -- ls {MOUNT_PATH}").stdout == "ca.crt\nnamespace\ntoken\n"
    assert c.kubectl(f"exec bb -- cat {MOUNT_PATH}/ca.crt").stdout == CA_CERT


def test_automount_off_on_the_pod_or_its_serviceaccount_and_mirror_pods(c):
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "quiet"},
           "spec": {"automountServiceAccountToken": False, "containers": [{"name": "a", "image": "nginx"}]}}
    assert "volumes" not in c.client.create(pod)["spec"]
    c.client.create({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "robot"},
                     "automountServiceAccountToken": False})
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "robot"},
           "spec": {"serviceAccountName": "robot", "containers": [{"name": "a", "image": "nginx"}]}}
    assert "volumes" not in c.client.create(pod)["spec"]
    mirror = {"apiVersion": "v1", "kind": "Pod",
              "metadata": {"name": "static", "annotations": {"kubernetes.io/config.mirror": "x"}},
              "spec": {"containers": [{"name": "a", "image": "nginx"}]}}
    assert "volumes" not in c.client.create(mirror)["spec"]
    # a template is not a pod: Deployments keep their spec as written
    c.kubectl("create deployment web --image=nginx")
    assert "volumes" not in c.client.get("Deployment", "web")["spec"]["template"]["spec"]


def token_secret(name: str, account: str, **extra) -> dict:
    return {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
            "metadata": {"name": name, "annotations": {"kubernetes.io/service-account.name": account}}, **extra}


def make_account(c: Cluster, name: str) -> None:
    c.client.create({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name}})


def test_token_controller_fills_a_token_secret_in(c):
    make_account(c, "builder")
    c.client.create(token_secret("builder-token", "builder"))
    c.settle()
    secret = c.client.get("Secret", "builder-token")
    account = c.client.get("ServiceAccount", "builder")
    assert secret["metadata"]["annotations"]["kubernetes.io/service-account.uid"] == account["metadata"]["uid"]
    data = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    assert sorted(data) == ["ca.crt", "namespace", "token"]
    assert data["ca.crt"] == CA_CERT and data["namespace"] == "default"
    header, claims, signature = data["token"].split(".")
    assert json.loads(base64.urlsafe_b64decode(header + "=="))["alg"] == "RS256"
    claims = json.loads(base64.urlsafe_b64decode(claims + "=="))
    assert claims["sub"] == "system:serviceaccount:default:builder"
    assert claims["kubernetes.io/serviceaccount/secret.name"] == "builder-token"
    assert len(base64.urlsafe_b64decode(signature + "==")) == 256
    assert "builder-token   kubernetes.io/service-account-token   3" in c.kubectl("get secrets").stdout
    assert "Tokens:              builder-token\n" in c.kubectl("describe sa builder").stdout
    # a token is made once: a later sync leaves it alone; the same seed makes the same token
    c.client.patch("Secret", "builder-token", "default", {"metadata": {"labels": {"a": "b"}}})
    c.settle()
    assert c.client.get("Secret", "builder-token")["data"] == secret["data"]
    tokens = []
    for seed in (3, 4):
        twin = Cluster(clock="virtual", seed=seed)
        make_account(twin, "builder")
        twin.client.create(token_secret("builder-token", "builder"))
        twin.settle()
        tokens.append(twin.client.get("Secret", "builder-token")["data"]["token"])
    assert tokens[0] == secret["data"]["token"] != tokens[1]


def test_token_secrets_go_with_their_serviceaccount(c):
    c.client.create(token_secret("orphan", "nobody"))
    c.settle()
    assert c.kubectl("get secret orphan").stderr == 'Error from server (NotFound): secrets "orphan" not found\n'
    make_account(c, "builder")
    c.client.create(token_secret("t1", "builder"))
    c.client.create(token_secret("t2", "builder"))
    c.client.create({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "plain"}, "stringData": {"a": "b"}})
    c.settle()
    c.kubectl("delete serviceaccount builder")
    make_account(c, "builder")  # a new account of that name is not the one the tokens were for
    c.settle()
    assert [s["metadata"]["name"] for s in c.client.list("Secret")["items"]] == ["plain"]
    # the default ServiceAccount's own token works the same way
    c.client.create(token_secret("default-token", "default"))
    c.settle()
    assert len(c.client.get("Secret", "default-token")["data"]) == 3
