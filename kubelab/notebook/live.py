"""Output that keeps growing after its cell has finished, as a terminal's would.

``kubectl port-forward`` prints ``Handling connection for 8080`` each time a connection comes
in. In a notebook the forward runs in the background once its cell returns, so the cell shows a
small widget that the forward appends its lines to (stderr lines in red). The plain-text form is
kubectl's text as it was when the cell ran, so a saved notebook still reads like a terminal.
"""
from __future__ import annotations

import html
import threading
from typing import Any

from kubelab.notebook.display import RED

# lined up with plain-text outputs (JupyterLab indents those a few pixels more than a widget)
_STYLE = ("margin:0;padding:0 0 0 6px;background:none;font-family:var(--jp-code-font-family,monospace);"
          "font-size:var(--jp-code-font-size,13px);line-height:var(--jp-code-line-height,1.3)")


class LiveText:
    """Lines of text shown in a cell that more lines can be appended to from any thread."""

    def __init__(self, text: str, links: list[str] | None = None) -> None:
        import ipywidgets as w

        self._lock = threading.Lock()
        self.links = list(links or [])  # shown as clickable links under the text (not part of it)
        self.lines: list[tuple[str, str]] = [("out", line) for line in text.splitlines()]
        self.widget = w.HTML(self._html())
        self.widget.add_class("kubelab-live")

    @property
    def text(self) -> str:
        return "".join(line + "\n" for _, line in self.lines)

    def append(self, stream: str, line: str) -> None:
        """Add one line (``stream`` is ``"out"`` or ``"err"``) and show it at once."""
        with self._lock:
            self.lines.append((stream, line))
            self.widget.value = self._html()

    def _html(self) -> str:
        rows = [html.escape(line) if stream == "out" else f'<span style="color:{RED}">{html.escape(line)}</span>'
                for stream, line in self.lines]
        links = "".join(f'<a class="kubelab-link" href="{html.escape(u)}" target="_blank">{html.escape(u)}</a> '
                        for u in self.links)
        return (f'<pre class="kubelab-live-text" style="{_STYLE}">' + "\n".join(rows) + "</pre>"
                + (f'<div style="padding:0 0 0 6px">open: {links}</div>' if links else ""))

    def _repr_mimebundle_(self, **kw: Any) -> Any:
        bundle = self.widget._repr_mimebundle_(**kw)
        bundle["text/plain"] = self.text.rstrip("\n")
        return bundle

    def __repr__(self) -> str:
        return self.text.rstrip("\n")
