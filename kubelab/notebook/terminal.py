"""The in-cell terminal: ``%kube run -it ...``, ``%kube exec -it POD -- sh`` and
``%kube attach -it POD`` open a terminal in the cell's output, connected to the simulated
container's shell.

The screen is xterm.js (vendored in ``static/xterm``, MIT, see its LICENSE there) in an
anywidget view. kubectl runs in a background thread as if typed into that terminal
(``kubelab.kubectl.run(..., terminal=...)``): it prints its notices there, waits for the pod,
then connects the container's stream (a :class:`kubelab.engine.session.Session`) to it. So the
cell returns at once and other cells run while the terminal is open; keystrokes arrive as the
widget's comm messages and go to ``Session.write``; the session's output goes back as custom
messages, each tagged with its offset in the transcript so that a view opened later (a second
view, a reloaded page) replays what it missed.

What a saved or static notebook shows: when the session ends, the cell's output (the display
that held the terminal, updated under the request of the cell that opened it) becomes the
transcript itself, as text (prompts, typed lines, output; escape sequences and line redraws
flattened) and as a terminal-looking ``<pre>`` that says the session ended. So every renderer
shows the same thing: JupyterLab now and after a reload or a kernel restart (where a widget
would say "model not found"), nbconvert, GitHub.

A terminal still open when its kernel goes (restart, crash) cannot be turned into anything by
that kernel: JupyterLab drops a kernel's pending displays as it restarts it. So an open
terminal has a second output before the widget, kept up to date by the kernel about once a
second: the transcript under "session ended with the kernel". A style rule in it hides it
while the terminal's view is on the page, and hides the widget's "model not found" once no
view is (a reload after the restart); the live view itself, when its kernel restarts or dies,
says the session ended with the kernel and takes no more keys.
"""
from __future__ import annotations

import codecs
import html
import re
import shlex
import threading
import time
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any, Callable

import anywidget
import traitlets

if TYPE_CHECKING:
    from kubelab.client import Client
    from kubelab.engine.session import Session
    from kubelab.kubectl.command import Result

COLS, ROWS = 100, 20
# Transcript kept for late views and the saved notebook (a long session keeps its end).
TRANSCRIPT = 256 * 1024
_CSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][0-9A-Za-z]|\x1b[=>78]")

_VIEW = r"""
function count(text) { let n = 0; for (const _ of text) n++; return n; }
function tail(text, k) { return Array.from(text).slice(k).join(""); }

function render({ model, el }) {
  el.classList.add("kubelab-terminal");
  const bar = document.createElement("div");
  bar.className = "kubelab-terminal-bar";
  const screen = document.createElement("div");
  screen.className = "kubelab-terminal-screen";
  el.append(bar, screen);
  // Keys typed here are the shell's, not JupyterLab's shortcuts (a, b, dd, Enter, ...).
  screen.addEventListener("keydown", (e) => e.stopPropagation());
  const term = new Terminal({ cols: model.get("cols"), rows: model.get("rows"), cursorBlink: true,
                              scrollback: 5000, fontSize: 13, convertEol: false,
                              fontFamily: "DejaVu Sans Mono, Menlo, Consolas, monospace" });
  term.open(screen);
  let pos = 0;  // characters of the transcript on this screen
  let asked = false;
  // A chunk of output at `offset` in the transcript. A replay (the kernel's answer to "sync")
  // may start past what this screen has (the kernel keeps only the transcript's end).
  const write = (offset, data, replay) => {
    if (offset > pos && !replay) {  // missed some: ask for the rest once
      if (!asked) { asked = true; model.send({ type: "sync", have: pos }); }
      return;
    }
    if (replay) asked = false;
    const end = offset + count(data);
    if (end <= pos) return;
    term.write(offset >= pos ? data : tail(data, pos - offset));
    pos = end;
  };
  write(model.get("transcript_start"), model.get("transcript"), true);
  const show = () => {
    const state = model.get("state");
    bar.textContent = model.get("status");
    bar.dataset.state = state;
    el.dataset.state = state;
    term.options.disableStdin = state === "ended";
    term.options.cursorBlink = state !== "ended";
  };
  show();
  model.on("change:state", show);
  model.on("change:status", show);
  // The kernel went away (restarted, shut down, died): the session ended with it. The screen
  // keeps what it showed; the bar says so and the keys go nowhere.
  let gone = false;
  const kernelGone = () => {
    if (gone || model.get("state") === "ended") return;
    gone = true;
    el.dataset.state = bar.dataset.state = "ended";
    bar.textContent = model.get("command") + ": session ended with the kernel";
    term.options.disableStdin = true;
    term.options.cursorBlink = false;
  };
  model.on("comm_live_update", () => { if (el.closest(".jupyter-widgets-disconnected")) kernelGone(); });
  const kernel = model.widget_manager && model.widget_manager.kernel;
  const onStatus = (_k, status) => { if (["restarting", "autorestarting", "dead"].includes(status)) kernelGone(); };
  if (kernel && kernel.statusChanged) kernel.statusChanged.connect(onStatus);
  model.on("msg:custom", (msg) => { if (msg.type === "output") write(msg.offset, msg.data, !!msg.replay); });
  term.onData((data) => { if (!gone && model.get("state") !== "ended") model.send({ type: "input", data }); });
  asked = true;
  model.send({ type: "sync", have: pos });
  return () => {
    if (kernel && kernel.statusChanged) kernel.statusChanged.disconnect(onStatus);
    term.dispose();
  };
}
export default { render };
"""

_CSS = """
.kubelab-terminal { display: inline-block; border: 1px solid #444; border-radius: 4px; overflow: hidden; }
.kubelab-terminal-bar { font: 12px sans-serif; padding: 2px 8px; background: #2d2d2d; color: #ddd; }
.kubelab-terminal-bar[data-state="ended"] { color: #aaa; font-style: italic; }
.kubelab-terminal-screen { padding: 2px; background: #000; }
"""


# The terminal's cell has two outputs: the fallback (the transcript; see fallback_bundle),
# then the widget. Whichever of them can show the session, shows it.
_FALLBACK_CSS = (
    # a live terminal view follows: it shows everything, the fallback is not needed
    ".jp-OutputArea-child:has(.kubelab-terminal-fallback):has(+ .jp-OutputArea-child .kubelab-terminal)"
    "{display:none}"
    # no live view after it (its kernel is gone): hide the widget's "model not found"
    ".jp-OutputArea-child:has(.kubelab-terminal-fallback) + .jp-OutputArea-child:not(:has(.kubelab-terminal))"
    "{display:none}"
    # and not while the widget is still loading (a moment after the cell ran or the page loaded)
    ".kubelab-terminal-fallback{animation:kubelab-appear 0s linear 1.5s both}"
    "@keyframes kubelab-appear{from{visibility:hidden}to{visibility:visible}}")
FALLBACK_EVERY = 1.0  # seconds between updates of the fallback output
EMPTY = {"text/plain": ""}  # what the fallback becomes once the session ended (the widget shows it)


@lru_cache(maxsize=1)
def _assets() -> tuple[str, str]:
    """The widget's module (xterm.js's UMD build wrapped as a CommonJS module, then the view)
    and its style sheet."""
    static = resources.files("kubelab.notebook") / "static" / "xterm"
    xterm = static.joinpath("xterm.js").read_text(encoding="utf-8")
    module = ("const xtermModule = { exports: {} };\n"
              "(function (exports, module, define) {\n" + xterm + "\n})"
              ".call(globalThis, xtermModule.exports, xtermModule, undefined);\n"
              "const { Terminal } = xtermModule.exports;\n" + _VIEW)
    return module, static.joinpath("xterm.css").read_text(encoding="utf-8") + _CSS


def plain(transcript: str) -> str:
    """A terminal transcript as plain text: each line as it was left (a line the shell redrew,
    ``\\r`` then the prompt and the line again, keeps its last drawing), escape sequences gone."""
    lines = []
    for line in transcript.replace("\r\n", "\n").split("\n"):
        lines.append(_CSI.sub("", line.rsplit("\r", 1)[-1]))
    return "\n".join(lines)


class Terminal(anywidget.AnyWidget):
    """One terminal in a cell's output, running one kubectl command (see the module doc)."""

    _esm = traitlets.Unicode().tag(sync=True)
    _css = traitlets.Unicode().tag(sync=True)
    command = traitlets.Unicode("").tag(sync=True)
    state = traitlets.Unicode("starting").tag(sync=True)  # starting, connected, ended
    status = traitlets.Unicode("").tag(sync=True)
    cols = traitlets.Int(COLS).tag(sync=True)
    rows = traitlets.Int(ROWS).tag(sync=True)
    # Synced when the session ends (a view rendered then, or from saved state, shows it all);
    # while it runs, views get the output as messages.
    transcript = traitlets.Unicode("").tag(sync=True)
    transcript_start = traitlets.Int(0).tag(sync=True)  # offset of `transcript` in the whole output

    def __init__(self, argv: list[str], current: Callable[[], bool] = lambda: True) -> None:
        """``current``: whether the cluster this terminal runs on is still the kernel's (after
        ``%kube reset`` it is not, and the terminal closes rather than act on the old one)."""
        module, css = _assets()
        super().__init__(_esm=module, _css=css, command="kubectl " + shlex.join(argv),
                         status=f"kubectl {shlex.join(argv)}: starting")
        self.argv = list(argv)
        self.current = current
        self.session: Session | None = None
        self.exit_code: int | None = None
        self.result: Result | None = None
        self._text = ""  # everything shown (its last TRANSCRIPT characters)
        self._start = 0  # offset of self._text in all that was shown
        self._typed: list[bytes] = []  # keystrokes before the stream was connected (type-ahead)
        self._lock = threading.Lock()  # the transcript (taken last: output comes under the engine lock)
        self._input = threading.Lock()  # keystrokes in order (taken before the engine lock)
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._closed = False
        self._interrupted = False
        self._display: Any = None
        self._fallback: Any = None  # the display that holds the transcript should the kernel go
        self._dirty = threading.Event()  # output since the fallback was last updated
        self._fallback_lock = threading.Lock()
        self.on_msg(self._message)

    # -- kubectl's side (kubelab.kubectl.command.Terminal) --------------------------------
    @property
    def closed(self) -> bool:
        return self._closed or self._interrupted or not self.current()

    def write(self, text: str) -> None:
        """Show ``text`` (kubectl's own output or the stream's): append it to the transcript
        and send it to the views with its offset."""
        if not text:
            return
        with self._lock:
            offset = self._start + len(self._text)
            self._text += text
            if len(self._text) > TRANSCRIPT:
                cut = len(self._text) - TRANSCRIPT
                self._text, self._start = self._text[cut:], self._start + cut
            self.send({"type": "output", "offset": offset, "data": text})
        self._dirty.set()

    def connect(self, stream: Session) -> None:
        stream.subscribe(lambda channel, data: self.write(self._decoder.decode(data)))
        stream.resize(self.cols, self.rows)  # as kubectl sends the window size: ash redraws its prompt
        with self._input:  # keys typed ahead go first, then the ones typed from now on
            self.session = stream
            for keys in self._typed:
                stream.write(keys)
            self._typed.clear()
        self.state = "connected"
        ending = "type exit to end" if stream.tty else "no tty in the container: Ctrl-C stops kubectl"
        self.status = f"{self.command}: connected ({ending})"

    # -- the views' side ------------------------------------------------------------------
    def _message(self, _widget: Any, content: dict[str, Any], _buffers: Any) -> None:
        kind = content.get("type")
        if kind == "input" and self.state != "ended":
            keys = str(content.get("data", "")).encode()
            with self._input:
                if self.session is None:
                    self._typed.append(keys)
                elif not self.session.tty and b"\x03" in keys:
                    # no raw mode (the container has no tty): ^C is the local terminal's SIGINT to kubectl
                    self.write("^C\r\n")
                    self._interrupted = True
                else:
                    self.session.write(keys)
        elif kind == "sync":
            with self._lock:
                have = max(int(content.get("have", 0)), self._start)
                if have < self._start + len(self._text):
                    self.send({"type": "output", "offset": have, "data": self._text[have - self._start:],
                               "replay": True})

    def close(self) -> None:
        """The widget went away: like closing a terminal window (kubectl stops)."""
        self._closed = True
        super().close()

    # -- the notebook's side --------------------------------------------------------------
    def plain_text(self) -> str:
        return plain(self._text)

    def __repr__(self) -> str:
        return f"$ {self.command}\n" + self.plain_text()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        """The widget; no text beside it: the fallback output before it holds the transcript
        for static renderers (twice would be once too many)."""
        bundle = super()._repr_mimebundle_(**kwargs)
        data = bundle[0] if isinstance(bundle, tuple) else bundle
        if isinstance(data, dict):
            data["text/plain"] = ""
        return bundle

    def transcript_bundle(self, status: str | None = None) -> dict[str, str]:
        """What the cell shows once the session is over: the transcript, as text and as HTML
        (under ``status``: the bar's last words by default)."""
        status = self.status if status is None else status
        text = self.plain_text()
        return {"text/plain": f"$ {self.command}\n{text}",
                "text/html": (f'<div class="kubelab-terminal-transcript" style="display:inline-block;'
                              f'border:1px solid #444;border-radius:4px;overflow:hidden">'
                              f'<div style="font:12px sans-serif;padding:2px 8px;background:#2d2d2d;color:#aaa;'
                              f'font-style:italic">{html.escape(status, quote=False)}</div>'
                              f'<pre style="margin:0;padding:4px 6px;background:#000;color:#ddd;'
                              f'white-space:pre-wrap;max-width:{self.cols}ch">{html.escape(text, quote=False)}</pre>'
                              f'</div>')}

    def fallback_bundle(self) -> dict[str, str]:
        """The output shown in the terminal's place once no kernel serves it (restarted or
        killed, page reloaded): the transcript so far and a line that says the session ended
        with the kernel. While the terminal's view is on the page a style rule hides it; once
        no view is, the rule hides the widget's "model not found" instead."""
        bundle = self.transcript_bundle(f"{self.command}: session ended with the kernel")
        bundle["text/html"] = (f"<style>{_FALLBACK_CSS}</style>"
                               + bundle["text/html"].replace("kubelab-terminal-transcript",
                                                             "kubelab-terminal-transcript kubelab-terminal-fallback", 1))
        return bundle

    def keep_fallback(self) -> None:
        """Keep the fallback output up to date (at most once a second) until the session ends:
        a kernel can die at any moment, and then it can no longer write anything."""
        while self.state != "ended":
            if not self._dirty.wait(FALLBACK_EVERY):
                continue
            with self._fallback_lock:  # never after run() emptied it
                if self.state == "ended" or self._fallback is None:
                    return
                self._dirty.clear()
                try:
                    self._fallback.update(self.fallback_bundle(), raw=True)
                except Exception:  # the kernel may be shutting down
                    return
            time.sleep(FALLBACK_EVERY)

    def run(self, client: Client) -> None:
        """Run the kubectl command in this terminal (in a background thread), then mark the
        session over: the terminal says so and takes no more input."""
        from kubelab.kubectl import run

        try:
            self.result = run(client, self.argv, terminal=self)
            self.exit_code = self.result.returncode
        except Exception as err:  # the learner sees an error line, never a traceback
            self.write(f"error: {err}\r\n")
            self.exit_code = 1
        with self._lock:
            self.transcript, self.transcript_start = self._text, self._start
        why = "the cluster was reset" if not self.current() else f"exit code {self.exit_code}"
        self.status = f"{self.command}: session ended ({why})"
        self.state = "ended"
        self._dirty.set()  # wake keep_fallback: it ends
        if self._display is not None:
            try:  # the terminal becomes its transcript (the model stays: a view may not get this)
                with self._fallback_lock:
                    if self._fallback is not None:
                        self._fallback.update(EMPTY, raw=True)
                self._display.update(self.transcript_bundle(), raw=True)
            except Exception:  # the kernel may be shutting down: the live view already says it
                pass


def open_terminal(client: Client, argv: list[str]) -> Terminal:
    """Show a terminal in the current cell's output and run ``kubectl ARGV`` in it, in the
    background: this returns at once."""
    from IPython import get_ipython
    from IPython.display import display

    import kubelab.notebook as nb

    term = Terminal(argv, current=lambda: nb._client is client)
    term._fallback = display(term.fallback_bundle(), raw=True, display_id=True)
    term._display = display(term, display_id=True)
    shell = get_ipython()
    parent = getattr(shell, "parent_header", None)
    publisher = getattr(shell, "display_pub", None)

    def main() -> None:
        # The transcript update at the end belongs to the cell that opened the terminal.
        if parent and hasattr(publisher, "set_thread_parent"):
            publisher.set_thread_parent(parent)
        term.run(client)

    def fallback() -> None:
        if parent and hasattr(publisher, "set_thread_parent"):
            publisher.set_thread_parent(parent)
        term.keep_fallback()

    threading.Thread(target=main, name=f"kubelab-terminal-{term.model_id[:8]}", daemon=True).start()
    threading.Thread(target=fallback, name=f"kubelab-terminal-fallback-{term.model_id[:8]}", daemon=True).start()
    return term
