"""Python clients nobody here wrote, against ``cluster.serve()`` on a real clock: the official
``kubernetes`` client, kr8s and lightkube, through the server's kubeconfig (HTTPS, its token).
CRUD, lists and watches. (Their exec tests come with the streaming subresources.)"""
from __future__ import annotations

import asyncio
import threading
import time

import pytest

from kubelab import Cluster

kubernetes = pytest.importorskip("kubernetes")
kr8s = pytest.importorskip("kr8s")
lightkube = pytest.importorskip("lightkube")

DEPLOYMENT = {"apiVersion": "apps/v1", "kind": "Deployment",
              "metadata": {"name": "web", "labels": {"app": "web"}},
              "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                       "template": {"metadata": {"labels": {"app": "web"}},
                                    "spec": {"containers": [{"name": "web", "image": "nginx"}]}}}}


@pytest.fixture(scope="module")
def cluster():
    return Cluster(seed=1)  # the real clock, as a notebook's


@pytest.fixture(scope="module")
def server(cluster):
    with cluster.serve() as s:
        yield s


def _later(seconds: float, action) -> threading.Thread:
    """Run ``action`` in a thread after ``seconds`` (a change for a watch already streaming)."""
    def run() -> None:
        time.sleep(seconds)
        action()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


# -- the official client ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def api(server):
    from kubernetes import config

    return config.new_client_from_config(config_file=server.kubeconfig)


def test_official_client_crud(api, cluster):
    from kubernetes import client
    from kubernetes.client.rest import ApiException

    core = client.CoreV1Api(api)
    made = core.create_namespaced_config_map("default", client.V1ConfigMap(
        metadata=client.V1ObjectMeta(name="official"), data={"a": "1"}))
    assert made.metadata.uid == cluster.client.get("ConfigMap", "official", "default")["metadata"]["uid"]
    assert core.read_namespaced_config_map("official", "default").data == {"a": "1"}
    patched = core.patch_namespaced_config_map("official", "default", {"data": {"b": "2"}})
    assert patched.data == {"a": "1", "b": "2"}
    patched.data["a"] = "changed"
    assert core.replace_namespaced_config_map("official", "default", patched).data["a"] == "changed"
    with pytest.raises(ApiException) as stale:
        core.replace_namespaced_config_map("official", "default", patched)
    assert stale.value.status == 409
    names = [c.metadata.name for c in core.list_namespaced_config_map("default").items]
    assert "official" in names
    page = core.list_namespaced_config_map("default", limit=1)
    assert len(page.items) == 1 and page.metadata._continue
    core.delete_namespaced_config_map("official", "default")
    with pytest.raises(ApiException) as gone:
        core.read_namespaced_config_map("official", "default")
    assert gone.value.status == 404 and '"reason":"NotFound"' in gone.value.body.replace(" ", "")


def test_official_client_deployment_and_scale(api, cluster):
    from kubernetes import client

    apps = client.AppsV1Api(api)
    apps.create_namespaced_deployment("default", DEPLOYMENT)
    apps.patch_namespaced_deployment_scale("web", "default", {"spec": {"replicas": 3}})
    assert apps.read_namespaced_deployment("web", "default").spec.replicas == 3
    assert apps.read_namespaced_deployment_scale("web", "default").spec.replicas == 3
    apps.delete_namespaced_deployment("web", "default")


def test_official_client_watch_stream(api, cluster):
    """watch.Watch().stream sends watch=True: it gets events, not a list."""
    from kubernetes import client, watch

    core = client.CoreV1Api(api)
    rv = core.list_namespaced_config_map("default").metadata.resource_version
    _later(0.5, lambda: cluster.client.create({"apiVersion": "v1", "kind": "ConfigMap",
                                               "metadata": {"name": "watched"}}))
    seen = []
    w = watch.Watch()
    for event in w.stream(core.list_namespaced_config_map, "default", resource_version=rv, timeout_seconds=10):
        seen.append((event["type"], event["object"].metadata.name))
        if event["object"].metadata.name == "watched":
            w.stop()
    assert seen == [("ADDED", "watched")]
    assert isinstance(event["object"], client.V1ConfigMap)
    cluster.client.delete("ConfigMap", "watched", "default")


# -- kr8s ---------------------------------------------------------------------------------------
def test_kr8s_crud_and_watch(server, cluster):
    from kr8s.asyncio.objects import ConfigMap

    async def scenario() -> list[tuple[str, str]]:
        api = await kr8s.asyncio.api(kubeconfig=server.kubeconfig)
        version = await api.version()
        assert version["gitVersion"].startswith("v1.32.")
        cm = await ConfigMap({"metadata": {"name": "kr8s", "namespace": "default"}, "data": {"a": "1"}}, api=api)
        await cm.create()
        assert cm.metadata.uid == cluster.client.get("ConfigMap", "kr8s", "default")["metadata"]["uid"]
        await cm.patch({"data": {"a": "2"}})
        fetched = await ConfigMap.get("kr8s", namespace="default", api=api)
        assert fetched.data["a"] == "2"
        listed = [c.name async for c in api.get("configmaps", namespace="default")]
        assert "kr8s" in listed
        seen: list[tuple[str, str]] = []
        since = cluster.client.list("ConfigMap", "default")["metadata"]["resourceVersion"]

        async def watch() -> None:
            events = api.watch("configmaps", namespace="default", since=since)
            try:
                async for event, obj in events:
                    seen.append((event, obj.name))
                    if event == "DELETED" and obj.name == "kr8s":
                        return
            finally:
                await events.aclose()

        watcher = asyncio.create_task(watch())
        await asyncio.sleep(0.5)
        await cm.delete()
        await asyncio.wait_for(watcher, 15)
        return seen

    assert asyncio.run(scenario()) == [("DELETED", "kr8s")]


# -- lightkube -----------------------------------------------------------------------------------
def test_lightkube_crud_list_and_watch(server, cluster):
    from lightkube import Client, KubeConfig
    from lightkube.core.exceptions import ApiError
    from lightkube.models.meta_v1 import ObjectMeta
    from lightkube.resources.apps_v1 import Deployment
    from lightkube.resources.core_v1 import ConfigMap

    client = Client(KubeConfig.from_file(server.kubeconfig), namespace="default")
    made = client.create(ConfigMap(metadata=ObjectMeta(name="light"), data={"a": "1"}))
    assert made.metadata.uid == cluster.client.get("ConfigMap", "light", "default")["metadata"]["uid"]
    assert client.get(ConfigMap, "light").data == {"a": "1"}
    patched = client.patch(ConfigMap, "light", {"data": {"b": "2"}})
    assert patched.data == {"a": "1", "b": "2"}
    assert "light" in [c.metadata.name for c in client.list(ConfigMap)]
    assert len(list(client.list(ConfigMap, chunk_size=1))) == len(list(client.list(ConfigMap)))
    client.create(Deployment.from_dict(DEPLOYMENT | {"metadata": {"name": "light-web", "labels": {"app": "web"}}}))
    assert client.get(Deployment, "light-web").spec.replicas == 2
    client.delete(Deployment, "light-web")

    rv = cluster.client.list("ConfigMap", "default")["metadata"]["resourceVersion"]
    _later(0.5, lambda: client.delete(ConfigMap, "light"))
    seen = []
    for event, obj in client.watch(ConfigMap, resource_version=rv, server_timeout=10):
        seen.append((event, obj.metadata.name))
        if event == "DELETED":
            break
    assert seen == [("DELETED", "light")]
    with pytest.raises(ApiError) as gone:
        client.get(ConfigMap, "light")
    assert gone.value.status.code == 404
