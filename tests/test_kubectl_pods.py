"""logs, exec, run and attach against the simulated kubelet and runtime."""
from kubelab import Cluster

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
