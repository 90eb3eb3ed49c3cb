"""Shell sessions: the interactive stream under ``exec -it``, ``attach -it``, ``run -it`` and the
notebook's terminal, driven keystroke by keystroke on a virtual clock."""
from __future__ import annotations

from typing import Any

import pytest

from kubelab.cluster import Cluster
from kubelab.engine.session import Session


def busybox(name: str, **container: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": name, "image": "busybox", **container}], "restartPolicy": "Never"}}


class Screen:
    """What a client of a session received, per channel."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.data = {1: b"", 2: b""}
        session.subscribe(self.receive)

    def receive(self, channel: int, data: bytes) -> None:
        self.data[channel] += data

    def take(self, channel: int = 1) -> str:
        text, self.data[channel] = self.data[channel].decode(), b""
        return text

    def type(self, keys: str) -> str:
        self.session.write(keys.encode())
        return self.take()


@pytest.fixture
def c() -> Cluster:
    c = Cluster(clock="virtual", seed=3)
    c.api.create(busybox("shell", stdin=True, stdinOnce=True, tty=True))
    c.api.create(busybox("sleeper", command=["sleep", "3600"]))
    assert c.settle()
    return c


def container_state(c: Cluster, name: str) -> dict[str, Any]:
    return c.api.get("Pod", name)["status"]["containerStatuses"][0]["state"]


def test_attach_on_a_terminal_edits_echoes_and_keeps_shell_state(c: Cluster) -> None:
    session = c.client.open_attach("shell", "default", None, stdin=True, tty=True)
    screen = Screen(session)
    assert screen.take() == ""  # attach sees output from now on: the first prompt went by
    session.resize(120, 40)  # a window change redraws the prompt, as ash's lineedit does
    assert screen.take() == "\r/ # \x1b[K"
    assert screen.type("X=42") == "X=42"
    assert screen.type("\r") == "\r\n/ # "
    assert screen.type("echo $X\r") == "echo $X\r\n42\r\n/ # "
    assert screen.type("cd /etc; pwd\r") == "cd /etc; pwd\r\n/etc\r\n/etc # "
    screen.type("exit\r")
    assert session.exit_code is None  # the container's process ends a moment later
    c.advance(1)
    assert session.exit_code == 0
    assert container_state(c, "shell")["terminated"]["exitCode"] == 0


def test_line_editing_history_and_control_keys(c: Cluster) -> None:
    session = c.client.open_exec("sleeper", "default", None, ["sh"], stdin=True, tty=True)
    screen = Screen(session)
    assert screen.take() == "/ # "  # exec'd from the start: its first prompt is there
    assert screen.type("echo hepo\x7f\x7fllo\r") == (
        "echo hepo\r/ # echo hep\x1b[K\r/ # echo he\x1b[Kllo\r\nhello\r\n/ # ")  # backspace redraws
    assert screen.type("hostname\r") == "hostname\r\nsleeper\r\n/ # "
    assert screen.type("\x1b[A") == "hostname"  # up arrow: the last line again
    assert screen.type("\x1b[A\r") == "\r/ # echo hello\x1b[K\r\nhello\r\n/ # "
    assert screen.type("abc\x03") == "abc^C\r\n/ # "  # ^C abandons the line
    assert screen.type("echo one two\x17three\r").endswith("one three\r\n/ # ")  # ^W rubs out a word
    assert screen.type("\x04") == "\r\n"  # ^D at an empty prompt ends the shell
    assert session.wait(0) == 0


def test_a_command_takes_cluster_time_and_ctrl_c_interrupts_it(c: Cluster) -> None:
    session = c.client.open_exec("sleeper", "default", None, ["sh"], stdin=True, tty=True)
    screen = Screen(session)
    screen.take()
    assert screen.type("sleep 5; echo done\r") == "sleep 5; echo done\r\n"
    assert screen.type("hostname\r") == ""  # typed ahead: read at the next prompt
    c.advance(5)
    assert screen.take() == "done\r\n/ # hostname\r\nsleeper\r\n/ # "
    screen.type("sleep 100\r")
    assert screen.type("\x03") == "^C\r\n/ # "
    assert screen.type("echo $?\r") == "echo $?\r\n130\r\n/ # "


def test_exec_without_a_terminal_keeps_stdout_and_stderr_apart(c: Cluster) -> None:
    session = c.client.open_exec("sleeper", "default", None, ["sh", "-c", "cat; echo oops >&2; exit 3"],
                                 stdin=True, tty=False)
    screen = Screen(session)
    session.write(b"line one\n")
    session.write(b"line two\n")
    assert session.exit_code is None  # cat reads until the end of its input
    session.close_stdin()
    assert (screen.take(1), screen.take(2), session.exit_code) == ("line one\nline two\n", "oops\n", 3)


def test_exec_of_a_missing_program_fails_like_the_runtime(c: Cluster) -> None:
    session = c.client.open_exec("sleeper", "default", None, ["bash"], stdin=True, tty=True)
    screen = Screen(session)
    assert session.exit_code == 126
    assert screen.take() == ('OCI runtime exec failed: exec failed: unable to start container process: '
                             'exec: "bash": executable file not found in $PATH: unknown\r\n')


def test_a_pipe_on_stdin_runs_each_line_and_ends_at_eof(c: Cluster) -> None:
    session = c.client.open_attach("shell", "default", None, stdin=True, tty=False)
    screen = Screen(session)
    session.write(b"echo a\nfalse\n")
    session.close_stdin()  # stdinOnce: the shell sees the end of its input and exits
    c.advance(1)
    assert (screen.take(), session.exit_code) == ("a\n", 1)


def test_deleting_the_pod_ends_its_sessions(c: Cluster) -> None:
    session = c.client.open_exec("sleeper", "default", None, ["sh"], stdin=True, tty=True)
    c.kubectl("delete pod sleeper --wait=false")
    c.settle()
    assert session.exit_code == 137


def test_detaching_ends_a_stdin_once_shell_but_not_another(c: Cluster) -> None:
    first = c.client.open_attach("shell", "default", None, stdin=True, tty=True)
    Screen(first).type("Y=7\r")
    first.close()  # stdinOnce (what `run -it` sets): the first client to leave closes stdin
    c.advance(1)
    assert first.exit_code == 0
    c.api.create(busybox("open", stdin=True, tty=True))
    c.settle()
    session = c.client.open_attach("open", "default", None, stdin=True, tty=True)
    Screen(session).type("Y=7\r")
    session.close()
    c.advance(60)
    again = c.client.open_attach("open", "default", None, stdin=True, tty=True)
    assert Screen(again).type("echo $Y\r") == "echo $Y\r\n7\r\n/ # "  # the same shell, still running


def test_bytes_that_are_not_utf8_pass_through_a_pipe_unchanged(c: Cluster) -> None:
    """``kubectl cp`` streams tar archives through exec: every byte value must survive stdin,
    the container's files and stdout."""
    import io
    import tarfile

    blob = bytes(range(256)) * 4
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        info = tarfile.TarInfo("data/blob.bin")
        info.size = len(blob)
        tar.addfile(info, io.BytesIO(blob))
    into = c.client.open_exec("sleeper", "default", None, ["tar", "xmf", "-", "-C", "/tmp"], stdin=True)
    into.write(archive.getvalue()[:1000])
    into.write(archive.getvalue()[1000:])  # split inside a multi-byte sequence: still the same bytes
    into.close_stdin()
    c.settle()
    assert into.exit_code == 0
    out = c.client.open_exec("sleeper", "default", None, ["tar", "cf", "-", "/tmp/data"], stdin=False)
    screen = Screen(out)
    c.settle()
    assert out.exit_code == 0
    assert screen.data[2] == b"tar: removing leading '/' from member names\n"
    with tarfile.open(fileobj=io.BytesIO(screen.data[1])) as tar:
        assert tar.getnames() == ["tmp/data", "tmp/data/blob.bin"]
        assert tar.extractfile("tmp/data/blob.bin").read() == blob  # type: ignore[union-attr]
