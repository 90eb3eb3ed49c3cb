"""The served API's speed: requests per second on one kept-alive connection (a small GET and a
50-pod list, as kubectl and the Python clients keep their connections), and watch latency
(from a write through the engine to the event arriving on a watch stream). It prints numbers
and never fails on time.

Run: ``python bench/bench_server.py``
"""
from __future__ import annotations

import http.client
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kubelab import Cluster  # noqa: E402
from kubelab.server import serve  # noqa: E402


def _headers(server) -> dict[str, str]:
    token = getattr(server, "token", None)
    return {"Accept": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}


def requests_per_second(server, path: str, seconds: float = 2.0) -> tuple[float, int]:
    conn = http.client.HTTPSConnection("127.0.0.1", server.port, timeout=10, context=server.client_tls())
    headers = _headers(server)
    count, size = 0, 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        size = len(response.read())
        assert response.status == 200, response.status
        count += 1
    conn.close()
    return count / (time.perf_counter() - start), size


def watch_latency(cluster: Cluster, server, rounds: int = 30) -> list[float]:
    """Seconds from client.create to its ADDED event read off the watch stream."""
    rv = cluster.client.list("ConfigMap", "default")["metadata"]["resourceVersion"]
    conn = http.client.HTTPSConnection("127.0.0.1", server.port, timeout=10, context=server.client_tls())
    conn.request("GET", f"/api/v1/namespaces/default/configmaps?watch=true&resourceVersion={rv}",
                 headers=_headers(server))
    response = conn.getresponse()
    latencies = []
    for i in range(rounds):
        start = time.perf_counter()
        cluster.client.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"w{i}"}})
        while True:
            event = json.loads(_line(response))
            if event["object"]["metadata"]["name"] == f"w{i}":
                break
        latencies.append(time.perf_counter() - start)
    conn.close()
    return latencies


def _line(response: http.client.HTTPResponse) -> bytes:
    """One newline-delimited event from a chunked watch stream (a chunk holds whole events)."""
    while True:
        line = response.readline()
        if line.strip():
            return line


def main() -> None:
    cluster = Cluster(clock="virtual", seed=1)
    for i in range(50):
        cluster.client.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"p{i}"},
                               "spec": {"containers": [{"name": "c", "image": "nginx"}]}})
    cluster.settle()
    with serve(cluster) as server:
        rate, size = requests_per_second(server, "/api/v1/namespaces/default/pods/p0")
        print(f"small GET (one pod, {size} bytes):  {rate:8.1f} req/s  ({1000 / rate:.2f} ms each)")
        rate, size = requests_per_second(server, "/api/v1/namespaces/default/pods")
        print(f"50-pod list ({size} bytes):     {rate:8.1f} req/s  ({1000 / rate:.2f} ms each)")
        lat = sorted(watch_latency(cluster, server))
        print(f"watch latency: median {lat[len(lat) // 2] * 1000:.2f} ms, max {lat[-1] * 1000:.2f} ms "
              f"({len(lat)} events)")


if __name__ == "__main__":
    main()
