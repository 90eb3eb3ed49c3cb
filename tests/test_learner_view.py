"""What a learner trips over in JupyterLab, found by looking at the walkthrough's screenshots
(``tools/screenshots.py``), checked here structurally: tables that keep kubectl's one-line cells,
pictures that fit the output instead of losing their right-hand side, a dashboard whose column
titles sit over their columns, hints that show without an emoji font."""
from __future__ import annotations

import re

import pytest

from kubelab import Cluster
from kubelab.notebook.dashboard import Dashboard
from kubelab.notebook.diagram import MIN_SCALE, Diagram
from kubelab.kubectl import Table
from kubelab.notebook.display import table_html
from kubelab.notebook.exercises import check
from kubelab.notebook.route import WRAP, route

WIDE = Table("Pod", ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE", "NOMINATED NODE", "READINESS GATES"],
             [["echo-server-7b5848d7b8-x", "1/1", "Running", "0", "3s", "10.244.1.2", "kubelab-m02", "<none>",
               "<none>"]])


def test_table_cells_never_wrap_and_a_wide_table_scrolls():
    page = table_html([WIDE])
    assert page.startswith('<div class="kubelab-get" style="overflow-x:auto">')
    cells = re.findall(r"<t[hd] style=\"([^\"]*)\"", page)
    assert len(cells) == 18 and all("white-space:nowrap" in style for style in cells)


def test_diagram_html_shrinks_to_the_output_width_but_not_below_min_scale():
    d = Diagram(title="t")
    d.nodes["Pod/default/a"] = {"kind": "Pod", "name": "a", "namespace": "default", "label": "a"}
    d.groups["node n"] = ["Pod/default/a"]
    bundle = d._repr_mimebundle_()
    assert "image/svg+xml" in bundle  # still there for tools that only show pictures
    page = bundle["text/html"]
    assert page.startswith('<div class="kubelab-diagram-fit" style="overflow-x:auto"><svg style="')
    assert "<?xml" not in page and "<!DOCTYPE" not in page
    width = float(re.search(r'<svg width="([\d.]+)pt"', d.svg()).group(1))
    style = re.search(r'<svg style="([^"]*)"', page).group(1)
    assert "max-width:100%" in style and "height:auto" in style
    assert f"min-width:{width * MIN_SCALE:.0f}pt" in style
    assert page.count("<svg") == 1


@pytest.fixture
def cluster():
    c = Cluster(clock="virtual", seed=3)
    c.kubectl("create", "deployment", "echo-server", "--image=kennship/http-echo", "--replicas=2")
    c.kubectl("expose", "deployment", "echo-server", "--name=my-echo-server-service", "--port=80",
              "--target-port=4000", "--type=NodePort")
    c.settle()
    return c


def test_route_clients_are_narrow_boxes_and_a_long_problem_is_wrapped(cluster):
    d = route(cluster.client, "my-echo-server-service")
    for client in ("Client/in-cluster", "Client/outside"):
        assert d.nodes[client]["attrs"]["shape"] == "box"
    label = d.nodes["Service/default/my-echo-server-service"]["label"]
    problem = label[label.index("✗"):]
    assert "targetPort 4000" in problem.replace("\n", " ")
    assert problem.count("\n") >= 1 and all(len(line) <= WRAP for line in problem.split("\n"))


def test_dashboard_header_sits_over_the_cells_not_the_delete_buttons(cluster):
    dash = Dashboard(cluster.client, "default", autostart=False)
    try:
        header_row = dash.rows_box.children[0]
        spacer, header = header_row.children
        assert header is dash.header
        _, _, delete = dash._rows[0]
        assert spacer.layout.width == delete.layout.width
    finally:
        dash.close()


def test_a_long_dashboard_status_stays_inside_its_cell():
    """``Init:CreateContainerConfigError`` pushed RESTARTS, AGE and NODE out of line."""
    from kubelab.notebook.dashboard import _row_html

    row = _row_html(["web-7d9f8b6c5d-abcde", "0/1", "Init:CreateContainerConfigError", "0", "5s", "kubelab-m02"])
    spans = re.findall(r'<span style="([^"]*)" title="([^"]*)">', row)
    assert len(spans) == 6 and spans[2][1] == "Init:CreateContainerConfigError"
    for style, _ in spans:
        assert "overflow:hidden" in style and "text-overflow:ellipsis" in style and "white-space:nowrap" in style
        assert re.search(r"width:\d+ch", style)


def test_exercise_hints_show_commands_as_code_without_emoji():
    page = check("05-nodeport", Cluster(clock="virtual", seed=1).client, wait=0)._repr_html_()
    assert "hint: " in page and "💡" not in page
    assert "<code>%kube expose</code>" in page and "`" not in page


def test_history_and_event_cells_read_left_to_right_on_one_line(cluster):
    from kubelab.notebook.history import history

    page = history(cluster.client, "echo-server")._repr_mimebundle_()["text/html"]
    cells = re.findall(r"<t[hd] style=\"([^\"]*)\"", page)
    assert cells and all("text-align:left" in c and "white-space:nowrap" in c for c in cells)
    dash = Dashboard(cluster.client, "default", autostart=False)
    try:
        rows = re.findall(r"<tr[^>]*>(.*?)</tr>", dash.events.value)
        assert len(rows) > 1
        for row in rows:
            styles = re.findall(r"<t[hd] style=\"([^\"]*)\"", row)
            assert len(styles) == 5 and all("text-align:left" in s for s in styles)
            assert all("white-space:nowrap" in s for s in styles[:4]) and "white-space:normal" in styles[4]
    finally:
        dash.close()


def test_an_idle_cluster_lists_its_nodes_from_the_top_in_name_order():
    from kubelab.notebook.diagram import diagram

    svg = diagram(Cluster(clock="virtual", seed=1).client, "default").svg()
    tops = {m.group(2): float(m.group(1))
            for m in re.finditer(r'<text[^>]*y="([\d.-]+)"[^>]*>node ([^<]*)</text>', svg)}
    assert sorted(tops, key=tops.get) == ["kubelab", "kubelab&#45;m02", "kubelab&#45;m03"]

EVENTS = Table("Event", ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"],
               [["2s", "Normal", "Scheduled", "pod/typo", "Successfully assigned default/typo to kubelab-m03"],
                ["0s", "Warning", "Failed", "pod/typo", "Error: ImagePullBackOff"]])


def test_events_warnings_are_red_and_only_the_message_wraps():
    from kubelab.notebook.display import RED

    page = table_html([EVENTS])
    normal, warning = re.findall(r'<tr class="kubelab-row"[^>]*>(.*?)</tr>', page)
    assert RED not in normal and f"color:{RED}" in re.findall(r'<td style="([^"]*)">Warning<', warning)[0]
    styles = re.findall(r'<td style="([^"]*)">', normal)
    assert all("white-space:nowrap" in s for s in styles[:4]) and "white-space:normal" in styles[4]


def test_the_editor_keeps_long_yaml_lines_whole(cluster):
    """A wrapped last-applied-configuration line looked like YAML broken over several lines."""
    from kubelab.notebook.editor import Editor

    editor = Editor(cluster.client, ["edit", "deployment/echo-server"])
    styles = [c.value for c in editor.widget.children if "<style>" in getattr(c, "value", "")]
    assert styles and ".kubelab-edit-text textarea{white-space:pre;" in styles[0]
    assert "kubelab-edit-text" in editor.text._dom_classes


def test_wait_with_a_selector_and_all_namespaces_waits_for_each_pod():
    """Notebook 02 waits for its three same-named echo-server pods, one per namespace, before
    showing them: a wait in the default namespace alone left the others ContainerCreating."""
    c = Cluster(clock="virtual", seed=2)
    for ns in ("default", "a", "b"):
        if ns != "default":
            c.kubectl("create", "namespace", ns)
        c.kubectl("run", "echo-server", "--image=kennship/http-echo", "-l", "app=echo-server", "-n", ns)
    r = c.kubectl("wait", "--for=condition=Ready", "pod", "-l", "app=echo-server", "-A", "--timeout=60s")
    assert (r.returncode, r.stdout) == (0, "pod/echo-server condition met\n" * 3)
    table = c.kubectl("get", "pods", "-A", "-l", "app=echo-server").stdout
    assert table.count("Running") == 3
