"""A slow ``%kube`` command shows a progress line that becomes its output; a fast one shows
nothing extra (a real ipykernel through jupyter_client, the cluster on the real clock)."""
from __future__ import annotations

from typing import Any, Iterator

import pytest

from test_restore_kernel import Kernel


@pytest.fixture(scope="module")
def kernel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kernel]:
    k = Kernel(tmp_path_factory.mktemp("progress"))
    try:
        yield k
    finally:
        k.kc.stop_channels()
        k.km.shutdown_kernel(now=True)


def outputs(kernel: Kernel, code: str) -> list[dict[str, Any]]:
    """The iopub messages a cell produced (streams, displays and their updates)."""
    msgs: list[dict[str, Any]] = []
    reply = kernel.kc.execute_interactive(code, output_hook=msgs.append, timeout=120)
    assert reply["content"]["status"] == "ok", msgs
    return [m for m in msgs if m["msg_type"] in ("stream", "display_data", "update_display_data",
                                                  "execute_result", "error")]


def display_id(msg: dict[str, Any]) -> str | None:
    return (msg["content"].get("transient") or {}).get("display_id")


def test_a_slow_command_shows_progress_that_becomes_its_output(kernel: Kernel) -> None:
    outputs(kernel, "%load_ext kubelab")
    outputs(kernel, "%kube create deployment web --image=nginx --replicas=3")
    # the simulated image pulls take seconds on the real clock
    msgs = outputs(kernel, "%kube rollout status deploy/web")
    first = msgs[0]
    assert first["msg_type"] == "display_data" and display_id(first)
    line = first["content"]["data"]["text/plain"]
    # it names the command and what kubectl said it waits for
    assert line.startswith("kubectl rollout status deploy/web: 1 s"), line
    assert 'Waiting for deployment "web" rollout to finish' in line
    assert "kubelab-progress" in first["content"]["data"]["text/html"]
    # it ends as kubectl's output, in the same place; nothing else is shown
    assert all(m["msg_type"] == "update_display_data" and display_id(m) == display_id(first) for m in msgs[1:])
    final = msgs[-1]["content"]["data"]
    assert final["text/plain"].endswith('deployment "web" successfully rolled out'), final
    assert "kubelab-progress" not in str(final)


def test_a_fast_command_shows_no_progress(kernel: Kernel) -> None:
    msgs = outputs(kernel, "%kube get deployments")
    assert [m["msg_type"] for m in msgs] == ["display_data"]
    assert msgs[0]["content"]["data"]["text/plain"].startswith("NAME")
    assert not display_id(msgs[0])


def test_a_slow_error_stays_on_stderr(kernel: Kernel) -> None:
    """The line goes (an empty display) and the error is a stderr stream, as without it:
    a saved notebook, nbclient and the walkthrough tests tell errors by their stream."""
    msgs = outputs(kernel, "%kube wait --for=delete deployment/web --timeout=2s")
    assert msgs[0]["msg_type"] == "display_data" and "kubectl wait" in msgs[0]["content"]["data"]["text/plain"]
    updates = [m for m in msgs if m["msg_type"] == "update_display_data"]
    assert updates[-1]["content"]["data"] == {"text/plain": ""}
    assert msgs[-1]["msg_type"] == "stream" and msgs[-1]["content"]["name"] == "stderr"
    assert msgs[-1]["content"]["text"].startswith("error: timed out waiting for the condition")


def test_a_result_shown_by_its_progress_line_still_shows_later(kernel: Kernel) -> None:
    """``r = %kube ...`` that took a while: the line showed it; ``r`` in a later cell shows it again."""
    outputs(kernel, "%kube create deployment cache --image=redis")  # an image no node has yet
    first = outputs(kernel, "r = %kube rollout status deploy/cache")
    assert "successfully rolled out" in first[-1]["content"]["data"]["text/plain"]  # the line became it
    msgs = outputs(kernel, "r")
    assert [m["msg_type"] for m in msgs] == ["display_data"]
    assert msgs[0]["content"]["data"]["text/plain"].endswith('deployment "cache" successfully rolled out')
