"""How long a learner waits for the first command of a fresh kernel: ``%load_ext kubelab``
and the first ``%kube get pods``, each run in a new interpreter (an IPython InteractiveShell,
as a kernel runs cells). Also ``Cluster()`` + the first ``kubectl get pods`` without IPython,
and whether the heavy modules the embedded path must not need were imported.

Bytecode is cached (in a temporary PYTHONPYCACHEPREFIX, after one warm-up run) as it is
for an installed package, even where PYTHONDONTWRITEBYTECODE is set; ``--no-bytecode``
measures without it (every module compiled from source).

Prints numbers, asserts nothing (speed is measured, not asserted)."""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile

_NOTEBOOK = """
import json, sys, time, io, contextlib
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()
t0 = time.perf_counter()
shell.run_cell("%load_ext kubelab", silent=True)
t1 = time.perf_counter()
with contextlib.redirect_stdout(io.StringIO()):
    shell.run_cell("%kube get pods")
t2 = time.perf_counter()
print(json.dumps({"load_ext": t1 - t0, "first_get": t2 - t1,
                  "heavy": sorted(m for m in ("kubernetes", "jsonschema") if m in sys.modules)}))
"""

_ENGINE = """
import json, sys, time
t0 = time.perf_counter()
from kubelab import Cluster
cluster = Cluster(clock="virtual")
t1 = time.perf_counter()
cluster.kubectl("get pods")
t2 = time.perf_counter()
print(json.dumps({"cluster": t1 - t0, "first_get": t2 - t1,
                  "heavy": sorted(m for m in ("kubernetes", "jsonschema") if m in sys.modules)}))
"""


def _runs(code: str, runs: int, env: dict[str, str]) -> list[dict]:
    return [json.loads(subprocess.check_output([sys.executable, "-c", code], text=True, env=env).splitlines()[-1])
            for _ in range(runs)]


def _median_ms(results: list[dict], key: str) -> str:
    return f"{statistics.median(r[key] for r in results) * 1000:.0f} ms"


def main(runs: int = 5, bytecode: bool = True) -> None:
    env = dict(os.environ)
    with tempfile.TemporaryDirectory() as cache:
        if bytecode:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = cache
            _runs(_NOTEBOOK, 1, env)  # warm-up: writes the bytecode
        print("bytecode cached" if bytecode else "no bytecode cache (modules compiled from source)")
        _report(runs, env)


def _report(runs: int, env: dict[str, str]) -> None:
    nb = _runs(_NOTEBOOK, runs, env)
    total = [r["load_ext"] + r["first_get"] for r in nb]
    print(f"%load_ext kubelab: {_median_ms(nb, 'load_ext')}, first %kube get pods: {_median_ms(nb, 'first_get')}, "
          f"together: median {statistics.median(total) * 1000:.0f} ms (min {min(total) * 1000:.0f}) over {runs} "
          f"fresh kernels; heavy modules imported: {nb[0]['heavy'] or 'none'}")
    eng = _runs(_ENGINE, runs, env)
    print(f"import + Cluster(): {_median_ms(eng, 'cluster')}, first kubectl get pods: {_median_ms(eng, 'first_get')}; "
          f"heavy modules imported: {eng[0]['heavy'] or 'none'}")


if __name__ == "__main__":
    main(bytecode="--no-bytecode" not in sys.argv)
