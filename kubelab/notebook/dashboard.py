"""``%kube dashboard``: a live view of one namespace with buttons that run kubectl.

Every button runs the kubectl command a learner would type, through ``kubectl.run`` (the same
code path as ``%kube``), and shows that command and its output, so the dashboard teaches the
commands rather than hiding them. A background thread polls the cluster's resourceVersion about
once a second while the widget is on screen and re-renders only when something changed; the
kernel stays free to run cells meanwhile.

Widgets carry stable CSS classes for browser tests: ``kubelab-namespace``, ``kubelab-target``,
``kubelab-scale-up``, ``kubelab-scale-down``, ``kubelab-replicas``, ``kubelab-scale-set``,
``kubelab-revision``, ``kubelab-rollback``, ``kubelab-restart``, ``kubelab-pod-row`` plus
``kubelab-pod-<name>`` per row, ``kubelab-delete-<name>`` per delete button, ``kubelab-log``.
"""
from __future__ import annotations

import html
import threading
import time
from typing import Any, Callable

from kubelab.api.objects import Obj
from kubelab.api.pods import print_pod
from kubelab.notebook.display import FILL, status_colour
from kubelab.api.tables import since

PAGE = 30  # pod rows on screen at once; the rest are a page away (1,000 pods stay responsive)
DIAGRAM_LIMIT = 250  # above this many pods the picture is unreadable and slow: filter instead


def _age(obj: Obj, now: float) -> str:
    return since(obj["metadata"].get("creationTimestamp"), now)


def pod_row(pod: Obj, now: float) -> list[str]:
    """NAME READY STATUS RESTARTS AGE NODE for the dashboard's table, counted as kubectl's are."""
    printed = print_pod(pod)
    node = (pod.get("spec") or {}).get("nodeName") or "<none>"
    return [pod["metadata"]["name"], f"{printed.ready}/{printed.total}", printed.reason, str(printed.restarts),
            _age(pod, now), node]


class Dashboard:
    """The dashboard. ``Dashboard(client, "default")`` in Python, ``%kube dashboard`` in a cell.

    ``refresh()`` re-reads the cluster (True when it re-rendered); ``start()`` / ``stop()``
    control the background refresher (started automatically unless ``autostart=False``).
    ``follow`` says where the kernel's current client comes from (``%kube dashboard`` passes
    ``kubelab.notebook.client``): after ``%kube reset`` the dashboard moves to the new cluster
    and says so, and never acts on the discarded one."""

    def __init__(self, client: Any, namespace: str = "default", interval: float = 1.0,
                 autostart: bool = True, follow: Callable[[], Any] | None = None) -> None:
        import ipywidgets as w

        self.client = client
        self.follow = follow
        self.namespace = namespace
        self.interval = interval
        self.page = 0
        self.pods: list[Obj] = []
        self.commands: list[str] = []  # every kubectl command a button ran, in order
        self._rv: str | None = None
        self._controllers: dict[tuple[str, str], Obj] = {}
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

        def cls(widget: Any, name: str) -> Any:
            widget.add_class(name)
            return widget

        self.ns_picker = cls(w.Dropdown(description="namespace", options=[namespace], value=namespace),
                             "kubelab-namespace")
        self.summary = cls(w.HTML(), "kubelab-summary")
        self.target = cls(w.Dropdown(description="controller", options=[]), "kubelab-target")
        self.scale_down = cls(w.Button(description="−1", tooltip="kubectl scale --replicas=N-1"),
                              "kubelab-scale-down")
        self.scale_up = cls(w.Button(description="+1", tooltip="kubectl scale --replicas=N+1"), "kubelab-scale-up")
        self.replicas = cls(w.BoundedIntText(value=0, min=0, max=10000, description="replicas",
                                             layout=w.Layout(width="170px")), "kubelab-replicas")
        self.scale_set = cls(w.Button(description="scale", tooltip="kubectl scale --replicas=N"), "kubelab-scale-set")
        self.revision = cls(w.Dropdown(description="revision", options=[("previous", "")], value=""),
                            "kubelab-revision")
        self.rollback = cls(w.Button(description="roll back", tooltip="kubectl rollout undo"), "kubelab-rollback")
        self.restart = cls(w.Button(description="restart", tooltip="kubectl rollout restart"), "kubelab-restart")
        self.prev_page = cls(w.Button(description="◀", layout=w.Layout(width="40px")), "kubelab-page-prev")
        self.next_page = cls(w.Button(description="▶", layout=w.Layout(width="40px")), "kubelab-page-next")
        self.page_label = w.HTML()
        self.header = w.HTML(_row_html(["NAME", "READY", "STATUS", "RESTARTS", "AGE", "NODE"], header=True))
        self._rows: list[tuple[Any, Any, Any]] = []  # pooled (box, html, delete button)
        for _ in range(PAGE):
            cell = w.HTML()
            delete = w.Button(description="delete", button_style="danger", layout=w.Layout(width="70px"))
            delete.pod = None
            delete.on_click(self._on_delete)
            box = cls(w.HBox([delete, cell], layout=w.Layout(display="none")), "kubelab-pod-row")
            self._rows.append((box, cell, delete))
        # the header sits over the cells, right of the rows' delete buttons
        spacer = w.HTML(layout=w.Layout(width="70px"))
        self.rows_box = w.VBox([w.HBox([spacer, self.header])] + [r[0] for r in self._rows])
        self.diagram = cls(w.HTML(), "kubelab-diagram")
        self.events = cls(w.HTML(), "kubelab-events")
        self.log = cls(w.HTML(), "kubelab-log")

        self.ns_picker.observe(self._on_namespace, names="value")
        self.target.observe(lambda _: self._show_target(), names="value")
        self.scale_up.on_click(lambda _: self._scale(+1))
        self.scale_down.on_click(lambda _: self._scale(-1))
        self.scale_set.on_click(lambda _: self._scale(None))
        self.rollback.on_click(lambda _: self._rollback())
        self.restart.on_click(lambda _: self._restart())
        self.prev_page.on_click(lambda _: self._turn(-1))
        self.next_page.on_click(lambda _: self._turn(+1))

        controls = w.VBox([self.target, w.HBox([self.scale_down, self.scale_up, self.replicas, self.scale_set]),
                           w.HBox([self.revision, self.rollback, self.restart])])
        pods = w.VBox([w.HBox([self.prev_page, self.next_page, self.page_label]), self.rows_box])
        self.widget = cls(w.VBox([w.HBox([self.ns_picker, self.summary]), controls, self.log,
                                  w.HTML("<b>pods</b>"), pods, w.HTML("<b>cluster</b>"), self.diagram,
                                  w.HTML("<b>recent events</b>"), self.events]), "kubelab-dashboard")
        self.widget._view_count = 0  # let the frontend tell us whether it is on screen
        self.refresh(force=True)
        if autostart:
            self.start()

    # -- display ------------------------------------------------------------------------
    def _repr_mimebundle_(self, **kw: Any) -> Any:
        return self.widget._repr_mimebundle_(**kw)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    # -- running kubectl ----------------------------------------------------------------
    def run(self, *argv: str) -> Any:
        """Run ``kubectl argv`` as a learner would, log it, and refresh. Nothing runs when the
        kernel's cluster was reset since the last look: the button was meant for the old one."""
        from kubelab.kubectl import run

        if self._rebound():
            self.log.value += (f'<pre style="margin:0">Not run: <code>kubectl {html.escape(" ".join(argv))}</code> '
                               "was meant for the old cluster. Press the button again to run it on this one.</pre>")
            return None
        words = list(argv) + ["-n", self.namespace]
        line = "kubectl " + " ".join(words)
        self.commands.append(line)
        result = None
        try:
            result = run(self.client, words)
            out, err = result.stdout, result.stderr
        except Exception as exc:  # show kubectl-style text, never a traceback in a widget
            out, err = "", f"error: {exc}\n"
        self.log.value = (f'<pre style="margin:0"><b>$ {html.escape(line)}</b>\n{html.escape(out)}'
                          f'<span style="color:#c62828">{html.escape(err)}</span></pre>')
        self.refresh(force=True)
        return result

    def _selected(self) -> tuple[str, str] | None:
        value = self.target.value
        if not value:
            return None
        kind, _, name = value.partition("/")
        return kind, name

    def _scale(self, delta: int | None) -> None:
        chosen = self._selected()
        if chosen is None:
            return
        kind, name = chosen
        try:
            current = (self.client.get("Deployment" if kind == "deployment" else "ReplicaSet", name,
                                       self.namespace).get("spec") or {}).get("replicas", 1)
        except Exception:
            current = self.replicas.value
        want = self.replicas.value if delta is None else max(0, current + delta)
        self.run("scale", f"{kind}/{name}", f"--replicas={want}")

    def _rollback(self) -> None:
        chosen = self._selected()
        if chosen is None or chosen[0] != "deployment":
            return
        extra = [f"--to-revision={self.revision.value}"] if self.revision.value else []
        self.run("rollout", "undo", f"deployment/{chosen[1]}", *extra)

    def _restart(self) -> None:
        chosen = self._selected()
        if chosen is None or chosen[0] != "deployment":
            return
        self.run("rollout", "restart", f"deployment/{chosen[1]}")

    def _on_delete(self, button: Any) -> None:
        if button.pod:
            self.run("delete", "pod", button.pod, "--wait=false")

    def _on_namespace(self, change: Any) -> None:
        if change["new"] and change["new"] != self.namespace:
            self.namespace = change["new"]
            self.page = 0
            self.refresh(force=True)

    def _turn(self, step: int) -> None:
        last = max(0, (len(self.pods) - 1) // PAGE)
        self.page = min(last, max(0, self.page + step))
        self._render_pods()

    def _rebound(self) -> bool:
        """Move to the kernel's current cluster if it changed (``%kube reset``); True when it did."""
        current = self.follow() if self.follow is not None else self.client
        if current is self.client:
            return False
        with self._lock:
            self.client = current
            self._rv = None
            self.page = 0
            self._controllers = {}
            self.refresh(force=True)
        self.log.value = ('<pre class="kubelab-rebound" style="margin:0;color:#b26a00">The cluster was reset '
                          "(%kube reset): this dashboard now shows the new cluster.</pre>")
        return True

    # -- reading the cluster --------------------------------------------------------------
    def refresh(self, force: bool = False) -> bool:
        """Re-read and re-render if the cluster changed (or ``force``). True when re-rendered."""
        if self._rebound():
            return True
        with self._lock:
            namespaces = self.client.list("Namespace")
            rv = namespaces["metadata"].get("resourceVersion")
            if rv == self._rv and not force:
                return False
            self._rv = rv
            names = [n["metadata"]["name"] for n in namespaces["items"]] or [self.namespace]
            if self.namespace not in names:
                names.append(self.namespace)
            if list(self.ns_picker.options) != names:
                self.ns_picker.options = names
                self.ns_picker.value = self.namespace
            self.pods = self.client.list("Pod", self.namespace)["items"]
            self._render_targets()
            self._render_pods()
            self._render_events()
            self._render_diagram()
            return True

    def _render_targets(self) -> None:
        deploys = self.client.list("Deployment", self.namespace)["items"]
        sets = self.client.list("ReplicaSet", self.namespace)["items"]
        options = [f"deployment/{d['metadata']['name']}" for d in deploys]
        options += [f"replicaset/{r['metadata']['name']}" for r in sets]
        self._controllers = {("deployment", d["metadata"]["name"]): d for d in deploys}
        self._controllers.update({("replicaset", r["metadata"]["name"]): r for r in sets})
        if list(self.target.options) != options:
            keep = self.target.value if self.target.value in options else (options[0] if options else None)
            self.target.options = options
            self.target.value = keep
        self._show_target()

    def _show_target(self) -> None:
        chosen = self._selected()
        obj = self._controllers.get(chosen) if chosen else None
        is_deploy = bool(chosen and chosen[0] == "deployment")
        for b in (self.scale_up, self.scale_down, self.scale_set):
            b.disabled = obj is None
        for b in (self.rollback, self.restart, self.revision):
            b.disabled = not is_deploy
        if obj is None:
            return
        self.replicas.value = (obj.get("spec") or {}).get("replicas", 1)
        revisions: list[tuple[str, str]] = [("previous", "")]
        if is_deploy:
            from kubelab.notebook.history import REVISION

            uid = obj["metadata"].get("uid")
            numbers = sorted({int((r["metadata"].get("annotations") or {}).get(REVISION, "0"))
                              for (k, _), r in self._controllers.items() if k == "replicaset"
                              and any(o.get("uid") == uid for o in r["metadata"].get("ownerReferences") or [])})
            revisions += [(f"revision {n}", str(n)) for n in numbers if n]
        if list(self.revision.options) != revisions:
            value = self.revision.value if self.revision.value in [v for _, v in revisions] else ""
            self.revision.options = revisions
            self.revision.value = value

    def _render_pods(self) -> None:
        now = self.client.now()
        pods = self.pods
        last = max(0, (len(pods) - 1) // PAGE)
        self.page = min(self.page, last)
        shown = pods[self.page * PAGE:(self.page + 1) * PAGE]
        self.page_label.value = (f"pods {self.page * PAGE + 1}–{self.page * PAGE + len(shown)} of {len(pods)}"
                                 if pods else f"No resources found in {html.escape(self.namespace)} namespace.")
        counts: dict[str, int] = {}
        for p in pods:
            s = print_pod(p).reason
            counts[s] = counts.get(s, 0) + 1
        self.summary.value = " ".join(
            f'<span style="color:{status_colour(s)};font-weight:bold">{n} {html.escape(s)}</span>'
            for s, n in sorted(counts.items()))
        for i, (box, cell, delete) in enumerate(self._rows):
            if i >= len(shown):
                box.layout.display = "none"
                if delete.pod:
                    box.remove_class(f"kubelab-pod-{delete.pod}")
                    delete.remove_class(f"kubelab-delete-{delete.pod}")
                    delete.pod = None
                continue
            row = pod_row(shown[i], now)
            name = row[0]
            if delete.pod != name:
                if delete.pod:
                    box.remove_class(f"kubelab-pod-{delete.pod}")
                    delete.remove_class(f"kubelab-delete-{delete.pod}")
                box.add_class(f"kubelab-pod-{name}")
                delete.add_class(f"kubelab-delete-{name}")
                delete.pod = name
                delete.tooltip = f"kubectl delete pod {name}"
            cell.value = _row_html(row)
            box.layout.display = "flex"

    def _render_events(self) -> None:
        try:
            events = self.client.list("Event", self.namespace)["items"]
        except Exception:  # no events served: leave the panel empty
            events = []
        events.sort(key=lambda e: e.get("lastTimestamp") or e.get("eventTime") or
                    e["metadata"].get("creationTimestamp") or "")
        now = self.client.now()
        rows = []
        for e in events[-10:]:
            seen = since(e.get("lastTimestamp") or e["metadata"].get("creationTimestamp"), now)
            obj = e.get("involvedObject") or {}
            colour = "#c62828" if e.get("type") == "Warning" else "inherit"
            cells = [seen, e.get("type", ""), e.get("reason", ""),
                     f'{obj.get("kind", "").lower()}/{obj.get("name", "")}', e.get("message", "")]
            rows.append(f'<tr style="color:{colour}">' + _event_cells("td", cells) + "</tr>")
        header = _event_cells("th", ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"])
        self.events.value = ('<table style="font-family:monospace;font-size:11px">'
                             f"<tr>{header}</tr>" + "".join(rows) + "</table>") if rows else "<i>no events</i>"

    def _render_diagram(self) -> None:
        if len(self.pods) > DIAGRAM_LIMIT:
            self.diagram.value = (f"<i>{len(self.pods)} pods: too many to draw; try "
                                  f"<code>%kube diagram -n {html.escape(self.namespace)} -l app=...</code></i>")
            return
        from kubelab.notebook.diagram import diagram

        try:
            self.diagram.value = diagram(self.client, self.namespace).html()
        except Exception as exc:  # a picture that cannot be drawn must not stop the dashboard
            self.diagram.value = f"<i>no diagram: {html.escape(str(exc))}</i>"

    # -- background refresh ---------------------------------------------------------------
    def visible(self) -> bool:
        count = self.widget._view_count
        return count is None or count > 0

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="kubelab-dashboard", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def close(self) -> None:
        self.stop()
        self.widget.close()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            if self.widget.comm is None:  # closed (or its kernel-side comm is gone): stop polling
                return
            if not self.visible():
                continue
            try:
                self.refresh()
            except Exception as exc:  # keep polling: a transient error must not kill the view
                self.log.value = f'<pre style="color:#c62828">refresh failed: {html.escape(str(exc))}</pre>'
                time.sleep(self.interval)


def _event_cells(tag: str, values: list[str]) -> str:
    """Left-aligned like ``kubectl get events``; only MESSAGE may wrap (JupyterLab would
    otherwise centre the titles and break ``pod/echo-server-x`` over two lines)."""
    last = len(values) - 1
    return "".join(f'<{tag} style="text-align:left;padding:1px 6px;white-space:{"normal" if i == last else "nowrap"}">'
                   f"{html.escape(v)}</{tag}>" for i, v in enumerate(values))


def _row_html(cells: list[str], header: bool = False) -> str:
    """One row of fixed-width cells. A value longer than its cell (``Init:CreateContainerConfigError``,
    a long pod name) ends in an ellipsis inside the cell instead of pushing the next cells over;
    hovering shows it whole."""
    widths = (34, 7, 32, 15, 7, 14)
    parts = []
    for i, (value, width) in enumerate(zip(cells, widths)):
        style = (f"display:inline-block;width:{width}ch;font-family:monospace;font-size:12px;"
                 "overflow:hidden;text-overflow:ellipsis;white-space:nowrap;vertical-align:bottom;"
                 "box-sizing:border-box;padding-right:1ch")
        if not header and i == 2:
            colour = status_colour(value)
            style += f";color:{colour};background:{FILL[colour]};font-weight:bold"
        if header:
            style += ";font-weight:bold"
        parts.append(f'<span style="{style}" title="{html.escape(value)}">{html.escape(value)}</span>')
    return "".join(parts)
