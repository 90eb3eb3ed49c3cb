"""The dashboard's buttons drive kubectl on a virtual-clock cluster; its refresher re-renders
only when the cluster changed."""
from __future__ import annotations

import html
import threading

import pytest

from kubelab import Cluster
from kubelab.api.tables import human_duration
from kubelab.notebook.dashboard import PAGE, Dashboard


def replicaset(client, name="web", replicas=2):
    return client.create({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": name},
                          "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                                   "template": {"metadata": {"labels": {"app": name}},
                                                "spec": {"containers": [{"name": name, "image": "nginx"}]}}}})


@pytest.fixture
def setup():
    c = Cluster(clock="virtual", seed=5)
    replicaset(c.client)
    c.settle()
    dash = Dashboard(c.client, "default", autostart=False)
    yield c, dash
    dash.close()


def pods_of(c, app="web"):
    return [p for p in c.client.list("Pod", "default", label_selector=f"app={app}")["items"]
            if not p["metadata"].get("deletionTimestamp")]


def test_lists_namespaces_controllers_and_pod_rows(setup):
    c, dash = setup
    assert {"default", "kube-system"} <= set(dash.ns_picker.options)
    assert "kubelab-namespace" in dash.ns_picker._dom_classes
    assert dash.target.options == ("replicaset/web",)
    names = sorted(p["metadata"]["name"] for p in pods_of(c))
    shown = [d.pod for _, _, d in dash._rows if d.pod]
    assert sorted(shown) == names
    for box, cell, delete in dash._rows[:2]:
        assert f"kubelab-pod-{delete.pod}" in box._dom_classes
        assert f"kubelab-delete-{delete.pod}" in delete._dom_classes
        assert delete.pod in cell.value
    assert all(box.layout.display == "none" for box, _, d in dash._rows[2:])


def test_scale_up_and_down_buttons_run_kubectl_scale(setup):
    c, dash = setup
    dash.target.value = "replicaset/web"
    dash.scale_up.click()
    assert dash.commands[-1] == "kubectl scale replicaset/web --replicas=3 -n default"
    assert "replicaset.apps/web scaled" in dash.log.value
    c.settle()
    assert len(pods_of(c)) == 3
    dash.scale_down.click()
    dash.scale_down.click()
    c.settle()
    assert len(pods_of(c)) == 1
    dash.replicas.value = 4
    dash.scale_set.click()
    c.settle()
    assert len(pods_of(c)) == 4
    assert dash.commands[-1] == "kubectl scale replicaset/web --replicas=4 -n default"


def test_delete_button_kills_a_pod_and_the_replicaset_replaces_it(setup):
    c, dash = setup
    victim = dash._rows[0][2].pod
    dash._rows[0][2].click()
    assert dash.commands[-1] == f"kubectl delete pod {victim} --wait=false -n default"
    assert f'pod "{victim}" deleted' in html.unescape(dash.log.value)
    c.settle()
    names = [p["metadata"]["name"] for p in pods_of(c)]
    assert victim not in names and len(names) == 2


def test_errors_show_in_the_log_not_as_exceptions(setup):
    c, dash = setup
    dash.run("scale", "replicaset/nope", "--replicas=1")
    assert 'Error from server (NotFound): replicasets.apps "nope" not found' in html.unescape(dash.log.value)


def test_refresh_only_when_the_cluster_changed(setup):
    c, dash = setup
    assert dash.refresh() is False
    replicaset(c.client, "other", 1)
    assert dash.refresh() is True
    assert "replicaset/other" in dash.target.options
    assert dash.refresh() is False


def test_namespace_picker_switches_the_view(setup):
    c, dash = setup
    dash.ns_picker.value = "kube-system"
    assert dash.namespace == "kube-system"
    assert "replicaset/web" not in dash.target.options
    dash.ns_picker.value = "default"
    assert dash.target.options == ("replicaset/web",)


def test_pages_keep_a_thousand_pods_to_a_page_of_widgets():
    c = Cluster(clock="virtual", seed=2)
    replicaset(c.client, "big", 70)
    c.settle()
    dash = Dashboard(c.client, "default", autostart=False)
    try:
        assert len(dash.pods) == 70 and len(dash._rows) == PAGE
        first = {d.pod for _, _, d in dash._rows}
        dash.next_page.click()
        second = {d.pod for _, _, d in dash._rows}
        assert not first & second and len(second) == PAGE
        dash.next_page.click()
        dash.next_page.click()  # past the end stays on the last page
        assert sum(1 for _, _, d in dash._rows if d.pod) == 70 - 2 * PAGE
    finally:
        dash.close()


def test_background_refresh_follows_changes_while_visible(setup):
    c, dash = setup
    dash.interval = 0.05
    dash.widget._view_count = 1  # as if the frontend showed it
    seen = threading.Event()
    dash.target.observe(lambda ch: "replicaset/later" in ch["new"] and seen.set(), names="options")
    dash.start()
    replicaset(c.client, "later", 1)
    assert seen.wait(30), "the refresher never picked up the new ReplicaSet"
    dash.stop()


def test_human_duration_matches_kubectl():
    assert [human_duration(s) for s in (5, 119, 130, 600, 7200, 8 * 3600 + 60, 3 * 86400, 400 * 86400)] == \
        ["5s", "119s", "2m10s", "10m", "120m", "8h", "3d", "400d"]


@pytest.fixture
def kernel_cluster():
    """The notebook layer's kernel-wide cluster, put back as it was afterwards."""
    import kubelab.notebook as knb

    saved = knb._cluster, knb._client
    c = Cluster(clock="virtual", seed=6)
    knb.use(c)
    yield knb, c
    knb._cluster, knb._client = saved


def test_after_reset_the_dashboard_follows_the_new_cluster_and_never_acts_on_the_old(kernel_cluster):
    """%kube reset discards the cluster: a dashboard made before it re-binds to the new one, says
    so, and a button pressed on the old view does not scale the discarded cluster's ReplicaSet."""
    knb, old = kernel_cluster
    replicaset(old.client)
    old.settle()
    dash = Dashboard(knb.client(), "default", autostart=False, follow=knb.client)
    try:
        dash.target.value = "replicaset/web"
        new = knb.reset()
        dash.scale_up.click()  # the screen still shows the old cluster's ReplicaSet
        assert old.client.get("ReplicaSet", "web", "default")["spec"]["replicas"] == 2
        assert dash.client is new.client and dash.commands == []
        assert "The cluster was reset" in dash.log.value and "Not run" in dash.log.value
        assert dash.target.options == () and not [d.pod for _, _, d in dash._rows if d.pod]
        replicaset(new.client, "fresh", 1)
        new.settle()
        assert dash.refresh() and dash.target.options == ("replicaset/fresh",)
        dash.scale_up.click()
        assert new.client.get("ReplicaSet", "fresh", "default")["spec"]["replicas"] == 2
    finally:
        dash.close()


def test_an_editor_opened_before_reset_refuses_to_save_to_the_old_cluster(kernel_cluster):
    from kubelab.notebook.editor import Editor

    knb, old = kernel_cluster
    old.client.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg"}, "data": {"a": "1"}})
    editor = Editor(knb.client(), ["edit", "configmap/cfg"], follow=knb.client)
    knb.reset()
    r = editor.apply(editor.text.value.replace('a: "1"', 'a: "2"'))
    assert r.returncode == 1 and "reset" in r.stderr and "nothing was saved" in editor.log.value
    assert old.client.get("ConfigMap", "cfg")["data"] == {"a": "1"}
