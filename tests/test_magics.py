"""The %kube / %%kube magics in a real IPython kernel (ipykernel, run through nbclient)."""
from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient


REPO = Path(__file__).resolve().parents[1]

POD = """apiVersion: v1
kind: Pod
metadata:
  name: hello
  labels:
    app: hello
spec:
  containers:
  - name: hello
    image: busybox
"""

CELLS = {
    "setup": f"""import sys; sys.path.insert(0, {str(REPO)!r})
%load_ext kubelab
import kubelab.notebook as knb
from kubelab import Cluster
c = Cluster(clock="virtual", seed=3)
knb.use(c)
knb.options.show_changes = True""",
    "unknown": "%kube frobnicate pods",
    "ip": "%kube ip",
    "empty": "%kube get pods",
    "make": """c.client.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-1", "labels": {"app": "web"}},
                 "spec": {"containers": [{"name": "web", "image": "nginx"}]}})
c.settle(); None""",
    "table": "%kube get pods",
    "df": """pods = %kube get pods -o wide
print(type(pods.df).__name__, list(pods.df.columns)[:3], len(pods.df), pods.df["NAME"][0])""",
    "yaml": "%kube get pod web-1 -o name",
    "expand": """which = "web-1"
%kube get pod $which -o name""",
    "go_template": """def name_of(which):
    found = %kube get pod {which} -o go-template='{{.metadata.name}} {{"on"}}'
    return str(found)
name_of("web-1")""",
    "multi": """%kube get pod web-1 -o name
%kube get pods
%kube get pod nope
assigned = %kube get pods
for which in ["web-1"]:
    %kube get pod $which -o name
print(len(assigned.df))
%kube get pod web-1 -o name""",
    "apply": "%%kube apply\n" + POD,
    "empty_body": "%%kube apply",
    "empty_create": "%%kube create\n\n",
    "unclosed_action": "%kube get pods -o go-template='{{.foo'",
    "notfound": "%kube route svc/nope",
    "diagram": "%kube diagram",
    "history": "%kube history deploy/nope",
    "bad_quote": "%kube get 'pods",
    "dashboard": "%kube dashboard",
    "port_forward": """%kube create deployment pf --image=kennship/http-echo
c.settle()
%kube expose deployment pf --port=80 --target-port=3000
forward = %kube port-forward svc/pf :80
import urllib.request
urllib.request.urlopen(forward.url, timeout=10).close()
print(forward.url)""",
    "port_forward_stop": "%kube port-forward --stop",
    "show_changes_off": """%kube config show-changes off
print(knb.options.show_changes)""",
    "workdir": """import os, tempfile
import kubelab.notebook.magics as kmagics
start = kmagics._home = tempfile.mkdtemp()  # the folder the kernel started in, as far as workdir knows
%kube workdir chapter-a
%kube workdir chapter-a""",
    "writefile": """%%writefile x.yaml
kind: ConfigMap
""",
    "workdir_back": f"""print(os.path.relpath(os.getcwd(), start), open("x.yaml").read().strip())
%kube workdir chapter-b
print(os.path.exists("x.yaml"), os.path.relpath(os.getcwd(), start))
os.chdir({str(REPO)!r})""",
    "reset": """%kube reset
print(knb.cluster() is not c, knb.cluster().clock.virtual)""",
}


@pytest.fixture(scope="module")
def outputs():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in CELLS.values()]
    NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(REPO)}}).execute()
    return {name: cell.outputs for name, cell in zip(CELLS, nb.cells)}


def stream(outs, name):
    return "".join(o["text"] for o in outs if o["output_type"] == "stream" and o["name"] == name)


def rich(outs):
    return [o for o in outs if o["output_type"] in ("display_data", "execute_result")]


def no_traceback(outs):
    assert not [o for o in outs if o["output_type"] == "error"], json.dumps(outs, indent=1)[:2000]
    assert "Traceback" not in stream(outs, "stderr")


def test_setup_runs(outputs):
    no_traceback(outputs["setup"])


def test_unknown_command_is_kubectl_error_on_stderr(outputs):
    outs = outputs["unknown"]
    no_traceback(outs)
    assert 'unknown command "frobnicate" for "kubectl"' in stream(outs, "stderr")
    assert not rich(outs)


def test_ip_is_the_node_ip(outputs):
    outs = outputs["ip"]
    no_traceback(outs)
    (out,) = rich(outs)
    assert out["data"]["text/plain"].count(".") == 3  # an IPv4 address, as `minikube ip` prints


def test_no_resources_is_a_notice_not_an_error(outputs):
    """kubectl's stderr notice keeps its text but is not shown as Jupyter's pink error stream."""
    outs = outputs["empty"]
    no_traceback(outs)
    assert not stream(outs, "stderr")
    (out,) = rich(outs)
    assert out["data"]["text/plain"] == "No resources found in default namespace."
    assert 'class="kubelab-notice"' in out["data"]["text/html"]
    assert "#ffcdd2" not in out["data"]["text/html"]  # not the red of a failure either


def test_get_shows_styled_table_with_kubectl_text(outputs):
    outs = outputs["table"]
    no_traceback(outs)
    (out,) = rich(outs)
    text = out["data"]["text/plain"]
    assert text.startswith("NAME") and "web-1" in text and "STATUS" in text
    html = out["data"]["text/html"]
    assert 'class="kubelab-table"' in html and 'data-name="web-1"' in html


def test_line_value_has_a_dataframe(outputs):
    outs = outputs["df"]
    no_traceback(outs)
    assert stream(outs, "stdout") == "DataFrame ['NAME', 'READY', 'STATUS'] 1 web-1\n"


def test_every_line_of_a_cell_shows_its_output_in_order(outputs):
    """A terminal prints each command's output: so does a cell of several %kube lines (IPython
    alone would show only the last line's value). Assigned values stay quiet; loops show too."""
    outs = outputs["multi"]
    no_traceback(outs)
    seen = []
    for o in outs:
        if o["output_type"] == "stream":
            seen.append((o["name"], o["text"]))
        else:
            seen.append((o["output_type"], o["data"]["text/plain"]))
    assert [s[0] for s in seen] == ["display_data", "display_data", "stderr", "display_data", "stdout",
                                    "display_data"], seen
    assert seen[0][1] == "pod/web-1" and seen[1][1].startswith("NAME") and "web-1" in seen[1][1]
    assert seen[2][1] == 'Error from server (NotFound): pods "nope" not found\n'
    assert seen[3][1] == "pod/web-1" and seen[4][1] == "1\n" and seen[5][1] == "pod/web-1"
    assert "text/html" in outs[1]["data"]  # the table is still the styled one


def test_non_table_output_is_plain_text(outputs):
    (out,) = rich(outputs["yaml"])
    assert out["data"] == {"text/plain": "pod/web-1"}


def test_variables_expand(outputs):
    outs = outputs["expand"]
    no_traceback(outs)
    (out,) = rich(outs)
    assert out["data"]["text/plain"] == "pod/web-1"


def test_go_template_braces_survive_expansion(outputs):
    """{var} still expands (from the caller's locals too), but {{...}} reaches kubectl whole."""
    outs = outputs["go_template"]
    no_traceback(outs)
    (out,) = rich(outs)
    assert out["data"]["text/plain"] == "'web-1 on'"


@pytest.mark.skipif(importlib.util.find_spec("kubelab.kubectl.apply") is None,
                    reason="kubectl apply has not landed yet")
def test_cell_magic_applies_the_body_and_pictures_it(outputs):
    outs = outputs["apply"]
    no_traceback(outs)
    assert stream(outs, "stdout") == "pod/hello created\n"
    pictures = [o for o in rich(outs) if "image/svg+xml" in o["data"]]
    assert len(pictures) == 1 and "hello" in pictures[0]["data"]["image/svg+xml"]


def test_awkward_cells_print_kubectls_errors(outputs):
    """A %%kube cell with no body is kubectl's empty stdin, not IPython's UsageError; an
    unclosed Go template action reaches kubectl as typed (IPython's expansion would make
    {{ one brace)."""
    for name, text in (("empty_body", "error: no objects passed to apply\n"),
                       ("empty_create", "error: no objects passed to create\n"),
                       ("unclosed_action", "error: error parsing template {{.foo, template: output:1: "
                                           "unclosed action\n")):
        outs = outputs[name]
        no_traceback(outs)
        assert stream(outs, "stderr") == text, name
        assert not rich(outs), name


def test_api_errors_print_like_kubectl(outputs):
    for name, kind in (("notfound", "services"), ("history", "deployments.apps")):
        outs = outputs[name]
        no_traceback(outs)
        assert stream(outs, "stderr") == f'Error from server (NotFound): {kind} "nope" not found\n'


def test_port_forward_shows_its_lines_as_they_come(outputs):
    """Forwarding from ... at once, even when the line's value is assigned; Handling connection
    lines go to that same output (a widget) as connections come, not to the --stop cell."""
    outs = outputs["port_forward"]
    no_traceback(outs)
    assert not stream(outs, "stderr")
    created, exposed, out = rich(outs)  # every line's output, in order
    assert created["data"]["text/plain"] == "deployment.apps/pf created"
    assert exposed["data"]["text/plain"] == "service/pf exposed"
    port = re.fullmatch(r"Forwarding from 127\.0\.0\.1:(\d+) -> 3000", out["data"]["text/plain"]).group(1)
    assert stream(outs, "stdout") == f"http://127.0.0.1:{port}/\n"  # the line's .url, read by Python
    assert "application/vnd.jupyter.widget-view+json" in out["data"]
    stopped = outputs["port_forward_stop"]
    no_traceback(stopped)
    assert stream(stopped, "stdout") + "".join(o["data"]["text/plain"] for o in rich(stopped)) == \
        f"Stopped forwarding from 127.0.0.1:{port} -> 3000"


def test_diagram_is_svg(outputs):
    outs = outputs["diagram"]
    no_traceback(outs)
    (out,) = rich(outs)
    assert "<svg" in out["data"]["image/svg+xml"]
    assert out["data"]["text/plain"].startswith("<namespace default")


def test_bad_shell_quoting_is_an_error_not_a_traceback(outputs):
    outs = outputs["bad_quote"]
    no_traceback(outs)
    assert stream(outs, "stderr").startswith("error:")


def test_dashboard_is_a_widget(outputs):
    outs = outputs["dashboard"]
    no_traceback(outs)
    (out,) = rich(outs)
    assert "application/vnd.jupyter.widget-view+json" in out["data"]


def test_show_changes_can_be_switched_off(outputs):
    assert stream(outputs["show_changes_off"], "stdout") == "False\n"


def test_each_chapter_works_in_its_own_folder(outputs):
    """%kube workdir NAME goes to NAME beside the notebooks, the same one however often it runs:
    one chapter's echo-server.yaml never overwrites another's."""
    for name in ("workdir", "workdir_back"):
        no_traceback(outputs[name])
    assert stream(outputs["workdir"], "stdout") == "working in chapter-a/ (this chapter's files go there)\n" * 2
    assert stream(outputs["workdir_back"], "stdout") == ("chapter-a kind: ConfigMap\n"
                                                          "working in chapter-b/ (this chapter's files go there)\n"
                                                          "False chapter-b\n")


def test_reset_makes_a_new_cluster_of_the_same_kind(outputs):
    outs = outputs["reset"]
    no_traceback(outs)
    assert stream(outs, "stdout").endswith("True True\n")


def test_editor_saves_through_kubectl_edit():
    from kubelab import Cluster
    from kubelab.notebook.editor import Editor

    c = Cluster(clock="virtual", seed=4)
    c.client.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"a": "1"}})
    e = Editor(c.client, ["edit", "configmap/cfg"])
    assert e.opened and "name: cfg" in e.text.value and "kubelab-edit-save" in e.save._dom_classes
    r = e.apply(e.text.value.replace('a: "1"', 'a: "2"'))
    assert (r.returncode, r.stdout) == (0, "configmap/cfg edited\n")
    assert c.client.get("ConfigMap", "cfg")["data"] == {"a": "2"}
    assert 'a: "2"' in e.text.value  # reopened on the saved version: a second save works too
    r = e.apply(e.text.value.replace("name: cfg", "name: other"))
    assert r.returncode == 1 and "name was changed" in r.stderr and "name: other" in e.text.value
    missing = Editor(c.client, ["edit", "configmap/nope"])
    assert not missing.opened and 'configmaps "nope" not found' in missing.result.stderr


def test_editor_shows_save_errors_and_never_conflicts_with_status_writes():
    """After a good save the controllers write the Deployment's status: the next saves still go
    through (kubectl edit patches, it does not update with a stale resourceVersion), a type error
    shows kubectl edit's 'could not be patched' text, an invalid value reopens the text with the
    reasons in kubectl's header."""
    from kubelab import Cluster
    from kubelab.notebook.editor import Editor

    c = Cluster(clock="virtual", seed=5)
    c.kubectl("create deployment hello --image=nginx")
    c.settle()
    e = Editor(c.client, ["edit", "deployment/hello"])
    opened = e.text.value
    assert e.apply(opened.replace("replicas: 1", "replicas: 2")).stdout == "deployment.apps/hello edited\n"
    c.settle()  # status writes: the resourceVersion the text shows is long gone
    r = e.apply(opened.replace("replicas: 1", "replicas: 3"))  # the old text, on purpose
    assert (r.returncode, r.stdout, r.stderr) == (0, "deployment.apps/hello edited\n", "")
    assert c.client.get("Deployment", "hello")["spec"]["replicas"] == 3
    five = e.text.value.replace("replicas: 3", "replicas: five")
    r = e.apply(five)
    assert r.returncode == 1 and r.stderr.startswith(
        'error: deployments.apps "hello" could not be patched: Deployment in version "v1" cannot be handled as a '
        "Deployment: json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32\n"
        "You can run `kubectl replace -f /")
    assert e.text.value == five and "could not be patched" in e.log.value
    r = e.apply(five.replace("replicas: five", "replicas: -1"))
    assert r.returncode == 1 and r.stderr == 'error: deployments.apps "hello" is invalid\n'
    assert '# deployments.apps "hello" was not valid:\n# * spec.replicas: Invalid value: -1: must be greater ' \
           "than or equal to 0\n#\n" in e.text.value and "replicas: -1" in e.text.value
    assert c.client.get("Deployment", "hello")["spec"]["replicas"] == 3
