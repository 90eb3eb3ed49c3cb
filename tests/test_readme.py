"""The README's Python example runs as written, and prints what its comments say."""
from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


def test_the_python_example_runs_as_written():
    (example,) = python_blocks()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(example, "README.md", "exec"), {})
    lines = out.getvalue().splitlines()
    assert lines[0] == "pod/echo-server created"
    assert lines[2].startswith("NAME") and lines[3].startswith("echo-server ") and "Running" in lines[3]
    assert re.fullmatch(r"\d+\.\d+\.\d+\.\d+", lines[-1])


def test_the_set_up_commands_are_the_two_we_test():
    text = README.read_text()
    assert "pip install . && kubelab tutorial" in text
    assert "pip install -e '.[test]' && python -m pytest" in text
    assert "DESIGN" not in text  # there is no such file in the repository
