"""Persistent storage: claims bound to volumes, volumes made on demand, and what happens to
them when their claim goes.

* Admission, as kube-apiserver's plugins do it: ``DefaultStorageClass`` gives a claim without
  ``storageClassName`` the default class; ``StorageObjectInUseProtection`` puts the
  ``kubernetes.io/pvc-protection`` / ``kubernetes.io/pv-protection`` finalizers on new claims
  and volumes.
* The PersistentVolume controller (kube-controller-manager's persistentvolume-binder, mirrors
  syncClaim/syncVolume in pv_controller.go): an unbound claim binds to the smallest Available
  volume that matches its class, access modes, size, selector and volume mode; a claim of a
  class with a provisioner waits for one (``ExternalProvisioning``); a volume whose claim is
  gone is Released, then deleted (``Delete``) or kept (``Retain``).
* minikube's storage-provisioner (``k8s.io/minikube-hostpath``): a ``pvc-<claim uid>`` volume
  under ``/tmp/hostpath-provisioner/<namespace>/<claim>`` for each claim of its class.
* The pvc-protection and pv-protection controllers: a deleted claim stays Terminating while a
  pod uses it; a deleted volume while it is Bound.
"""
from __future__ import annotations

import copy
import uuid
from typing import Iterable

from kubelab.api import errors
from kubelab.api.quantity import QuantityError, parse
from kubelab.api.selectors import from_label_selector
from kubelab.api.tables import DEFAULT_CLASS, is_default_class
from kubelab.engine.apiserver import APIServer
from kubelab.engine.clock import Timer
from kubelab.engine.core import Controller, Engine
from kubelab.engine.events import Recorder
from kubelab.engine.store import Key, Obj, key_of

PROVISIONER = "k8s.io/minikube-hostpath"
PROVISIONER_ROOT = "/tmp/hostpath-provisioner"
PVC_PROTECTION = "kubernetes.io/pvc-protection"
PV_PROTECTION = "kubernetes.io/pv-protection"
BETA_CLASS = "volume.beta.kubernetes.io/storage-class"
BIND_COMPLETED = "pv.kubernetes.io/bind-completed"
BOUND_BY_CONTROLLER = "pv.kubernetes.io/bound-by-controller"
PROVISIONED_BY = "pv.kubernetes.io/provisioned-by"
STORAGE_PROVISIONER = "volume.kubernetes.io/storage-provisioner"
BETA_STORAGE_PROVISIONER = "volume.beta.kubernetes.io/storage-provisioner"
SELECTED_NODE = "volume.kubernetes.io/selected-node"
RESYNC = 15.0  # kube-controller-manager's --pvclaimbinder-sync-period: unbound claims are looked at again


def default_class() -> Obj:
    """minikube's ``standard`` StorageClass (the default-storageclass addon)."""
    return {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
            "metadata": {"name": "standard", "labels": {"addonmanager.kubernetes.io/mode": "EnsureExists"},
                         "annotations": {DEFAULT_CLASS: "true"}},
            "provisioner": PROVISIONER, "reclaimPolicy": "Delete", "volumeBindingMode": "Immediate"}


def claim_class(claim: Obj) -> str:
    """GetPersistentVolumeClaimClass: the beta annotation, else ``storageClassName``."""
    annotations = claim["metadata"].get("annotations") or {}
    if BETA_CLASS in annotations:
        return annotations[BETA_CLASS]
    return (claim.get("spec") or {}).get("storageClassName") or ""


def _bytes(value: object) -> float:
    try:
        return float(parse(value).value)  # type: ignore[arg-type]
    except (QuantityError, TypeError, ValueError):
        return 0.0


def _request(claim: Obj) -> float:
    return _bytes((((claim.get("spec") or {}).get("resources") or {}).get("requests") or {}).get("storage", "0"))


def _annotate(obj: Obj, **values: str) -> None:
    obj["metadata"].setdefault("annotations", {}).update(values)


def claims_of(pod: Obj) -> list[str]:
    """The claim names a pod's volumes mount, in volume order."""
    return [v["persistentVolumeClaim"].get("claimName", "") for v in (pod.get("spec") or {}).get("volumes") or ()
            if isinstance(v.get("persistentVolumeClaim"), dict)]


def pod_uses_claims(pod: Obj) -> bool:
    """podIsShutDown's opposite, as pvc-protection reads it: a pod not yet finished holds its claims."""
    return (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed")


class PersistentVolumeController(Controller):
    """Binding, provisioning, reclaiming and the protection finalizers, one key at a time."""

    watches = ("PersistentVolumeClaim", "PersistentVolume", "StorageClass", "Pod")

    def __init__(self, engine: Engine, api: APIServer) -> None:
        super().__init__(engine)
        self.api = api
        self._resync: dict[Key, Timer] = {}  # unbound claims' next periodic sync
        self.binder = Recorder(self.store, "persistentvolume-controller")
        # the provisioner's identity: <name>_<host>_<uuid>, as sig-storage-lib-external-provisioner
        # reports it (a fixed uuid: drawing from the engine's rng would move every later name)
        self.provisioner = Recorder(self.store, f"{PROVISIONER}_minikube_{uuid.uuid5(uuid.NAMESPACE_DNS, 'minikube')}")

    def keys_for(self, event: str, obj: Obj, old: Obj | None) -> Iterable[Key]:
        kind = obj["kind"]
        if kind == "Pod":
            placed = (obj.get("spec") or {}).get("nodeName") and not ((old or {}).get("spec") or {}).get("nodeName")
            if event == "DELETED" or not pod_uses_claims(obj) or placed:
                ns = obj["metadata"]["namespace"]
                return [("PersistentVolumeClaim", ns, name) for name in claims_of(obj)]
            return ()
        if kind == "StorageClass":
            return [key_of(c) for c in self.store.list("PersistentVolumeClaim") if not c["spec"].get("volumeName")]
        if kind == "PersistentVolume":
            keys: list[Key] = [] if event == "DELETED" else [key_of(obj)]
            ref = (obj.get("spec") or {}).get("claimRef")
            if ref:
                keys.append(("PersistentVolumeClaim", ref.get("namespace", ""), ref.get("name", "")))
            if event != "DELETED" and (obj.get("status") or {}).get("phase") == "Available":
                keys += [key_of(c) for c in self.store.list("PersistentVolumeClaim") if not c["spec"].get("volumeName")]
            return keys
        keys = [key_of(obj)] if event != "DELETED" else []
        name = (obj.get("spec") or {}).get("volumeName")
        if name:
            keys.append(("PersistentVolume", "", name))
        else:
            keys += [key_of(v) for v in self.store.list("PersistentVolume")
                     if ((v.get("spec") or {}).get("claimRef") or {}).get("name") == obj["metadata"]["name"]]
        return keys

    def reconcile(self, key: Key) -> None:
        obj = self.store.get(*key)
        if obj is None:
            timer = self._resync.pop(key, None)
            if timer is not None:
                timer.cancel()
            return
        if key[0] == "PersistentVolumeClaim":
            if obj["metadata"].get("deletionTimestamp"):
                self._release_claim(obj)
            else:
                self._sync_claim(obj)
                current = self.store.get(*key)
                if current is not None and not current["spec"].get("volumeName"):
                    self._resync_later(key)
        else:
            self._sync_volume(obj)

    def _resync_later(self, key: Key) -> None:
        """The binder's periodic resync: a claim still unbound is synced (and its event, such as
        FailedBinding, recorded again) every RESYNC seconds."""
        if key in self._resync:
            return

        def fire() -> None:
            self._resync.pop(key, None)
            self.enqueue(key)

        self._resync[key] = self.clock.call_later(RESYNC, fire, progress=False)

    # -- claims ------------------------------------------------------------------------------
    def _sync_claim(self, claim: Obj) -> None:
        name = claim["spec"].get("volumeName")
        if not name:
            self._sync_unbound(claim)
            return
        volume = self.store.get("PersistentVolume", "", name)
        if volume is None:
            if claim["status"].get("phase") == "Bound":
                self._claim_status(claim, "Lost")
                self.binder.warning(claim, "ClaimLost", "Bound claim has lost its PersistentVolume. "
                                                        "Data on the volume is lost!")
            return
        ref = volume["spec"].get("claimRef")
        if ref is None:
            self._bind(volume, claim)
        elif ref.get("uid") == claim["metadata"]["uid"] or (not ref.get("uid") and ref.get("name") ==
                                                            claim["metadata"]["name"]):
            self._bind(volume, claim)

    def _sync_unbound(self, claim: Obj) -> None:
        volume = self._find_volume(claim)
        if volume is not None:
            self._bind(volume, claim)
            return
        class_name = claim_class(claim)
        if not class_name:
            self.binder.normal(claim, "FailedBinding",
                               "no persistent volumes available for this claim and no storage class is set")
            return
        sc = self.store.get("StorageClass", "", class_name)
        if sc is None:
            self.binder.warning(claim, "ProvisioningFailed", f'storageclass.storage.k8s.io "{class_name}" not found')
            return
        if sc.get("volumeBindingMode") == "WaitForFirstConsumer" and \
                SELECTED_NODE not in (claim["metadata"].get("annotations") or {}):
            if not self._consumer_node(claim):
                self.binder.normal(claim, "WaitForFirstConsumer",
                                   "waiting for first consumer to be created before binding")
                return
        provisioner = sc.get("provisioner", "")
        if provisioner.startswith("kubernetes.io/"):
            # findProvisionablePlugin: an in-tree name no plugin has (no-provisioner, for local volumes)
            self.binder.warning(claim, "ProvisioningFailed", f"no volume plugin matched name: {provisioner}")
            return
        annotations = claim["metadata"].get("annotations") or {}
        if annotations.get(STORAGE_PROVISIONER) != provisioner:
            updated = copy.deepcopy(claim)
            _annotate(updated, **{BETA_STORAGE_PROVISIONER: provisioner, STORAGE_PROVISIONER: provisioner})
            node = self._consumer_node(claim)
            if sc.get("volumeBindingMode") == "WaitForFirstConsumer" and node:
                _annotate(updated, **{SELECTED_NODE: node})
            claim = self.store.update(updated)
        self.binder.normal(claim, "ExternalProvisioning",
                           f"Waiting for a volume to be created either by the external provisioner '{provisioner}' "
                           "or manually by the system administrator. If volume creation is delayed, please verify "
                           "that the provisioner is running and correctly registered.")
        if provisioner == PROVISIONER:
            self._provision(claim, sc)

    def _consumer_node(self, claim: Obj) -> str:
        """The node of a scheduled pod that mounts the claim (WaitForFirstConsumer's trigger)."""
        ns, name = claim["metadata"]["namespace"], claim["metadata"]["name"]
        for pod in self.store.list("Pod", ns):
            if name in claims_of(pod) and pod["spec"].get("nodeName"):
                return pod["spec"]["nodeName"]
        return ""

    def _find_volume(self, claim: Obj) -> Obj | None:
        """findBestMatchForClaim: the smallest Available volume that satisfies the claim (a
        volume pre-bound to this claim first)."""
        spec = claim["spec"]
        want = set(spec.get("accessModes") or ())
        size = _request(claim)
        class_name = claim_class(claim)
        selector = from_label_selector(spec.get("selector")) if spec.get("selector") else None
        mode = spec.get("volumeMode", "Filesystem")
        best: tuple[float, str] | None = None
        found = None
        for volume in self.store.list("PersistentVolume"):
            vspec = volume.get("spec") or {}
            ref = vspec.get("claimRef")
            if volume["metadata"].get("deletionTimestamp"):
                continue
            if ref is not None:
                mine = ref.get("name") == claim["metadata"]["name"] and \
                    ref.get("namespace") == claim["metadata"]["namespace"] and \
                    ref.get("uid") in (None, "", claim["metadata"]["uid"])
                if not mine:
                    continue
            elif (volume.get("status") or {}).get("phase") not in ("Available", "Pending", None):
                continue
            if (vspec.get("storageClassName") or "") != class_name:
                continue
            if not want <= set(vspec.get("accessModes") or ()):
                continue
            if vspec.get("volumeMode", "Filesystem") != mode:
                continue
            if selector is not None and not selector.matches(volume["metadata"].get("labels")):
                continue
            capacity = _bytes((vspec.get("capacity") or {}).get("storage", "0"))
            if capacity < size:
                continue
            if ref is not None:
                return volume
            rank = (capacity, volume["metadata"]["name"])
            if best is None or rank < best:
                best, found = rank, volume
        return found

    def _bind(self, volume: Obj, claim: Obj) -> None:
        """bind(): the volume's claimRef and phase, then the claim's volumeName, annotations and
        status (capacity and access modes from the volume). Whichever side the controller had to
        point at the other (bindVolumeToClaim / bindClaimToVolume) is annotated bound-by-controller."""
        meta = claim["metadata"]
        ref = {"kind": "PersistentVolumeClaim", "namespace": meta["namespace"], "name": meta["name"],
               "uid": meta["uid"], "apiVersion": "v1", "resourceVersion": meta["resourceVersion"]}
        current = volume["spec"].get("claimRef") or {}
        if current.get("uid") != meta["uid"]:
            updated = copy.deepcopy(volume)
            updated["spec"]["claimRef"] = ref
            _annotate(updated, **{BOUND_BY_CONTROLLER: "yes"})
            volume = self.store.update(updated)
        if (volume.get("status") or {}).get("phase") != "Bound":
            updated = copy.deepcopy(volume)
            updated["status"] = {"phase": "Bound", "lastPhaseTransitionTime": self.clock.timestamp()}
            volume = self.store.update(updated, status=True)
        name = volume["metadata"]["name"]
        if claim["spec"].get("volumeName") != name or BIND_COMPLETED not in (meta.get("annotations") or {}):
            updated = copy.deepcopy(claim)
            if claim["spec"].get("volumeName") != name:
                updated["spec"]["volumeName"] = name
                _annotate(updated, **{BOUND_BY_CONTROLLER: "yes"})
            _annotate(updated, **{BIND_COMPLETED: "yes"})
            claim = self.store.update(updated)
        status = {"phase": "Bound", "accessModes": list(volume["spec"].get("accessModes") or ()),
                  "capacity": dict(volume["spec"].get("capacity") or {})}
        if {k: v for k, v in (claim.get("status") or {}).items() if k in status} != status:
            updated = copy.deepcopy(claim)
            updated["status"] = {**(claim.get("status") or {}), **status}
            self.store.update(updated, status=True)

    def _claim_status(self, claim: Obj, phase: str) -> None:
        updated = copy.deepcopy(claim)
        updated["status"] = {"phase": phase}
        self.store.update(updated, status=True)

    def _release_claim(self, claim: Obj) -> None:
        """pvc-protection: the finalizer goes once no unfinished pod mounts the claim."""
        ns, name = claim["metadata"]["namespace"], claim["metadata"]["name"]
        if PVC_PROTECTION not in (claim["metadata"].get("finalizers") or ()):
            return
        if any(name in claims_of(p) and pod_uses_claims(p) for p in self.store.list("Pod", ns)):
            return
        updated = copy.deepcopy(claim)
        updated["metadata"]["finalizers"] = [f for f in updated["metadata"]["finalizers"] if f != PVC_PROTECTION]
        self.store.update(updated)

    # -- volumes -------------------------------------------------------------------------------
    def _sync_volume(self, volume: Obj) -> None:
        self._sync_phase(volume)
        volume = self.store.get(*key_of(volume)) or volume
        meta = volume["metadata"]
        # pv-protection: a deleted volume leaves once nothing is bound to it
        if meta.get("deletionTimestamp") and (volume.get("status") or {}).get("phase") != "Bound" \
                and PV_PROTECTION in (meta.get("finalizers") or ()):
            updated = copy.deepcopy(volume)
            updated["metadata"]["finalizers"] = [f for f in updated["metadata"]["finalizers"] if f != PV_PROTECTION]
            self.store.update(updated)

    def _sync_phase(self, volume: Obj) -> None:
        """syncVolume: Available without a claim, Released once its claim is gone, then reclaimed."""
        spec, status = volume.get("spec") or {}, volume.get("status") or {}
        ref = spec.get("claimRef")
        if ref is None:
            if status.get("phase") != "Available":
                self._volume_phase(volume, "Available")
            return
        claim = self.store.get("PersistentVolumeClaim", ref.get("namespace", ""), ref.get("name", ""))
        if claim is not None and ref.get("uid") in (None, "", claim["metadata"]["uid"]):
            if not ref.get("uid") and status.get("phase") != "Available":
                self._volume_phase(volume, "Available")  # pre-bound, waiting for its claim
            return
        if not ref.get("uid"):
            if status.get("phase") != "Available":
                self._volume_phase(volume, "Available")
            return
        # the claim is gone: Released, then the reclaim policy
        if status.get("phase") != "Released":
            volume = self._volume_phase(volume, "Released")
        policy = spec.get("persistentVolumeReclaimPolicy", "Retain")
        if policy == "Delete" and not volume["metadata"].get("deletionTimestamp"):
            annotations = volume["metadata"].get("annotations") or {}
            if annotations.get(PROVISIONED_BY) == PROVISIONER:
                self.provisioner.normal(volume, "VolumeDeleted", f"Deleted volume {volume['metadata']['name']}")
            self.api.delete("PersistentVolume", volume["metadata"]["name"])
        elif policy == "Recycle":
            self.binder.warning(volume, "VolumeFailedRecycle", "Recycle is not supported by this cluster")

    def _volume_phase(self, volume: Obj, phase: str) -> Obj:
        updated = copy.deepcopy(volume)
        updated["status"] = {"phase": phase, "lastPhaseTransitionTime": self.clock.timestamp()}
        return self.store.update(updated, status=True)

    # -- the hostpath provisioner ---------------------------------------------------------------
    def _provision(self, claim: Obj, sc: Obj) -> None:
        """minikube's storage-provisioner: one hostPath volume per claim, named after its uid."""
        meta = claim["metadata"]
        name = f"pvc-{meta['uid']}"
        if self.store.get("PersistentVolume", "", name) is not None:
            return
        self.provisioner.normal(claim, "Provisioning", "External provisioner is provisioning volume for claim "
                                                       f'"{meta["namespace"]}/{meta["name"]}"')
        spec = claim["spec"]
        volume = {"apiVersion": "v1", "kind": "PersistentVolume",
                  "metadata": {"name": name, "annotations": {"hostPathProvisionerIdentity": "minikube",
                                                             PROVISIONED_BY: PROVISIONER}},
                  "spec": {"accessModes": list(spec.get("accessModes") or ()),
                           "capacity": {"storage": ((spec.get("resources") or {}).get("requests") or {})
                                        .get("storage", "0")},
                           "claimRef": {"kind": "PersistentVolumeClaim", "namespace": meta["namespace"],
                                        "name": meta["name"], "uid": meta["uid"], "apiVersion": "v1",
                                        "resourceVersion": meta["resourceVersion"]},
                           "hostPath": {"path": f"{PROVISIONER_ROOT}/{meta['namespace']}/{meta['name']}", "type": ""},
                           "persistentVolumeReclaimPolicy": sc.get("reclaimPolicy") or "Delete",
                           "storageClassName": sc["metadata"]["name"],
                           "volumeMode": spec.get("volumeMode", "Filesystem")}}
        if sc.get("mountOptions"):
            volume["spec"]["mountOptions"] = list(sc["mountOptions"])
        self.api.create(volume)
        self.provisioner.normal(claim, "ProvisioningSucceeded", f"Successfully provisioned volume {name}")


def install(engine: Engine, api: APIServer) -> None:
    """Run the volume controllers and the storage admission plugins."""
    store = engine.store

    def default_storage_class(obj: Obj, old: Obj | None, dry_run: bool) -> None:
        """DefaultStorageClass: an unset class (not an empty one) becomes the newest default."""
        if old is not None or obj["spec"].get("storageClassName") is not None or \
                BETA_CLASS in (obj["metadata"].get("annotations") or {}):
            return
        defaults = [sc for sc in store.list("StorageClass") if is_default_class(sc)]
        if defaults:
            newest = max(defaults, key=lambda sc: (sc["metadata"].get("creationTimestamp") or "",
                                                   sc["metadata"]["name"]))
            obj["spec"]["storageClassName"] = newest["metadata"]["name"]

    def protect(finalizer: str):  # type: ignore[no-untyped-def]
        def hook(obj: Obj, old: Obj | None, dry_run: bool) -> None:
            """StorageObjectInUseProtection: the finalizer on every new claim / volume."""
            if old is None:
                finalizers = obj["metadata"].setdefault("finalizers", [])
                if finalizer not in finalizers:
                    finalizers.append(finalizer)
        return hook

    def resize(obj: Obj, old: Obj | None, dry_run: bool) -> None:
        """PersistentVolumeClaimResize: a bound claim grows only if its class allows expansion
        and made the volume (a claim of no class, or of a manual volume, cannot)."""
        if old is None or (old.get("status") or {}).get("phase") != "Bound":
            return
        if _request(obj) <= _request(old):
            return
        sc = store.get("StorageClass", "", claim_class(obj)) if claim_class(obj) else None
        if sc is None or not sc.get("allowVolumeExpansion"):
            name = obj["metadata"]["name"]
            raise errors.forbidden("persistentvolumeclaims", name,
                                   f'persistentvolumeclaims "{name}" is forbidden: only dynamically provisioned pvc '
                                   "can be resized and the storageclass that provisions the pvc must support resize")

    api.add_hook("PersistentVolumeClaim", default_storage_class)
    api.add_hook("PersistentVolumeClaim", resize)
    api.add_hook("PersistentVolumeClaim", protect(PVC_PROTECTION))
    api.add_hook("PersistentVolume", protect(PV_PROTECTION))
    engine.add(PersistentVolumeController(engine, api))
