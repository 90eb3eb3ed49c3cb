"""RBAC through the served API with the real kubectl 1.32: a ServiceAccount's token is
Forbidden until a RoleBinding allows it; --as impersonates; can-i evaluates the bindings."""
from __future__ import annotations

import base64
import json

import pytest

from kubelab import Cluster
from kubelab.server import serve
from served import connection
from test_server import KUBECTL, SKIP_REASON, Kubectl

pytestmark = pytest.mark.skipif(KUBECTL is None, reason=SKIP_REASON)

FORBIDDEN = ('Error from server (Forbidden): pods is forbidden: User "system:serviceaccount:default:x" cannot list '
             'resource "pods" in API group "" in the namespace "default"\n')


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    cluster = Cluster(clock="virtual", seed=1)
    assert cluster.kubectl("create serviceaccount x").returncode == 0
    cluster.settle()
    with serve(cluster) as server:
        yield cluster, server, Kubectl(server.kubeconfig, str(tmp_path_factory.mktemp("home")))


def test_token_forbidden_then_allowed_after_rolebinding(served):
    cluster, server, kubectl = served
    made = kubectl("create token x")
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    header, claims, signature = token.split(".")
    decoded = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
    assert decoded["sub"] == "system:serviceaccount:default:x"
    assert decoded["exp"] - decoded["iat"] == 3600
    denied = kubectl(["get", "pods", "--token", token])
    assert (denied.returncode, denied.stdout, denied.stderr) == (1, "", FORBIDDEN)
    assert kubectl(["auth", "can-i", "list", "pods", "--token", token]).stdout == "no\n"
    whoami = kubectl(["auth", "whoami", "--token", token, "-o", "json"])
    info = json.loads(whoami.stdout)["status"]["userInfo"]
    assert info["username"] == "system:serviceaccount:default:x"
    assert info["groups"] == ["system:serviceaccounts", "system:serviceaccounts:default", "system:authenticated"]

    bound = kubectl("create rolebinding x-view --clusterrole=view --serviceaccount=default:x")
    assert (bound.returncode, bound.stdout) == (0, "rolebinding.rbac.authorization.k8s.io/x-view created\n")
    cluster.kubectl("run web --image=nginx")
    cluster.settle()
    allowed = kubectl(["get", "pods", "--token", token, "-o", "name"])
    assert (allowed.returncode, allowed.stdout, allowed.stderr) == (0, "pod/web\n", "")
    assert kubectl(["auth", "can-i", "list", "pods", "--token", token]).stdout == "yes\n"
    assert kubectl(["auth", "can-i", "get", "pods/log", "--token", token]).stdout == "yes\n"
    write = kubectl(["delete", "pod", "web", "--token", token])
    assert write.stderr == ('Error from server (Forbidden): pods "web" is forbidden: User '
                            '"system:serviceaccount:default:x" cannot delete resource "pods" in API group "" in the '
                            'namespace "default"\n')
    other = kubectl(["get", "pods", "-n", "kube-system", "--token", token])
    assert 'cannot list resource "pods" in API group "" in the namespace "kube-system"' in other.stderr
    nodes = kubectl(["get", "nodes", "--token", token])
    assert nodes.stderr == ('Error from server (Forbidden): nodes is forbidden: User "system:serviceaccount:default:x" '
                            'cannot list resource "nodes" in API group "" at the cluster scope\n')


def test_learner_impersonates_with_as(served):
    _cluster, _server, kubectl = served
    assert kubectl("auth can-i create deployments --as=system:serviceaccount:default:x").stdout == "no\n"
    assert kubectl("auth can-i list pods --as=system:serviceaccount:default:x").stdout == "yes\n"  # x-view
    assert kubectl("auth can-i list pods --as=jane").stdout == "no\n"
    assert kubectl("auth can-i list pods --as=jane --as-group=system:masters").stdout == "yes\n"
    denied = kubectl("get pods --as=jane")
    assert denied.stderr == ('Error from server (Forbidden): pods is forbidden: User "jane" cannot list resource '
                             '"pods" in API group "" in the namespace "default"\n')
    assert kubectl("auth can-i '*' '*'").stdout == "yes\n"


def test_secret_token_authenticates_and_forged_one_does_not(served):
    cluster, server, kubectl = served
    cluster.kubectl("create", "-f", "-", stdin="""apiVersion: v1
kind: Secret
metadata:
  name: x-token
  annotations: {kubernetes.io/service-account.name: x}
type: kubernetes.io/service-account-token
""")
    cluster.settle()
    token = base64.b64decode(cluster.client.get("Secret", "x-token", "default")["data"]["token"]).decode()
    r = kubectl(["auth", "whoami", "--token", token, "-o", "jsonpath={.status.userInfo.username}"])
    assert r.stdout == "system:serviceaccount:default:x"
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    r = kubectl(["get", "pods", "--token", forged])
    assert r.stderr == "error: You must be logged in to the server (Unauthorized)\n"
    conn = connection(server)
    conn.request("GET", "/api/v1/namespaces/default/secrets", headers={"Authorization": f"Bearer {token}"})
    response = conn.getresponse()
    status = json.loads(response.read())
    conn.close()
    assert response.status == 403
    assert status["details"] == {"kind": "secrets"} and status["reason"] == "Forbidden"


# Run in order on two seeded twins: kubelab's kubectl on one, the real kubectl on the other.
SAME = [
    "create role r --verb=gett --resource=pods", "create role r0 --verb=get --resource=foos",
    "create role r1", "create role r1 --verb=get", "create role r7 --verb=* --resource=foo.apps",
    "create role r2 --verb=get,list --resource=po,deploy.apps,pods/log,jobs,rs --resource-name=a",
    "create clusterrole c4 --verb=get --resource=pods,deployments/scale --non-resource-url=/x",
    "create clusterrole c8 --verb=get", "create role r5 --verb=get --resource=pods --non-resource-url=/x",
    "create rolebinding b", "create rolebinding b --role=r --clusterrole=c",
    "create rolebinding b --role=r --serviceaccount=x", "create clusterrolebinding b",
    "create rolebinding b9 --role=r --user=u --group=g --serviceaccount=ns:s",
    "create clusterrolebinding b --clusterrole=c --user=u --group=g --serviceaccount=ns:s",
    "create role rd --verb=get --resource=pods --dry-run=client -o yaml", "create role r6 --verb=* --resource=* -o yaml",
    "get roles", "get rolebindings -o wide", "get clusterrolebindings -o wide", "get clusterroles",
    "describe role r2", "describe clusterrole c4", "describe rolebinding b9", "describe clusterrolebinding b",
    "describe clusterrole view", "describe clusterrole edit", "describe clusterrole admin",
    "describe clusterrole cluster-admin", "describe clusterrole system:discovery",
    "describe clusterrolebinding system:public-info-viewer", "describe rolebindings",
    "auth can-i list pods", "auth can-i list pods --as=jane", "auth can-i list pods --as=system:serviceaccount:default:default",
    "auth can-i list nodes", "auth can-i list foos", "auth can-i frob pods", "auth can-i get /healthz --as=jane",
    "auth can-i get /logs --as=jane", "auth can-i get pods/web", "auth can-i", "auth can-i get /x --subresource=log",
    "auth can-i list deploy.apps --as=jane --as-group=system:masters", "auth can-i --list", "auth can-i --list --as=jane",
    "create rolebinding jv --clusterrole=view --user=jane", "create rolebinding gone --clusterrole=nope --user=jane",
    "auth can-i list pods --as=jane", "auth can-i create pods --as=jane", "auth can-i --list --as=jane",
    "auth can-i get pods --subresource=log --as=jane", "auth can-i list pods -n kube-system --as=jane",
    "auth can-i list pods -A --as=jane", "auth whoami", "auth whoami --as=jane", "auth whoami -o yaml",
    "create token nope", "create token default --duration=1m", "create token default --duration=-1s",
    "create token default --duration=1.5s", "create token",
]


def test_rbac_commands_match_real_kubectl(tmp_path):
    mine, theirs = Cluster(clock="virtual", seed=1), Cluster(clock="virtual", seed=1)
    with serve(theirs) as server:
        real = Kubectl(server.kubeconfig, str(tmp_path))
        for command in SAME:
            a, b = mine.kubectl(command), real(command)
            mine.settle()
            theirs.settle()
            assert (a.returncode, a.stdout, a.stderr) == (b.returncode, b.stdout, b.stderr), command


def test_token_from_kubelab_kubectl_works_on_the_served_api(served):
    cluster, _server, kubectl = served
    made = cluster.kubectl("create token x --duration=2h")
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    claims = token.split(".")[1]
    decoded = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
    assert decoded["exp"] - decoded["iat"] == 7200
    r = kubectl(["auth", "whoami", "--token", token, "-o", "jsonpath={.status.userInfo.username}"])
    assert r.stdout == "system:serviceaccount:default:x"
    assert cluster.kubectl("create token nope").stderr == 'error: failed to create token: serviceaccounts "nope" not found\n'
    short = cluster.kubectl("create token x --duration=1m")
    assert short.stderr == ('error: failed to create token: TokenRequest.authentication.k8s.io "x" is invalid: '
                            'spec.expirationSeconds: Invalid value: 60: may not specify a duration less than 10 minutes\n')
