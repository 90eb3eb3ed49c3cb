"""``kubectl top pods|nodes``: what metrics-server measured, as kubectl 1.32 prints it.

Mirrors kubectl's top_pod.go / top_node.go and metricsutil's TopCmdPrinter: CPU in whole
millicores (``%vm`` of MilliValue), memory in whole MiB (``%vMi``), every cell ended by a tab
in kubectl's tabwriter (minimum width 6, padding 3) (so lines carry trailing blanks), nodes with
the share of their allocatable. Sorting is Go's unstable sort.Sort by name (namespace first with
``-A``) unless ``--sort-by=cpu|memory``, largest first.
"""
from __future__ import annotations

from typing import Callable

from kubelab.api.objects import Obj
from kubelab.api.quantity import cpu_millis, to_bytes
from kubelab.kubectl import flags as fl
from kubelab.kubectl.command import Context, command, error, group
from kubelab.kubectl.gosort import go_sort
from kubelab.kubectl.printers import tabwrite

METRICS_CREATION_DELAY = 120.0  # top_pod.go's metricsCreationDelay

group("top", short="Display resource (CPU/memory) usage")


def _cells(rows: list[list[str]]) -> str:
    """printers.GetNewTabWriter (minwidth 6, padding 3) over cells that all end in a tab."""
    return tabwrite([r + [""] for r in rows])


def _usage(usage: Obj) -> tuple[int, int]:
    """(millicores, bytes) of one usage list."""
    return cpu_millis(usage.get("cpu", "0")), to_bytes(usage.get("memory", "0"))


def _sort_by(ctx: Context) -> str:
    sort_by = ctx.flags.get("sort-by") or ""
    if sort_by not in ("", "cpu", "memory"):
        raise error("--sort-by accepts only cpu or memory")
    return sort_by


def top_pods(ctx: Context, args: list[str]) -> int:
    """top_pod.go's RunTopPod."""
    sort_by = _sort_by(ctx)
    all_ns = bool(ctx.flags.get("all-namespaces"))
    namespace = None if all_ns else ctx.namespace
    selector = ctx.flags.get("selector") or None
    if args:
        if selector:
            raise error("only one of NAME or selector can be provided")
        items = [ctx.client.get("PodMetrics", args[0], namespace)]
    else:
        items = ctx.client.list("PodMetrics", namespace, label_selector=selector)["items"]
    if not items:
        _verify_empty(ctx, namespace, selector)
        ctx.notice("No resources found" if all_ns else f"No resources found in {ctx.namespace} namespace.")
        return 0
    containers = bool(ctx.flags.get("containers"))
    measured = [(m, [_usage(c.get("usage") or {}) for c in m.get("containers") or ()]) for m in items]
    rows: list[list[str]] = []
    total_cpu = total_mem = 0
    for m, used in go_sort(measured, _less(sort_by, all_ns)):
        meta = m["metadata"]
        cpu, mem = sum(u[0] for u in used), sum(u[1] for u in used)
        total_cpu, total_mem = total_cpu + cpu, total_mem + mem
        prefix = [meta["namespace"]] if all_ns else []
        if not containers:
            rows.append(prefix + [meta["name"], f"{cpu}m", f"{mem >> 20}Mi"])
            continue
        own = go_sort([({"metadata": {"name": c["name"], "namespace": ""}}, [u])
                       for c, u in zip(m.get("containers") or (), used)], _less(sort_by, False))
        for c, [(ccpu, cmem)] in own:
            rows.append(prefix + [meta["name"], c["metadata"]["name"], f"{ccpu}m", f"{cmem >> 20}Mi"])
    head = (["NAMESPACE"] if all_ns else []) + (["POD"] if containers else []) + ["NAME", "CPU(cores)", "MEMORY(bytes)"]
    table = [] if ctx.flags.get("no-headers") else [head]
    table += rows
    if ctx.flags.get("sum"):
        width = len(head)
        table.append([""] * (width - 2) + ["________", "________"])
        table.append([""] * (width - 3) + ["", f"{total_cpu}m", f"{total_mem >> 20}Mi"])
    ctx.out.write(_cells(table))
    return 0


Measured = tuple[Obj, list[tuple[int, int]]]  # a metrics object and its (millicores, bytes) parts


def _less(sort_by: str, with_namespace: bool) -> Callable[[Measured, Measured], bool]:
    """metrics_sorter.go's Less: the measured value, largest first, else by (namespace,) name.
    Go's sort.Sort is not stable, so ties come out as its pdqsort leaves them."""
    def less(a: Measured, b: Measured) -> bool:
        if sort_by in ("cpu", "memory"):
            i = 0 if sort_by == "cpu" else 1
            return sum(u[i] for u in a[1]) > sum(u[i] for u in b[1])
        ma, mb = a[0]["metadata"], b[0]["metadata"]
        if with_namespace and ma.get("namespace") != mb.get("namespace"):
            return ma.get("namespace", "") < mb.get("namespace", "")
        return ma["name"] < mb["name"]
    return less


def _verify_empty(ctx: Context, namespace: str | None, selector: str | None) -> None:
    """verifyEmptyMetrics: pods exist but have no metrics yet (new ones), or never will."""
    pods = ctx.client.list("Pod", namespace, label_selector=selector)["items"]
    if not pods:
        return
    now = ctx.now()
    from kubelab.api.tables import parse_time

    for pod in pods:
        created = parse_time(pod["metadata"].get("creationTimestamp")) or now
        if now - created > METRICS_CREATION_DELAY:
            meta = pod["metadata"]
            raise error(f"Metrics not available for pod {meta['namespace']}/{meta['name']}, "
                        f"age: {_go_duration(now - created)}")
    raise error("metrics not available yet")


def _go_duration(seconds: float) -> str:
    """Go's time.Duration.String for whole seconds: ``2m5s``, ``1h0m0s``."""
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    return f"{minutes}m{secs}s" if minutes else f"{secs}s"


def top_nodes(ctx: Context, args: list[str]) -> int:
    """top_node.go's RunTopNode: usage against allocatable (capacity with --show-capacity)."""
    sort_by = _sort_by(ctx)
    selector = ctx.flags.get("selector") or None
    if args:
        metrics = [ctx.client.get("NodeMetrics", args[0])]
        nodes = [ctx.client.get("Node", args[0])]
    else:
        metrics = ctx.client.list("NodeMetrics", label_selector=selector)["items"]
        nodes = ctx.client.list("Node", label_selector=selector)["items"]
    if not metrics:
        raise error("metrics not available yet")
    field = "capacity" if ctx.flags.get("show-capacity") else "allocatable"
    available = {n["metadata"]["name"]: _usage((n.get("status") or {}).get(field) or {}) for n in nodes}
    rows: list[list[str]] = []
    for m, [(cpu, mem)] in go_sort([(m, [_usage(m.get("usage") or {})]) for m in metrics], _less(sort_by, False)):
        name = m["metadata"]["name"]
        cells = [name, f"{cpu}m"]
        avail = available.pop(name, None)
        if avail is not None:
            cells += [f"{int(cpu / avail[0] * 100) if avail[0] else 0}%", f"{mem >> 20}Mi",
                      f"{int(mem / avail[1] * 100) if avail[1] else 0}%"]
        else:
            cells += [f"{mem >> 20}Mi"]
        rows.append(cells)
    table = [] if ctx.flags.get("no-headers") else [["NAME", "CPU(cores)", "CPU(%)", "MEMORY(bytes)", "MEMORY(%)"]]
    table += rows
    table += [[name] + ["<unknown>"] * 4 for name in available]  # nodes whose metrics are missing
    ctx.out.write(_cells(table))
    return 0


_TOP_FLAGS = (fl.SELECTOR, fl.FIELD_SELECTOR, fl.Flag("sort-by", type=fl.STRING), fl.Flag("no-headers", type=fl.BOOL),
              fl.Flag("use-protocol-buffers", type=fl.BOOL, default=True))
for _word in ("node", "nodes", "no"):
    command(f"top {_word}", *_TOP_FLAGS, fl.Flag("show-capacity", type=fl.BOOL), fl.Flag("show-swap", type=fl.BOOL),
            short="Display resource (CPU/memory) usage of nodes")(top_nodes)
for _word in ("pod", "pods", "po"):
    command(f"top {_word}", *_TOP_FLAGS, fl.ALL_NAMESPACES, fl.Flag("containers", type=fl.BOOL),
            fl.Flag("sum", type=fl.BOOL), fl.Flag("show-swap", type=fl.BOOL),
            short="Display resource (CPU/memory) usage of pods")(top_pods)
