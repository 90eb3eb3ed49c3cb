"""The one seam: a Kubernetes-shaped API that everything above the engine talks to.

Objects cross it as plain dicts, exactly as the REST API carries them; failures cross it as
``StatusError``. ``EmbeddedClient`` serves it from the in-process engine; a remote client
serves it from a real cluster through the official ``kubernetes`` package.
"""
from __future__ import annotations

import secrets

from typing import TYPE_CHECKING, Any, Callable, Protocol

from kubelab.api.objects import Obj
from kubelab.engine.results import ExecResult, PortForwardError

if TYPE_CHECKING:
    from kubelab.engine.apiserver import APIServer
    from kubelab.engine.core import Engine
    from kubelab.engine.network import Network
    from kubelab.engine.session import Session

__all__ = ["Client", "EmbeddedClient", "ExecResult", "PortForwardClient", "PortForwardError", "TrafficClient"]


class Client(Protocol):
    """The verbs kubectl, the widgets and the diagrams use. ``kind`` is a Kind name
    (``"Pod"``, ``"Deployment"``); ``namespace=None`` means every namespace for list/watch."""

    def create(self, obj: Obj, namespace: str | None = None, *, dry_run: bool = False,
               field_validation: str = "Strict", field_manager: str | None = None) -> Obj: ...
    def get(self, kind: str, name: str, namespace: str | None = None) -> Obj: ...
    def list(self, kind: str, namespace: str | None = None, label_selector: str | None = None,
             field_selector: str | None = None) -> Obj: ...
    def update(self, obj: Obj, namespace: str | None = None, *, dry_run: bool = False,
               subresource: str | None = None, field_validation: str = "Strict",
               field_manager: str | None = None) -> Obj: ...
    def patch(self, kind: str, name: str, namespace: str | None, body: Any, patch_type: str = "strategic",
              *, dry_run: bool = False, field_validation: str = "Strict", field_manager: str | None = None) -> Obj: ...
    def apply(self, kind: str, name: str, namespace: str | None, config: Any, *, field_manager: str,
              force: bool = False, dry_run: bool = False, field_validation: str = "Strict") -> Obj: ...
    def delete(self, kind: str, name: str, namespace: str | None = None, *, grace_period: int | None = None,
               propagation: str = "Background", dry_run: bool = False) -> Obj: ...
    def watch(self, kind: str, namespace: str | None, callback: Callable[[str, Obj], None],
              label_selector: str | None = None) -> Callable[[], None]: ...
    def scale(self, kind: str, name: str, namespace: str | None, replicas: int) -> Obj: ...
    def evict(self, name: str, namespace: str | None, eviction: Obj, *, dry_run: bool = False) -> Obj:
        """POST ``pods/NAME/eviction`` with a policy/v1 Eviction (its ``deleteOptions``): the
        pod goes if its PodDisruptionBudget allows it, else a 429 StatusError."""
        ...
    def logs(self, name: str, namespace: str | None = None, container: str | None = None,
             previous: bool = False, tail: int | None = None) -> str: ...
    def exec(self, name: str, namespace: str | None, container: str | None, command: list[str],
             stdin: str | None = None, tty: bool = False) -> ExecResult: ...
    def open_exec(self, name: str, namespace: str | None, container: str | None, command: list[str],
                  stdin: bool = False, tty: bool = False) -> "Session":
        """``exec`` as an interactive stream (``-i``, ``-t``): see kubelab.engine.session."""
        ...
    def open_attach(self, name: str, namespace: str | None, container: str | None, stdin: bool = False,
                    tty: bool = False) -> "Session":
        """``attach`` (and ``run -it``): a stream to the container's main process."""
        ...
    def table(self, kind: str, objects: list[Obj], wide: bool = False) -> Obj: ...
    def now(self) -> float: ...
    def wait(self, condition: Callable[[], bool], timeout: float) -> bool: ...


class TrafficClient(Client, Protocol):
    """What a simulated cluster can tell beyond the API: where requests went and which ports
    processes really listen on. A real cluster can't; pictures go without it there."""

    def recent_requests(self, service: str, namespace: str) -> list[dict[str, Any]]: ...
    def listening_ports(self, pod: str, namespace: str) -> set[int]: ...
    def policy_verdict(self, pod: str, namespace: str, port: int, protocol: str = "TCP", *,
                       from_pod: str | None = None, from_namespace: str | None = None,
                       from_ip: str | None = None) -> dict[str, Any]:
        """NetworkPolicy's verdict on a connection to ``pod``:``port``, as kubelab.engine.netpol.Verdict's fields."""
        ...


class PortForwardClient(Client, Protocol):
    """A cluster that can carry ``kubectl port-forward`` traffic: one HTTP request delivered to
    ``localhost:port`` inside a pod. Raises :class:`PortForwardError` when nothing is there;
    returns None when what listens there does not speak HTTP (the connection just closes)."""

    def port_forward_request(self, pod: str, namespace: str, port: int, method: str, path: str,
                             headers: dict[str, str], body: str = ""
                             ) -> tuple[int, str, dict[str, str], str] | None: ...


class EmbeddedClient:
    """The client seam served by the in-process engine. Every call first lets the engine catch
    up with the clock (on a real clock one bounded slice: the background driver does the rest),
    and every write is on disk before it returns when the cluster keeps a state file."""

    def __init__(self, engine: "Engine", api: "APIServer", network: "Network",
                 token_key: bytes | None = None) -> None:
        self.engine = engine
        self.api = api
        self.network = network  # what only a simulated cluster can tell: traffic, listeners
        #: signs the ServiceAccount tokens this cluster issues (kubectl create token, and
        #: TokenRequest through the served API), which the served API then accepts: the
        #: state file's key (see Cluster), else random per cluster
        self.token_key = token_key or secrets.token_bytes(32)

    def create_token(self, name: str, namespace: str, request: Obj) -> Obj:
        """TokenRequest on ``serviceaccounts/NAME/token``: the account's bound token."""
        from kubelab.api import tokens

        return tokens.token_request(self.get("ServiceAccount", name, namespace), request, self.now(),
                                    self.token_key)

    def authenticate_token(self, token: str) -> Any:
        """The ServiceAccount (an rbac.User) a token this cluster issued, or a legacy token
        Secret holds, stands for; None for any other token."""
        from kubelab.api import tokens

        return tokens.authenticate(self, token, self.token_key)

    def _sync(self) -> None:
        self.engine.sync()

    def create(self, obj: Obj, namespace: str | None = None, **kw: Any) -> Obj:
        self._sync()
        try:
            return self.api.create(obj, namespace, **kw)
        finally:
            self.engine.flush()

    def get(self, kind: str, name: str, namespace: str | None = None) -> Obj:
        self._sync()
        return self.api.get(kind, name, namespace)

    def list(self, kind: str, namespace: str | None = None, label_selector: str | None = None,
             field_selector: str | None = None) -> Obj:
        self._sync()
        return self.api.list(kind, namespace, label_selector, field_selector)

    def update(self, obj: Obj, namespace: str | None = None, **kw: Any) -> Obj:
        self._sync()
        try:
            return self.api.update(obj, namespace, **kw)
        finally:
            self.engine.flush()

    def patch(self, kind: str, name: str, namespace: str | None, body: Any, patch_type: str = "strategic",
              **kw: Any) -> Obj:
        self._sync()
        try:
            return self.api.patch(kind, name, namespace, body, patch_type, **kw)
        finally:
            self.engine.flush()

    def apply(self, kind: str, name: str, namespace: str | None, config: Any, **kw: Any) -> Obj:
        self._sync()
        return self.api.apply(kind, name, namespace, config, **kw)

    def delete(self, kind: str, name: str, namespace: str | None = None, **kw: Any) -> Obj:
        self._sync()
        try:
            return self.api.delete(kind, name, namespace, **kw)
        finally:
            self.engine.flush()

    def watch(self, kind: str, namespace: str | None, callback: Callable[[str, Obj], None],
              label_selector: str | None = None) -> Callable[[], None]:
        return self.api.watch(kind, namespace, callback, label_selector)

    def scale(self, kind: str, name: str, namespace: str | None, replicas: int) -> Obj:
        self._sync()
        try:
            return self.api.scale(kind, name, namespace, replicas)
        finally:
            self.engine.flush()

    def evict(self, name: str, namespace: str | None, eviction: Obj, *, dry_run: bool = False) -> Obj:
        self._sync()
        try:
            return self.api.evict(name, namespace, eviction, dry_run)
        finally:
            self.engine.flush()

    def logs(self, name: str, namespace: str | None = None, container: str | None = None,
             previous: bool = False, tail: int | None = None) -> str:
        self._sync()
        return self.api.logs(name, namespace, container, previous, tail)

    def exec(self, name: str, namespace: str | None, container: str | None, command: list[str],
             stdin: str | None = None, tty: bool = False) -> ExecResult:
        self._sync()
        try:
            return self.api.exec(name, namespace, container, command, stdin, tty)
        finally:
            self.engine.flush()  # what it wrote into a volume is on disk once it answered

    def open_exec(self, name: str, namespace: str | None, container: str | None, command: list[str],
                  stdin: bool = False, tty: bool = False) -> "Session":
        self._sync()
        return self.api.open_exec(name, namespace, container, command, stdin, tty)

    def open_attach(self, name: str, namespace: str | None, container: str | None, stdin: bool = False,
                    tty: bool = False) -> "Session":
        self._sync()
        return self.api.open_attach(name, namespace, container, stdin, tty)

    def table(self, kind: str, objects: list[Obj], wide: bool = False) -> Obj:
        from kubelab.api.tables import table

        return table(kind, objects, self.now(), wide)

    def now(self) -> float:
        return self.engine.clock.now()

    def recent_requests(self, service: str, namespace: str) -> list[dict[str, Any]]:
        """The latest requests through a Service, oldest first (who asked, which pod answered)."""
        self._sync()
        return [route._asdict() for route in self.network.recent(namespace, service)]

    def listening_ports(self, pod: str, namespace: str) -> set[int]:
        """The ports a pod's processes listen on right now (not just the ones declared)."""
        self._sync()
        ip = (self.api.get("Pod", pod, namespace).get("status") or {}).get("podIP", "")
        sandbox = self.network.sandboxes.get(ip)
        return set(sandbox.listeners) if sandbox is not None else set()

    def policy_verdict(self, pod: str, namespace: str, port: int, protocol: str = "TCP", *,
                       from_pod: str | None = None, from_namespace: str | None = None,
                       from_ip: str | None = None) -> dict[str, Any]:
        """What the simulated network's NetworkPolicy enforcement makes of a connection to
        ``pod``:``port`` from pod ``from_pod`` (in ``from_namespace``, by default ``namespace``),
        else from the address ``from_ip``, else from some pod not named: the very verdict that
        drops or lets through its packets (kubelab.engine.netpol.Verdict, as a dict)."""
        self._sync()
        dst = self.api.get("Pod", pod, namespace)
        src = self.api.get("Pod", from_pod, from_namespace or namespace) if from_pod else None
        return self.network.verdict(src, from_ip, dst, port, protocol).as_dict()

    def port_forward_request(self, pod: str, namespace: str, port: int, method: str, path: str,
                             headers: dict[str, str], body: str = ""
                             ) -> tuple[int, str, dict[str, str], str] | None:
        """Deliver one HTTP request to ``localhost:port`` in the pod's network namespace, as the
        kubelet's port-forward stream does; ``(status, reason, headers, body)`` of the answer.
        Called from the forward's socket threads, hence the engine lock."""
        with self.engine.lock:
            self._sync()
            return self.api.port_forward(pod, namespace, port, method, path, headers, body)

    def wait(self, condition: Callable[[], bool], timeout: float) -> bool:
        """Wait up to ``timeout`` seconds of cluster time for ``condition``: a virtual clock
        runs forward to it, a real one waits in real time."""
        if self.engine.clock.virtual:
            return self.engine.settle(timeout, until=condition)
        import time

        deadline = time.monotonic() + timeout
        while True:
            self._sync()
            if condition():
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.1)
