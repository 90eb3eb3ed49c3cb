"""What a %kube line shows: kubectl's exact text, a styled table for `get`, data via .df;
and the rollout history view."""
from __future__ import annotations

import pytest

from kubelab import Cluster
from kubelab.notebook.display import AMBER, GREEN, RED, KubeResult, is_table_get, parse_tables, status_colour
from kubelab.notebook.history import history

WIDE = """NAME           READY   STATUS             RESTARTS     AGE   IP           NODE       NOMINATED NODE   READINESS GATES
echo-7d-abcde  1/1     Running            1 (5s ago)   10s   10.244.0.3   minikube   <none>           <none>
echo-7d-fghij  0/1     CrashLoopBackOff   4            2m    10.244.0.4   minikube   <none>           <none>
echo-7d-klmno  0/1     ContainerCreating  0            1s    <none>       minikube   <none>           <none>
"""

MULTI = """NAME                   READY   UP-TO-DATE   AVAILABLE   AGE
deployment.apps/echo   1/3     3            1           5m

NAME                              DESIRED   CURRENT   READY   AGE
replicaset.apps/echo-7d9f8b6c5d   3         3         1       5m
"""


def test_parse_tables_keeps_cells_with_spaces():
    ((header, rows),) = parse_tables(WIDE)
    assert header == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE", "NOMINATED NODE",
                      "READINESS GATES"]
    assert rows[0][3] == "1 (5s ago)" and rows[2][2] == "ContainerCreating" and rows[2][5] == "<none>"


def test_several_kinds_give_several_tables():
    r = KubeResult(["get", "deploy,rs"], 0, MULTI, "")
    assert [list(df.columns)[:2] for df in r.dfs] == [["NAME", "READY"], ["NAME", "DESIRED"]]
    assert r.df["NAME"][0] == "deployment.apps/echo"


@pytest.mark.parametrize("argv,table", [
    (["get", "pods"], True), (["get", "pods", "-o", "wide"], True), (["-n", "x", "get", "po"], True),
    (["get", "pods", "-o", "yaml"], False), (["get", "pods", "-oname"], False),
    (["get", "pods", "--output=json"], False), (["get", "pods", "-w"], False),
    (["describe", "pods"], False), (["rollout", "history", "deploy/x"], False),
])
def test_only_get_tables_become_html(argv, table):
    assert is_table_get(argv) is table
    r = KubeResult(argv, 0, WIDE, "")
    assert ("text/html" in r._repr_mimebundle_()) is table


def test_text_plain_is_kubectls_stdout_and_html_is_coloured():
    r = KubeResult(["get", "pods", "-o", "wide"], 0, WIDE, "")
    bundle = r._repr_mimebundle_()
    assert bundle["text/plain"] == WIDE.rstrip("\n")
    html = bundle["text/html"]
    for name in ("echo-7d-abcde", "echo-7d-fghij", "echo-7d-klmno"):
        assert f'data-name="{name}"' in html
    assert f"color:{GREEN}" in html and f"color:{RED}" in html and f"color:{AMBER}" in html
    assert r.df.shape == (3, 9)


def test_status_colours():
    assert status_colour("Running") == GREEN
    for s in ("Pending", "ContainerCreating", "Init:0/1", "Terminating"):
        assert status_colour(s) == AMBER, s
    for s in ("CrashLoopBackOff", "Error", "ErrImagePull", "ImagePullBackOff", "CreateContainerConfigError"):
        assert status_colour(s) == RED, s


def test_empty_output_gives_an_empty_frame():
    r = KubeResult(["get", "pods"], 0, "", "No resources found in default namespace.\n")
    assert r.df.empty and r._repr_mimebundle_() == {"text/plain": ""}


def test_history_lists_revisions_live_and_undo_target():
    c = Cluster(clock="virtual", seed=9)
    cl = c.client

    def deployment(image, config, cause):
        return {"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "echo", "annotations": {"kubernetes.io/change-cause": cause}},
                "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "echo"}},
                         "template": {"metadata": {"labels": {"app": "echo"}}, "spec": {"containers": [
                             {"name": "echo", "image": image,
                              "envFrom": [{"configMapRef": {"name": config}}]}]}}}}

    cl.create(deployment("echo:1", "cfg-a", "first"))
    c.settle()
    if not cl.list("ReplicaSet")["items"]:
        pytest.skip("the Deployment controller has not landed yet")
    live = cl.get("Deployment", "echo")
    live["spec"] = deployment("echo:2", "cfg-b", "")["spec"]
    live["metadata"]["annotations"]["kubernetes.io/change-cause"] = "new image"
    cl.update(live)
    c.settle()
    h = history(cl, "echo")
    assert [r.number for r in h.revisions] == [1, 2]
    assert [r.images for r in h.revisions] == [["echo:1"], ["echo:2"]]
    assert [r.configs for r in h.revisions] == [["configmap/cfg-a"], ["configmap/cfg-b"]]
    assert [r.change_cause for r in h.revisions] == ["first", "new image"]
    assert h.live.number == 2 and h.undo_target.number == 1
    text = h._repr_mimebundle_()["text/plain"]
    assert text.startswith("deployment.apps/echo") and "rollout undo would go back to revision 1" in text
    assert 'data-revision="2"' in h._repr_mimebundle_()["text/html"]


@pytest.mark.parametrize("stderr,notice", [
    ("No resources found in default namespace.\n", True),
    ("No resources found\n", True),
    ('Error from server (NotFound): pods "x" not found\n', False),
    ('No resources found in default namespace.\nError from server (NotFound): pods "x" not found\n', False),
    ("", False),
])
def test_only_kubectls_notices_are_informational(stderr, notice):
    from kubelab.notebook.display import informational

    assert informational(stderr) is notice


def test_a_notice_keeps_kubectls_text_and_reads_neutral():
    from kubelab.notebook.display import FILL, Notice

    bundle = Notice("No resources found in default namespace.\n")._repr_mimebundle_()
    assert bundle["text/plain"] == "No resources found in default namespace."
    assert "No resources found in default namespace." in bundle["text/html"]
    assert not any(colour in bundle["text/html"] for colour in (RED, AMBER, *FILL.values()))
