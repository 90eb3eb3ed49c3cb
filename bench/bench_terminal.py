"""The in-cell terminal in a real kernel: how long ``%kube run -it busybox --image=busybox --rm``
takes to return and to show the prompt, and how long a keystroke takes to come back (sent as
the view's comm message, echoed by the shell, received as the widget's custom message).

    python bench/bench_terminal.py [KEYSTROKES]
"""
from __future__ import annotations

import queue
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from jupyter_client.manager import start_new_kernel

REPO = Path(__file__).resolve().parents[1]


def main(keystrokes: int = 50) -> None:
    km, kc = start_new_kernel(kernel_name="python3")
    try:
        outputs: list[str] = []
        model = ""
        idle = [0.0]  # when the terminal's cell was done

        def pump(until: Any, timeout: float = 60) -> None:
            nonlocal model
            deadline = time.monotonic() + timeout
            while not until():
                if time.monotonic() > deadline:
                    raise TimeoutError("no answer from the kernel")
                try:
                    msg = kc.get_iopub_msg(timeout=0.05)
                except queue.Empty:
                    continue
                content = msg["content"]
                if msg["header"]["msg_type"] == "status" and content["execution_state"] == "idle" and model:
                    idle[0] = idle[0] or time.monotonic()
                if msg["header"]["msg_type"] == "display_data":
                    view = content["data"].get("application/vnd.jupyter.widget-view+json")
                    model = view["model_id"] if view else model
                elif msg["header"]["msg_type"] == "comm_msg" and content["data"].get("method") == "custom":
                    if content["data"]["content"].get("type") == "output":
                        outputs.append(content["data"]["content"]["data"])

        kc.execute_interactive(f"import sys; sys.path.insert(0, {str(REPO)!r})\n%load_ext kubelab\n%kube get pods",
                               timeout=120, output_hook=lambda msg: None)
        started = time.monotonic()
        kc.execute("%kube run -it busybox --image=busybox --rm --restart=Never")
        pump(lambda: idle[0])
        returned = idle[0] - started
        pump(lambda: "/ # " in "".join(outputs))
        prompt = time.monotonic() - started

        def send(keys: str) -> None:
            kc.shell_channel.send(kc.session.msg("comm_msg", {
                "comm_id": model, "data": {"method": "custom", "content": {"type": "input", "data": keys}}}))

        echoes = []
        for i in range(keystrokes):
            before = len("".join(outputs))
            sent = time.monotonic()
            send("x")
            pump(lambda: len("".join(outputs)) > before)
            echoes.append(time.monotonic() - sent)
        send("\x15exit\r")  # ^U clears the typed x's
        pump(lambda: 'pod "busybox" deleted' in "".join(outputs))
        print(f"%kube run -it: cell returned after {returned * 1000:.0f} ms, prompt after {prompt:.2f} s "
              f"(the pod starting on the real clock); keystroke echo over comm: median "
              f"{statistics.median(echoes) * 1000:.1f} ms, max {max(echoes) * 1000:.1f} ms over {keystrokes}")
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50)
