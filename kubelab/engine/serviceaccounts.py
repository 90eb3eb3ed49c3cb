"""Service accounts: what every namespace of a real cluster holds before anyone asks.

Three pieces of Kubernetes, reimplemented:

* the ServiceAccount controller (kube-controller-manager) keeps a ``default`` ServiceAccount
  in every active namespace, and puts it back when it is deleted;
* the root-ca-cert-publisher keeps the ``kube-root-ca.crt`` ConfigMap (the cluster CA, so pods
  can verify the API server) in every namespace, and restores it when it is changed or deleted;
* the token controller (kube-controller-manager) fills a ``kubernetes.io/service-account-token``
  Secret in for the ServiceAccount its annotation names (``ca.crt``, ``namespace``, a legacy
  ``token``, the account's uid annotation) and deletes such Secrets whose ServiceAccount is
  gone (or is a different one by now);
* the ServiceAccount admission plugin (kube-apiserver) gives each new pod a projected
  ``kube-api-access-xxxxx`` volume (token, CA, namespace) mounted read-only at
  ``/var/run/secrets/kubernetes.io/serviceaccount`` in every container, unless the pod or its
  ServiceAccount turns automounting off, or the pod is a static pod's mirror.
"""
from __future__ import annotations

import base64
import copy
import hashlib
import json
from typing import Any, Iterable

from kubelab.api import errors

from kubelab.engine.apiserver import APIServer
from kubelab.engine.core import Controller, Engine
from kubelab.engine.store import Key, Obj

DEFAULT = "default"
ROOT_CA = "kube-root-ca.crt"
MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
TOKEN_SECONDS = 3607  # the admission plugin asks for an hour and 7 seconds
MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
_DESCRIPTION = ("Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints "
                "such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across "
                "distributions of Kubernetes clusters.")
_NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"  # apimachinery's rand alphabet

# minikube's cluster CA ("minikubeCA"); a made-up certificate, only ever read, never checked.
CA_CERT = (
    "-----BEGIN CERTIFICATE-----\n"
    "MIIDGzCCAgOgAwIBAgIUJYyHjTqBTFklPVUtM9suwHtZIpUwDQYJKoZIhvcNAQEL\n"
    "BQAwFTETMBEGA1UEAwwKbWluaWt1YmVDQTAeFw0yNjExMjUyMjQ4MDFaFw0zNjEx\n"
    "MjIyMjQ4MDFaMBUxEzARBgNVBAMMCm1pbmlrdWJlQ0EwggEiMA0GCSqGSIb3DQEB\n"
    "AQUAA4IBDwAwggEKAoIBAQDMAHy8xExL49zrHfzwFUxgFlLh/RL4ynOR6cj9a6VO\n"
    "cJuXD23ExOAP1TLlRu2AFYysKLARDZHkwLCrlSY4frHhSvxscLYkHJTZdwWNgRVl\n"
    "v7BlrbtWAl9kRaS+q9sPVzZQoX21t4masghLIXIB3Y8HXY3ONSPEnpVwLtFBCbCp\n"
    "RbOAFAGdR8NVfvGB3GO5OIpKzt2EofqPt6qQLwuWqafQRIdvYlSoNKS8dS2JZj5S\n"
    "1BtcSAwPCbikzw7pjZzGKRjLuHeRpxZzPdA0AFoR4NuQNRfyCaz4pSad/uWq+UWm\n"
    "Eejv20U092BmUOTMwroFhuQ5RRARFtcGrArWH/ZZuIQhAgMBAAGjYzBhMB0GA1Ud\n"
    "DgQWBBS6ud8RD/EolUl3E93BxtCtqdwxoTAfBgNVHSMEGDAWgBS6ud8RD/EolUl3\n"
    "E93BxtCtqdwxoTAPBgNVHRMBAf8EBTADAQH/MA4GA1UdDwEB/wQEAwICpDANBgkq\n"
    "hkiG9w0BAQsFAAOCAQEAQs5iiIDLtSHvDiWU47o0NhgbMfF0FZ/wsorCt9irX0uq\n"
    "gdYIsVNKu/CvdjTeSifKEDHYCWQLHVZKgjxcoDBRUcOza2CsMnfEaRF0XJHyuN9Y\n"
    "UITua5MJtLnKb76rGlhG81sSiepnRoh81eDQx8WtlHKAr2r1RH/NcTs49q3cXLKT\n"
    "1M6RDXpLtKbOiazwPOXj/5sDN7aFglntkPdrKdjqGA+jgIsvcqS1cQ+oyuuwoQWd\n"
    "7Jz8G165OcnLUt9/3QWkCuifNNX8WJxFP1gy0kiEAdulKQzeRYuj4UXxzEYOoD3t\n"
    "hl9Udi6z9srSzME96IU5Ia2V7bcAh7PIVeEjQR6x/w==\n"
    "-----END CERTIFICATE-----\n"
)


def _active(ns: Obj | None) -> bool:
    return ns is not None and not ns["metadata"].get("deletionTimestamp")


class ServiceAccountController(Controller):
    """A ``default`` ServiceAccount in every active namespace."""

    watches = ("Namespace", "ServiceAccount")

    def keys_for(self, event: str, obj: Obj, old: Obj | None) -> Iterable[Key]:
        if obj["kind"] == "Namespace":
            return () if event == "DELETED" else (("ServiceAccount", obj["metadata"]["name"], DEFAULT),)
        meta = obj["metadata"]
        return (("ServiceAccount", meta["namespace"], DEFAULT),) if event == "DELETED" and meta["name"] == DEFAULT \
            else ()

    def reconcile(self, key: Key) -> None:
        _, ns, name = key
        if _active(self.store.get("Namespace", "", ns)) and self.store.get(*key) is None:
            self.store.create({"apiVersion": "v1", "kind": "ServiceAccount",
                               "metadata": {"name": name, "namespace": ns}})


class RootCAPublisher(Controller):
    """The ``kube-root-ca.crt`` ConfigMap in every active namespace, always with the CA."""

    watches = ("Namespace", "ConfigMap")

    def keys_for(self, event: str, obj: Obj, old: Obj | None) -> Iterable[Key]:
        if obj["kind"] == "Namespace":
            return () if event == "DELETED" else (("ConfigMap", obj["metadata"]["name"], ROOT_CA),)
        meta = obj["metadata"]
        return (("ConfigMap", meta["namespace"], ROOT_CA),) if meta["name"] == ROOT_CA else ()

    def reconcile(self, key: Key) -> None:
        _, ns, name = key
        if not _active(self.store.get("Namespace", "", ns)):
            return
        current = self.store.get(*key)
        if current is None:
            self.store.create({"apiVersion": "v1", "kind": "ConfigMap", "data": {"ca.crt": CA_CERT},
                               "metadata": {"name": name, "namespace": ns,
                                            "annotations": {"kubernetes.io/description": _DESCRIPTION}}})
            return
        annotations = current["metadata"].get("annotations") or {}
        if current.get("data") == {"ca.crt": CA_CERT} and annotations.get("kubernetes.io/description") == _DESCRIPTION:
            return
        fixed = copy.deepcopy(current)
        fixed["data"] = {"ca.crt": CA_CERT}
        fixed.pop("binaryData", None)
        fixed["metadata"]["annotations"] = {**annotations, "kubernetes.io/description": _DESCRIPTION}
        self.store.update(fixed)


TOKEN_TYPE = "kubernetes.io/service-account-token"
SA_NAME = "kubernetes.io/service-account.name"
SA_UID = "kubernetes.io/service-account.uid"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenController(Controller):
    """kube-controller-manager's tokens controller, for legacy service-account-token Secrets.

    The token is shaped like the real one (an RS256 JWT: header with a key id, the legacy
    claims, a 256-byte signature) but nothing signs it: the key id and the "signature" are
    hashes of a cluster key taken from the seeded random stream's state (without drawing
    from it, so no other name moves), the secret's identity and the claims. Nothing in
    kubelab verifies tokens; a learner only reads them.
    """

    watches = ("ServiceAccount", "Secret")

    def __init__(self, engine: Engine, api: APIServer) -> None:
        super().__init__(engine)
        self.api = api
        self.key = hashlib.sha256(repr(engine.rng.getstate()).encode()).digest()

    def keys_for(self, event: str, obj: Obj, old: Obj | None) -> Iterable[Key]:
        meta = obj["metadata"]
        if obj["kind"] == "Secret":
            return () if event == "DELETED" or obj.get("type") != TOKEN_TYPE else (("Secret", meta["namespace"], meta["name"]),)
        if event == "MODIFIED":
            return ()
        # an account came or went: the token Secrets that name it are looked at again
        return [("Secret", meta["namespace"], s["metadata"]["name"])
                for s in self.store.list("Secret", meta["namespace"])
                if s.get("type") == TOKEN_TYPE and (s["metadata"].get("annotations") or {}).get(SA_NAME) == meta["name"]]

    def reconcile(self, key: Key) -> None:
        secret = self.store.get(*key)
        if secret is None or secret["metadata"].get("deletionTimestamp") or secret.get("type") != TOKEN_TYPE:
            return
        meta = secret["metadata"]
        notes = meta.get("annotations") or {}
        account = self.store.get("ServiceAccount", meta["namespace"], notes.get(SA_NAME, ""))
        if account is None or account["metadata"].get("uid") != notes.get(SA_UID, account["metadata"].get("uid")):
            try:
                self.api.delete("Secret", meta["name"], meta["namespace"])
            except errors.StatusError:
                pass
            return
        data = secret.get("data") or {}
        wanted = {"ca.crt": base64.b64encode(CA_CERT.encode()).decode(),
                  "namespace": base64.b64encode(meta["namespace"].encode()).decode()}
        if data.get("ca.crt") == wanted["ca.crt"] and data.get("namespace") and data.get("token"):
            return
        filled = copy.deepcopy(secret)
        filled["data"] = new_data = dict(data)
        new_data["ca.crt"] = wanted["ca.crt"]
        if not new_data.get("namespace"):
            new_data["namespace"] = wanted["namespace"]
        if not new_data.get("token"):
            new_data["token"] = base64.b64encode(self._token(secret, account).encode()).decode()
        filled["metadata"]["annotations"] = {**notes, SA_NAME: account["metadata"]["name"],
                                             SA_UID: account["metadata"]["uid"]}
        self.store.update(filled)

    def _token(self, secret: Obj, account: Obj) -> str:
        """A legacy service-account JWT: RS256 header, the legacy claims (keys sorted, as the
        JOSE library writes them), and an opaque 256-byte stand-in for the signature."""
        ns, name = account["metadata"]["namespace"], account["metadata"]["name"]
        header = {"alg": "RS256", "kid": _b64url(hashlib.sha256(self.key + b"kid").digest())}
        claims = {"iss": "kubernetes/serviceaccount",
                  "kubernetes.io/serviceaccount/namespace": ns,
                  "kubernetes.io/serviceaccount/secret.name": secret["metadata"]["name"],
                  "kubernetes.io/serviceaccount/service-account.name": name,
                  "kubernetes.io/serviceaccount/service-account.uid": account["metadata"]["uid"],
                  "sub": f"system:serviceaccount:{ns}:{name}"}
        signed = _b64url(json.dumps(header, separators=(",", ":")).encode()) + "." + \
            _b64url(json.dumps(claims, separators=(",", ":")).encode())
        digest = b"".join(hashlib.sha256(self.key + signed.encode() + bytes([i])).digest() for i in range(8))
        return f"{signed}.{_b64url(digest)}"


def access_volume(name: str) -> Obj:
    """The projected volume the admission plugin adds, with its defaults filled in."""
    return {"name": name, "projected": {"defaultMode": 420, "sources": [
        {"serviceAccountToken": {"expirationSeconds": TOKEN_SECONDS, "path": "token"}},
        {"configMap": {"items": [{"key": "ca.crt", "path": "ca.crt"}], "name": ROOT_CA}},
        {"downwardAPI": {"items": [{"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"},
                                    "path": "namespace"}]}}]}}


def _volume_name(pod: Obj, taken: set[str], salt: str) -> str:
    """``kube-api-access-`` and five characters of apimachinery's alphabet. Derived from the
    pod's identity instead of the shared random stream, so adding it moves no other name."""
    meta = pod["metadata"]
    digest = hashlib.sha256(f"{meta.get('namespace')}/{meta.get('name')}/{salt}".encode()).digest()
    n = 0
    while True:
        name = "kube-api-access-" + "".join(_NAME_CHARS[b % len(_NAME_CHARS)] for b in digest[n:n + 5])
        if name not in taken:
            return name
        n += 1


def admit_pod(store: Any, pod: Obj) -> None:
    """The ServiceAccount admission plugin's mutation of a new pod."""
    meta, spec = pod["metadata"], pod.get("spec") or {}
    if MIRROR_ANNOTATION in (meta.get("annotations") or {}):
        return
    account = store.get("ServiceAccount", meta.get("namespace", ""), spec.get("serviceAccountName") or DEFAULT)
    automount = spec.get("automountServiceAccountToken")
    if automount is None and account is not None:
        automount = account.get("automountServiceAccountToken")
    if automount is False:
        return
    containers = [c for key in ("initContainers", "containers", "ephemeralContainers") for c in spec.get(key) or ()]
    if all(any(m.get("mountPath") == MOUNT_PATH for m in c.get("volumeMounts") or ()) for c in containers):
        return
    volumes = spec.setdefault("volumes", [])
    name = _volume_name(pod, {v.get("name") for v in volumes}, store.resource_version)
    volumes.append(access_volume(name))
    for c in containers:
        if not any(m.get("mountPath") == MOUNT_PATH for m in c.get("volumeMounts") or ()):
            c.setdefault("volumeMounts", []).append({"mountPath": MOUNT_PATH, "name": name, "readOnly": True})


def install(engine: Engine, api: APIServer) -> None:
    """Start the controllers and the admission step; the namespaces that exist get theirs now."""
    def admit(obj: Obj, old: Obj | None, dry_run: bool) -> None:
        if old is None:
            admit_pod(engine.store, obj)

    api.add_hook("Pod", admit)
    for controller in (ServiceAccountController(engine), RootCAPublisher(engine)):
        engine.add(controller)
        for ns in engine.store.list("Namespace"):
            for key in controller.keys_for("ADDED", ns, None):
                controller.enqueue(key)
    engine.add(TokenController(engine, api))
