"""rollout pause/resume/restart/undo/history messages (the ones that need no controller);
status and history with revisions are exercised once the deployment controller lands."""
from kubelab import Cluster
from kubelab.kubectl.rollout import deployment_status

DEPLOY = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "echo-server"},
          "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "echo-server"}},
                   "template": {"metadata": {"labels": {"app": "echo-server"}},
                                "spec": {"containers": [{"name": "c", "image": "kennship/http-echo"}]}}}}


def with_deployment() -> Cluster:
    c = Cluster(clock="virtual", seed=1)
    c.client.create(DEPLOY)
    return c


def test_pause_resume_and_their_errors():
    c = with_deployment()
    assert c.kubectl("rollout pause deploy/echo-server").stdout == "deployment.apps/echo-server paused\n"
    r = c.kubectl("rollout pause deploy/echo-server")
    assert (r.returncode, r.stderr) == (1, 'error: deployments.apps "echo-server" is already paused\n')
    r = c.kubectl("rollout restart deploy/echo-server")
    assert r.stderr == ('error: deployments.apps "echo-server" can\'t restart paused deployment '
                        "(run rollout resume first)\n")
    assert c.kubectl("rollout resume deployment echo-server").stdout == "deployment.apps/echo-server resumed\n"
    r = c.kubectl("rollout resume deploy/echo-server")
    assert r.stderr == 'error: deployments.apps "echo-server" is not paused\n'


def test_restart_stamps_the_template():
    c = with_deployment()
    assert c.kubectl("rollout restart deploy/echo-server").stdout == "deployment.apps/echo-server restarted\n"
    template = c.client.get("Deployment", "echo-server")["spec"]["template"]
    assert template["metadata"]["annotations"] == {"kubectl.kubernetes.io/restartedAt": "2026-01-01T00:00:00Z"}


def test_undo_to_a_missing_revision():
    c = with_deployment()
    r = c.kubectl("rollout undo deploy echo-server --to-revision=9")
    assert (r.returncode, r.stderr) == (1, "error: unable to find specified revision 9 in history\n")


def test_status_lines_follow_the_status_viewer():
    d = {"metadata": {"name": "x", "generation": 2}, "spec": {"replicas": 3},
         "status": {"observedGeneration": 2, "replicas": 3, "updatedReplicas": 3, "availableReplicas": 1}}
    assert deployment_status(d) == ('Waiting for deployment "x" rollout to finish: 1 of 3 updated replicas '
                                    "are available...\n", False)
    d["status"]["availableReplicas"] = 3
    assert deployment_status(d) == ('deployment "x" successfully rolled out\n', True)
    d["status"]["observedGeneration"] = 1
    assert deployment_status(d) == ("Waiting for deployment spec update to be observed...\n", False)


def test_status_history_and_undo_with_the_controller():
    c = with_deployment()
    c.settle()
    assert c.kubectl("rollout status deploy/echo-server").stdout == 'deployment "echo-server" successfully rolled out\n'
    r = c.kubectl("set image deploy/echo-server c=kennship/http-echo:latest")
    assert r.stdout == "deployment.apps/echo-server image updated\n"
    r = c.kubectl("rollout status deploy/echo-server")
    assert r.returncode == 0 and r.stdout.endswith('deployment "echo-server" successfully rolled out\n')
    assert c.kubectl("rollout history deploy/echo-server").stdout == (
        "deployment.apps/echo-server \nREVISION  CHANGE-CAUSE\n1         <none>\n2         <none>\n\n")
    r = c.kubectl("rollout history deploy/echo-server --revision=1")
    assert r.stdout.startswith("deployment.apps/echo-server with revision #1\nPod Template:\n  Labels:\tapp=echo-server\n")
    assert "    Image:\tkennship/http-echo\n" in r.stdout
    assert c.kubectl("rollout undo deploy/echo-server --to-revision=1").stdout == "deployment.apps/echo-server rolled back\n"
    c.settle()
    assert c.client.get("Deployment", "echo-server")["spec"]["template"]["spec"]["containers"][0]["image"] == \
        "kennship/http-echo"
    assert c.kubectl("rollout history deploy/echo-server").stdout.endswith("2         <none>\n3         <none>\n\n")


def test_status_reports_a_rollout_that_cannot_progress():
    c = with_deployment()
    c.settle()
    c.kubectl("set image deploy/echo-server c=kennship/http-echo:no-such-tag")
    r = c.kubectl("rollout status deploy/echo-server")
    assert r.returncode == 1
    assert r.stdout == ('Waiting for deployment "echo-server" rollout to finish: 1 out of 3 new replicas have been '
                        "updated...\n")
    assert r.stderr == 'error: deployment "echo-server" exceeded its progress deadline\n'
    r = c.kubectl("rollout status deploy/echo-server --timeout=5s")
    assert r.returncode == 1


WORKLOADS = """\
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  serviceName: web
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: nginx, image: nginx}]}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {containers: [{name: agent, image: busybox, command: [sleep, "86400"]}]}
"""


def images(c: Cluster, kind: str, name: str) -> set[str]:
    """The images of the pods a workload runs (one template when a rollout is done)."""
    uid = c.client.get(kind, name)["metadata"]["uid"]
    return {p["spec"]["containers"][0]["image"] for p in c.client.list("Pod")["items"]
            if (p["metadata"].get("ownerReferences") or [{}])[0].get("uid") == uid}


def test_undo_statefulset_and_daemonset_by_controller_revision():
    """undo puts the previous ControllerRevision's template back; the controllers roll the
    pods back and renumber that revision as the newest; a second undo goes forward again."""
    c = Cluster(clock="virtual", seed=5)
    assert c.kubectl("apply -f -", stdin=WORKLOADS).returncode == 0
    c.settle()
    for command in ("rollout undo sts/web", "rollout undo ds agent"):
        r = c.kubectl(command)
        assert (r.returncode, r.stderr) == (1, "error: no last revision to roll back to\n")
    c.kubectl("set image sts/web nginx=httpd")
    c.kubectl("set image ds/agent agent=alpine")
    assert c.settle()
    assert images(c, "StatefulSet", "web") == {"httpd"} and images(c, "DaemonSet", "agent") == {"alpine"}
    r = c.kubectl("rollout undo sts/web ds/agent")
    assert r.stdout == "statefulset.apps/web rolled back\ndaemonset.apps/agent rolled back\n"
    assert c.settle()
    assert images(c, "StatefulSet", "web") == {"nginx"} and images(c, "DaemonSet", "agent") == {"busybox"}
    revisions = {r["metadata"]["name"]: r["revision"] for r in c.client.list("ControllerRevision")["items"]
                 if r["metadata"]["name"].startswith("web-")}
    assert sorted(revisions.values()) == [2, 3]
    assert c.client.get("StatefulSet", "web")["status"]["updateRevision"] == max(revisions, key=revisions.get)
    r = c.kubectl("rollout undo sts/web --to-revision=3")
    assert r.stdout == "statefulset.apps/web skipped rollback (current template already matches revision 3)\n"
    r = c.kubectl("rollout undo ds/agent --to-revision=1")
    assert (r.returncode, r.stderr) == (1, "error: unable to find specified revision 1 in history\n")
    assert c.kubectl("rollout undo sts/web --to-revision=2").stdout == "statefulset.apps/web rolled back\n"
    assert c.settle()
    assert images(c, "StatefulSet", "web") == {"httpd"}


def test_undo_dry_runs_change_nothing():
    c = Cluster(clock="virtual", seed=6)
    c.kubectl("apply -f -", stdin=WORKLOADS)
    c.settle()
    c.kubectl("set image ds/agent agent=alpine")
    c.settle()
    before = c.client.get("DaemonSet", "agent")
    r = c.kubectl("rollout undo ds/agent --dry-run=client")
    assert r.stdout.startswith("daemonset.apps/agent will roll back to Pod Template:\n  Labels:\tapp=agent\n")
    assert r.stdout.endswith(" (dry run)\n") and "Image:\tbusybox" in r.stdout
    assert c.kubectl("rollout undo ds/agent --dry-run=server").stdout == "daemonset.apps/agent rolled back (server dry run)\n"
    assert c.client.get("DaemonSet", "agent") == before
