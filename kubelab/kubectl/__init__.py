"""kubectl for kubelab: argv in, kubectl's exact output and exit code out.

Talks only to the ``Client`` seam, so the same commands work against the embedded cluster
and a real one. Each command lives in its own module and registers itself with
``@command`` (see :mod:`kubelab.kubectl.command`).
"""
from kubelab.kubectl.command import Result, Table, Touched, run

__all__ = ["Result", "Table", "Touched", "run"]
