"""The in-cell terminal: kubectl's ``-it`` commands running in a terminal (the widget, first
without a kernel on a virtual clock, then in a real ipykernel driven over its comm messages
as JupyterLab drives it)."""
from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from kubelab.cluster import Cluster
from kubelab.kubectl.command import wants_terminal
from kubelab.notebook.terminal import Terminal, plain

REPO = Path(__file__).resolve().parents[1]


class Views:
    """What the widget sent to its views (the messages JupyterLab would get)."""

    def __init__(self, term: Terminal) -> None:
        self.sent: list[dict[str, Any]] = []
        term.send = lambda content, buffers=None: self.sent.append(content)  # type: ignore[method-assign]

    def screen(self) -> str:
        return "".join(m["data"] for m in self.sent if m["type"] == "output" and not m.get("replay"))


def start(c: Cluster, line: str) -> tuple[Terminal, Views, threading.Thread]:
    term = Terminal(line.split())
    views = Views(term)
    thread = threading.Thread(target=term.run, args=(c.client,), daemon=True)
    thread.start()
    return term, views, thread


def until(condition: Any, what: str, timeout: float = 30) -> None:
    """Wait for the kubectl thread (real time only bounds a broken run; nothing is timed)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def type_(term: Terminal, keys: str) -> None:
    term._message(term, {"type": "input", "data": keys}, None)


@pytest.fixture
def c() -> Cluster:
    return Cluster(clock="virtual", seed=3)


@pytest.mark.parametrize("line, wanted", [
    ("run -it busybox --image=busybox --rm", True),
    ("run -i -t busybox --image=busybox --generator=run-pod/v1", True),
    ("exec -it web -- sh", True),
    ("attach -ti web", True),
    ("run -i busybox --image=busybox", False),  # no terminal: stdin is a pipe
    ("run busybox --image=busybox", False),
    ("get pods -it", False),
    ("exec -it web --bogus -- sh", False),  # does not parse: kubectl's flag error, no terminal
])
def test_which_commands_take_a_terminal(line: str, wanted: bool) -> None:
    assert wants_terminal(line.split()) is wanted


def test_run_it_rm_prompt_commands_exit_deletes_the_pod(c: Cluster) -> None:
    term, views, thread = start(c, "run -it busybox --image=busybox --rm --restart=Never")
    until(lambda: term.state == "connected", "the pod to run")  # the kubectl thread settles the clock
    # kubectl's notice, then the prompt redrawn by the window size kubectl sends (ash's SIGWINCH)
    assert views.screen() == "If you don't see a command prompt, try pressing enter.\r\n\r/ # \x1b[K"
    type_(term, "hostname\r")
    type_(term, "echo $HOSTNAME; cat /etc/hostname\r")
    assert views.screen().endswith("hostname\r\nbusybox\r\n/ # echo $HOSTNAME; cat /etc/hostname\r\n"
                                   "busybox\r\nbusybox\r\n/ # ")
    type_(term, "exit\r")
    c.advance(1)  # the container's process ends a moment after its shell
    thread.join(30)
    assert not thread.is_alive()
    assert views.screen().endswith('/ # exit\r\npod "busybox" deleted\r\n')
    assert (term.state, term.exit_code) == ("ended", 0)
    assert "session ended" in term.status
    assert c.kubectl("get pods").stderr == "No resources found in default namespace.\n"
    type_(term, "hostname\r")  # an ended terminal takes no input
    assert views.screen().endswith('deleted\r\n')
    assert plain(term.transcript).splitlines() == [
        "If you don't see a command prompt, try pressing enter.", "/ # hostname", "busybox",
        "/ # echo $HOSTNAME; cat /etc/hostname", "busybox", "busybox", "/ # exit", 'pod "busybox" deleted']


def test_run_it_with_restart_always_says_how_to_resume(c: Cluster) -> None:
    """attach.go: after the session, a pod that restarts its container can be attached again."""
    term, views, thread = start(c, "run -it shell --image=busybox --rm")
    until(lambda: term.state == "connected", "the pod to run")
    type_(term, "exit\r")
    c.advance(1)
    thread.join(30)
    assert views.screen().endswith("\x1b[Kexit\r\nSession ended, resume using 'kubectl attach shell -c shell -i -t' "
                                   'command when the pod is running\r\npod "shell" deleted\r\n')


def test_exec_it_reports_the_shell_exit_code_and_type_ahead_waits(c: Cluster) -> None:
    c.kubectl("run web --image=busybox --restart=Never -- sleep 3600")
    c.settle()
    term = Terminal("exec -it web -- sh".split())
    views = Views(term)
    type_(term, "hostname\r")  # typed before kubectl connected: read at the first prompt
    thread = threading.Thread(target=term.run, args=(c.client,), daemon=True)
    thread.start()
    until(lambda: "web\r\n/ # " in views.screen(), "the typed-ahead line's answer")
    type_(term, "sleep 5; exit 3\r")
    c.advance(5)
    thread.join(30)
    assert views.screen().endswith("exit 3\r\ncommand terminated with exit code 3\r\n")
    assert term.exit_code == 3


def test_attach_it_to_a_container_without_a_tty_and_ctrl_c(c: Cluster) -> None:
    """attach.go: no TTY in the container, so no raw mode: ^C stops kubectl, the pod runs on."""
    c.kubectl("run toolbox --image=busybox --restart=Never -- sleep 3600")
    c.settle()
    term, views, thread = start(c, "attach -it toolbox")
    until(lambda: term.state == "connected", "the attach")
    assert views.screen() == ("error: Unable to use a TTY - container toolbox did not allocate one\r\n"
                              "If you don't see a command prompt, try pressing enter.\r\n")
    type_(term, "\x03")
    thread.join(30)
    assert (term.state, views.screen()[-4:]) == ("ended", "^C\r\n")
    assert c.client.get("Pod", "toolbox")["status"]["phase"] == "Running"


def test_a_second_terminal_attaches_to_the_same_shell(c: Cluster) -> None:
    first, first_views, first_thread = start(c, "run -it busybox --image=busybox")
    until(lambda: first.state == "connected", "the pod to run")
    second, second_views, second_thread = start(c, "attach -it busybox")
    until(lambda: second.state == "connected", "the attach")
    type_(second, "X=1; hostname\r")
    assert first_views.screen().endswith("X=1; hostname\r\nbusybox\r\n/ # ")
    assert second_views.screen().endswith("X=1; hostname\r\nbusybox\r\n/ # ")
    type_(first, "exit\r")
    c.advance(1)
    first_thread.join(30)
    second_thread.join(30)
    assert (first.state, second.state) == ("ended", "ended")


def test_a_kubectl_error_shows_in_the_terminal_and_ends_it(c: Cluster) -> None:
    term, views, thread = start(c, "attach -it nothere")
    thread.join(30)
    assert views.screen() == 'Error from server (NotFound): pods "nothere" not found\r\n'
    assert (term.state, term.exit_code) == ("ended", 1)


def test_a_late_view_gets_the_transcript_replayed(c: Cluster) -> None:
    term, views, thread = start(c, "run -it busybox --image=busybox --rm --restart=Never")
    until(lambda: term.state == "connected", "the pod to run")
    type_(term, "hostname\r")
    shown = views.screen()
    term._message(term, {"type": "sync", "have": 10}, None)  # a view that has the first 10 characters
    assert views.sent[-1] == {"type": "output", "offset": 10, "data": shown[10:], "replay": True}
    term.close()  # the widget went away: kubectl stops, the attach closes its stdin (stdinOnce)
    thread.join(30)
    assert not thread.is_alive()


def test_a_reset_cluster_closes_its_terminals(c: Cluster) -> None:
    """After ``%kube reset`` the terminal stops rather than keep typing into the old cluster."""
    current = [True]
    c.kubectl("run web --image=busybox --restart=Never -- sleep 3600")
    c.settle()
    term = Terminal("exec -it web -- sh".split(), current=lambda: current[0])
    views = Views(term)
    thread = threading.Thread(target=term.run, args=(c.client,), daemon=True)
    thread.start()
    until(lambda: term.state == "connected", "the shell")
    current[0] = False
    thread.join(30)
    assert (term.state, term.status) == ("ended", "kubectl exec -it web -- sh: session ended (the cluster was reset)")
    assert views.screen().endswith("command terminated with exit code 137\r\n")  # the exec'd shell was killed


def test_plain_keeps_each_line_as_last_drawn() -> None:
    assert plain("\r/ # \x1b[Kecho hep\r/ # echo he\x1b[Kllo\r\nhello\r\n\x1b[1;32mok\x1b[0m") == \
        "/ # echo hello\nhello\nok"


# -- in a real kernel ---------------------------------------------------------------------------
def test_the_magic_returns_at_once_and_the_terminal_talks_over_comm_messages(tmp_path: Path) -> None:
    """``%kube run -it`` in ipykernel: the cell finishes at once with a terminal widget; the
    keystrokes JupyterLab would send as comm messages reach the shell and its answers come
    back; another cell runs while the terminal is open; ``exit`` deletes the pod."""
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3", cwd=str(tmp_path))
    try:
        kernel = Kernel(kc)
        setup = kernel.run(f"import sys; sys.path.insert(0, {str(REPO)!r})\n%load_ext kubelab")
        assert setup.errors == []
        kernel.run("%kube run web --image=busybox --restart=Never -- sleep 3600")
        started = time.monotonic()
        cell = kernel.run("%kube run -it busybox --image=busybox --rm --restart=Never")
        returned_after = time.monotonic() - started
        assert cell.errors == []
        (view,) = [o for o in cell.outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
        model = view["data"]["application/vnd.jupyter.widget-view+json"]["model_id"]
        assert kernel.opened[model]["state"]["command"] == \
            "kubectl run -it busybox --image=busybox --rm --restart=Never"
        # The cell is done although nothing was typed: the shell can only end by input, so the
        # magic did not wait for the session (the time is printed, not asserted).
        print(f"%kube run -it returned after {returned_after:.2f} s")
        assert kernel.state(model).get("state") != "ended"
        assert [o for o in cell.outputs if o.get("name") == "stderr"] == []
        kernel.wait_for(lambda: "/ # " in kernel.screen(model), "the prompt")
        kernel.custom(model, {"type": "input", "data": "hostname; env | grep ^HOSTNAME\r"})
        kernel.wait_for(lambda: "busybox\r\nHOSTNAME=busybox\r\n/ # " in kernel.screen(model), "hostname's answer")
        # a command that takes cluster time ends: the real clock moves while the terminal is open
        kernel.custom(model, {"type": "input", "data": "sleep 1; echo slept\r"})
        kernel.wait_for(lambda: "\r\nslept\r\n/ # " in kernel.screen(model), "sleep 1 to end")
        other = kernel.run("%kube get pods -o name")  # while the terminal is open
        assert "pod/busybox" in other.text and "pod/web" in other.text
        kernel.custom(model, {"type": "input", "data": "exit\r"})
        kernel.wait_for(lambda: kernel.state(model).get("state") == "ended", "the session to end")
        assert kernel.screen(model).endswith('/ # exit\r\npod "busybox" deleted\r\n')
        # the cell's own output now holds the transcript as text (what a saved notebook shows)
        def ended() -> list[dict[str, Any]]:
            return [u for u in cell.updates if "session ended (exit" in u["data"].get("text/html", "")]

        kernel.wait_for(ended, "the transcript in the cell's output")
        data = ended()[-1]["data"]
        assert "application/vnd.jupyter.widget-view+json" not in data  # the terminal became its transcript
        assert data["text/plain"].startswith("$ kubectl run -it busybox")
        assert 'HOSTNAME=busybox\n/ # sleep 1; echo slept\nslept\n/ # exit\npod "busybox" deleted' in data["text/plain"]
        assert 'session ended (exit code 0)</div><pre' in data["text/html"]
        # Meanwhile the output before the widget kept the transcript, for a kernel that would
        # go before the session ends; now that it ended, that output is empty.
        (fallback,) = [o for o in cell.outputs if "kubelab-terminal-fallback" in o.get("data", {}).get("text/html", "")]
        fid = fallback["transient"]["display_id"]
        kept = [u["data"] for u in cell.updates if u["transient"]["display_id"] == fid]
        assert any("busybox\nHOSTNAME=busybox" in k.get("text/plain", "") and
                   "session ended with the kernel" in k.get("text/html", "") for k in kept), kept
        assert kept[-1] == {"text/plain": ""}
        assert view["data"]["text/plain"] == ""  # the transcript is said once in a static rendering
        after = kernel.run("%kube get pods -o name")
        assert after.text.strip() == "pod/web"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


class Cell:
    def __init__(self) -> None:
        self.outputs: list[dict[str, Any]] = []
        self.updates: list[dict[str, Any]] = []  # update_display_data sent under this cell
        self.errors: list[str] = []

    @property
    def text(self) -> str:
        return "".join(o.get("text", "") for o in self.outputs) + "".join(
            o.get("data", {}).get("text/plain", "") for o in self.outputs)


class Kernel:
    """A kernel client that reads iopub as JupyterLab does: cell outputs by their request,
    widget comms by comm id (whatever request they came under)."""

    def __init__(self, kc: Any) -> None:
        self.kc = kc
        self.opened: dict[str, dict[str, Any]] = {}  # comm id -> the widget's first state
        self.states: dict[str, dict[str, Any]] = {}
        self.custom_out: dict[str, list[dict[str, Any]]] = {}
        self.cells: dict[str, Cell] = {}

    def _read(self, timeout: float) -> dict[str, Any] | None:
        import queue

        try:
            msg = self.kc.get_iopub_msg(timeout=timeout)
        except queue.Empty:
            return None
        kind, content = msg["header"]["msg_type"], msg["content"]
        cell = self.cells.get(msg["parent_header"].get("msg_id"))
        if kind == "comm_open":
            self.opened[content["comm_id"]] = content["data"]
            self.states[content["comm_id"]] = dict(content["data"].get("state", {}))
        elif kind == "comm_msg":
            data = content["data"]
            if data.get("method") == "update":
                self.states.setdefault(content["comm_id"], {}).update(data.get("state", {}))
            elif data.get("method") == "custom":
                self.custom_out.setdefault(content["comm_id"], []).append(data["content"])
        elif cell is not None and kind in ("stream", "display_data", "execute_result"):
            cell.outputs.append(content)
        elif cell is not None and kind == "update_display_data":
            cell.updates.append(content)
        elif cell is not None and kind == "error":
            cell.errors.append("\n".join(content["traceback"]))
        return msg

    def run(self, code: str, timeout: float = 120) -> Cell:
        msg_id = self.kc.execute(code)
        cell = self.cells[msg_id] = Cell()
        deadline = time.monotonic() + timeout
        while True:
            msg = self._read(max(deadline - time.monotonic(), 0.01))
            assert msg is not None, f"no answer to {code!r}"
            if (msg["parent_header"].get("msg_id") == msg_id and msg["header"]["msg_type"] == "status"
                    and msg["content"]["execution_state"] == "idle"):
                return cell

    def custom(self, comm_id: str, content: dict[str, Any]) -> None:
        """What a view's ``model.send(content)`` sends."""
        msg = self.kc.session.msg("comm_msg", {"comm_id": comm_id, "data": {"method": "custom", "content": content}})
        self.kc.shell_channel.send(msg)

    def screen(self, comm_id: str) -> str:
        """The output a view that rendered at once would show (replays left out)."""
        return "".join(m["data"] for m in self.custom_out.get(comm_id, ())
                       if m.get("type") == "output" and not m.get("replay"))

    def state(self, comm_id: str) -> dict[str, Any]:
        return self.states.get(comm_id, {})

    def wait_for(self, condition: Any, what: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline, f"timed out waiting for {what}: {self.custom_out}"
            self._read(0.2)
