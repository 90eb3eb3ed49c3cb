"""``kubectl autoscale``: an HPA for a Deployment, ReplicaSet or StatefulSet, as kubectl 1.32
makes it (autoscale.go): named after the target unless ``--name``, ``--min`` only when
positive, the CPU target only when ``--cpu-percent`` is given (the server's default is 80%).

kubectl 1.32 sends an autoscaling/v1 object (1.33 moved to v2) and prints what the server
answers in v1; the API server stores it as v2 (targetCPUUtilizationPercentage becomes one
Resource metric) and converts back.
"""
from __future__ import annotations

from kubelab.api import autoscaling_v1
from kubelab.api.kinds import BY_KIND
from kubelab.api.objects import Obj
from kubelab.kubectl import flags as fl
from kubelab.kubectl import printers
from kubelab.kubectl.command import Context, command, error
from kubelab.kubectl.describe import file_targets, targets


@command("autoscale", fl.FILENAME, fl.RECURSIVE, fl.KUSTOMIZE, *fl.PRINT_FLAGS, fl.DRY_RUN, fl.FIELD_MANAGER,
         fl.SAVE_CONFIG, fl.Flag("min", type=fl.INT, default=-1), fl.Flag("max", type=fl.INT, default=-1),
         fl.Flag("cpu-percent", type=fl.INT, default=-1), fl.Flag("name", type=fl.STRING),
         fl.Flag("record", type=fl.BOOL),
         short="Auto-scale a deployment, replica set, stateful set, or replication controller",
         required=("max",))
def autoscale(ctx: Context, args: list[str]) -> int:
    low, high, cpu = ctx.flags.get("min"), ctx.flags.get("max"), ctx.flags.get("cpu-percent")
    if high < 1:
        raise error(f"--max=MAXPODS is required and must be at least 1, max: {high}")
    if high < low:
        raise error(f"--max=MAXPODS must be larger or equal to --min=MINPODS, max: {high}, min: {low}")
    dry_run = ctx.dry_run()
    found = (file_targets(ctx) if ctx.flags.get("filename") else []) + targets(ctx, args)
    if not found:
        raise error("no objects passed to autoscale")
    hpa_kind = BY_KIND["HorizontalPodAutoscaler"]
    for kind, target in found:
        if not kind.scale:
            raise error(f"cannot autoscale a {kind.kind}: could not find scale subresource for "
                        f"{kind.group}/{kind.version}, Resource={kind.plural} in discovery information")
        meta = target["metadata"]
        spec: Obj = {"scaleTargetRef": {"apiVersion": kind.api_version, "kind": kind.kind, "name": meta["name"]},
                     "maxReplicas": high}
        if low > 0:
            spec["minReplicas"] = low
        if cpu >= 0:
            spec["targetCPUUtilizationPercentage"] = cpu
        # the typed object kubectl prints: a zero creationTimestamp and v1's two status counts
        hpa: Obj = {"apiVersion": autoscaling_v1.V1, "kind": hpa_kind.kind,
                    "metadata": {"creationTimestamp": None, "name": ctx.flags.get("name") or meta["name"]},
                    "spec": spec, "status": {"currentReplicas": 0, "desiredReplicas": 0}}
        verb = "created" if dry_run == "client" else "autoscaled"
        if dry_run != "client":
            hpa = ctx.warnings(ctx.client.create(hpa, meta.get("namespace"), dry_run=dry_run == "server"))
            hpa["metadata"].setdefault("creationTimestamp", None)  # printed from the typed object
            if dry_run == "none":
                ctx.touch(hpa, "autoscaled")
        output = ctx.flags.get("output") or ""
        if output == "yaml":
            ctx.out.write(printers.to_yaml(hpa))
        elif output == "json":
            ctx.out.write(printers.to_json(hpa))
        elif output == "name":
            ctx.print(f"{hpa_kind.qualified_singular}/{hpa['metadata']['name']}")
        else:
            suffix = {"client": " (dry run)", "server": " (server dry run)"}.get(dry_run, "")
            ctx.print(f"{hpa_kind.qualified_singular}/{hpa['metadata']['name']} {verb}{suffix}")
    return 0
