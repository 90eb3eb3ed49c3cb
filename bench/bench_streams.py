"""The served streaming subresources on a real clock: what a learner's terminal waits for.

Prints, for a served embedded cluster on 127.0.0.1 (median of N, milliseconds):
- ``kubectl exec POD -- true`` through the real kubectl 1.32 (a whole process: start-up,
  discovery cache, WebSocket upgrade, the Status, the close);
- a keystroke's echo on an open ``exec -it sh`` session (WebSocket, v5.channel.k8s.io, through
  kubelab's RemoteClient, so no kubectl start-up in the figure);
- one HTTP GET through a running ``kubectl port-forward`` (SPDY in a WebSocket).
It never fails on time. Run: ``python bench/bench_streams.py [N]``.
"""
from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kubelab import Cluster  # noqa: E402
from kubelab.remote import RemoteClient  # noqa: E402
from kubelab.server import serve  # noqa: E402

KUBECTL = shutil.which("kubectl.1.32", path="/usr/lib/google-cloud-sdk/bin") or shutil.which("kubectl")


def median_ms(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1000:.1f} ms (min {min(samples) * 1000:.1f}, n={len(samples)})"


def main(n: int) -> None:
    cluster = Cluster()
    server = serve(cluster)
    home = tempfile.mkdtemp(prefix="kubelab-bench-")
    env = {"KUBECONFIG": server.kubeconfig, "HOME": home, "PATH": "/usr/bin:/bin"}
    try:
        cluster.client.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "echo", "labels": {"app": "e"}},
                               "spec": {"containers": [{"name": "e", "image": "kennship/http-echo"}]}}, "default")
        assert cluster.client.wait(lambda: cluster.client.get("Pod", "echo")["status"].get("phase") == "Running", 30)
        if KUBECTL:
            subprocess.run([KUBECTL, "get", "pods"], env=env, capture_output=True)  # fills the discovery cache
            runs = []
            for _ in range(n):
                t = time.perf_counter()
                subprocess.run([KUBECTL, "exec", "echo", "--", "true"], env=env, capture_output=True, check=True)
                runs.append(time.perf_counter() - t)
            print(f"kubectl exec POD -- true      {median_ms(runs)}")
        shell = RemoteClient(server.kubeconfig).open_exec("echo", None, None, ["sh"], stdin=True, tty=True)
        received: list[bytes] = []
        arrived = threading.Condition()

        def got(channel: int, data: bytes) -> None:
            with arrived:
                received.append(data)
                arrived.notify_all()

        shell.subscribe(got)
        with arrived:
            arrived.wait_for(lambda: b"# " in b"".join(received), 10)
        echoes = []
        for i in range(n * 5):
            with arrived:
                before = len(b"".join(received))
                t = time.perf_counter()
                shell.write(b"x")
                arrived.wait_for(lambda: len(b"".join(received)) > before, 10)  # the echoed x
                echoes.append(time.perf_counter() - t)
        shell.close()
        typed = b"".join(received).count(b"x")
        print(f"keystroke echo (exec -it sh)  {median_ms(echoes)}, {typed} of {len(echoes)} echoed")
        if KUBECTL:
            forward = subprocess.Popen([KUBECTL, "port-forward", "pod/echo", ":3000"], env=env,
                                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            line = forward.stdout.readline()  # type: ignore[union-attr]
            port = int(line.split("127.0.0.1:")[1].split(" ")[0])
            gets = []
            for _ in range(n):
                t = time.perf_counter()
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10).read()
                gets.append(time.perf_counter() - t)
            forward.terminate()
            forward.wait(10)
            print(f"GET through port-forward      {median_ms(gets)}")
    finally:
        server.close()
        shutil.rmtree(home, ignore_errors=True)
        cluster.close()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
