"""Shell sessions: an interactive stream (stdin, stdout/stderr, resize, exit code) to a process
in a simulated container.

This is the one layer under everything interactive: the real kubectl's ``exec -it``,
``attach -it`` and ``run -it`` through the served API, the notebook's in-cell terminal, and
kubelab's own ``kubectl`` given text on stdin. What the learner's keystrokes meet is a
:class:`Console`: a busybox/bash shell reading either a terminal (``tty``: line editing, echo,
prompt, history, ^C, ^D, as busybox's lineedit does it) or a pipe (lines as they come, no
prompt, EOF ends it). A :class:`Session` is one client's view of a console or of a one-off
program: it queues input, fans output out and reports the exit code.

Commands run on the cluster clock: a ``sleep 5`` typed at the prompt finishes five cluster
seconds later (the real-time driver moves it in a notebook, ``advance`` in a test), and every
step runs under the engine lock, so a session is safe to drive from a server thread.
"""
from __future__ import annotations

import codecs
import posixpath
import threading
from typing import Callable, Protocol

from kubelab.engine.clock import Clock, Timer
from kubelab.engine.shell import Run, Shell, Streams

STDOUT, STDERR = 1, 2
# What one console remembers for the up arrow (busybox's MAX_HISTORY default is 255).
HISTORY = 255
# Output kept for a subscriber that arrives late (a session opened before its reader).
BACKLOG = 64 * 1024
INTERACTIVE_SHELLS = ("sh", "ash", "bash")

Listener = Callable[[int, bytes], None]
Emit = Callable[[int, str], None]  # where a console's or program's output goes (channel, text)


class Session(Protocol):
    """One client's end of an interactive stream to a container process (the client seam
    returns this for exec and attach, embedded or remote)."""

    tty: bool

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(channel, data)`` for output (1 stdout, 2 stderr; a tty has only 1);
        output written before the first subscriber is replayed to it."""
    def write(self, data: bytes) -> None:
        """Keystrokes (tty) or stdin bytes (pipe)."""
    def close_stdin(self) -> None:
        """End of input: ^D on a pipe; a ``stdinOnce`` container's stdin closes for good."""
    def resize(self, cols: int, rows: int) -> None: ...
    def close(self) -> None:
        """The client went away: an exec'd program is killed, an attached process runs on."""
    def wait(self, timeout: float | None = None) -> int | None:
        """The exit code once the process ended (None if ``timeout`` real seconds passed)."""
    @property
    def exit_code(self) -> int | None: ...


class Output:
    """Fan-out of a process's output to its subscribers. An exec'd process keeps a backlog for
    the reader that subscribes after it started; a main process does not (attach sees output
    from the moment it attaches, and a cluster of idle pods keeps no buffers)."""

    def __init__(self, backlog: bool = False) -> None:
        self.keep = backlog
        self.listeners: list[Listener] = []
        self.backlog: list[tuple[int, bytes]] = []
        self._size = 0

    def emit(self, channel: int, text: str) -> None:
        if not text or not (self.listeners or self.keep):
            return
        data = text.encode(errors="surrogateescape")  # bytes that came in (a tar stream) go out as they were
        if not self.listeners:
            if not self.keep:
                return
            self.backlog.append((channel, data))
            self._size += len(data)
            while self._size > BACKLOG and len(self.backlog) > 1:
                self._size -= len(self.backlog.pop(0)[1])
            return
        for listener in tuple(self.listeners):
            listener(channel, data)

    def subscribe(self, listener: Listener, replay: bool = True) -> Callable[[], None]:
        self.listeners.append(listener)
        if replay:
            backlog, self.backlog, self._size = self.backlog, [], 0
            for channel, data in backlog:
                listener(channel, data)

        def unsubscribe() -> None:
            if listener in self.listeners:
                self.listeners.remove(listener)

        return unsubscribe


class Runner:
    """Runs one shell generator on the cluster clock: steps until it sleeps, resumes when the
    sleep is over (as a container's main process does), reports the status at the end."""

    def __init__(self, clock: Clock, gen: Run, done: Callable[[int], None]) -> None:
        self.clock = clock
        self.gen = gen
        self.done = done
        self.timer: Timer | None = None
        self.finished = False

    def step(self) -> None:
        self.timer = None
        try:
            sleep = next(self.gen)
        except StopIteration as stop:
            self._finish(stop.value or 0)
            return
        delay = max(sleep.seconds, 0.1 if sleep.in_loop else 0.0)
        self.timer = self.clock.call_later(delay, self.step, not sleep.in_loop and sleep.seconds <= 60)

    def interrupt(self) -> None:
        """^C: the foreground command dies of SIGINT (status 130)."""
        if self.finished:
            return
        if self.timer is not None:
            self.timer.cancel()
        self.gen.close()
        self._finish(130)

    def _finish(self, code: int) -> None:
        self.finished = True
        self.done(code)


class Console:
    """A shell reading its stdin from a terminal or a pipe.

    On a terminal it behaves like busybox ash's line editor: it echoes what is typed, edits
    the line (backspace, arrows, Home/End, ^A ^E ^U ^K ^W ^L), keeps a history for the up
    arrow, prints the prompt (``/ # `` for root in ``/``; bash's ``root@host:/#``), turns ``\\n``
    into ``\\r\\n`` (the tty's onlcr), runs a line on Enter, abandons the line on ^C, and exits
    on ^D at an empty prompt. On a pipe there is no echo and no prompt; each line runs as it
    arrives and EOF ends the shell with the last status. Input that arrives while a command
    runs waits for the next prompt, except ^C, which interrupts the command."""

    def __init__(self, shell: Shell, clock: Clock, tty: bool, emit: Emit,
                 on_exit: Callable[[int], None]) -> None:
        self.shell = shell
        self.clock = clock
        self.tty = tty
        self.emit = emit
        self.on_exit = on_exit
        self.line = ""
        self.cursor = 0
        self.history: list[str] = []
        self.history_at = 0
        self.pending = ""  # input not yet read (typed ahead while a command runs)
        self.eof = False
        self.running: Runner | None = None
        self.exit_code: int | None = None
        self.cols, self.rows = 80, 24
        self._escape = ""

    # -- the outside ----------------------------------------------------------------------
    def start(self) -> None:
        if self.tty:
            self._out(self.prompt())

    def feed(self, text: str) -> None:
        if self.exit_code is not None:
            return
        if self.running is not None and "\x03" in text and self.tty:
            before, _, text = text.partition("\x03")
            self.pending += before
            self.running.interrupt()
        self.pending += text
        self._read()

    def close_stdin(self) -> None:
        if self.exit_code is not None:
            return
        self.eof = True
        self._read()

    def resize(self, cols: int, rows: int) -> None:
        """A window change redraws the line, as ash's lineedit does on SIGWINCH (so the prompt
        a learner attached too late for reappears)."""
        self.cols, self.rows = cols, rows
        if self.tty and self.running is None and self.exit_code is None:
            self._redraw()

    def kill(self, code: int = 137) -> None:
        if self.exit_code is not None:
            return
        if self.running is not None:
            self.running.interrupt()
        self._exit(code)

    def prompt(self) -> str:
        cwd = self.shell.cwd
        home = self.shell.env.get("HOME", "/root")
        shown = "~" + cwd[len(home):] if cwd == home or cwd.startswith(home.rstrip("/") + "/") else cwd
        if self.shell.host.flavour == "busybox":
            return f"{shown} # "
        return f"root@{self.shell.host.hostname}:{shown}# "

    # -- reading --------------------------------------------------------------------------
    def _read(self) -> None:
        while self.running is None and self.exit_code is None:
            if not self.pending:
                if self.eof:
                    if self.line and not self.tty:
                        line, self.line = self.line, ""
                        self._run(line)
                        continue
                    self._exit(self.shell.status)
                return
            ch, self.pending = self.pending[0], self.pending[1:]
            if self.tty:
                self._key(ch)
            elif ch == "\n":
                line, self.line = self.line, ""
                self._run(line)
            else:
                self.line += ch

    def _key(self, ch: str) -> None:
        if self._escape or ch == "\x1b":
            self._escape += ch
            self._sequence()
            return
        if ch in "\r\n":
            line = self.line
            self.line, self.cursor = "", 0
            self._out("\n")
            if line.strip():
                self.history.append(line)
                del self.history[:-HISTORY]
            self.history_at = len(self.history)
            self._run(line)
        elif ch == "\x03":  # ^C abandons the line
            self.line, self.cursor = "", 0
            self._out("^C\n" + self.prompt())
        elif ch == "\x04":  # ^D: exit at an empty prompt, else delete under the cursor
            if not self.line:
                self._out("\n")
                self._exit(self.shell.status)
            else:
                self._edit(self.line[:self.cursor] + self.line[self.cursor + 1:], self.cursor)
        elif ch in "\x7f\x08":
            if self.cursor:
                self._edit(self.line[:self.cursor - 1] + self.line[self.cursor:], self.cursor - 1)
        elif ch == "\x01":
            self._edit(self.line, 0)
        elif ch == "\x05":
            self._edit(self.line, len(self.line))
        elif ch == "\x15":
            self._edit(self.line[self.cursor:], 0)
        elif ch == "\x0b":
            self._edit(self.line[:self.cursor], self.cursor)
        elif ch == "\x17":
            head = self.line[:self.cursor].rstrip(" ")
            head = head[:head.rfind(" ") + 1]
            self._edit(head + self.line[self.cursor:], len(head))
        elif ch == "\x0c":
            self._out("\x1b[H\x1b[J")
            self._redraw()
        elif ch == "\t" or ch < " ":
            pass  # no completion in the simulation; other control keys do nothing
        else:
            self._edit(self.line[:self.cursor] + ch + self.line[self.cursor:], self.cursor + 1)

    def _sequence(self) -> None:
        """Arrow and editing keys (VT100/xterm: ESC [ A ... ESC [ 3 ~)."""
        seq = self._escape
        if seq in ("\x1b", "\x1b[", "\x1bO") or (seq.startswith("\x1b[") and seq[-1] in "0123456789;"):
            return  # not complete yet
        self._escape = ""
        key = seq[2:]
        if key == "A" and self.history_at > 0:
            self.history_at -= 1
            self._edit(self.history[self.history_at], len(self.history[self.history_at]))
        elif key == "B" and self.history_at < len(self.history):
            self.history_at += 1
            line = self.history[self.history_at] if self.history_at < len(self.history) else ""
            self._edit(line, len(line))
        elif key == "C":
            self._edit(self.line, min(self.cursor + 1, len(self.line)))
        elif key == "D":
            self._edit(self.line, max(self.cursor - 1, 0))
        elif key in ("H", "1~", "7~"):
            self._edit(self.line, 0)
        elif key in ("F", "4~", "8~"):
            self._edit(self.line, len(self.line))
        elif key == "3~":
            self._edit(self.line[:self.cursor] + self.line[self.cursor + 1:], self.cursor)

    def _edit(self, line: str, cursor: int) -> None:
        """Show an edit: typing at the end of the line is a plain echo, anything else redraws."""
        if (line, cursor) == (self.line, self.cursor):
            return
        appended = cursor == len(line) and self.cursor == len(self.line) and line.startswith(self.line)
        old, self.line, self.cursor = self.line, line, cursor
        if appended:
            self._out(line[len(old):])
        else:
            self._redraw()

    def _redraw(self) -> None:
        back = len(self.line) - self.cursor
        self._out("\r" + self.prompt() + self.line + "\x1b[K" + (f"\x1b[{back}D" if back else ""))

    # -- running --------------------------------------------------------------------------
    def _run(self, line: str) -> None:
        if not line.strip():
            if self.tty:
                self._out(self.prompt())
            return
        io = Streams(lambda text: self._out(text, STDOUT), lambda text: self._out(text, STDERR))
        self.running = Runner(self.clock, self.shell.script(line, io), self._ran)
        self.running.step()

    def _ran(self, code: int) -> None:
        self.running = None
        self.shell.status = code
        if code == 130 and self.tty:
            self._out("^C\n")
        if self.shell.exited:  # `exit` typed at the prompt
            self._exit(code)
            return
        if self.tty:
            self._out(self.prompt())
        self._read()

    def _exit(self, code: int) -> None:
        if self.exit_code is None:
            self.exit_code = code
            self.on_exit(code)

    def _out(self, text: str, channel: int = STDOUT) -> None:
        _write(self.emit, self.tty, channel, text)


class Program:
    """A program exec'd without a prompt (``kubectl exec POD -- ls /``, ``exec -i POD -- cat``):
    it starts at once, or, when it reads stdin, once stdin is closed (all of it is its input)."""

    def __init__(self, run: Callable[[Streams], Run], clock: Clock, tty: bool, reads_stdin: bool,
                 emit: Emit, on_exit: Callable[[int], None]) -> None:
        self.run, self.clock, self.tty = run, clock, tty
        self.reads_stdin = reads_stdin
        self.emit, self.on_exit = emit, on_exit
        self.stdin: list[str] = []
        self.runner: Runner | None = None
        self.exit_code: int | None = None

    def start(self) -> None:
        if not self.reads_stdin:
            self._go("")

    def feed(self, text: str) -> None:
        if self.runner is None:
            if self.tty and "\x04" in text:  # ^D on a terminal ends the input
                self.stdin.append(text.partition("\x04")[0])
                self.close_stdin()
                return
            self.stdin.append(text)
        elif self.tty and "\x03" in text:
            self.runner.interrupt()

    def close_stdin(self) -> None:
        if self.runner is None and self.exit_code is None:
            self._go("".join(self.stdin))

    def resize(self, cols: int, rows: int) -> None:
        pass  # nothing we run draws to the window size

    def kill(self, code: int = 137) -> None:
        if self.runner is not None:
            self.runner.interrupt()
        self._exit(code)

    def _go(self, stdin: str) -> None:
        io = Streams(lambda t: self._out(t, STDOUT), lambda t: self._out(t, STDERR), stdin)
        self.runner = Runner(self.clock, self.run(io), self._exit)
        self.runner.step()

    def _exit(self, code: int) -> None:
        if self.exit_code is None:
            self.exit_code = code
            self.on_exit(code)

    def _out(self, text: str, channel: int) -> None:
        _write(self.emit, self.tty, channel, text)


def _write(emit: Emit, tty: bool, channel: int, text: str) -> None:
    """A terminal has one output stream and turns \\n into \\r\\n (the tty's onlcr)."""
    if tty:
        emit(STDOUT, text.replace("\r\n", "\n").replace("\n", "\r\n"))
    else:
        emit(channel, text)


class Attachable(Protocol):
    """What ``attach`` needs of a container's main process (runtime.Process)."""

    console: Console | None  # None: the process reads no stdin
    output: Output
    exited: threading.Event
    exit_code: int | None
    stdin_once: bool


class ProcessSession:
    """A :class:`Session` on a console or a program. Every call takes the engine lock: the
    process lives in the engine, the caller is a server thread or a widget's comm."""

    def __init__(self, lock: threading.RLock, target: Console | Program | None, output: Output, tty: bool,
                 done: threading.Event, exit_code: Callable[[], int | None], owns_process: bool) -> None:
        self.lock = lock
        self.target = target
        self.output = output
        self.tty = tty
        self.done = done
        self._exit_code = exit_code
        self.owns_process = owns_process
        self._unsubscribe: list[Callable[[], None]] = []
        # a character may be split across writes; bytes that are not UTF-8 (``kubectl cp``'s tar
        # stream) pass through as surrogates and leave as the same bytes
        self._decoder = codecs.getincrementaldecoder("utf-8")("surrogateescape")

    @property
    def exit_code(self) -> int | None:
        return self._exit_code()

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        with self.lock:
            stop = self.output.subscribe(listener)
            self._unsubscribe.append(stop)
            return stop

    def write(self, data: bytes) -> None:
        with self.lock:
            if self.target is not None:
                self.target.feed(self._decoder.decode(data))

    def close_stdin(self) -> None:
        with self.lock:
            if self.target is not None:
                self.target.close_stdin()

    def resize(self, cols: int, rows: int) -> None:
        with self.lock:
            if self.target is not None:
                self.target.resize(cols, rows)

    def close(self) -> None:
        with self.lock:
            for stop in self._unsubscribe:
                stop()
            self._unsubscribe.clear()
            if self.owns_process and self.target is not None:
                self.target.kill()

    def wait(self, timeout: float | None = None) -> int | None:
        self.done.wait(timeout)
        return self.exit_code


def exec_session(lock: threading.RLock, clock: Clock, shell: Shell, argv: list[str], stdin: bool,
                 tty: bool, failure: tuple[str, int] | None = None) -> ProcessSession:
    """``kubectl exec``: a new process beside the container's main one. A shell with no
    arguments and a stdin is interactive (a prompt on a terminal); anything else runs as a
    :class:`Program`. ``failure`` (message, exit code): the runtime could not start it."""
    output = Output(backlog=True)
    done = threading.Event()
    target: Console | Program
    if failure is not None:
        target = Program(_failing(*failure), clock, tty, False, output.emit, lambda code: done.set())
    elif stdin and len(argv) == 1 and posixpath.basename(argv[0]) in INTERACTIVE_SHELLS:
        target = Console(shell, clock, tty, output.emit, lambda code: done.set())
    else:
        target = Program(lambda io: shell.argv(argv, io), clock, tty, stdin, output.emit, lambda code: done.set())
    session = ProcessSession(lock, target, output, tty, done, lambda: target.exit_code, owns_process=True)
    with lock:
        target.start()
    return session


def _failing(message: str, code: int) -> Callable[[Streams], Run]:
    def run(io: Streams) -> Run:
        io.err(message)
        return code
        yield  # pragma: no cover - makes this a generator

    return run


def attach_session(lock: threading.RLock, process: Attachable, stdin: bool, tty: bool) -> ProcessSession:
    """``kubectl attach`` / ``run -it``: the container's main process, shared with every other
    attached client, its output from now on. A terminal client gets the line editor, a client
    whose input is a pipe reads the shell as a pipe would (what kubectl's non-terminal input
    means). With ``stdinOnce``, the first client to close stdin closes it for good."""
    console = process.console if stdin else None
    if console is not None:
        with lock:
            console.tty = tty
    session = _AttachSession(lock, console, process.output, tty, process.exited, lambda: process.exit_code,
                             owns_process=False)
    session.stdin_once = process.stdin_once
    return session


class _AttachSession(ProcessSession):
    """Closing an attach detaches; stdin closes only for a ``stdinOnce`` container."""

    stdin_once = False

    def close_stdin(self) -> None:
        if self.stdin_once:
            super().close_stdin()

    def close(self) -> None:
        self.close_stdin()
        super().close()
