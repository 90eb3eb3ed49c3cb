"""``%kube edit KIND/NAME``: kubectl's editor, as a text box in the notebook.

``kubectl edit`` opens the live object's YAML in $EDITOR and saves it back when the editor
closes. In a notebook the YAML goes into a text area; **save** sends the edited text to the
same ``kubectl edit`` command on stdin, so the messages (``... edited``, validation errors,
``Edit cancelled, no changes made.``) are kubectl's. As in kubectl, a failed save keeps the
text so it can be fixed and saved again (an invalid one reopens with the reasons in its
header), and a save never conflicts with the status the controllers write meanwhile.

CSS classes for browser tests: ``kubelab-editor``, ``kubelab-edit-text``, ``kubelab-edit-save``,
``kubelab-edit-log``.
"""
from __future__ import annotations

import html
from typing import Any, Callable


# Lines stay whole as in a terminal editor (a wrapped last-applied-configuration line reads as if
# the YAML had line breaks in it); a long line scrolls sideways instead.
NO_WRAP = ".kubelab-edit-text textarea{white-space:pre;overflow-wrap:normal;overflow-x:auto}"


class Editor:
    """The editor widget for one ``kubectl edit`` command line. ``follow`` gives the kernel's
    current client (``%kube edit`` passes ``kubelab.notebook.client``): once the kernel's
    cluster was reset, save refuses to write to the discarded one and says so."""

    def __init__(self, client: Any, argv: list[str], follow: Callable[[], Any] | None = None) -> None:
        import ipywidgets as w

        from kubelab.kubectl import run

        self.client = client
        self.follow = follow
        self.argv = list(argv)
        self.result = run(client, self.argv)  # no stdin: kubectl shows the object to edit
        self.text = w.Textarea(value=self.result.stdout, layout=w.Layout(width="100%", height="360px"))
        self.text.add_class("kubelab-edit-text")
        self.save = w.Button(description="save", button_style="primary", tooltip="kubectl " + " ".join(self.argv))
        self.save.add_class("kubelab-edit-save")
        self.save.on_click(lambda _: self.apply())
        self.log = w.HTML()
        self.log.add_class("kubelab-edit-log")
        self.widget = w.VBox([w.HTML(f"<style>{NO_WRAP}</style>"), self.text, self.save, self.log])
        self.widget.add_class("kubelab-editor")

    @property
    def opened(self) -> bool:
        """Whether there was an object to edit (otherwise kubectl's error is all there is)."""
        return bool(self.result.stdout)

    def apply(self, text: str | None = None) -> Any:
        """Save: run ``kubectl edit`` with the edited YAML; returns kubectl's Result."""
        from kubelab.kubectl import run

        from kubelab.kubectl import Result

        if text is not None:
            self.text.value = text
        if self.follow is not None and self.follow() is not self.client:
            stale = Result(1, "", "error: this editor belongs to a cluster that was reset (%kube reset); nothing "
                                  f"was saved. Run %kube {' '.join(self.argv)} again to edit the new cluster's object.\n")
            self._log(stale)
            return stale
        result = run(self.client, self.argv, stdin=self.text.value)
        self._log(result)
        if result.returncode == 0 and result.stdout:  # saved: reopen on the new version, as a fresh edit
            fresh = run(self.client, self.argv)
            if fresh.stdout:
                self.text.value = fresh.stdout
        elif result.stdout:  # invalid: kubectl reopens the file with the failures in its header
            self.text.value = result.stdout
        return result

    def _log(self, result: Any) -> None:
        self.log.value = (f'<pre style="margin:0"><b>$ kubectl {html.escape(" ".join(self.argv))}</b>\n'
                          f'{html.escape(result.stdout)}<span style="color:#c62828">'
                          f'{html.escape(result.stderr)}</span></pre>')

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
