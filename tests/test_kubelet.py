"""The simulated kubelet: pod lifecycle, statuses, events, probes, config, deletion."""
from __future__ import annotations

import base64
from typing import Any

import pytest

from kubelab.api.errors import StatusError
from kubelab.cluster import Cluster
from kubelab.engine.events import events_for


def pod(name: str, image: str = "kennship/http-echo", **spec: Any) -> dict[str, Any]:
    container = {"name": spec.pop("container_name", f"{name}-container"), "image": image}
    container.update(spec.pop("container", {}))
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": name}},
            "spec": {"containers": [container], **spec}}


def busybox(name: str, *command: str, **spec: Any) -> dict[str, Any]:
    extra = {"command": list(command)} if command else {}
    extra.update(spec.pop("container", {}))
    return pod(name, "busybox", container_name=name, container=extra, **spec)


@pytest.fixture
def c() -> Cluster:
    return Cluster(clock="virtual", seed=7)


def status(c: Cluster, name: str) -> dict[str, Any]:
    return c.api.get("Pod", name)["status"]


def state(c: Cluster, name: str, index: int = 0) -> dict[str, Any]:
    return status(c, name)["containerStatuses"][index]


def messages(c: Cluster, name: str) -> list[tuple[str, str, str]]:
    return [(e["type"], e["reason"], e["message"]) for e in events_for(c.engine.store, c.api.get("Pod", name))]


def cond(c: Cluster, name: str, type_: str) -> str:
    return next(x["status"] for x in status(c, name)["conditions"] if x["type"] == type_)


def test_echo_server_goes_container_creating_then_running_and_ready(c: Cluster) -> None:
    c.api.create(pod("echo-server"))
    c.advance(1)
    assert status(c, "echo-server")["phase"] == "Pending"
    assert state(c, "echo-server")["state"] == {"waiting": {"reason": "ContainerCreating"}}
    assert c.settle()
    st = status(c, "echo-server")
    assert st["phase"] == "Running"
    assert [x["type"] for x in st["conditions"]] == [
        "PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"]
    assert all(x["status"] == "True" for x in st["conditions"])
    cs = st["containerStatuses"][0]
    assert cs["ready"] and cs["started"] and cs["restartCount"] == 0
    assert cs["image"] == "docker.io/kennship/http-echo:latest"
    assert cs["containerID"].startswith("containerd://")
    assert st["podIP"].startswith("10.244.") and st["hostIP"]
    assert st["qosClass"] == "BestEffort"
    node = c.api.get("Pod", "echo-server")["spec"]["nodeName"]
    cidr = c.api.get("Node", node)["spec"].get("podCIDR")
    if cidr:
        assert st["podIP"].rsplit(".", 1)[0] == cidr.rsplit(".", 1)[0]
    reasons = [r for _, r, _ in messages(c, "echo-server")]
    assert reasons[-4:] == ["Pulling", "Pulled", "Created", "Started"]
    msgs = dict((r, m) for _, r, m in messages(c, "echo-server"))
    assert msgs["Pulling"] == 'Pulling image "kennship/http-echo"'
    assert msgs["Pulled"].startswith('Successfully pulled image "kennship/http-echo" in ')
    assert msgs["Pulled"].endswith("Image size: 28740914 bytes.")
    assert msgs["Created"] == "Created container: echo-server-container"
    assert msgs["Started"] == "Started container echo-server-container"
    assert c.api.logs("echo-server") == "Listening on port 3000\n"


def test_cached_image_with_if_not_present_is_not_pulled_again(c: Cluster) -> None:
    c.api.create(pod("a", "nginx:1.27", nodeName="kubelab"))
    c.settle()
    c.api.create(pod("b", "nginx:1.27", nodeName="kubelab"))
    c.settle()
    assert ("Normal", "Pulled", 'Container image "nginx:1.27" already present on machine') in messages(c, "b")
    assert "Pulling" not in [r for _, r, _ in messages(c, "b")]


def test_unknown_image_err_image_pull_then_back_off(c: Cluster) -> None:
    c.api.create(pod("typo", "ngnix"))
    c.settle(timeout=5, )
    c.advance(3)
    cs = state(c, "typo")
    assert cs["state"]["waiting"]["reason"] in ("ErrImagePull", "ImagePullBackOff")
    c.engine.settle(60, until=lambda: state(c, "typo")["state"]["waiting"]["reason"] == "ErrImagePull")
    assert "pull access denied, repository does not exist" in state(c, "typo")["state"]["waiting"]["message"]
    c.advance(3)
    waiting = state(c, "typo")["state"]["waiting"]
    assert waiting["reason"] == "ImagePullBackOff"
    assert waiting["message"].startswith('Back-off pulling image "ngnix": ErrImagePull: failed to pull and unpack')
    assert status(c, "typo")["phase"] == "Pending"
    events = messages(c, "typo")
    assert ("Warning", "Failed", "Error: ErrImagePull") in events
    assert ("Normal", "BackOff", 'Back-off pulling image "ngnix"') in events
    assert ("Warning", "Failed", "Error: ImagePullBackOff") in events
    failed = [m for _, r, m in events if m.startswith("Failed to pull image")]
    assert failed[0] == ('Failed to pull image "ngnix": failed to pull and unpack image "docker.io/library/ngnix:latest": '
                         'failed to resolve reference "docker.io/library/ngnix:latest": pull access denied, repository '
                         'does not exist or may require authorization: server message: insufficient_scope: '
                         'authorization failed')
    with pytest.raises(StatusError) as err:
        c.api.logs("typo")
    assert 'is waiting to start: trying and failing to pull image' in str(err.value)


def test_unknown_tag_and_retries_back_off(c: Cluster) -> None:
    c.api.create(pod("bad-tag", "nginx:1.999"))
    c.advance(60 * 10)
    events = messages(c, "bad-tag")
    assert any('"docker.io/library/nginx:1.999": docker.io/library/nginx:1.999: not found' in m for _, _, m in events)
    pulls = next(e for e in events_for(c.engine.store, c.api.get("Pod", "bad-tag")) if e["reason"] == "Pulling")
    # back-off 10, 20, 40, 80, 160, 300: a handful of attempts in ten minutes, not hundreds
    assert 4 <= pulls["count"] <= 8


def test_missing_configmap_then_created(c: Cluster) -> None:
    c.api.create(pod("cfg", container={"envFrom": [{"configMapRef": {"name": "echo-server-config-v1"}}]}))
    c.settle()
    waiting = state(c, "cfg")["state"]["waiting"]
    assert waiting == {"reason": "CreateContainerConfigError", "message": 'configmap "echo-server-config-v1" not found'}
    assert ("Warning", "Failed", 'Error: configmap "echo-server-config-v1" not found') in messages(c, "cfg")
    c.api.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "echo-server-config-v1"},
                  "data": {"PORT": "3000"}})
    c.settle()
    assert status(c, "cfg")["phase"] == "Running"
    assert "PORT=3000\n" in c.api.exec("cfg", None, None, ["env"]).stdout


def test_missing_key_and_secret_messages(c: Cluster) -> None:
    c.api.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}, "data": {"a": "1"}})
    c.api.create(pod("key", container={"env": [{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "b"}}}]}))
    c.api.create(pod("sec", container={"env": [{"name": "X", "valueFrom": {"secretKeyRef": {"name": "s", "key": "b"}}}]}))
    c.settle()
    assert state(c, "key")["state"]["waiting"]["message"] == "couldn't find key b in ConfigMap default/cm"
    assert state(c, "sec")["state"]["waiting"]["message"] == 'secret "s" not found'


def test_env_is_frozen_but_configmap_volume_follows(c: Cluster) -> None:
    c.api.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "conf"}, "data": {"PORT": "3000"}})
    spec = pod("app", container={"envFrom": [{"configMapRef": {"name": "conf"}}],
                                 "volumeMounts": [{"name": "cfg", "mountPath": "/etc/config"}]},
               volumes=[{"name": "cfg", "configMap": {"name": "conf"}}])
    c.api.create(spec)
    c.settle()
    assert c.api.exec("app", None, None, ["printenv", "PORT"]).stdout == "3000\n"
    assert c.api.exec("app", None, None, ["cat", "/etc/config/PORT"]).stdout == "3000"
    assert c.api.exec("app", None, None, ["ls", "/etc/config"]).stdout == "PORT\n"
    cm = c.api.get("ConfigMap", "conf")
    cm["data"]["PORT"] = "4000"
    c.api.update(cm)
    c.advance(2)
    assert c.api.exec("app", None, None, ["cat", "/etc/config/PORT"]).stdout == "3000"  # not yet
    c.advance(60)
    assert c.api.exec("app", None, None, ["printenv", "PORT"]).stdout == "3000\n"
    assert c.api.exec("app", None, None, ["cat", "/etc/config/PORT"]).stdout == "4000"


def test_env_sources(c: Cluster) -> None:
    c.api.create({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
                  "data": {"password": base64.b64encode(b"hunter2").decode()}})
    c.api.create(pod("env", container={
        "env": [{"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "s", "key": "password"}}},
                {"name": "ME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                {"name": "NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                {"name": "GREETING", "value": "hello $(ME)"},
                {"name": "MEM", "valueFrom": {"resourceFieldRef": {"resource": "limits.memory", "divisor": "1Mi"}}}],
        "resources": {"limits": {"memory": "128Mi", "cpu": "500m"}}}))
    c.settle()
    env = c.api.exec("env", None, None, ["env"]).stdout
    ip = status(c, "env")["podIP"]
    for line in ("PASSWORD=hunter2", "ME=env", "NS=default", f"IP={ip}", "GREETING=hello env", "MEM=128",
                 "HOSTNAME=env"):
        assert line + "\n" in env
    assert status(c, "env")["qosClass"] == "Guaranteed"


def test_crash_loop_back_off_timings(c: Cluster) -> None:
    c.api.create(busybox("crash", "sh", "-c", "echo boom; exit 1"))
    c.advance(4)
    cs = state(c, "crash")
    # first crash: restarted at once
    assert cs["restartCount"] >= 1
    c.engine.settle(30, until=lambda: "waiting" in state(c, "crash")["state"]
                    and state(c, "crash")["state"]["waiting"]["reason"] == "CrashLoopBackOff")
    cs = state(c, "crash")
    assert cs["restartCount"] == 1
    assert cs["state"]["waiting"]["message"].startswith("back-off 10s restarting failed container=crash pod=crash_default(")
    assert cs["lastState"]["terminated"]["exitCode"] == 1
    assert cs["lastState"]["terminated"]["reason"] == "Error"
    assert status(c, "crash")["phase"] == "Running"
    assert cond(c, "crash", "Ready") == "False"
    t0 = c.clock.now()
    c.engine.settle(60, until=lambda: state(c, "crash")["restartCount"] == 2)
    assert 9 <= c.clock.now() - t0 <= 11
    c.engine.settle(60, until=lambda: "waiting" in state(c, "crash")["state"])
    assert "back-off 20s" in state(c, "crash")["state"]["waiting"]["message"]
    c.advance(3600)
    msg = state(c, "crash")["state"]["waiting"]["message"] if "waiting" in state(c, "crash")["state"] else ""
    assert "back-off 5m0s" in msg or state(c, "crash")["state"].get("running")
    assert any(r == "BackOff" and m.startswith("Back-off restarting failed container crash in pod crash_default(")
               for _, r, m in messages(c, "crash"))
    assert c.api.logs("crash", previous=True) == "boom\n"


def test_restart_policies(c: Cluster) -> None:
    c.api.create(busybox("done", "sh", "-c", "echo hi", restartPolicy="Never"))
    c.api.create(busybox("fail", "sh", "-c", "exit 3", restartPolicy="Never"))
    c.api.create(busybox("retry", "sh", "-c", "exit 3", restartPolicy="OnFailure"))
    c.api.create(busybox("ok", "sh", "-c", "true", restartPolicy="OnFailure"))
    c.settle()
    assert status(c, "done")["phase"] == "Succeeded"
    assert state(c, "done")["state"]["terminated"]["reason"] == "Completed"
    assert cond(c, "done", "Ready") == "False"
    assert status(c, "fail")["phase"] == "Failed"
    assert state(c, "fail")["state"]["terminated"]["exitCode"] == 3
    assert status(c, "ok")["phase"] == "Succeeded"
    c.advance(30)
    assert status(c, "retry")["phase"] == "Running"
    assert state(c, "retry")["restartCount"] >= 1
    assert c.api.logs("done") == "hi\n"


def test_busybox_default_command_completes_and_sleep_keeps_running(c: Cluster) -> None:
    c.api.create(busybox("plain"))
    c.api.create(busybox("sleeper", "sleep", "3600"))
    c.advance(10)
    assert state(c, "plain")["restartCount"] >= 1 or "terminated" in state(c, "plain")["state"]
    assert status(c, "sleeper")["phase"] == "Running"
    assert state(c, "sleeper")["ready"]


def test_init_container(c: Cluster) -> None:
    spec = pod("init", initContainers=[{"name": "setup", "image": "busybox", "command": ["sh", "-c", "sleep 5"]}])
    c.api.create(spec)
    c.advance(3)
    st = status(c, "init")
    assert st["phase"] == "Pending"
    assert cond(c, "init", "Initialized") == "False"
    assert st["containerStatuses"][0]["state"]["waiting"]["reason"] == "PodInitializing"
    assert c.settle()
    st = status(c, "init")
    assert st["phase"] == "Running"
    assert st["initContainerStatuses"][0]["state"]["terminated"]["reason"] == "Completed"
    assert cond(c, "init", "Initialized") == "True"


def test_readiness_probe_gates_ready(c: Cluster) -> None:
    good = {"readinessProbe": {"httpGet": {"path": "/", "port": 3000}, "initialDelaySeconds": 5}}
    bad = {"readinessProbe": {"httpGet": {"path": "/", "port": 8080}, "periodSeconds": 5}}
    c.api.create(pod("good", container=good))
    c.api.create(pod("bad", container=bad))
    c.advance(4)
    assert status(c, "good")["phase"] == "Running" and cond(c, "good", "Ready") == "False"
    c.settle()
    assert cond(c, "good", "Ready") == "True"
    assert cond(c, "bad", "Ready") == "False"
    assert cond(c, "bad", "ContainersReady") == "False"
    ip = status(c, "bad")["podIP"]
    assert ("Warning", "Unhealthy", f'Readiness probe failed: Get "http://{ip}:8080/": dial tcp {ip}:8080: '
            "connect: connection refused") in messages(c, "bad")


def test_liveness_probe_restarts_container(c: Cluster) -> None:
    c.api.create(busybox("live", "sh", "-c", "touch /tmp/healthy; sleep 30; rm -f /tmp/healthy; sleep 600",
                         container={"livenessProbe": {"exec": {"command": ["cat", "/tmp/healthy"]},
                                                      "initialDelaySeconds": 5, "periodSeconds": 5}}))
    c.advance(30)
    assert state(c, "live")["restartCount"] == 0
    c.advance(60)
    assert state(c, "live")["restartCount"] >= 1
    events = messages(c, "live")
    assert ("Warning", "Unhealthy", "Liveness probe failed: cat: can't open '/tmp/healthy': No such file or directory") \
        in events
    assert ("Normal", "Killing", "Container live failed liveness probe, will be restarted") in events


def test_graceful_deletion(c: Cluster) -> None:
    c.api.create(pod("echo"))
    c.api.create(busybox("sleepy", "sleep", "3600"))
    c.settle()
    c.api.delete("Pod", "echo")
    c.advance(0.1)
    meta = c.api.get("Pod", "echo")["metadata"]
    assert meta["deletionTimestamp"] and meta["deletionGracePeriodSeconds"] == 30
    assert ("Normal", "Killing", "Stopping container echo-container") in messages(c, "echo")
    c.advance(2)
    with pytest.raises(StatusError):
        c.api.get("Pod", "echo")  # the echo server exits on SIGTERM at once
    c.api.delete("Pod", "sleepy")
    c.advance(29)
    assert c.api.get("Pod", "sleepy")["metadata"]["deletionTimestamp"]  # sleep ignores SIGTERM
    c.advance(2)
    with pytest.raises(StatusError):
        c.api.get("Pod", "sleepy")


def test_grace_period_from_pod_and_request(c: Cluster) -> None:
    c.api.create(busybox("short", "sleep", "3600", terminationGracePeriodSeconds=5))
    c.api.create(busybox("forced", "sleep", "3600"))
    c.settle()
    c.api.delete("Pod", "short")
    assert c.api.get("Pod", "short")["metadata"]["deletionGracePeriodSeconds"] == 5
    c.advance(6)
    assert not c.api.list("Pod", field_selector="metadata.name=short")["items"]
    ip = status(c, "forced")["podIP"]
    c.api.delete("Pod", "forced", grace_period=0)
    assert not c.api.list("Pod", field_selector="metadata.name=forced")["items"]
    c.settle()
    assert ip not in c.network.sandboxes


def test_unbound_pod_is_removed_at_once(c: Cluster) -> None:
    spec = pod("nowhere", nodeSelector={"disk": "none-such"})
    c.api.create(spec)
    c.settle()
    assert not c.api.get("Pod", "nowhere")["spec"].get("nodeName")
    c.api.delete("Pod", "nowhere")
    assert not c.api.list("Pod", field_selector="metadata.name=nowhere")["items"]


def test_logs_and_exec_errors(c: Cluster) -> None:
    c.api.create(pod("echo"))
    with pytest.raises(StatusError) as err:
        c.api.logs("echo")
    assert str(err.value).endswith('container "echo-container" in pod "echo" is waiting to start: ContainerCreating')
    with pytest.raises(StatusError) as err:
        c.api.exec("echo", None, None, ["ls"])
    assert 'container not found ("echo-container")' in str(err.value)
    c.settle()
    with pytest.raises(StatusError) as err:
        c.api.logs("echo", previous=True)
    assert 'previous terminated container "echo-container" in pod "echo" not found' in str(err.value)
    with pytest.raises(StatusError) as err:
        c.api.logs("echo", container="nope")
    assert "container nope is not valid for pod echo" in str(err.value)
    result = c.api.exec("echo", None, None, ["bash"])
    assert result.exit_code == 126
    assert result.stderr == ('OCI runtime exec failed: exec failed: unable to start container process: exec: "bash": '
                             "executable file not found in $PATH: unknown\n")
    assert c.api.exec("echo", None, None, ["hostname"]).stdout == "echo\n"


def test_command_not_in_image_is_a_start_error(c: Cluster) -> None:
    c.api.create(busybox("nobash", "bash", "-c", "echo hi"))
    c.advance(5)
    cs = state(c, "nobash")
    last = cs["lastState"].get("terminated") or cs["state"].get("terminated")
    assert last["reason"] == "StartError" and last["exitCode"] == 128
    assert 'exec: "bash": executable file not found in $PATH' in last["message"]


def test_database_without_password_crash_loops(c: Cluster) -> None:
    c.api.create(pod("db", "postgres:16"))
    c.advance(30)
    assert state(c, "db")["restartCount"] >= 1
    assert "superuser password is not specified" in c.api.logs("db", previous=True)


def test_node_reports_its_images(c: Cluster) -> None:
    """status.images: the preloaded system images from boot, pulled images once pulled, largest
    first, digests then tags; another pod of a present image writes nothing to the Node."""
    first = c.api.get("Node", "kubelab")
    boot = first["status"]["images"]
    assert [i["names"][1] for i in boot][:2] == ["registry.k8s.io/etcd:3.5.16-0", "registry.k8s.io/kube-proxy:v1.32.0"]
    assert [i["sizeBytes"] for i in boot] == sorted((i["sizeBytes"] for i in boot), reverse=True)
    c.api.create(pod("one", "nginx:1.27", nodeName="kubelab"))
    c.settle()
    images = c.api.get("Node", "kubelab")["status"]["images"]
    digest = state(c, "one")["imageID"].split("@")[1]
    assert images[0] == {"names": [f"nginx@{digest}", "nginx:1.27"], "sizeBytes": images[0]["sizeBytes"]}
    assert images[1:] == boot
    version = c.api.get("Node", "kubelab")["metadata"]["resourceVersion"]
    c.api.create(pod("two", "nginx:1.27", nodeName="kubelab"))
    c.settle()
    assert state(c, "two")["ready"]
    assert c.api.get("Node", "kubelab")["metadata"]["resourceVersion"] == version


def test_node_reports_at_most_fifty_images() -> None:
    c = Cluster(clock="virtual", seed=3, nodes=1,
                images={f"example/app{i}": {"size": 1000 + i} for i in range(60)})
    c.kubelet.add_images("kubelab", [f"docker.io/example/app{i}:latest" for i in range(60)])
    images = c.api.get("Node", "kubelab")["status"]["images"]
    assert len(images) == 50 and images[0]["names"][1] == "registry.k8s.io/etcd:3.5.16-0"
    assert images[-1]["names"][1] == "example/app17:latest"  # the 7 system images, then app59..app17


def test_an_image_change_restarts_the_container_with_the_new_image(c: Cluster) -> None:
    """``kubectl set image pod/...``: the kubelet kills the container ("definition changed, will
    be restarted") and starts it again with the new image, whatever the restart policy; one stuck
    pulling a typo stops backing off and pulls the fixed image at once."""
    c.api.create(pod("hello", "nginx", restartPolicy="Never"))
    c.settle()
    first = state(c, "hello")
    assert "running" in first["state"] and first["image"] == "docker.io/library/nginx:latest"
    assert c.kubectl("set image pod/hello hello-container=nginx:1.27").returncode == 0
    c.settle()
    now = state(c, "hello")
    assert "running" in now["state"] and now["image"] == "docker.io/library/nginx:1.27"
    assert now["restartCount"] == 1 and now["containerID"] != first["containerID"]
    assert now["lastState"]["terminated"]["reason"] == "Completed"  # nginx exits 0 on SIGTERM
    assert ("Normal", "Killing", "Container hello-container definition changed, will be restarted") in messages(c, "hello")
    assert ("Normal", "Pulling", 'Pulling image "nginx:1.27"') in messages(c, "hello")

    c.api.create(pod("typo", "ngnix"))
    c.advance(90)  # deep in ImagePullBackOff (the next retry is minutes away)
    assert state(c, "typo")["state"]["waiting"]["reason"] in ("ImagePullBackOff", "ErrImagePull")
    c.kubectl("set image pod/typo typo-container=nginx")
    c.advance(5)
    fixed = state(c, "typo")
    assert "running" in fixed["state"] and fixed["image"] == "docker.io/library/nginx:latest"
    assert fixed["restartCount"] == 0


def test_native_sidecar_runs_beside_the_main_containers_and_lets_a_job_complete():
    """A restartable init container (restartPolicy: Always) starts before the main
    containers without having to exit, is restarted when it exits, and is stopped once the
    main containers are done: the docs' job-sidecar.yaml completes."""
    from kubelab import Cluster

    c = Cluster(clock="virtual", seed=3)
    volume = [{"name": "data", "mountPath": "/opt"}]
    c.api.create({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "with-sidecar"}, "spec": {
        "template": {"spec": {
            "restartPolicy": "Never", "volumes": [{"name": "data", "emptyDir": {}}],
            "initContainers": [{"name": "shipper", "image": "alpine", "restartPolicy": "Always",
                                "command": ["sh", "-c", "tail -F /opt/logs.txt"], "volumeMounts": volume}],
            "containers": [{"name": "main", "image": "alpine", "volumeMounts": volume,
                            "command": ["sh", "-c", "sleep 5; echo logging > /opt/logs.txt"]}]}}}})
    c.advance(3)
    pod = c.api.list("Pod", "default", label_selector="job-name=with-sidecar")["items"][0]
    init = pod["status"]["initContainerStatuses"][0]
    assert "running" in init["state"] and init["ready"] is True
    assert [x["status"] for x in pod["status"]["conditions"] if x["type"] == "Initialized"] == ["True"]
    c.advance(120)
    job = c.api.get("Job", "with-sidecar")
    assert [x["type"] for x in job["status"]["conditions"] if x["status"] == "True"][-1] == "Complete"
    name = pod["metadata"]["name"]
    assert "logging" in c.api.logs(name, "default", "shipper")


def test_host_aliases_and_dns_config_shape_etc_hosts_and_resolv_conf():
    """hostAliases are appended to the managed /etc/hosts; dnsPolicy None keeps only
    dnsConfig, and ClusterFirst merges dnsConfig into the cluster's resolv.conf."""
    from kubelab import Cluster

    c = Cluster(clock="virtual", seed=3)
    box = {"name": "box", "image": "busybox", "command": ["sleep", "3600"]}
    c.api.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "aliases"}, "spec": {
        "containers": [box], "hostAliases": [{"ip": "10.1.2.3", "hostnames": ["foo.remote", "bar.remote"]}],
        "dnsPolicy": "None", "dnsConfig": {"nameservers": ["192.0.2.1"], "searches": ["ns1.svc.example"],
                                            "options": [{"name": "ndots", "value": "2"}, {"name": "edns0"}]}}})
    c.api.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "merged"}, "spec": {
        "containers": [box], "dnsConfig": {"searches": ["my.suffix"], "options": [{"name": "ndots", "value": "1"}]}}})
    c.api.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "plain"}, "spec": {"containers": [box]}})
    c.advance(20)

    def cat(pod: str, path: str) -> str:
        return c.api.exec(pod, "default", None, ["cat", path]).stdout

    assert cat("aliases", "/etc/hosts").endswith("\n# Entries added by HostAliases.\n10.1.2.3\tfoo.remote\tbar.remote\n")
    assert cat("aliases", "/etc/resolv.conf") == "search ns1.svc.example\nnameserver 192.0.2.1\noptions ndots:2 edns0\n"
    assert cat("merged", "/etc/resolv.conf") == ("search default.svc.cluster.local svc.cluster.local cluster.local "
                                                 "my.suffix\nnameserver 10.96.0.10\noptions ndots:1\n")
    assert cat("plain", "/etc/resolv.conf") == ("search default.svc.cluster.local svc.cluster.local cluster.local\n"
                                                "nameserver 10.96.0.10\noptions ndots:5\n")
    assert "HostAliases" not in cat("plain", "/etc/hosts")


def test_env_references_expand_once_in_order():
    """The docs' dependent-envars.yaml: $(VAR) sees only variables defined before it, an
    unknown reference stays as written, and $$ escapes, each value expanded exactly once."""
    from kubelab import Cluster

    c = Cluster(clock="virtual", seed=3)
    env = [{"name": "EARLY", "value": "$(PROTOCOL)://h"}, {"name": "PROTOCOL", "value": "https"},
           {"name": "LATE", "value": "$(PROTOCOL)://h"}, {"name": "ESCAPED", "value": "$$(PROTOCOL)://h"}]
    c.api.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "deps"}, "spec": {
        "containers": [{"name": "box", "image": "busybox", "command": ["sleep", "3600"], "env": env}]}})
    c.advance(20)
    out = c.api.exec("deps", "default", None, ["printenv", "EARLY", "LATE", "ESCAPED"]).stdout
    assert out == "$(PROTOCOL)://h\nhttps://h\n$(PROTOCOL)://h\n"


def test_post_start_hook_and_termination_message():
    """The docs' lifecycle-events.yaml: the postStart exec hook runs as the container starts;
    a failing one kills it (FailedPostStartHook). termination.yaml: what the container wrote to
    /dev/termination-log is its terminated state's message."""
    from kubelab import Cluster

    c = Cluster(clock="virtual", seed=3)
    hook = {"postStart": {"exec": {"command": ["/bin/sh", "-c", "echo hello > /usr/share/message"]}}}
    c.api.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "hooked"}, "spec": {
        "containers": [{"name": "web", "image": "nginx", "lifecycle": hook}]}})
    bad = {"postStart": {"exec": {"command": ["sh", "-c", "exit 3"]}}}
    c.api.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "badhook"}, "spec": {
        "containers": [{"name": "web", "image": "nginx", "lifecycle": bad}]}})
    c.api.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "bye"}, "spec": {"restartPolicy": "Never",
        "containers": [{"name": "bye", "image": "debian", "command": ["sh", "-c", "echo Sleep expired > /dev/termination-log"]}]}})
    c.advance(30)
    assert c.api.exec("hooked", "default", None, ["cat", "/usr/share/message"]).stdout == "hello\n"
    events = [(e["type"], e["reason"], e["message"]) for e in c.api.list("Event", "default")["items"]
              if e["involvedObject"]["name"] == "badhook"]
    assert [e for e in events if e[1] in ("Started", "FailedPostStartHook", "Killing")][:3] == [
        ("Normal", "Started", "Started container web"), ("Warning", "FailedPostStartHook", "PostStartHook failed"),
        ("Normal", "Killing", "FailedPostStartHook")]
    assert c.api.get("Pod", "badhook")["status"]["containerStatuses"][0]["restartCount"] >= 1
    term = c.api.get("Pod", "bye")["status"]["containerStatuses"][0]["state"]["terminated"]
    assert (term["reason"], term["message"]) == ("Completed", "Sleep expired\n")


def _gone_after(c: Cluster, name: str, limit: float = 400) -> float:
    """Delete a running pod and step the clock until it leaves the store: how long that took."""
    start = c.clock.now()
    c.api.delete("Pod", name)
    while c.engine.store.get("Pod", "default", name) is not None and c.clock.now() - start < limit:
        c.advance(0.5)
    return c.clock.now() - start


def test_pre_stop_hook_runs_before_sigterm_within_the_grace_period(c: Cluster) -> None:
    """The docs' explore-graceful-termination-nginx.yaml: a preStop ``sleep 180`` with a 120 s
    grace period keeps the pod Terminating (and nginx serving) for the whole 120 s, then nginx
    gets SIGTERM with the 2 s the kubelet always leaves; a sleep action holds it its 5 s;
    without a hook nginx goes at once."""
    hook = {"preStop": {"exec": {"command": ["/bin/sh", "-c", "sleep 180"]}}}
    c.api.create(pod("slow", "nginx", terminationGracePeriodSeconds=120, container={"lifecycle": hook}))
    c.api.create(pod("nap", "nginx", container={"lifecycle": {"preStop": {"sleep": {"seconds": 5}}}}))
    c.api.create(pod("plain", "nginx"))
    assert c.settle()
    start = c.clock.now()
    c.api.delete("Pod", "slow")
    c.advance(110)
    assert c.api.get("Pod", "slow")["metadata"]["deletionTimestamp"]
    assert state(c, "slow")["state"].get("running"), "the container runs while its preStop hook does"
    while c.engine.store.get("Pod", "default", "slow") is not None and c.clock.now() - start < 300:
        c.advance(0.5)
    assert 120 <= c.clock.now() - start <= 123
    assert 5 <= _gone_after(c, "nap") <= 7
    assert _gone_after(c, "plain") < 2


def test_a_failing_pre_stop_hook_is_a_warning_and_the_container_still_stops(c: Cluster) -> None:
    """executePreStopHook records FailedPreStopHook without the hook's output (it could hold a
    secret); SIGTERM follows as it would after a hook that worked. An httpGet hook fails only
    when the request cannot be made."""
    for name, handler in (("exits", {"exec": {"command": ["sh", "-c", "echo secret; exit 3"]}}),
                          ("missing", {"exec": {"command": ["nodetool", "drain"]}}),
                          ("refused", {"httpGet": {"port": 81, "path": "/"}}),
                          ("tcp", {"tcpSocket": {"port": 80}}),  # valid, but no runner handles it
                          ("served", {"httpGet": {"port": 80, "path": "/nope"}})):
        c.api.create(pod(name, "nginx", container={"lifecycle": {"preStop": handler}}))
    assert c.settle()
    for name in ("exits", "missing", "refused", "tcp", "served"):
        assert _gone_after(c, name) < 2
        events = [(e["type"], e["reason"], e["message"]) for e in c.api.list("Event", "default")["items"]
                  if e["involvedObject"]["name"] == name]  # the pod is gone, its events stay
        warned = ("Warning", "FailedPreStopHook", "PreStopHook failed") in events
        assert warned == (name != "served"), (name, events)


def test_a_pre_stop_hook_writes_where_the_next_pod_reads(c: Cluster) -> None:
    """What a preStop hook does is done before the container stops: its file in a hostPath
    volume is there for the next pod on that node."""
    volume = {"volumes": [{"name": "host", "hostPath": {"path": "/tmp/goodbye"}}], "nodeName": "kubelab"}
    mount = {"volumeMounts": [{"name": "host", "mountPath": "/data"}]}
    hook = {"preStop": {"exec": {"command": ["sh", "-c", "echo said goodbye > /data/note"]}}}
    c.api.create(busybox("first", "sleep", "3600", container={**mount, "lifecycle": hook}, **volume))
    assert c.settle()
    _gone_after(c, "first")
    c.api.create(busybox("second", "sleep", "3600", container=mount, **volume))
    assert c.settle()
    assert c.api.exec("second", "default", None, ["cat", "/data/note"]).stdout == "said goodbye\n"


def test_a_pod_with_finalizers_stays_after_its_containers_stop(c: Cluster) -> None:
    """The kubelet stops the containers and makes the status terminal; the status manager's
    final delete (grace 0) leaves the pod with its finalizers, shown Completed, until a patch
    takes them away. An unscheduled pod is marked with grace 0 at once; a later, shorter
    delete brings the deadline closer (BeforeDelete)."""
    c.api.create({**pod("held", "nginx"), "metadata": {"name": "held", "finalizers": ["example.com/keep"]}})
    c.api.create({**pod("pend", nodeSelector={"disk": "none"}),
                  "metadata": {"name": "pend", "finalizers": ["example.com/keep"]}})
    c.api.create(pod("slow", "nginx", terminationGracePeriodSeconds=120,
                     container={"lifecycle": {"preStop": {"exec": {"command": ["sleep", "600"]}}}}))
    assert c.settle()
    first = c.clock.now()
    for name in ("held", "pend", "slow"):
        c.api.delete("Pod", name)
    c.advance(5)
    c.api.delete("Pod", "slow", grace_period=10)
    assert c.api.get("Pod", "pend")["metadata"]["deletionGracePeriodSeconds"] == 0
    slow = c.api.get("Pod", "slow")["metadata"]
    assert slow["deletionGracePeriodSeconds"] == 10
    assert slow["deletionTimestamp"] == c.clock.timestamp(first + 10)
    c.advance(60)
    assert c.engine.store.get("Pod", "default", "slow") is None, "the shortened grace period ended it"
    held = c.api.get("Pod", "held")
    assert held["metadata"]["deletionGracePeriodSeconds"] == 0 and held["status"]["phase"] == "Succeeded"
    assert c.kubectl("get pod held --no-headers").stdout.split()[2] == "Completed"
    c.api.patch("Pod", "held", "default", {"metadata": {"finalizers": None}}, patch_type="merge")
    assert c.engine.store.get("Pod", "default", "held") is None


def test_downward_api_volume_resource_files():
    """The docs' dapi-volume-resources.yaml: resourceFieldRef items as files, in the divisor's
    units (250m cpu limit / 1m = 250; 32Mi request / 1Mi = 32)."""
    from kubelab import Cluster

    c = Cluster(clock="virtual", seed=3)
    item = lambda path, res, div: {"path": path, "resourceFieldRef": {"containerName": "box", "resource": res,  # noqa: E731
                                                                      "divisor": div}}
    c.api.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "res"}, "spec": {
        "containers": [{"name": "box", "image": "busybox", "command": ["sleep", "3600"],
                        "resources": {"requests": {"cpu": "125m", "memory": "32Mi"},
                                      "limits": {"cpu": "250m", "memory": "64Mi"}},
                        "volumeMounts": [{"name": "info", "mountPath": "/etc/podinfo"}]}],
        "volumes": [{"name": "info", "downwardAPI": {"items": [
            item("cpu_limit", "limits.cpu", "1m"), item("mem_request", "requests.memory", "1Mi"),
            item("cpu_cores", "limits.cpu", "1")]}}]}})
    c.advance(20)
    out = c.api.exec("res", "default", None, ["sh", "-c", "cat /etc/podinfo/cpu_limit; echo; "
                                                         "cat /etc/podinfo/mem_request; echo; cat /etc/podinfo/cpu_cores"])
    assert out.stdout.split() == ["250", "32", "1"]


def test_security_context_sets_the_process_user():
    """The docs' security-context.yaml: runAsUser/runAsGroup/fsGroup/supplementalGroups are
    what busybox's id prints; a container's runAsUser overrides the pod's."""
    from kubelab import Cluster

    c = Cluster(clock="virtual", seed=3)
    box = {"name": "box", "image": "busybox:1.28", "command": ["sleep", "3600"]}
    c.api.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "ctx"}, "spec": {
        "securityContext": {"runAsUser": 1000, "runAsGroup": 3000, "fsGroup": 2000, "supplementalGroups": [4000]},
        "containers": [box, {**box, "name": "other", "securityContext": {"runAsUser": 2000}}]}})
    c.api.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "root"}, "spec": {"containers": [box]}})
    c.advance(20)
    assert c.api.exec("ctx", "default", "box", ["id"]).stdout == "uid=1000 gid=3000 groups=2000,3000,4000\n"
    assert c.api.exec("ctx", "default", "other", ["id"]).stdout.startswith("uid=2000 gid=3000 ")
    assert c.api.exec("root", "default", None, ["id"]).stdout == "uid=0(root) gid=0(root) groups=0(root),10(wheel)\n"


def test_a_pod_kept_by_finalizers_stays_finished_across_a_restart(tmp_path) -> None:
    """Restored from its state file, a pod that finished terminating and waits on its
    finalizers is not started again: it stays Succeeded with grace 0 until they go."""
    state = tmp_path / "cluster.db"
    first = Cluster(clock="virtual", state=state)
    first.api.create({**pod("held", "nginx"), "metadata": {"name": "held", "finalizers": ["example.com/keep"]}})
    assert first.settle()
    first.api.delete("Pod", "held")
    assert first.settle()
    first.close()
    again = Cluster(clock="virtual", state=state)
    assert again.settle()
    held = again.api.get("Pod", "held")
    assert (held["status"]["phase"], held["metadata"]["deletionGracePeriodSeconds"]) == ("Succeeded", 0)
    assert all("running" not in s["state"] for s in held["status"]["containerStatuses"])
    again.api.patch("Pod", "held", "default", {"metadata": {"finalizers": None}}, patch_type="merge")
    assert again.engine.store.get("Pod", "default", "held") is None
