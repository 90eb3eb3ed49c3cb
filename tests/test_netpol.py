"""NetworkPolicy enforced by the simulated network, on a virtual clock; get/describe compared
with the real kubectl 1.32."""
from __future__ import annotations

import time
from datetime import datetime

import pytest

from kubelab import Cluster
from kubelab.engine import netpol
from kubelab.engine.clock import VirtualClock
from kubelab.server import serve
from test_against_kubectl import same, same_at_wall_clock
from test_server import KUBECTL, SKIP_REASON, Kubectl

APP = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: nginx, ports: [{name: http, containerPort: 80}]}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 8080, targetPort: 80}]
"""
DENY = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all}
spec:
  podSelector: {}
  policyTypes: [Ingress]
"""
ALLOW = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-client}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from: [{podSelector: {matchLabels: {role: client}}}]
    ports: [{port: http}]
"""


@pytest.fixture
def cluster() -> Cluster:
    c = Cluster(clock="virtual", seed=4)
    assert c.kubectl("apply -f -", stdin=APP).returncode == 0
    c.kubectl("run client --image=busybox --labels=role=client -- sleep 36000")
    c.kubectl("run other --image=busybox -- sleep 36000")
    c.settle()
    return c


def wget(c: Cluster, pod: str, extra: str = ""):
    return c.kubectl(f"exec {pod} -- wget {extra} -qO- http://web:8080/")


def test_a_policy_denies_then_another_allows_the_same_wget(cluster):
    c = cluster
    assert wget(c, "client").returncode == 0  # no policy: everything flows
    assert c.kubectl("apply -f -", stdin=DENY).returncode == 0
    r = wget(c, "client")
    assert r.returncode == 1
    assert r.stderr.startswith("wget: can't connect to remote host (")  # the kernel gives up connecting
    assert "Connection timed out" in r.stderr
    r = wget(c, "client", "-T 5")
    assert r.stderr.startswith("wget: download timed out\n")  # busybox's alarm comes first
    assert c.kubectl("apply -f -", stdin=ALLOW).returncode == 0
    r = wget(c, "client")
    assert r.returncode == 0 and "Welcome to nginx!" in r.stdout, r.stderr
    assert wget(c, "other", "-T 2").stderr.startswith("wget: download timed out")  # not role=client


def test_a_denied_wget_takes_cluster_time_in_the_pods_shell(cluster):
    c = cluster
    c.kubectl("apply -f -", stdin=DENY)
    c.kubectl("run probe --image=busybox --labels=role=client --restart=Never -- "
              "sh -c 'date; wget -T 7 -qO- http://web:8080/; echo rc=$?; date'")
    c.settle()
    c.advance(20)
    lines = c.kubectl("logs probe").stdout.splitlines()
    assert lines[1:3] == ["wget: download timed out", "rc=1"]
    start, end = (datetime.strptime(line, "%a %b %d %H:%M:%S UTC %Y") for line in (lines[0], lines[3]))
    assert (end - start).total_seconds() == 7


def test_the_ingress_controller_is_a_source_policies_must_allow(cluster):
    c = cluster
    c.kubectl("create ingress web --rule=/*=web:8080")
    status, _, _ = c.network.request(None, "http://192.168.49.2/")
    assert status == 200
    c.kubectl("apply -f -", stdin=DENY)
    status, body, _ = c.network.request(None, "http://192.168.49.2/")
    assert status == 504 and "504 Gateway Time-out" in body


def test_the_controller_answers_504_after_its_connect_timeout(cluster):
    """ingress-nginx waits proxy-connect-timeout (5 s) for the dropped connect, then answers
    504 itself; a client's shorter timeout goes off first."""
    c = cluster
    c.kubectl("create ingress web --rule=/*=web:8080")
    c.kubectl("apply -f -", stdin=DENY)
    c.kubectl("run probe --image=busybox --restart=Never -- sh -c "
              "'date; wget -T 2 -qO- http://192.168.49.2/; date; wget -T 10 -qO- http://192.168.49.2/; date'")
    c.settle()
    c.advance(30)
    lines = c.kubectl("logs probe").stdout.splitlines()
    assert lines[1] == "wget: download timed out"
    assert lines[3] == "wget: server returned error: HTTP/1.1 504 Gateway Time-out"
    times = [datetime.strptime(line, "%a %b %d %H:%M:%S UTC %Y") for line in lines[0::2]]
    assert [(b - a).total_seconds() for a, b in zip(times, times[1:])] == [2, 5]


def _pod(name: str, ns: str, labels: dict[str, str], ports: list[dict] | None = None) -> dict:
    return {"metadata": {"name": name, "namespace": ns, "labels": labels},
            "spec": {"containers": [{"name": "c", "ports": ports or []}]}}


def test_selectors_ip_blocks_ports_and_egress():
    c = Cluster(clock="virtual")
    store = c.engine.store if hasattr(c, "engine") else None
    assert store is not None
    c.kubectl("create namespace team-a")
    c.kubectl("label namespace team-a team=a")
    policy = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: p}
spec:
  podSelector: {matchLabels: {app: db}}
  policyTypes: [Ingress, Egress]
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {team: a}}
      podSelector: {matchLabels: {role: api}}
    - ipBlock: {cidr: 172.16.0.0/12, except: [172.17.0.0/16]}
    ports: [{port: 5000, endPort: 5010}, {port: pg}]
  egress:
  - to: [{ipBlock: {cidr: 8.8.8.8/32}}]
    ports: [{port: 53, protocol: UDP}]
"""
    assert c.kubectl("apply -f -", stdin=policy).returncode == 0
    db = netpol.Endpoint("10.244.0.9", _pod("db", "default", {"app": "db"}, [{"name": "pg", "containerPort": 5432}]))
    api_a = netpol.Endpoint("10.244.0.5", _pod("api", "team-a", {"role": "api"}))
    api_default = netpol.Endpoint("10.244.0.6", _pod("api", "default", {"role": "api"}))
    web_a = netpol.Endpoint("10.244.0.7", _pod("web", "team-a", {"role": "web"}))
    assert netpol.allowed(store, api_a, db, 5005)
    assert netpol.allowed(store, api_a, db, 5432)  # the named port pg
    assert not netpol.allowed(store, api_a, db, 5011)  # past endPort
    assert not netpol.allowed(store, api_default, db, 5005)  # wrong namespace
    assert not netpol.allowed(store, web_a, db, 5005)  # wrong pod
    assert netpol.allowed(store, netpol.Endpoint("172.20.9.9", None), db, 5000)  # in the CIDR
    assert not netpol.allowed(store, netpol.Endpoint("172.17.2.3", None), db, 5000)  # in except
    assert not netpol.allowed(store, db, api_a, 80)  # db's egress is isolated
    assert netpol.allowed(store, db, netpol.Endpoint("8.8.8.8", None), 53, "UDP")
    assert not netpol.allowed(store, db, netpol.Endpoint("8.8.8.8", None), 53, "TCP")
    assert netpol.allowed(store, api_a, web_a, 80)  # neither is selected


def test_defaults_fill_policy_types_and_protocols():
    c = Cluster(clock="virtual")
    c.kubectl("apply -f -", stdin="apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: e}\n"
                                  "spec:\n  egress: [{ports: [{port: 53}]}]\n")
    spec = c.client.get("NetworkPolicy", "e")["spec"]
    assert spec == {"egress": [{"ports": [{"port": 53, "protocol": "TCP"}]}], "podSelector": {},
                    "policyTypes": ["Ingress", "Egress"]}


# -- the real kubectl 1.32 through the served API ----------------------------------------------
POLICIES = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: deny-all}
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: full, labels: {a: b}, annotations: {note: x}}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from:
    - podSelector: {matchLabels: {role: client}}
    - namespaceSelector: {matchLabels: {team: x}}
      podSelector: {matchExpressions: [{key: tier, operator: In, values: [fe]}]}
    - ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16, 10.2.0.0/16]}
    ports: [{port: 80}, {port: http, protocol: TCP}, {port: 3000, endPort: 3100}, {protocol: UDP}]
  - {}
  egress:
  - to: [{namespaceSelector: {}}]
    ports: [{protocol: UDP, port: 53}]
  - ports: [{port: 443}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: egress-only}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Egress]
"""
COMMANDS = ["get netpol", "get networkpolicies -o wide", "get netpol full -o yaml", "get netpol nope"]
DESCRIBES = ["describe netpol", "describe networkpolicy full"]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    if KUBECTL is None:
        pytest.skip(SKIP_REASON)
    c = Cluster(clock=VirtualClock(start=int(time.time()) - 3600), seed=1)
    assert c.kubectl("apply -f -", stdin=POLICIES).returncode == 0
    c.advance(600)
    with serve(c) as server:
        kubectl = Kubectl(server.kubeconfig, str(tmp_path_factory.mktemp("home")))
        assert kubectl("get ns").returncode == 0
        yield c, kubectl


@pytest.mark.parametrize("command", COMMANDS)
def test_get_matches_real_kubectl(served, command):
    c, kubectl = served
    same(c, kubectl(command), command)


@pytest.mark.parametrize("command", DESCRIBES)
def test_describe_matches_real_kubectl(served, command):
    c, kubectl = served
    same_at_wall_clock(c, kubectl, command)


def test_a_default_deny_egress_blocks_dns_until_it_is_allowed(cluster):
    c = cluster
    deny = DENY.replace("deny-all", "deny-egress").replace("[Ingress]", "[Egress]")
    c.kubectl("apply -f -", stdin=deny)
    r = wget(c, "client", "-T 2")
    assert r.stderr.startswith("wget: bad address 'web'")  # the resolver's query is dropped
    r = c.kubectl("exec client -- nslookup web")
    assert (r.returncode, r.stdout) == (1, ";; connection timed out; no servers could be reached\n\n")
    ip = c.kubectl("get svc web -o jsonpath={.spec.clusterIP}").stdout
    assert c.kubectl(f"exec client -- wget -T 2 -qO- http://{ip}:8080/").stderr.startswith(
        "wget: download timed out")  # by address: no DNS, and the connection itself is dropped
    dns = """\
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-dns-and-web}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
  - to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}, podSelector: {matchLabels: {k8s-app: kube-dns}}}]
    ports: [{port: 53, protocol: UDP}, {port: 53, protocol: TCP}]
  - to: [{podSelector: {matchLabels: {app: web}}}]
"""
    assert c.kubectl("apply -f -", stdin=dns).returncode == 0
    r = wget(c, "client")
    assert r.returncode == 0 and "Welcome to nginx!" in r.stdout, r.stderr
    assert "Name:\tweb.default.svc.cluster.local" in c.kubectl("exec client -- nslookup web").stdout


@pytest.mark.parametrize("rule, message", [
    ("ingress: [{ports: [{port: 80, endPort: 70}]}]",
     "spec.ingress[0].ports[0].endPort: Invalid value: 70: must be greater than or equal to `port`"),
    ("ingress: [{ports: [{port: http, endPort: 90}]}]",
     "spec.ingress[0].ports[0].endPort: Invalid value: 90: may not be specified when `port` is non-numeric"),
    ("egress: [{to: [{}]}]", "spec.egress[0].to[0]: Required value: must specify a peer"),
    ("ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8}, podSelector: {}}]}]",
     "spec.ingress[0].from[0]: Forbidden: may not specify both ipBlock and another peer"),
    ("ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8, except: [192.168.0.0/16]}}]}]",
     'spec.ingress[0].from[0].ipBlock.except[0]: Invalid value: "192.168.0.0/16": must be a strict subset of `cidr`'),
    ("policyTypes: [Inbound]",
     'spec.policyTypes[0]: Unsupported value: "Inbound": supported values: "Egress", "Ingress"'),
])
def test_validation_messages(rule, message):
    c = Cluster(clock="virtual")
    doc = f"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: bad}}\nspec:\n  {rule}\n"
    r = c.kubectl("apply -f -", stdin=doc)
    assert r.returncode == 1 and message in r.stderr, r.stderr
    assert c.kubectl("get netpol bad").returncode == 1
