"""``kubectl port-forward``: a real socket on 127.0.0.1 carrying HTTP to a simulated container.

Requests go over real loopback TCP with urllib; the cluster runs on a virtual clock."""
from __future__ import annotations

import gc
import json
import re
import socket
import urllib.error
import urllib.request

import pytest

from kubelab.cluster import Cluster
from kubelab.kubectl.portforward import forwards

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: echo-server
  labels:
    app: echo-server
spec:
  replicas: 3
  selector:
    matchLabels:
      app: echo-server
  template:
    metadata:
      labels:
        app: echo-server
    spec:
      containers:
      - name: echo-server-container
        image: kennship/http-echo
"""

SERVICE = """\
apiVersion: v1
kind: Service
metadata:
  name: my-echo-server-service
spec:
  type: NodePort
  selector:
    app: echo-server
  ports:
  - nodePort: 30001
    protocol: TCP
    port: 80
    targetPort: 3000
"""


def echo_pod(name: str, port: int | None = None, labels: str = "app: solo", extra: str = "") -> str:
    env = f"\n    env:\n    - name: PORT\n      value: \"{port}\"" if port else ""
    return (f"apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n  labels:\n    {labels}\nspec:\n{extra}"
            f"  containers:\n  - name: main\n    image: kennship/http-echo{env}\n")


@pytest.fixture
def cluster():
    c = Cluster(clock="virtual", seed=7)
    for doc in (DEPLOYMENT, SERVICE):
        assert c.kubectl("apply -f -", stdin=doc).returncode == 0
    assert c.settle()
    yield c
    c.kubectl("port-forward --stop")


def forwarded_port(stdout: str) -> int:
    found = re.fullmatch(r"Forwarding from 127\.0\.0\.1:(\d+) -> \d+\n", stdout.splitlines(True)[0])
    assert found, stdout
    return int(found.group(1))


def get(port: int, path: str = "/") -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as reply:
        assert reply.status == 200
        assert reply.headers["Content-Type"].startswith("application/json")
        return json.loads(reply.read())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def can_bind(port: int) -> bool:
    """Whether a new listener could take the port (as kubectl's does, with SO_REUSEADDR: closed
    connections waiting in TIME_WAIT don't count, a listening socket does)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def deployment_pods(c: Cluster) -> set[str]:
    return {p["metadata"]["name"] for p in c.client.list("Pod", "default", label_selector="app=echo-server")["items"]}


def test_service_forward_reaches_a_pod_of_the_deployment(cluster: Cluster) -> None:
    r = cluster.kubectl("port-forward svc/my-echo-server-service :80")
    assert r.returncode == 0 and r.stderr == ""
    port = forwarded_port(r.stdout)
    assert r.stdout == f"Forwarding from 127.0.0.1:{port} -> 3000\n"  # the Service port becomes the targetPort
    answer = get(port, "/hello")
    assert answer["os"]["hostname"] in deployment_pods(cluster)
    assert answer["path"] == "/hello"
    assert answer["headers"]["host"] == f"127.0.0.1:{port}"
    assert answer["ip"] == "::ffff:127.0.0.1"  # port-forward connects from inside the pod's netns
    # every connection goes to the one pod chosen when the forward started, unlike the Service
    assert {get(port)["os"]["hostname"] for _ in range(4)} == {answer["os"]["hostname"]}
    stopped = cluster.kubectl("port-forward --stop")
    assert stopped.stdout == f"Handling connection for {port}\n" * 5 + \
        f"Stopped forwarding from 127.0.0.1:{port} -> 3000\n"
    assert can_bind(port)
    assert forwards(cluster.client) == []


def test_fixed_local_port_and_service_port_mapping(cluster: Cluster) -> None:
    port = free_port()
    r = cluster.kubectl(f"port-forward service/my-echo-server-service {port}:80")
    assert r.stdout == f"Forwarding from 127.0.0.1:{port} -> 3000\n"
    assert get(port)["os"]["hostname"] in deployment_pods(cluster)
    assert cluster.kubectl(f"port-forward --stop {port}").returncode == 0
    assert can_bind(port)


def test_same_port_both_sides_and_bare_pod_name(cluster: Cluster) -> None:
    port = free_port()
    assert cluster.kubectl("apply -f -", stdin=echo_pod("solo", port)).returncode == 0
    assert cluster.settle()
    r = cluster.kubectl(f"port-forward solo {port}")  # a bare NAME is a pod
    assert r.stdout == f"Forwarding from 127.0.0.1:{port} -> {port}\n"
    assert get(port)["os"]["hostname"] == "solo"


def test_several_port_pairs(cluster: Cluster) -> None:
    r = cluster.kubectl("port-forward deploy/echo-server :3000 :3000")
    assert r.returncode == 0
    ports = [int(p) for p in re.findall(r"127\.0\.0\.1:(\d+) -> 3000", r.stdout)]
    assert len(ports) == 2 and ports[0] != ports[1]
    assert get(ports[0])["os"]["hostname"] == get(ports[1])["os"]["hostname"]
    assert [f.ports for f in forwards(cluster.client)] == [[(ports[0], 3000), (ports[1], 3000)]]


def test_deployment_forward_picks_the_most_active_pod(cluster: Cluster) -> None:
    # a Pending pod made first and a running one: kubectl prefers scheduled, running, ready pods
    pending = echo_pod("waiting", labels="app: picky", extra="  nodeSelector:\n    disk: none\n")
    assert cluster.kubectl("apply -f -", stdin=pending).returncode == 0
    cluster.advance(5)
    assert cluster.kubectl("apply -f -", stdin=echo_pod("runner", labels="app: picky")).returncode == 0
    svc = SERVICE.replace("my-echo-server-service", "picky").replace("app: echo-server", "app: picky") \
        .replace("  type: NodePort\n", "").replace("  - nodePort: 30001\n    protocol", "  - protocol")
    assert cluster.kubectl("apply -f -", stdin=svc).returncode == 0
    assert cluster.settle()
    port = forwarded_port(cluster.kubectl("port-forward svc/picky :80").stdout)
    assert get(port)["os"]["hostname"] == "runner"


def test_only_loopback_addresses(cluster: Cluster) -> None:
    r = cluster.kubectl("port-forward svc/my-echo-server-service :80 --address 0.0.0.0")
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.startswith("error: kubelab only listens on 127.0.0.1")
    assert "0.0.0.0" in r.stderr
    r = cluster.kubectl("port-forward svc/my-echo-server-service :80 --address localhost,::1")
    assert r.returncode == 1 and "kubelab only listens on 127.0.0.1" in r.stderr
    r = cluster.kubectl("port-forward svc/my-echo-server-service :80 --address nowhere")
    assert r.stderr == "error: nowhere is not a valid IP\n"
    assert forwards(cluster.client) == []
    r = cluster.kubectl("port-forward svc/my-echo-server-service :80 --address localhost,127.0.0.1")
    port = forwarded_port(r.stdout)
    (sock, _, _), = forwards(cluster.client)[0].listeners
    assert sock.family == socket.AF_INET and sock.getsockname() == ("127.0.0.1", port)
    # another loopback address reaches a socket bound to 0.0.0.0 but not one bound to 127.0.0.1
    with socket.socket() as probe:
        probe.settimeout(5)
        assert probe.connect_ex(("127.0.0.2", port)) != 0
    if socket.has_ipv6:
        with socket.socket(socket.AF_INET6) as probe:
            probe.settimeout(5)
            assert probe.connect_ex(("::1", port)) != 0


def test_port_already_in_use(cluster: Cluster) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        r = cluster.kubectl(f"port-forward svc/my-echo-server-service {port}:80")
        assert r.returncode == 1 and r.stdout == ""
        assert r.stderr == (
            f"Unable to listen on port {port}: Listeners failed to create with the following errors: "
            f"[unable to create listener: Error listen tcp4 127.0.0.1:{port}: bind: address already in use]\n"
            f"error: unable to listen on any of the requested ports: [{{{port} 3000}}]\n")
        # with a second, free port the forward runs on that one
        r = cluster.kubectl(f"port-forward svc/my-echo-server-service {port}:80 :80")
        assert r.returncode == 0 and r.stderr.startswith(f"Unable to listen on port {port}: ")
        assert get(forwarded_port(r.stdout))["os"]["hostname"] in deployment_pods(cluster)
    assert forwards(cluster.client)[0].ports[0][0] != port


def test_pod_not_running(cluster: Cluster) -> None:
    pending = echo_pod("stuck", extra="  nodeSelector:\n    disk: none\n")
    assert cluster.kubectl("apply -f -", stdin=pending).returncode == 0
    cluster.settle()
    r = cluster.kubectl("port-forward pod/stuck :3000")
    assert (r.returncode, r.stdout) == (1, "")
    assert r.stderr == "error: unable to forward port because pod is not running. Current status=Pending\n"
    assert forwards(cluster.client) == []


def test_service_without_pods_times_out(cluster: Cluster) -> None:
    svc = SERVICE.replace("my-echo-server-service", "lonely").replace("app: echo-server", "app: nobody") \
        .replace("nodePort: 30001", "nodePort: 30002")
    assert cluster.kubectl("apply -f -", stdin=svc).returncode == 0
    start = cluster.client.now()
    r = cluster.kubectl("port-forward svc/lonely 8080:80 --pod-running-timeout=10s")
    assert (r.returncode, r.stdout, r.stderr) == (1, "", "error: timed out waiting for the condition\n")
    assert cluster.client.now() - start == pytest.approx(10, abs=1)


def test_argument_errors(cluster: Cluster) -> None:
    r = cluster.kubectl("port-forward svc/my-echo-server-service")
    assert r.stderr == ("error: TYPE/NAME and list of ports are required for port-forward\n"
                        "See 'kubectl port-forward -h' for help and examples\n")
    assert cluster.kubectl("port-forward pod/missing 8080").stderr == \
        'Error from server (NotFound): pods "missing" not found\n'
    assert cluster.kubectl("port-forward svc/missing 8080").stderr == \
        'Error from server (NotFound): services "missing" not found\n'
    assert cluster.kubectl("port-forward svc/my-echo-server-service :81").stderr == \
        "error: Service my-echo-server-service does not have a service port 81\n"
    assert cluster.kubectl("port-forward deploy/echo-server :http").stderr.endswith(
        "does not have a named port 'http'\n")
    assert cluster.kubectl("port-forward deploy/echo-server 3000:0").stderr == "error: remote port must be > 0\n"
    assert cluster.kubectl("port-forward deploy/echo-server 70000:3000").stderr == (
        "error: error parsing local port '70000': strconv.ParseUint: parsing \"70000\": value out of range\n")
    assert cluster.kubectl("create configmap settings --from-literal=a=b").returncode == 0
    assert cluster.kubectl("port-forward configmap/settings 80").stderr == \
        "error: cannot attach to *v1.ConfigMap: not implemented\n"
    assert cluster.kubectl("port-forward --stop").stderr == "error: no port-forward is running\n"
    assert cluster.kubectl("port-forward --stop 8080").stderr == "error: no port-forward is listening on port 8080\n"
    assert forwards(cluster.client) == []


def test_help_documents_stop(cluster: Cluster) -> None:
    r = cluster.kubectl("port-forward -h")
    assert r.returncode == 0 and r.stdout.startswith("Forward one or more local ports to a pod.\n")
    assert "kubectl port-forward --stop [LOCAL_PORT...]" in r.stdout and "127.0.0.1 only" in r.stdout


def test_nothing_listening_on_the_remote_port_ends_the_forward(cluster: Cluster) -> None:
    r = cluster.kubectl("port-forward deploy/echo-server :3001")
    port = forwarded_port(r.stdout)
    assert r.stdout == f"Forwarding from 127.0.0.1:{port} -> 3001\n"
    with pytest.raises((urllib.error.URLError, ConnectionError)):
        get(port)
    forward, = forwards(cluster.client)
    assert not forward.active and can_bind(port)  # kubectl gives up: "lost connection to pod"
    stopped = cluster.kubectl("port-forward --stop")
    assert stopped.stdout == f"Handling connection for {port}\n"
    klog, lost = stopped.stderr.splitlines()
    assert re.fullmatch(r'E\d{4} \d\d:\d\d:\d\d\.\d{6} +\d+ portforward\.go:424\] "Unhandled Error" '
                        rf'err="an error occurred forwarding {port} -> 3001: error forwarding port 3001 to pod '
                        r'[0-9a-f]{64}, uid : failed to execute portforward in network namespace '
                        r'\\"/var/run/netns/cni-[0-9a-f-]{36}\\": failed to connect to localhost:3001 inside namespace '
                        r'\\"[0-9a-f]{64}\\", IPv4: dial tcp4 127\.0\.0\.1:3001: connect: connection refused '
                        r'IPv6 dial tcp6 \[::1\]:3001: connect: connection refused "', klog), klog
    assert lost == "error: lost connection to pod"
    assert forwards(cluster.client) == []


def test_deleted_pod_loses_the_forward(cluster: Cluster) -> None:
    assert cluster.kubectl("apply -f -", stdin=echo_pod("solo")).returncode == 0
    assert cluster.settle()
    port = forwarded_port(cluster.kubectl("port-forward pod/solo :3000").stdout)
    assert get(port)["os"]["hostname"] == "solo"
    assert cluster.kubectl("delete pod solo").returncode == 0
    cluster.settle()
    with pytest.raises((urllib.error.URLError, ConnectionError)):
        get(port)
    err = cluster.kubectl(f"port-forward --stop {port}").stderr
    assert re.search(r'failed to find sandbox \\"[0-9a-f]{64}\\" in store: not found"\n'
                     r"error: lost connection to pod\n$", err), err


def test_forwards_end_with_the_cluster() -> None:
    c = Cluster(clock="virtual", seed=3)
    assert c.kubectl("apply -f -", stdin=echo_pod("solo")).returncode == 0
    assert c.settle()
    port = forwarded_port(c.kubectl("port-forward solo :3000").stdout)
    assert not can_bind(port)
    del c
    gc.collect()
    assert can_bind(port)


def test_reset_stops_the_notebook_clusters_forwards() -> None:
    import kubelab.notebook as nb

    c = Cluster(clock="virtual", seed=5)
    assert c.kubectl("apply -f -", stdin=echo_pod("solo")).returncode == 0
    assert c.settle()
    nb.use(c)
    try:
        port = forwarded_port(c.kubectl("port-forward solo :3000").stdout)
        nb.reset()
        assert can_bind(port)
        assert forwards(c.client) == []
    finally:
        nb.use(None)


def test_a_follower_sees_each_line_as_it_is_printed_and_stop_does_not_repeat_it(cluster: Cluster) -> None:
    from kubelab.notebook.live import LiveText

    r = cluster.kubectl("port-forward svc/my-echo-server-service :80")
    port = forwarded_port(r.stdout)
    (forward,) = forwards(cluster.client)
    live = LiveText(r.stdout)
    forward.follow(live.append)
    get(port)
    assert live.text == r.stdout + f"Handling connection for {port}\n"  # there before --stop
    assert f"Handling connection for {port}" in live.widget.value
    assert live._repr_mimebundle_()["text/plain"] == live.text.rstrip("\n")
    assert cluster.kubectl("port-forward --stop").stdout == f"Stopped forwarding from 127.0.0.1:{port} -> 3000\n"
