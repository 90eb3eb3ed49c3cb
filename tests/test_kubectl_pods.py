"""logs, exec, run and attach against the simulated kubelet and runtime."""
from kubelab import Cluster
from kubelab.server import serve
from test_server import Kubectl, needs_kubectl

POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "echo-server", "labels": {"app": "echo-server"}},
       "spec": {"containers": [{"name": "echo-server-container", "image": "kennship/http-echo"}]}}


def running() -> Cluster:
    c = Cluster(clock="virtual", seed=1)
    c.client.create(POD)
    c.settle()
    return c


def test_logs_of_the_echo_server():
    r = running().kubectl("logs echo-server")
    assert (r.returncode, r.stdout, r.stderr) == (0, "Listening on port 3000\n", "")


def test_logs_by_selector_defaults_the_container_of_each_pod():
    """kubectl 1.32 prints the first container's logs with its Defaulted notice (it used to
    fail with the apiserver's 'container  is not valid'); a -c no pod has is kubectl's own error."""
    c = Cluster(clock="virtual", seed=2)
    c.client.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "two", "labels": {"app": "two"}},
                     "spec": {"containers": [{"name": "a", "image": "busybox", "command": ["sh", "-c", "echo a; sleep 3600"]},
                                             {"name": "b", "image": "busybox", "command": ["sh", "-c", "echo b; sleep 3600"]}]}})
    c.settle()
    r = c.kubectl("logs -l app=two")
    assert (r.returncode, r.stdout, r.stderr) == (0, "a\n", 'Defaulted container "a" out of: a, b\n')
    r = c.kubectl("logs -l app=two -c nope")
    assert (r.returncode, r.stdout, r.stderr) == (1, "", "error: container nope is not valid for pod two\n")
    r = c.kubectl("logs nope")
    assert r.stderr == 'error: error from server (NotFound): pods "nope" not found in namespace "default"\n'


def test_exec_without_dashes_is_kubectls_error():
    r = running().kubectl("exec -it echo-server bash")
    assert (r.returncode, r.stdout) == (1, "")
    assert r.stderr == ("error: exec [POD] [COMMAND] is not supported anymore. Use exec [POD] -- [COMMAND] instead\n"
                        "See 'kubectl exec -h' for help and examples\n")


def test_exec_runs_in_the_container():
    r = running().kubectl("exec echo-server -- hostname")
    assert (r.returncode, r.stdout) == (0, "echo-server\n")


def test_run_creates_a_labelled_pod_and_notes_the_removed_generator_flag():
    c = Cluster(clock="virtual", seed=1)
    r = c.kubectl("run busybox --image=busybox --generator=run-pod/v1")
    assert (r.returncode, r.stdout) == (0, "pod/busybox created\n")
    assert "--generator" in r.stderr
    assert c.client.get("Pod", "busybox")["metadata"]["labels"] == {"run": "busybox"}


def test_run_it_rm_runs_stdin_lines_then_deletes_the_pod():
    c = running()
    ip = c.client.get("Pod", "echo-server")["status"]["podIP"]
    r = c.kubectl("run -it busybox --image=busybox --rm --restart=Never", stdin=f"wget -qO- {ip}:3000\n")
    assert r.returncode == 0
    assert r.stderr == "If you don't see a command prompt, try pressing enter.\n"
    assert r.stdout.endswith('pod "busybox" deleted\n')
    assert "echo-server" in r.stdout
    assert c.kubectl("get pod busybox").returncode == 1


def test_rm_needs_an_attached_container():
    r = Cluster(clock="virtual", seed=1).kubectl("run x --image=busybox --rm")
    assert (r.returncode, r.stderr) == (1, "error: --rm should only be used for attached containers\n"
                                      "See 'kubectl run -h' for help and examples\n")


def test_run_expose_creates_the_pod_and_a_clusterip_service():
    c = Cluster(clock="virtual", seed=1)
    r = c.kubectl("run web --image=nginx --port=80 --expose")
    assert (r.returncode, r.stdout, r.stderr) == (0, "service/web created\npod/web created\n", "")
    service = c.client.get("Service", "web")
    assert service["spec"]["type"] == "ClusterIP" and service["spec"]["selector"] == {"run": "web"}
    assert service["spec"]["ports"] == [{"protocol": "TCP", "port": 80, "targetPort": 80}]
    assert "labels" not in service["metadata"]
    c.settle()
    assert c.kubectl("get endpoints web -o jsonpath={.subsets[0].ports[0].port}").stdout == "80"
    r = c.kubectl("run web --image=nginx --port=80 --expose")  # the pod exists: no Service attempted
    assert (r.returncode, r.stdout, r.stderr) == (1, "", 'Error from server (AlreadyExists): pods "web" already exists\n')
    r = c.kubectl("run other --image=nginx --expose")
    assert r.stderr == "error: --port must be set when exposing a service\nSee 'kubectl run -h' for help and examples\n"


RUN_COMMANDS = [
    "run x --image=nginx --port=80 --expose --dry-run=client -o yaml",
    "run x --image=nginx --port=80 --expose --dry-run=client", "run x --image=nginx --port=80 --expose --dry-run=client -o name",
    "run x --image=nginx --port=80 -n kube-system --expose --dry-run=client -o json",
    "run x --image=nginx --port=80 --env=A=1 --labels=a=b --image-pull-policy=Never --dry-run=client -o json",
    "run x --image=nginx --dry-run=client -o json --command -- sh -c true",
    "run x --image=nginx --port=80 --expose -l app=web,tier=fe --dry-run=client -o yaml",
    "run x --image=nginx --port=80 --expose --dry-run=server", "run x --image=nginx --port=80 --expose",
    "get svc x -o yaml", "run x --image=nginx --port=80 --expose", "run y --image=nginx --port=80 --expose -o name",
    "run taken --image=nginx --port=80 --expose",
]


@needs_kubectl
def test_run_expose_matches_real_kubectl(tmp_path):
    """Two identical clusters, one changed by the real kubectl (served), one by kubelab's."""
    served, mine = Cluster(clock="virtual", seed=1), Cluster(clock="virtual", seed=1)
    for c in (served, mine):
        c.kubectl("create service clusterip taken --tcp=80")
    with serve(served) as server:
        real = Kubectl(server.kubeconfig, str(tmp_path))
        for command in RUN_COMMANDS:
            theirs, ours = real(command.split()), mine.kubectl(command)
            assert (ours.returncode, ours.stdout, ours.stderr) == (theirs.returncode, theirs.stdout, theirs.stderr), \
                command
