"""The docs corpus's apply-and-run rate: each manifest of tests/corpus/docs (standing for an
example of the Kubernetes documentation or kubernetes/examples) applied to a fresh
virtual-clock cluster, run forward, and judged by the expectations in its header.

Printed: one line per file that misses an expectation (with why), then the rate of files that
run as on a real 1.32 cluster, and the wall time. ``-v`` prints every file.

Run: ``python bench/bench_docs_corpus.py [-v] [NAME-SUBSTRING ...]``
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from docs_corpus import examples, run  # noqa: E402


def main(argv: list[str]) -> None:
    verbose = "-v" in argv
    words = [a for a in argv if a != "-v"]
    chosen = [e for e in examples() if not words or any(w in e.name for w in words)]
    start, passed = time.perf_counter(), 0
    for ex in chosen:
        t = time.perf_counter()
        result = run(ex)
        passed += result.passed
        if verbose or not result.passed:
            mark = "ok  " if result.passed else "FAIL"
            print(f"{mark} {ex.name} ({time.perf_counter() - t:.2f}s)")
            for why in result.failures:
                print(f"       {why}")
    wall = time.perf_counter() - start
    print(f"{passed}/{len(chosen)} files run as on a real 1.32 cluster: {100 * passed / max(1, len(chosen)):.1f}%"
          f" ({wall:.1f}s wall)")


if __name__ == "__main__":
    main(sys.argv[1:])
