"""What a %kube line shows: kubectl's exact text, a styled table for `get`, data via .df;
and the rollout history view."""
from __future__ import annotations

import pytest

from kubelab import Cluster
from kubelab.kubectl import run
from kubelab.notebook.display import AMBER, GREEN, RED, KubeResult, status_colour
from kubelab.notebook.history import history

@pytest.fixture(scope="module")
def cluster():
    c = Cluster(clock="virtual", seed=11)
    c.kubectl("create deployment echo --image=kennship/http-echo --replicas=2")
    c.kubectl("run crash --image=busybox -- false")
    c.settle(120)
    return c


def kube(c, *argv, stdin=None):
    return KubeResult.of(argv, run(c.client, list(argv), stdin=stdin))


def test_tables_come_from_kubectl_cells_not_its_text(cluster):
    """A cell with spaces in it (``1 (5s ago)``, ``NOMINATED NODE``) is one cell: the table is
    the one kubectl printed, handed over as data."""
    r = kube(cluster, "get", "pods", "-o", "wide")
    (table,) = r.tables
    assert table.kind == "Pod" and table.header == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE",
                                                     "NOMINATED NODE", "READINESS GATES"]
    crash = next(row for row in table.rows if row[0] == "crash")
    assert crash[2] in ("CrashLoopBackOff", "Error") and " (" in crash[3]  # e.g. "4 (30s ago)"
    assert r.df.shape == (3, 9) and list(r.df["NAME"]) == [row[0] for row in table.rows]
    assert r.namespace == "default" and r.touched == []


def test_several_kinds_give_several_tables(cluster):
    r = kube(cluster, "get", "deploy,rs")
    assert [list(df.columns)[:2] for df in r.dfs] == [["NAME", "READY"], ["NAME", "DESIRED"]]
    assert r.df["NAME"][0] == "deployment.apps/echo"


def test_no_headers_still_names_the_columns(cluster):
    r = kube(cluster, "get", "deploy", "--no-headers")
    assert not r.stdout.startswith("NAME") and list(r.df.columns)[:2] == ["NAME", "READY"]


@pytest.mark.parametrize("argv,table", [
    (["get", "pods"], True), (["get", "pods", "-o", "wide"], True), (["-n", "default", "get", "po"], True),
    (["get", "pods", "-o", "yaml"], False), (["get", "pods", "-oname"], False),
    (["get", "pods", "--output=json"], False),
    (["describe", "pods"], False), (["rollout", "history", "deploy/echo"], False),
])
def test_only_get_tables_become_html(cluster, argv, table):
    r = kube(cluster, *argv)
    assert bool(r.tables) is table
    assert ("text/html" in r._repr_mimebundle_()) is table


def test_text_plain_is_kubectls_stdout_and_html_is_coloured(cluster):
    r = kube(cluster, "get", "pods", "-o", "wide")
    bundle = r._repr_mimebundle_()
    assert bundle["text/plain"] == r.stdout.rstrip("\n")
    html = bundle["text/html"]
    for name in r.df["NAME"]:
        assert f'data-name="{name}"' in html
    assert f"color:{GREEN}" in html and f"color:{RED}" in html


def test_a_result_names_the_objects_it_touched(cluster):
    r = kube(cluster, "apply", "-f", "-", stdin="""apiVersion: v1
kind: ConfigMap
metadata: {name: touched, namespace: kube-public}
data: {a: "1"}
""")
    assert [(t.kind, t.namespace, t.name, t.verb) for t in r.touched] == [("ConfigMap", "kube-public", "touched",
                                                                           "created")]
    again = kube(cluster, "apply", "-f", "-", "--dry-run=server", stdin="kind: ConfigMap\napiVersion: v1\n"
                 "metadata: {name: touched, namespace: kube-public}\ndata: {a: '2'}\n")
    assert again.touched == []  # a dry run touches nothing
    gone = kube(cluster, "delete", "configmap", "touched", "-n", "kube-public")
    assert [(t.kind, t.namespace, t.name, t.verb) for t in gone.touched] == [("ConfigMap", "kube-public", "touched",
                                                                              "deleted")]
    assert gone.namespace == "kube-public"


def test_status_colours():
    assert status_colour("Running") == GREEN
    for s in ("Pending", "ContainerCreating", "Init:0/1", "Terminating"):
        assert status_colour(s) == AMBER, s
    for s in ("CrashLoopBackOff", "Error", "ErrImagePull", "ImagePullBackOff", "CreateContainerConfigError"):
        assert status_colour(s) == RED, s


def test_empty_output_gives_an_empty_frame(cluster):
    r = kube(cluster, "get", "pods", "-n", "empty")
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
    assert [r.changes for r in h.revisions] == [[], ["image: echo:1 → echo:2", "+envFrom configmap/cfg-b",
                                                     "-envFrom configmap/cfg-a"]]
    assert h.live.number == 2 and h.undo_target.number == 1
    text = h._repr_mimebundle_()["text/plain"]
    assert text.startswith("deployment.apps/echo") and "rollout undo would go back to revision 1" in text
    assert 'data-revision="2"' in h._repr_mimebundle_()["text/html"]


@pytest.mark.parametrize("argv,notice", [
    (["get", "pods", "-n", "empty"], True),
    (["get", "nodes", "-l", "none=such"], True),
    (["get", "pod", "nope"], False),
    (["get", "pods,pod/nope", "-n", "empty"], False),
    (["get", "pods"], False),
])
def test_only_kubectls_notices_are_informational(cluster, argv, notice):
    """kubectl says which stderr lines are notices; the notebook does not guess from the text."""
    assert kube(cluster, *argv).informational is notice


def test_a_notice_keeps_kubectls_text_and_reads_neutral():
    from kubelab.notebook.display import FILL, Notice

    bundle = Notice("No resources found in default namespace.\n")._repr_mimebundle_()
    assert bundle["text/plain"] == "No resources found in default namespace."
    assert "No resources found in default namespace." in bundle["text/html"]
    assert not any(colour in bundle["text/html"] for colour in (RED, AMBER, *FILL.values()))


def test_history_says_what_an_env_only_revision_changed():
    """A revision that only changed env showed CONFIG <none>, nothing to tell it apart."""
    from kubelab.notebook.history import template_changes

    def spec(env, env_from=()):
        return {"containers": [{"name": "echo", "image": "echo", "env": env,
                                "envFrom": [{"configMapRef": {"name": n}} for n in env_from]}]}

    assert template_changes(spec([]), spec([{"name": "MODE", "value": "slow"}])) == ["+env MODE=slow"]
    assert template_changes(spec([{"name": "MODE", "value": "slow"}]), spec([{"name": "MODE", "value": "fast"}])) \
        == ["env MODE: slow → fast"]
    assert template_changes(spec([{"name": "MODE", "value": "fast"}]), spec([], ["echo-server-config-v2"])) == \
        ["-env MODE", "+envFrom configmap/echo-server-config-v2"]
    c = Cluster(clock="virtual", seed=3)
    c.kubectl("create deployment echo --image=kennship/http-echo")
    c.settle()
    c.kubectl("set env deployment/echo MODE=fast")
    c.settle()
    text = history(c.client, "echo").text()
    assert "+env MODE=fast" in text.splitlines()[3] and "CHANGED" in text.splitlines()[1]
