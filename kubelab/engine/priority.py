"""The Priority admission plugin (plugin/pkg/admission/priority/admission.go) and the two
PriorityClasses kube-apiserver makes when it starts.

* A new pod's ``priorityClassName`` resolves to ``spec.priority`` and ``spec.preemptionPolicy``
  (admitPod); a pod naming no class gets the global default class, the lowest-valued one if a
  race left several (getDefaultPriorityClass), or priority 0 and PreemptLowerPriority. A pod
  that sets either field itself to something else, or names a class that does not exist, is
  Forbidden with the plugin's words. An update that leaves them out keeps the old ones.
* A PriorityClass marked ``globalDefault`` while another one is, is Forbidden
  (validatePriorityClass).
* ``system-node-critical`` and ``system-cluster-critical`` are made at start, as the
  ``scheduling/bootstrap-system-priority-classes`` post-start hook does, and cannot be deleted
  (the registry's Delete).

The plugin mutates before validation (an APIServer mutator) and checks classes after it (a
hook), where kube-apiserver runs its mutating and validating halves.
"""
from __future__ import annotations

from kubelab.api import errors
from kubelab.api.validation import SYSTEM_PRIORITY_CLASSES
from kubelab.engine.apiserver import APIServer
from kubelab.engine.store import Obj, Store

GROUP = "scheduling.k8s.io"
DEFAULT_POLICY = "PreemptLowerPriority"
# DefaultPriorityWhenNoDefaultClassExists
DEFAULT_PRIORITY = 0
DESCRIPTIONS = {
    "system-node-critical": "Used for system critical pods that must not be moved from their current node.",
    "system-cluster-critical": "Used for system critical pods that must run in the cluster, but can be moved "
                               "to another node if necessary.",
}


def system_classes() -> list[Obj]:
    """SystemPriorityClasses, in the order the post-start hook creates them."""
    return [{"apiVersion": f"{GROUP}/v1", "kind": "PriorityClass", "metadata": {"name": name},
             "value": value, "description": DESCRIPTIONS[name]} for name, value in SYSTEM_PRIORITY_CLASSES.items()]


def bootstrap(api: APIServer) -> None:
    """AddSystemPriorityClasses: create each system class that does not exist yet."""
    for pc in system_classes():
        if api.store.get("PriorityClass", "", pc["metadata"]["name"]) is None:
            api.create(pc)


def default_class(store: Store) -> Obj | None:
    """getDefaultPriorityClass: of the classes marked globalDefault, the lowest-valued."""
    marked = [pc for pc in store.list("PriorityClass") if pc.get("globalDefault")]
    return min(marked, key=lambda pc: pc.get("value", 0)) if marked else None


def _forbidden(pod: Obj, message: str) -> errors.StatusError:
    """admission.NewForbidden: names the pod by its generateName when the name is generated."""
    meta = pod.get("metadata") or {}
    name = meta.get("generateName") or meta.get("name", "")
    return errors.forbidden("pods", name, f'pods "{name}" is forbidden: {message}')


def admit_pod(store: Store, pod: Obj, old: Obj | None) -> None:
    """admitPod: resolve the priority of a new pod; keep the old one on an update."""
    spec = pod.get("spec")
    if not isinstance(spec, dict):
        return
    if old is not None:
        old_spec = old.get("spec") or {}
        for field in ("priority", "preemptionPolicy"):
            if spec.get(field) is None and old_spec.get(field) is not None:
                spec[field] = old_spec[field]
        return
    name = spec.get("priorityClassName") or ""
    if not name:
        pc = default_class(store)
        priority = pc.get("value", 0) if pc else DEFAULT_PRIORITY
        policy = pc.get("preemptionPolicy") if pc else DEFAULT_POLICY
        if pc is not None:
            spec["priorityClassName"] = pc["metadata"]["name"]
    else:
        pc = store.get("PriorityClass", "", name)
        if pc is None:
            raise _forbidden(pod, f"no PriorityClass with name {name} was found")
        priority, policy = pc.get("value", 0), pc.get("preemptionPolicy")
    given = spec.get("priority")
    if given is not None and given != priority:
        raise _forbidden(pod, f"the integer value of priority ({given}) must not be provided in pod spec; "
                              f"priority admission controller computed {priority} from the given PriorityClass name")
    spec["priority"] = priority
    if policy:
        given = spec.get("preemptionPolicy")
        if given is not None and given != policy:
            raise _forbidden(pod, f"the string value of PreemptionPolicy ({given}) must not be provided in pod spec; "
                                  f"priority admission controller computed {policy} from the given PriorityClass name")
        spec["preemptionPolicy"] = policy


def validate_class(store: Store, pc: Obj, old: Obj | None) -> None:
    """validatePriorityClass: only one class may be the global default."""
    if not pc.get("globalDefault"):
        return
    current = default_class(store)
    name = pc["metadata"]["name"]
    if current is not None and (old is None or current["metadata"]["name"] != name):
        raise errors.forbidden("priorityclasses", name,
                               f'priorityclasses.{GROUP} "{name}" is forbidden: PriorityClass '
                               f'{current["metadata"]["name"]} is already marked as default. Only one default can exist',
                               GROUP)


def install(api: APIServer) -> None:
    """Register the plugin's two halves and the registry's guard on the system classes."""
    store = api.store
    api.add_mutator("Pod", lambda pod, old: admit_pod(store, pod, old))
    api.add_hook("PriorityClass", lambda pc, old, dry_run: validate_class(store, pc, old))

    def delete(pc: Obj, grace_period: int | None) -> Obj:
        name = pc["metadata"]["name"]
        if name in SYSTEM_PRIORITY_CLASSES:
            raise errors.forbidden("priorityclasses", name, f'priorityclasses.{GROUP} "{name}" is forbidden: '
                                   "this is a system priority class and cannot be deleted", GROUP)
        if pc["metadata"].get("finalizers"):
            return store.mark_deleted("PriorityClass", "", name, 0)
        return store.remove("PriorityClass", "", name)

    api.delete_handlers["PriorityClass"] = delete
