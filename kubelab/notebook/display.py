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

Obj = dict[str, Any]

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


def pod_status(pod: Obj) -> str:
    """The STATUS kubectl prints for a pod (phase, or the reason a container is stuck)."""
    status = pod.get("status") or {}
    reason = status.get("reason") or status.get("phase") or "Pending"
    init_specs = (pod.get("spec") or {}).get("initContainers") or []
    initializing = False
    for i, cs in enumerate(status.get("initContainerStatuses") or []):
        state = cs.get("state") or {}
        term, wait = state.get("terminated"), state.get("waiting")
        if term and term.get("exitCode") == 0:
            continue
        initializing = True
        if term:
            reason = "Init:" + (term.get("reason") or f"ExitCode:{term.get('exitCode')}")
        elif wait and wait.get("reason") not in (None, "", "PodInitializing"):
            reason = "Init:" + wait["reason"]
        else:
            reason = f"Init:{i}/{len(init_specs)}"
        break
    if not initializing:
        running = False
        for cs in reversed(status.get("containerStatuses") or []):
            state = cs.get("state") or {}
            if (state.get("waiting") or {}).get("reason"):
                reason = state["waiting"]["reason"]
            elif state.get("terminated"):
                term = state["terminated"]
                reason = term.get("reason") or (f"Signal:{term['signal']}" if term.get("signal")
                                                else f"ExitCode:{term.get('exitCode')}")
            elif cs.get("ready") and state.get("running") is not None:
                running = True
        if reason == "Completed" and running:
            reason = "Running"
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        reason = "Unknown" if status.get("reason") == "NodeLost" else "Terminating"
    return reason


def _ready_colour(value: str) -> str | None:
    m = re.fullmatch(r"(\d+)/(\d+)", value)
    if not m:
        return None
    have, want = int(m.group(1)), int(m.group(2))
    return GREEN if have == want and want > 0 else (GREY if want == 0 else AMBER)


# -- kubectl table text -> columns ----------------------------------------------------------
def parse_tables(text: str) -> list[tuple[list[str], list[list[str]]]]:
    """Split kubectl's column-aligned tables (blank-line separated) into header and rows.

    tabwriter left-aligns every cell at its header's start, so slicing at those offsets is exact
    even for cells with spaces in them (``1 (5s ago)``, ``NOMINATED NODE``)."""
    tables = []
    for block in re.split(r"\n\s*\n", text.strip("\n")):
        lines = [ln for ln in block.split("\n") if ln.strip()]
        if not lines:
            continue
        header = lines[0]
        starts = [m.start() for m in re.finditer(r"(?:^|(?<=\s{2}))\S", header)]
        if not starts or starts[0] != 0:
            continue

        def cut(line: str) -> list[str]:
            ends = starts[1:] + [None]
            return [line[a:b].strip() if b is not None else line[a:].strip() for a, b in zip(starts, ends)]

        tables.append((cut(header), [cut(ln) for ln in lines[1:]]))
    return tables


# flags that take the next word as their value (so that word is not the command)
_VALUE_FLAGS = frozenset({"-n", "--namespace", "-l", "--selector", "-o", "--output", "--context", "--cluster",
                          "--user", "--kubeconfig", "-s", "--server", "--field-selector", "--sort-by"})


def is_table_get(argv: Sequence[str]) -> bool:
    """``get`` printing a human table (default or ``-o wide``), not yaml/json/name/watch."""
    words = list(argv)
    command, skip = None, False
    for w in words:
        if skip:
            skip = False
        elif w in _VALUE_FLAGS:
            skip = True
        elif not w.startswith("-"):
            command = w
            break
    if command != "get":
        return False
    output = None
    for i, w in enumerate(words):
        if w in ("-w", "--watch", "--watch-only") or w.startswith("--watch="):
            return False
        if w in ("-o", "--output") and i + 1 < len(words):
            output = words[i + 1]
        elif w.startswith("--output="):
            output = w.split("=", 1)[1]
        elif w.startswith("-o") and len(w) > 2:
            output = w[2:].lstrip("=")
    return output in (None, "wide")


def table_html(tables: list[tuple[list[str], list[list[str]]]]) -> str:
    """Styled HTML for parsed tables: coloured STATUS/READY cells, one ``<tr data-name>`` per row.

    Cells never wrap (kubectl's columns don't): a table wider than the output scrolls instead of
    breaking ``echo-server-k4xp8`` or ``NOMINATED NODE`` over two lines; only an event's MESSAGE
    wraps, within its column. An event's Warning TYPE is red like a failing STATUS."""
    parts = ['<div class="kubelab-get" style="overflow-x:auto">']
    for header, rows in tables:
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

    ``.df`` is the (first) table as a pandas DataFrame, ``.dfs`` every table."""

    argv: list[str]
    returncode: int
    stdout: str
    stderr: str
    shown: bool = field(default=False, repr=False)  # the magic already printed it (mixed output)

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def tables(self) -> list[tuple[list[str], list[list[str]]]]:
        return parse_tables(self.stdout) if is_table_get(self.argv) else []

    @property
    def dfs(self) -> list[Any]:
        return [frame(h, rows) for h, rows in self.tables]

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


# kubectl's stderr lines that inform rather than report a failure: ``get`` on an empty namespace,
# and the hint ``run -i`` / ``attach -i`` print before the container's output
INFO_PREFIXES = ("No resources found", "If you don't see a command prompt")


def informational(stderr: str) -> bool:
    """Is everything kubectl wrote to stderr a notice, not an error?"""
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    return bool(lines) and all(ln.startswith(INFO_PREFIXES) for ln in lines)


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
