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
