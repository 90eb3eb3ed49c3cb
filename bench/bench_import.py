"""How long `import kubelab` takes in a fresh interpreter (target: 5 ms)."""
from __future__ import annotations

import statistics
import subprocess
import sys


def main(runs: int = 15) -> None:
    code = "import time; t=time.perf_counter(); import kubelab; print(time.perf_counter()-t)"
    times = [float(subprocess.check_output([sys.executable, "-c", code], text=True)) for _ in range(runs)]
    print(f"import kubelab: median {statistics.median(times) * 1000:.2f} ms, min {min(times) * 1000:.2f} ms "
          f"over {runs} runs")


if __name__ == "__main__":
    main()
