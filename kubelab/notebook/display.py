"""What a ``%kube`` line shows, and the value it returns.

The plain-text form of every output is exactly kubectl's stdout, so a saved notebook reads like
a terminal session. ``get`` tables (default or ``-o wide``) are also shown as a styled HTML
table with status colours, and the value of the line gives the table as data::

    pods = %kube get pods -o wide
    pods.df            # a pandas DataFrame of the first table (columns as kubectl names them)
    pods.dfs           # every table, for ``get deploy,rs,po`` / ``get all``
    pods.returncode, pods.stdout, pods.stderr
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any, Sequence

from kubelab.kubectl.command import Result, Table, Touched


GREEN, AMBER, RED, GREY = "#2e7d32", "#b26a00", "#c62828", "#616161"
FILL = {GREEN: "#c8e6c9", AMBER: "#ffe0b2", RED: "#ffcdd2", GREY: "#e0e0e0"}

_RED_WORDS = ("CrashLoopBackOff", "Error", "ErrImagePull", "ImagePullBackOff", "CreateContainerConfigError",
              "CreateContainerError", "InvalidImageName", "OOMKilled", "Failed", "Unknown", "Evicted",
              "NotReady", "ContainerStatusUnknown", "RunContainerError", "ExitCode", "Signal")
_AMBER_WORDS = ("Pending", "ContainerCreating", "PodInitializing", "Init:", "Terminating", "Waiting")


def status_colour(status: str) -> str:
    """The colour a learner should read into a STATUS value (pod, node, or object)."""
    if status in ("Running", "Ready", "Active", "Bound", "Available"):
        return GREEN
    if status in ("Completed", "Succeeded"):
        return GREY
    if any(w in status for w in _RED_WORDS):
        return RED
    if any(w in status for w in _AMBER_WORDS):
        return AMBER
    return GREY


def _ready_colour(value: str) -> str | None:
    m = re.fullmatch(r"(\d+)/(\d+)", value)
    if not m:
        return None
    have, want = int(m.group(1)), int(m.group(2))
    return GREEN if have == want and want > 0 else (GREY if want == 0 else AMBER)


def table_html(tables: Sequence[Table]) -> str:
    """Styled HTML for the tables kubectl printed: coloured STATUS/READY cells, one ``<tr data-name>`` per row.

    Cells never wrap (kubectl's columns don't): a table wider than the output scrolls instead of
    breaking ``echo-server-k4xp8`` or ``NOMINATED NODE`` over two lines; only an event's MESSAGE
    wraps, within its column. An event's Warning TYPE is red like a failing STATUS."""
    parts = ['<div class="kubelab-get" style="overflow-x:auto">']
    for table in tables:
        header, rows = table.header, table.rows
        parts.append('<table class="kubelab-table" style="border-collapse:collapse;font-family:monospace;'
                     'font-size:12px">')
        parts.append("<thead><tr>" + "".join(
            f'<th style="text-align:left;padding:2px 10px;border-bottom:1px solid #999;white-space:nowrap">'
            f'{html.escape(h)}</th>'
            for h in header) + "</tr></thead><tbody>")
        name_col = header.index("NAME") if "NAME" in header else 0
        for row in rows:
            name = row[name_col] if name_col < len(row) else ""
            cells = []
            for h, value in zip(header, row):
                # MESSAGE (``get events``) is the one free-text column: let it wrap in its cell
                style = f"padding:2px 10px;text-align:left;white-space:{'normal' if h == 'MESSAGE' else 'nowrap'}"
                colour = None
                if h in ("STATUS", "PHASE") or (h == "TYPE" and value == "Warning"):
                    colour = RED if h == "TYPE" else status_colour(value)
                    style += f";color:{colour};background:{FILL[colour]};font-weight:bold"
                elif h == "READY":
                    colour = _ready_colour(value)
                    if colour:
                        style += f";color:{colour};font-weight:bold"
                cells.append(f'<td style="{style}">{html.escape(value)}</td>')
            parts.append(f'<tr class="kubelab-row" data-name="{html.escape(name)}">' + "".join(cells) + "</tr>")
        parts.append("</tbody></table>")
    parts.append("</div>")
    return "".join(parts)


def frame(header: list[str], rows: list[list[str]]) -> Any:
    import pandas as pd

    return pd.DataFrame(rows, columns=header)


@dataclass
class KubeResult:
    """The value of a ``%kube`` line: what kubectl returned, shown as kubectl shows it.

    ``.df`` is the (first) table as a pandas DataFrame, ``.dfs`` every table; both come from the
    tables kubectl printed (``.tables``), never from re-reading its text. ``.touched`` lists the
    objects the command changed, ``.namespace`` the namespace it ran in."""

    argv: list[str]
    returncode: int
    stdout: str
    stderr: str
    tables: list[Table] = field(default_factory=list)
    touched: list[Touched] = field(default_factory=list)
    namespace: str = ""
    urls: list[str] = field(default_factory=list)  # ``port-forward``: where its local ports answer
    notices: list[str] = field(default_factory=list)  # stderr lines that inform ("No resources found")
    # the cell (execution count) whose output already holds it: mixed output, a progress line
    _shown_in: int | None = field(default=None, repr=False)

    @classmethod
    def of(cls, argv: Sequence[str], result: Result) -> "KubeResult":
        """The notebook's view of kubectl's Result."""
        return cls(list(argv), result.returncode, result.stdout, result.stderr, list(result.tables),
                   list(result.touched), result.namespace, notices=list(result.notices))

    @property
    def shown(self) -> bool:
        """Whether the running cell already shows this result (so displaying it again would
        repeat it); a later cell that displays it (``pods`` after ``pods = %kube ...``) shows it."""
        return self._shown_in is not None and self._shown_in == _execution_count()

    @shown.setter
    def shown(self, value: bool) -> None:
        self._shown_in = _execution_count() if value else None

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def informational(self) -> bool:
        """Is everything kubectl wrote to stderr a notice (``No resources found ...``, the
        ``run -i`` prompt hint), not an error?"""
        return bool(self.notices) and self.stderr == "".join(n + "\n" for n in self.notices)

    @property
    def url(self) -> str:
        """``port-forward``: the first forwarded port's address (``http://127.0.0.1:PORT/``)."""
        return self.urls[0] if self.urls else ""

    @property
    def dfs(self) -> list[Any]:
        return [frame(t.header, t.rows) for t in self.tables]

    @property
    def df(self) -> Any:
        """The first table as a DataFrame (empty when kubectl printed no table)."""
        dfs = self.dfs
        return dfs[0] if dfs else frame([], [])

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        bundle = {"text/plain": self.stdout.rstrip("\n")}
        tables = self.tables
        if tables:
            bundle["text/html"] = table_html(tables)
        return bundle

    def _ipython_display_(self) -> None:
        """Show stdout (nothing when empty, so no empty ``Out[]``)."""
        if self.shown:
            self.shown = False
            return
        if self.stdout:
            from IPython.display import display

            display(self._repr_mimebundle_(), raw=True)

    def __repr__(self) -> str:
        return self.stdout.rstrip("\n")

    def __str__(self) -> str:
        return self.stdout


def _execution_count() -> int:
    from IPython import get_ipython

    return getattr(get_ipython(), "execution_count", 0)


@dataclass
class Notice:
    """kubectl's informational stderr (``No resources found in default namespace.``): the text
    stays kubectl's, the HTML reads as a quiet note instead of Jupyter's pink error stream."""

    text: str

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        # indented like JupyterLab's plain-text outputs, so it lines up with kubectl's other lines
        return {"text/plain": self.text.rstrip("\n"),
                "text/html": f'<pre class="kubelab-notice" style="margin:0;padding:0 0 0 8px;background:none;'
                             f'color:{GREY};font-style:italic">{html.escape(self.text.rstrip(chr(10)))}</pre>'}

    def __repr__(self) -> str:
        return self.text.rstrip("\n")


@dataclass
class Text:
    """Plain text shown as output (a stand-in for a terminal's print) with optional HTML."""

    text: str
    html: str | None = None

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        bundle = {"text/plain": self.text.rstrip("\n")}
        if self.html:
            bundle["text/html"] = self.html
        return bundle

    def __repr__(self) -> str:
        return self.text.rstrip("\n")
