"""The served streaming subresources through the real kubectl 1.32, on a real clock
(the cluster's background driver moves it; nothing in the tests syncs it).

``exec``/``attach``/``cp`` go over WebSocket (``v5.channel.k8s.io``); the interactive steps of
the notes run in a pseudo-terminal (tmux), as a learner types them in a terminal beside the
notebook. Waits poll what the terminal shows; nothing asserts on timings.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import urllib.request
from typing import Any, Iterator

import pytest

from kubelab import Cluster
from kubelab.server import serve
from tests.test_server import KUBECTL

TMUX = shutil.which("tmux")
pytestmark = [pytest.mark.skipif(KUBECTL is None, reason="no kubectl 1.32 binary"),
              pytest.mark.skipif(TMUX is None, reason="no tmux (apt-get install tmux)")]

ECHO = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "echo-server", "labels": {"app": "echo-server"}},
        "spec": {"containers": [{"name": "echo-server-container", "image": "kennship/http-echo",
                                 "ports": [{"containerPort": 3000}]}]}}
SERVICE = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "echo-server"},
           "spec": {"selector": {"app": "echo-server"}, "ports": [{"port": 80, "targetPort": 3000}]}}
SLEEPER = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "sleeper"},
           "spec": {"containers": [{"name": "sleeper", "image": "busybox", "command": ["sleep", "3600"]}]}}
WAIT = 30.0  # real seconds a step may take on a loaded 2-core machine before the test gives up


class Served:
    """A real-clock cluster served on 127.0.0.1, and a folder kubectl runs in (its HOME)."""

    def __init__(self) -> None:
        self.cluster = Cluster()
        self.server = serve(self.cluster)
        self.home = tempfile.mkdtemp(prefix="kubelab-streams-")
        os.makedirs(os.path.join(self.home, "bin"))
        os.symlink(KUBECTL, os.path.join(self.home, "bin", "kubectl"))  # type: ignore[arg-type]
        self.env = {"KUBECONFIG": self.server.kubeconfig, "HOME": self.home,
                    "PATH": f"{self.home}/bin:/usr/bin:/bin", "TERM": "xterm"}

    def kubectl(self, *args: str, input: str | bytes | None = None) -> subprocess.CompletedProcess[Any]:
        return subprocess.run(["kubectl", *args], env=self.env, cwd=self.home, capture_output=True,
                              text=not isinstance(input, bytes), input=input, timeout=WAIT * 2)

    def running(self, *names: str) -> None:
        client = self.cluster.client
        assert client.wait(lambda: all(_phase(self.cluster, n) == "Running" for n in names), WAIT), names

    def close(self) -> None:
        self.server.close()
        self.cluster.close()  # its background driver
        shutil.rmtree(self.home, ignore_errors=True)


def _phase(cluster: Cluster, name: str) -> str:
    try:
        return (cluster.client.get("Pod", name).get("status") or {}).get("phase", "")
    except Exception:  # noqa: BLE001 - not there (yet, or any more)
        return ""


class Terminal:
    """A tmux window running bash with the served kubeconfig: keys in, the screen out."""

    def __init__(self, served: Served) -> None:
        self.socket = tempfile.mktemp(prefix="tmux-", dir=served.home)  # one server per terminal
        env = " ".join(f"{k}={v}" for k, v in served.env.items())
        shell = f"cd {served.home} && env -i {env} PS1='$ ' bash --norc --noprofile"
        subprocess.run([TMUX, "-f", "/dev/null", "-S", self.socket, "new-session", "-d", "-x", "120", "-y", "50", shell], check=True)
        self.wait_for("$")

    def type(self, *keys: str) -> None:
        subprocess.run([TMUX, "-S", self.socket, "send-keys", *keys], check=True)

    def line(self, text: str) -> None:
        self.type("-l", text)
        self.type("Enter")

    def screen(self) -> str:
        return subprocess.run([TMUX, "-S", self.socket, "capture-pane", "-p", "-S", "-200"], capture_output=True,
                              text=True, check=True).stdout

    def wait_for(self, text: str, after: str = "") -> str:
        """The screen once ``text`` shows after the last ``after`` (the command just typed)."""
        deadline = time.monotonic() + WAIT
        while True:
            screen = self.screen()
            tail = screen[screen.rfind(after):] if after else screen
            if text in tail:
                return tail
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} never showed; the terminal shows:\n{screen}")
            time.sleep(0.1)

    def close(self) -> None:
        subprocess.run([TMUX, "-S", self.socket, "kill-server"], capture_output=True)


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    s = Served()
    s.cluster.client.create(ECHO, "default")
    s.cluster.client.create(SLEEPER, "default")
    s.cluster.client.create(SERVICE, "default")
    s.running("echo-server", "sleeper")
    yield s
    s.close()


@pytest.fixture
def term(served: Served) -> Iterator[Terminal]:
    t = Terminal(served)
    yield t
    t.close()


# -- no terminal --------------------------------------------------------------------------------
def test_exec_prints_output_and_exit_codes_as_kubectl_does(served: Served) -> None:
    listed = served.kubectl("exec", "sleeper", "--", "ls", "/")
    assert (listed.returncode, listed.stderr) == (0, "")
    assert listed.stdout.split() == ["bin", "dev", "etc", "home", "lib", "proc", "root", "sbin", "sys", "tmp",
                                     "usr", "var"]
    failed = served.kubectl("exec", "sleeper", "--", "sh", "-c", "echo out; echo err >&2; exit 3")
    assert (failed.returncode, failed.stdout) == (3, "out\n")
    assert failed.stderr == "err\ncommand terminated with exit code 3\n"
    piped = served.kubectl("exec", "-i", "sleeper", "--", "cat", input="one\ntwo\n")
    assert (piped.returncode, piped.stdout) == (0, "one\ntwo\n")
    missing = served.kubectl("exec", "sleeper", "--", "nope")
    assert missing.returncode == 126
    assert 'exec: "nope": executable file not found in $PATH' in missing.stderr
    ip = served.cluster.client.get("Pod", "echo-server")["status"]["podIP"]
    answer = served.kubectl("exec", "sleeper", "--", "wget", "-qO-", f"{ip}:3000")
    assert answer.returncode == 0 and '"os":{"hostname":"echo-server"}' in answer.stdout
    gone = served.kubectl("exec", "nobody", "--", "ls")
    assert (gone.returncode, gone.stderr) == (1, 'Error from server (NotFound): pods "nobody" not found\n')


def test_exec_over_spdy_for_kubectls_without_websockets(served: Served, term: Terminal) -> None:
    """kubectl before 1.30 (and 1.32 with KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false) upgrades to
    SPDY/3.1 and speaks remotecommand v4 there: the same output and exit codes."""
    spdy = {**served.env, "KUBECTL_REMOTE_COMMAND_WEBSOCKETS": "false"}

    def kubectl(*args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["kubectl", *args], env=spdy, cwd=served.home, capture_output=True, text=True,
                              input=input, timeout=WAIT * 2)

    failed = kubectl("exec", "sleeper", "--", "sh", "-c", "echo out; echo err >&2; exit 3")
    assert (failed.returncode, failed.stdout, failed.stderr) == (3, "out\n", "err\ncommand terminated with exit code 3\n")
    piped = kubectl("exec", "-i", "sleeper", "--", "cat", input="to the end of stdin\n")  # stdin's FIN ends cat
    assert (piped.returncode, piped.stdout) == (0, "to the end of stdin\n")
    command = "KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false kubectl exec -it sleeper -- sh"
    term.line(command)
    term.wait_for("/ #", after=command)
    term.line("echo over-spdy; cd /tmp")
    term.wait_for("/ # echo over-spdy; cd /tmp\nover-spdy\n/tmp #", after=command)
    term.line("exit 5")
    term.wait_for("command terminated with exit code 5\n$", after="/tmp # exit 5")
    term.line("echo status=$?")
    term.wait_for("status=5", after=command)


def test_a_container_that_is_not_running_is_refused_as_kubectl_reports_it(served: Served) -> None:
    """kubectl tries the WebSocket, falls back to SPDY on the refusal, and prints the kubelet's
    plain-text answer to that; kubelab's own kubectl says the same."""
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "unpulled"},
           "spec": {"containers": [{"name": "unpulled", "image": "nosuchimage/x:1"}]}}
    served.cluster.client.create(pod, "default")
    assert served.cluster.client.wait(lambda: "ErrImagePull" in json.dumps(
        served.cluster.client.get("Pod", "unpulled").get("status")), WAIT)
    refused = 'error: unable to upgrade connection: container not found ("unpulled")\n'
    for args in (["exec", "unpulled", "--", "ls"], ["cp", "unpulled:/etc/hostname", "here"]):
        real = served.kubectl(*args)
        assert (real.returncode, real.stderr) == (1, refused), args
    own = served.cluster.kubectl("exec", "unpulled", "--", "ls")
    assert (own.returncode, own.stderr) == (1, refused)
    wrong = served.kubectl("exec", "unpulled", "-c", "nope", "--", "ls")
    assert wrong.stderr == "Error from server (BadRequest): container nope is not valid for pod unpulled\n"
    assert served.cluster.kubectl("exec", "unpulled", "-c", "nope", "--", "ls").stderr == wrong.stderr
    _remove(served, "unpulled")


def test_cp_copies_files_and_directories_both_ways(served: Served) -> None:
    home = served.home
    with open(os.path.join(home, "hello.txt"), "w") as f:
        f.write("hello from the laptop\n")
    os.makedirs(os.path.join(home, "site", "img"))
    blob = bytes(range(256))
    with open(os.path.join(home, "site", "img", "logo.bin"), "wb") as f:
        f.write(blob)
    assert served.kubectl("cp", "hello.txt", "sleeper:/tmp/hello.txt").returncode == 0
    assert served.kubectl("exec", "sleeper", "--", "cat", "/tmp/hello.txt").stdout == "hello from the laptop\n"
    assert served.kubectl("cp", "site", "sleeper:/tmp/site").returncode == 0
    listed = served.kubectl("exec", "sleeper", "--", "ls", "-l", "/tmp/site/img").stdout
    assert "256" in listed and listed.endswith(" logo.bin\n")
    back = served.kubectl("cp", "sleeper:/tmp/site", "back")
    assert back.returncode == 0
    # busybox tar's notice, as on a real pod (kubectl may exit once the archive is read, before
    # it has printed the pod's stderr: it races there too)
    assert back.stderr in ("", "tar: removing leading '/' from member names\n")
    with open(os.path.join(home, "back", "img", "logo.bin"), "rb") as f:
        assert f.read() == blob


def test_exec_and_attach_are_in_discovery(served: Served) -> None:
    names = served.kubectl("api-resources", "--no-headers", "-o", "name").stdout.split()
    assert "pods" in names
    raw = served.kubectl("get", "--raw", "/api/v1").stdout
    assert '"pods/exec"' in raw and '"pods/attach"' in raw and '"pods/portforward"' in raw


# -- port-forward ---------------------------------------------------------------------------------
class Forward:
    """``kubectl port-forward TARGET :REMOTE`` running; ``port`` is the local one it chose."""

    def __init__(self, served: Served, target: str, remote: int, websockets: bool = True) -> None:
        env = {**served.env, "KUBECTL_PORT_FORWARD_WEBSOCKETS": "true" if websockets else "false"}
        self.proc = subprocess.Popen(["kubectl", "port-forward", target, f":{remote}"], env=env, cwd=served.home,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        first = self.proc.stdout.readline()  # type: ignore[union-attr]
        found = re.match(r"Forwarding from 127\.0\.0\.1:(\d+) -> (\d+)$", first.strip())
        assert found, first + self.proc.stderr.read()  # type: ignore[union-attr]
        self.port, self.remote = int(found.group(1)), int(found.group(2))

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=WAIT) as answer:
            return answer.status, json.loads(answer.read())

    def stop(self) -> tuple[str, str]:
        if self.proc.poll() is None:
            self.proc.terminate()
        out, err = self.proc.communicate(timeout=WAIT)
        return out, err


@pytest.mark.parametrize("websockets", [True, False], ids=["spdy-in-websocket", "spdy"])
def test_port_forward_to_a_pod_and_a_service_answers_a_real_http_get(served: Served, websockets: bool) -> None:
    """kubectl 1.31+ tunnels SPDY through a WebSocket; KUBECTL_PORT_FORWARD_WEBSOCKETS=false
    (and older kubectls) upgrade to SPDY itself. Both reach the echo server."""
    pod = Forward(served, "pod/echo-server", 3000, websockets)
    try:
        for n in (1, 2):  # two connections through one forward
            status, echoed = pod.get("/hello")
            assert status == 200 and echoed["path"] == "/hello"
            assert echoed["os"] == {"hostname": "echo-server"}
            assert echoed["headers"]["host"] == f"127.0.0.1:{pod.port}"
    finally:
        out, err = pod.stop()
    # the IPv4 listener accepts before kubectl prints its [::1] line, so the first connection's
    # line may come before that one
    assert out.splitlines().count(f"Handling connection for {pod.port}") == 2
    assert err == ""
    service = Forward(served, "svc/echo-server", 80, websockets)
    try:
        assert service.remote == 3000  # the Service's targetPort on the pod kubectl picked
        assert service.get("/through-the-service")[1]["path"] == "/through-the-service"
    finally:
        service.stop()


def test_port_forward_to_a_closed_port_ends_as_kubectl_does(served: Served) -> None:
    closed = Forward(served, "pod/echo-server", 4000)
    with pytest.raises(OSError):
        closed.get("/")
    assert closed.proc.wait(WAIT) == 1  # kubectl gives up the whole forward by itself
    out, err = closed.stop()
    assert "an error occurred forwarding" in err and "connect: connection refused" in err
    assert err.endswith("error: lost connection to pod\n")
    assert closed.proc.returncode == 1


# -- in a terminal -----------------------------------------------------------------------------
def test_run_it_rm_gives_a_shell_that_reaches_a_pod_and_cleans_up(served: Served, term: Terminal) -> None:
    """The notes: run -it busybox --rm, wget the echo server's pod IP, exit."""
    ip = served.cluster.client.get("Pod", "echo-server")["status"]["podIP"]
    command = "kubectl run -it busybox --image=busybox --rm --restart=Never"
    term.line(command)
    shown = term.wait_for("/ #", after=command)
    assert "If you don't see a command prompt, try pressing enter." in shown
    term.line(f"wget -qO- {ip}:3000")
    shown = term.wait_for('"os":{"hostname":"echo-server"}', after=f"wget -qO- {ip}:3000")
    assert '"user-agent":"Wget"' in shown
    term.line("hostname")
    term.wait_for("/ # hostname\nbusybox\n/ #", after="/ # hostname")
    term.line("exit")
    term.wait_for('/ # exit\npod "busybox" deleted\n$', after="/ # exit")  # back at the terminal's prompt
    assert _phase(served.cluster, "busybox") == ""


def test_exec_it_sh_into_the_echo_server(served: Served, term: Terminal) -> None:
    command = "kubectl exec -it echo-server -- sh"
    term.line(command)
    term.wait_for("/ #", after=command)
    term.line("hostname; cd /tmp; pwd")
    term.wait_for("/ # hostname; cd /tmp; pwd\necho-server\n/tmp\n/tmp #", after="/ # hostname; cd")
    term.line("exit 4")
    shown = term.wait_for("$", after="/tmp # exit 4")
    assert "command terminated with exit code 4" in shown
    term.line("echo status=$?")
    term.wait_for("status=4", after="echo status")


def test_attach_it_to_a_shell_that_run_started(served: Served, term: Terminal) -> None:
    """A pod whose main process is an interactive shell (stdin, tty): attach -it reaches its
    prompt; `exit` ends the container and the attach."""
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "shell"},
           "spec": {"restartPolicy": "Never",
                    "containers": [{"name": "shell", "image": "busybox", "stdin": True, "tty": True}]}}
    served.cluster.client.create(pod, "default")
    served.running("shell")
    command = "kubectl attach -it shell"
    term.line(command)
    shown = term.wait_for("/ #", after=command)
    assert "If you don't see a command prompt, try pressing enter." in shown
    term.line("echo attached-$HOSTNAME")
    term.wait_for("attached-shell", after="echo attached-")
    term.line("exit")
    term.wait_for("$", after="/ # exit")
    assert served.cluster.client.wait(lambda: _phase(served.cluster, "shell") == "Succeeded", WAIT)


def test_debug_adds_an_ephemeral_container(served: Served) -> None:
    debug = served.kubectl("debug", "sleeper", "--image=busybox", "--container=lister", "--", "ls", "/")
    assert "panic" not in debug.stderr and "goroutine" not in debug.stderr
    assert debug.returncode == 0, debug.stderr
    client = served.cluster.client

    def state() -> dict[str, Any]:
        statuses = client.get("Pod", "sleeper").get("status", {}).get("ephemeralContainerStatuses") or [{}]
        return next((s for s in statuses if s.get("name") == "lister"), {}).get("state") or {}

    assert client.wait(lambda: "terminated" in state(), WAIT)
    assert state()["terminated"]["exitCode"] == 0
    assert served.kubectl("logs", "sleeper", "-c", "lister").stdout.split()[:3] == ["bin", "dev", "etc"]
    clash = served.kubectl("debug", "sleeper", "--image=busybox", "--container=sleeper", "--", "true")
    assert clash.returncode == 1
    assert clash.stderr.splitlines()[-1].startswith('The Pod "sleeper" is invalid: spec.ephemeralContainers[')
    assert clash.stderr.endswith('].name: Duplicate value: "sleeper"\n')
    gone = served.kubectl("debug", "nobody", "--image=busybox", "--", "ls")
    assert (gone.returncode, gone.stderr.splitlines()[-1]) == (1, 'Error from server (NotFound): pods "nobody" not found')


# -- Python clients nobody here wrote -----------------------------------------------------------
def test_the_official_client_execs_through_kubernetes_stream(served: Served) -> None:
    from kubernetes import client, config
    from kubernetes.stream import stream

    v1 = client.CoreV1Api(config.new_client_from_config(served.server.kubeconfig))
    out = stream(v1.connect_get_namespaced_pod_exec, "sleeper", "default", command=["ls", "/"],
                 stderr=True, stdin=False, stdout=True, tty=False)
    assert out.split()[:3] == ["bin", "dev", "etc"]
    failing = stream(v1.connect_get_namespaced_pod_exec, "sleeper", "default",
                     command=["sh", "-c", "echo hi; echo oops >&2; exit 5"],
                     stderr=True, stdin=False, stdout=True, tty=False, _preload_content=False)
    failing.run_forever(timeout=WAIT)
    assert (failing.read_stdout(), failing.read_stderr(), failing.returncode) == ("hi\n", "oops\n", 5)
    shell = stream(v1.connect_get_namespaced_pod_exec, "sleeper", "default", command=["sh"],
                   stderr=True, stdin=True, stdout=True, tty=False, _preload_content=False)
    shell.write_stdin("X=7; echo $HOSTNAME-$X\n")  # a str: the client sends a text frame
    seen = ""
    deadline = time.monotonic() + WAIT
    while "\n" not in seen and time.monotonic() < deadline:
        shell.update(timeout=1)
        seen += shell.read_stdout() if shell.peek_stdout() else ""
    assert seen == "sleeper-7\n"
    shell.write_stdin("exit 2\n")
    shell.run_forever(timeout=WAIT)
    assert shell.returncode == 2


def test_kr8s_execs(served: Served) -> None:
    kr8s = pytest.importorskip("kr8s")
    import asyncio

    async def run() -> tuple[Any, Any]:
        api = await kr8s.asyncio.api(kubeconfig=served.server.kubeconfig)
        pod = await kr8s.asyncio.objects.Pod.get("sleeper", namespace="default", api=api)
        ok = await pod.exec(["sh", "-c", "echo from-kr8s; echo e >&2"])
        failed = await pod.exec(["sh", "-c", "exit 3"], check=False)
        return ok, failed

    ok, failed = asyncio.run(run())
    assert (ok.stdout, ok.stderr, ok.returncode) == (b"from-kr8s\n", b"e\n", 0)
    assert failed.returncode == 3


# -- kubelab's RemoteClient (a notebook terminal on a real cluster) -----------------------------
class Received:
    def __init__(self, session: Any) -> None:
        self.data: dict[int, bytes] = {1: b"", 2: b""}
        session.subscribe(self.add)

    def add(self, channel: int, data: bytes) -> None:
        self.data[channel] += data

    def wait_for(self, text: bytes, channel: int = 1) -> bytes:
        deadline = time.monotonic() + WAIT
        while text not in self.data[channel]:
            assert time.monotonic() < deadline, self.data
            time.sleep(0.05)
        return self.data[channel]


def test_remote_client_sessions_over_the_served_websocket(served: Served) -> None:
    from kubelab.api.errors import StatusError
    from kubelab.remote import RemoteClient

    remote = RemoteClient(served.server.kubeconfig)
    shell = remote.open_exec("sleeper", None, None, ["sh"], stdin=True, tty=True)
    screen = Received(shell)
    screen.wait_for(b"/ # ")
    shell.write(b"echo $HOSTNAME\r")
    assert screen.wait_for(b"sleeper\r\n/ # ").endswith(b"/ # echo $HOSTNAME\r\nsleeper\r\n/ # ")
    shell.write(b"exit 3\r")
    assert shell.wait(WAIT) == 3
    cat = remote.open_exec("sleeper", None, None, ["cat"], stdin=True)
    out = Received(cat)
    cat.write(b"piped \xff bytes\n")
    cat.close_stdin()  # v5's close signal: cat sees the end of its input
    assert cat.wait(WAIT) == 0
    assert out.data[1] == b"piped \xff bytes\n"
    with pytest.raises(StatusError) as missing:
        remote.open_exec("nobody", None, None, ["ls"])
    assert (missing.value.code, missing.value.reason, str(missing.value)) == (404, "NotFound",
                                                                            'pods "nobody" not found')


def test_run_it_endings_match_kubelabs_own_kubectl(served: Served, term: Terminal) -> None:
    """What the real kubectl prints when a `run -it` shell ends, and kubelab's kubectl (given
    the same typing as text) in the same situation: an exit code of a pod that won't restart,
    the resume hint of one that will, the deletion after --rm."""
    cases = [("kubectl run -it failing --image=busybox --restart=Never", "exit 3",
              "pod default/failing terminated (Error)", 3),
             ("kubectl run -it restarting --image=busybox", "exit",
              "Session ended, resume using 'kubectl attach restarting -c restarting -i -t' command when the pod "
              "is running", 0),
             ("kubectl run -it gone --image=busybox --rm --restart=Never", "exit", 'pod "gone" deleted', 0)]
    for command, typed, last, code in cases:
        name = command.split()[3]
        term.line(command)
        term.wait_for("/ #", after=command)
        term.line(typed)
        term.wait_for(f"{last}\n$", after=command)  # kubectl has exited: the terminal's prompt is back
        term.line("echo status=$?")
        shown = term.wait_for(f"status={code}", after=command)
        assert shown.splitlines()[1:4] == ["If you don't see a command prompt, try pressing enter.", f"/ # {typed}",
                                           last], shown
        _remove(served, name)
        own = served.cluster.kubectl(*command.split()[1:], stdin=typed + "\n")
        assert own.returncode == code
        assert own.stderr.startswith("If you don't see a command prompt, try pressing enter.\n")
        assert last in (own.stdout + own.stderr).splitlines()
        _remove(served, name)


def _remove(served: Served, name: str) -> None:
    from kubelab.api.errors import StatusError

    try:
        served.cluster.client.delete("Pod", name, "default", grace_period=0)
    except StatusError:
        pass
    assert served.cluster.client.wait(lambda: _phase(served.cluster, name) == "", WAIT)


def test_debug_it_gives_a_shell_beside_the_pods_containers(served: Served, term: Terminal) -> None:
    command = "kubectl debug -it sleeper --image=busybox --container=debugger"
    term.line(command)
    shown = term.wait_for("/ #", after=command)
    assert "If you don't see a command prompt, try pressing enter." in shown
    term.line("hostname")
    term.wait_for("/ # hostname\nsleeper\n/ #", after="/ # hostname")  # the pod's own UTS namespace
    term.line("exit")
    # exit ends the ephemeral container (it is never restarted); read that off the cluster, not
    # the pane: once kubectl has returned the pane's bash is not what this test is about
    deadline = time.monotonic() + WAIT
    while True:
        statuses = served.cluster.client.get("Pod", "sleeper")["status"]["ephemeralContainerStatuses"]
        debugger = next(s for s in statuses if s["name"] == "debugger")
        if "terminated" in debugger["state"]:
            break
        assert time.monotonic() < deadline, debugger
        time.sleep(0.1)
    assert debugger["state"]["terminated"]["exitCode"] == 0
    assert _phase(served.cluster, "sleeper") == "Running"  # the pod's own container runs on


def test_get_pods_watch_shows_a_pod_come_up(served: Served, term: Terminal) -> None:
    """"In another terminal" the notes watch pods come up: the watch shows the new pod's rows
    as it goes Pending -> ContainerCreating -> Running, nothing else asking meanwhile: the
    cluster's background driver moves it."""
    term.line("kubectl run watched --image=busybox -- sleep 3600 && kubectl get pods watched -w")
    shown = term.wait_for("Running", after="kubectl run watched")
    rows = [line.split() for line in shown.splitlines()[2:] if line.startswith("watched")]
    assert rows[0][0] == "watched" and rows[-1][1:3] == ["1/1", "Running"]
    term.type("C-c")
    term.wait_for("$", after="Running")
    _remove(served, "watched")


def test_stream_upgrades_need_the_token(served: Served) -> None:
    """exec, attach and port-forward upgrades pass the same bearer-token check as every request:
    without the token (or with a wrong one) a 401, never a stream."""
    import base64
    import socket
    import ssl

    token = getattr(served.server, "token", "")
    if not token:
        pytest.skip("this server has no bearer token (before the served API's security is on main)")
    host = served.server.url.split("//", 1)[1]
    tls = ssl.create_default_context()
    tls.check_hostname, tls.verify_mode = False, ssl.CERT_NONE  # the answer's status line is what counts
    for sub in ("exec?command=ls&stdout=true", "attach?stdout=true", "portforward?ports=3000"):
        for auth in ("", "Authorization: Bearer wrong\r\n", f"Authorization: Bearer {token}\r\n"):
            with tls.wrap_socket(socket.create_connection(("127.0.0.1", int(host.rsplit(":", 1)[1])))) as s:
                key = base64.b64encode(os.urandom(16)).decode()
                s.sendall(f"GET /api/v1/namespaces/default/pods/sleeper/{sub} HTTP/1.1\r\nHost: {host}\r\n{auth}"
                          f"Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                          f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Protocol: v5.channel.k8s.io,"
                          f"SPDY/3.1+portforward.k8s.io\r\n\r\n".encode())
                status = s.recv(200).split(b"\r\n")[0]
            assert status == (b"HTTP/1.1 101 Switching Protocols" if token in auth else b"HTTP/1.1 401 Unauthorized")
