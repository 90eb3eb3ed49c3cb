"""A line that says a ``%kube`` command is still working, once it has taken a second.

``%kube rollout status``, ``wait``, ``run -i``, ``delete`` (waiting for finalizers) and the
picture after ``%%kube apply`` can take seconds on the real clock. A cell that shows nothing
meanwhile looks hung, so after :data:`DELAY` seconds the cell shows one grey line: the command,
the seconds it has taken, and the last line it printed (``Waiting for deployment "web" rollout
to finish: 1 of 3 updated replicas are available...``: kubectl names what it waits for). The
line is a display with an id, updated in place from a background thread; when the command
ends it becomes the command's own output (or the picture), so the saved notebook holds only
what kubectl printed, as a terminal would. A command done within the second shows nothing
more: no flicker.
"""
from __future__ import annotations

import html
import threading
import time
from typing import Any

from kubelab.notebook.display import GREY

DELAY = 1.0  # seconds of silence before the line shows (a person starts to wonder after ~1 s)
EVERY = 0.5  # seconds between updates of the elapsed time
EMPTY = {"text/plain": ""}  # what the line becomes when the command shows nothing


class Progress:
    """The progress line of one command. kubectl runs "in it" (it is a
    :class:`kubelab.kubectl.command.Terminal`: what kubectl prints updates the line's last
    words); :meth:`finish` turns it into the command's output."""

    def __init__(self, what: str, delay: float = DELAY) -> None:
        self.what = what
        self.delay = delay
        self.last = ""  # the last non-empty line the command printed
        self.shown = False
        self._started = time.monotonic()
        self._done = threading.Event()
        self._lock = threading.Lock()  # the display: shown, updated, finished, one at a time
        self._handle: Any = None
        self._thread: threading.Thread | None = None

    # -- the Terminal kubectl writes to ----------------------------------------------------
    @property
    def closed(self) -> bool:
        return False

    def write(self, text: str) -> None:
        lines = [line.rsplit("\r", 1)[-1].strip() for line in text.replace("\r\n", "\n").split("\n")]
        lines = [line for line in lines if line]
        if lines:
            self.last = lines[-1]

    def connect(self, stream: Any) -> None:  # only -i -t commands connect, and they get a real terminal
        raise RuntimeError("a progress line is not a terminal")

    # -- the cell ----------------------------------------------------------------------------
    def start(self) -> "Progress":
        """Show the line after ``delay`` seconds unless :meth:`finish` came first."""
        from IPython import get_ipython

        shell = get_ipython()
        if shell is None or not type(shell).__module__.startswith("ipykernel"):
            return self  # not in a kernel (a terminal IPython would print every update)
        parent = getattr(shell, "parent_header", None)
        publisher = shell.display_pub
        self._thread = threading.Thread(target=self._run, args=(parent, publisher),
                                        name="kubelab-progress", daemon=True)
        self._thread.start()
        return self

    def _run(self, parent: Any, publisher: Any) -> None:
        # what this thread displays belongs to the cell that started the command
        if parent and hasattr(publisher, "set_thread_parent"):
            publisher.set_thread_parent(parent)
        if self._done.wait(self.delay):
            return
        from IPython.display import display

        with self._lock:
            if self._done.is_set():
                return
            self._handle = display(self.bundle(), raw=True, display_id=True)
            self.shown = True
        while not self._done.wait(EVERY):
            with self._lock:
                if not self._done.is_set():
                    self._handle.update(self.bundle(), raw=True)

    def bundle(self) -> dict[str, str]:
        """The line as it is now: text, and a grey HTML line with a turning wheel."""
        seconds = time.monotonic() - self._started
        text = f"{self.what}: {seconds:.0f} s" + (f" ({self.last})" if self.last else "")
        wheel = "◐◓◑◒"[int(seconds / EVERY) % 4]
        return {"text/plain": text,
                "text/html": f'<div class="kubelab-progress" style="color:{GREY};font-family:monospace;'
                             f'font-size:12px;padding:0 0 0 8px">{wheel} {html.escape(text)}</div>'}

    def finish(self, bundle: dict[str, str] | None = None) -> bool:
        """Stop; a shown line becomes ``bundle`` (nothing visible when None). Returns whether
        the line was shown, i.e. whether ``bundle`` is now on screen in its place."""
        with self._lock:
            self._done.set()
            if self._handle is not None:
                self._handle.update(bundle or EMPTY, raw=True)
                self._handle = None
        if self._thread is not None:
            self._thread.join()
        return self.shown

    def __enter__(self) -> "Progress":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.finish()
