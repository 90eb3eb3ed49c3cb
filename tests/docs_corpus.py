"""The docs corpus: manifests standing for the Kubernetes documentation's examples
(kubernetes/website content/en/examples) and the kubernetes/examples repository, each written
here from the facts its upstream file exercises (kinds, apiVersions, field shapes, public images
and commands), never copied. Each file in ``tests/corpus/docs/`` is one example; its header says
which upstream file it stands for and what a real Kubernetes 1.32 cluster does with it:

``# upstream: REPO PATH``
    the file it stands for.
``# requires: OTHER.yaml``
    a corpus file the docs apply first, in the same cluster (a PV before its claim).
``# namespace: NAME``
    the docs create this namespace and apply the file with ``--namespace=NAME``.
``# advance: SECONDS``
    how long the cluster runs after the apply (default 120 s of virtual time).
``# expect: CHECK TARGET [ARGUMENT]``
    one expectation, decided from Kubernetes' behaviour (see :data:`CHECKS`); TARGET is
    ``kind/name`` or ``kind/namespace/name``, ARGUMENT the rest of the line, taken as written.

:func:`run` applies one file (as ``kubectl apply -f``) to a fresh virtual-clock cluster, moves
it forward and judges every expectation; tests/test_docs_corpus.py and
bench/bench_docs_corpus.py use it.
"""
from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from kubelab.cluster import Cluster

CORPUS = Path(__file__).resolve().parent / "corpus" / "docs"
DEFAULT_ADVANCE = 120.0

#: kubectl's short words for the kinds an expectation names
_KINDS = {
    "pod": "Pod", "deployment": "Deployment", "rs": "ReplicaSet", "rc": "ReplicationController",
    "sts": "StatefulSet", "ds": "DaemonSet", "job": "Job", "cronjob": "CronJob", "pvc": "PersistentVolumeClaim",
    "pv": "PersistentVolume", "svc": "Service", "sc": "StorageClass", "cm": "ConfigMap", "secret": "Secret",
    "sa": "ServiceAccount", "ns": "Namespace", "role": "Role", "rolebinding": "RoleBinding",
    "clusterrole": "ClusterRole", "clusterrolebinding": "ClusterRoleBinding", "limitrange": "LimitRange",
    "quota": "ResourceQuota", "pdb": "PodDisruptionBudget", "netpol": "NetworkPolicy", "ing": "Ingress",
    "ingressclass": "IngressClass", "hpa": "HorizontalPodAutoscaler", "ep": "Endpoints",
    "priorityclass": "PriorityClass",
}


@dataclass
class Example:
    """One corpus file and what its header says."""
    path: Path
    upstream: str = ""
    requires: list[str] = field(default_factory=list)
    namespace: str | None = None
    advance: float = DEFAULT_ADVANCE
    expects: list[list[str]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.path.name


def load(path: Path) -> Example:
    """Read a corpus file's header (the comment lines before its first document)."""
    ex = Example(path)
    for line in path.read_text().splitlines():
        if not line.startswith("#"):
            if line.strip() and not line.startswith("---"):
                break
            continue
        key, _, value = line.lstrip("# ").partition(":")
        value = value.strip()
        if key == "upstream":
            ex.upstream = value
        elif key == "requires":
            ex.requires.append(value)
        elif key == "namespace":
            ex.namespace = value
        elif key == "advance":
            ex.advance = float(value)
        elif key == "expect":
            check, _, rest = value.partition(" ")
            ex.expects.append([check, *rest.strip().split(" ", 1)] if rest.strip() else [check])
    return ex


def examples() -> list[Example]:
    return [load(p) for p in sorted(CORPUS.glob("*.yaml"))]


class Judge:
    """The expectations' checks against one cluster; each returns a reason when unmet."""

    def __init__(self, cluster: Cluster, namespace: str | None, applied: Any) -> None:
        self.c, self.ns, self.applied = cluster, namespace or "default", applied

    def _split(self, target: str) -> tuple[str, str, str]:
        """``kind/name`` or ``kind/namespace/name`` -> (kind word, name, namespace)."""
        parts = target.split("/")
        if len(parts) == 3:
            return parts[0], parts[2], parts[1]
        return parts[0], parts[1], self.ns

    def _obj(self, target: str) -> dict[str, Any]:
        word, name, ns = self._split(target)
        return self.c.api.get(_KINDS[word], name, ns)

    @staticmethod
    def _cond(obj: dict[str, Any], type_: str) -> str | None:
        for c in obj.get("status", {}).get("conditions") or []:
            if c.get("type") == type_:
                return c.get("status")
        return None

    def _statuses(self, pod: dict[str, Any]) -> list[dict[str, Any]]:
        st = pod.get("status", {})
        return (st.get("initContainerStatuses") or []) + (st.get("containerStatuses") or [])

    def applied_ok(self) -> str | None:
        if self.applied.returncode != 0:
            return f"apply failed: {self.applied.stderr.strip()}"
        return None

    def ready(self, target: str) -> str | None:
        """A pod is Ready; a workload has all its replicas ready (available for a Deployment)."""
        obj = self._obj(target)
        kind, st, spec = obj["kind"], obj.get("status", {}), obj.get("spec", {})
        if kind == "Pod":
            return None if self._cond(obj, "Ready") == "True" else f"pod not Ready: {self._pod_state(obj)}"
        if kind == "DaemonSet":
            want, got = st.get("desiredNumberScheduled", 0), st.get("numberReady", 0)
            return None if want and want == got else f"{got}/{want} ready"
        want = spec.get("replicas", 1)
        got = st.get("availableReplicas" if kind == "Deployment" else "readyReplicas", 0) or 0
        return None if got == want else f"{got}/{want} ready"

    def _pod_state(self, pod: dict[str, Any]) -> str:
        st = pod.get("status", {})
        parts = [st.get("phase", "?")]
        for c in self._statuses(pod):
            state = c.get("state", {})
            for k, v in state.items():
                parts.append(f"{c['name']}={k}:{v.get('reason', '')}:{v.get('message', '')[:120]}")
        for c in st.get("conditions") or []:
            if c.get("status") != "True" and c.get("message"):
                parts.append(f"{c['type']}: {c['message'][:160]}")
        return " ".join(parts)

    def phase(self, target: str, want: str) -> str | None:
        obj = self._obj(target)
        got = obj.get("status", {}).get("phase")
        if got == want:
            return None
        return f"phase {got}, not {want}" + (f" ({self._pod_state(obj)})" if obj["kind"] == "Pod" else "")

    def running(self, target: str) -> str | None:
        return self.phase(target, "Running")

    def restarted(self, target: str) -> str | None:
        pod = self._obj(target)
        if any(c.get("restartCount", 0) >= 1 for c in self._statuses(pod)):
            return None
        return f"no restart: {self._pod_state(pod)}"

    def waiting(self, target: str, reason: str) -> str | None:
        pod = self._obj(target)
        for c in self._statuses(pod):
            for state in (c.get("state", {}), c.get("lastState", {})):
                if state.get("waiting", {}).get("reason") == reason:
                    return None
        return f"no container waiting with {reason}: {self._pod_state(pod)}"

    def terminated(self, target: str, arg: str) -> str | None:
        """``REASON [MESSAGE]``: a container terminated (now or last time) so."""
        pod = self._obj(target)
        reason, _, want = arg.partition(" ")
        for c in self._statuses(pod):
            for state in (c.get("state", {}), c.get("lastState", {})):
                t = state.get("terminated") or {}
                if t.get("reason") == reason and want in (t.get("message") or ""):
                    return None
        return f"no container terminated with {reason} {want!r}: {self._pod_state(pod)}"

    def jsonpath(self, target: str, arg: str) -> str | None:
        """``EXPR WANT``: ``kubectl get TARGET -o jsonpath=EXPR`` prints text holding WANT."""
        expr, _, text = arg.partition(" ")
        kind, name, ns = self._split(target)
        r = self.c.kubectl("get", f"{kind}/{name}", "-n", ns, "-o", f"jsonpath={expr}")
        return None if r.returncode == 0 and text in r.stdout else f"{expr} is {(r.stdout or r.stderr)[:300]!r}"

    def unschedulable(self, target: str, reason: str = "Unschedulable") -> str | None:
        """The pod stays Pending, its PodScheduled condition False with this reason."""
        pod = self._obj(target)
        for c in pod.get("status", {}).get("conditions") or []:
            if c.get("type") == "PodScheduled" and c.get("status") == "False" and c.get("reason") == reason:
                return None
        return f"not {reason}: {self._pod_state(pod)}"

    def complete(self, target: str) -> str | None:
        job = self._obj(target)
        return None if self._cond(job, "Complete") == "True" else f"job not Complete: {job.get('status')}"

    def jobfailed(self, target: str) -> str | None:
        job = self._obj(target)
        return None if self._cond(job, "Failed") == "True" else f"job not Failed: {job.get('status')}"

    def jobs(self, target: str, at_least: str) -> str | None:
        """A CronJob has created at least N Jobs."""
        cj = self._obj(target)
        owned = [j for j in self.c.api.list("Job", self.ns)["items"]
                 if any(o.get("uid") == cj["metadata"]["uid"] for o in j["metadata"].get("ownerReferences") or [])]
        last = cj.get("status", {}).get("lastScheduleTime")
        if len(owned) >= int(at_least) or (last and int(at_least) <= 1):
            return None
        return f"{len(owned)} jobs, lastScheduleTime {last}"

    def bound(self, target: str) -> str | None:
        return self.phase(target, "Bound")

    def exists(self, target: str) -> str | None:
        self._obj(target)
        return None

    def rejected(self, *text: str) -> str | None:
        """The apply fails (as a real cluster refuses it) with this text."""
        want = " ".join(text)  # no target: the words are the text
        if self.applied.returncode == 0:
            return f"applied, though a real cluster answers {want!r}"
        return None if want in self.applied.stderr else f"rejected otherwise: {self.applied.stderr.strip()}"

    def log(self, target: str, want: str) -> str | None:
        """The pod's (``pod/NAME:CONTAINER``: the container's; ``job/NAME``: as kubectl logs
        picks) log holds this text."""
        pod, _, container = target.partition(":")
        if not pod.startswith("pod/"):  # job/NAME, deployment/NAME: kubectl logs picks the pod
            r = self.c.kubectl("logs", pod, "-n", self.ns)
            got = r.stdout + r.stderr
        else:
            got = self.c.api.logs(pod.partition("/")[2], self.ns, container or None)
        return None if want in got else f"log lacks {want!r}: {got[-300:]!r}"

    def pods(self, selector: str, arg: str) -> str | None:
        """``N [PHASE]``: N pods with this label selector in the phase (Running by default)."""
        count, _, phase = arg.partition(" ")
        phase = phase or "Running"
        items = self.c.api.list("Pod", self.ns, label_selector=selector)["items"]
        got = [p for p in items if p.get("status", {}).get("phase") == phase]
        return None if len(got) == int(count) else f"{len(got)}/{len(items)} {phase}, want {count}"

    def endpoints(self, target: str, count: str) -> str | None:
        """A Service has N ready endpoint addresses."""
        name = target.partition("/")[2]
        ep = self.c.api.get("Endpoints", name, self.ns)
        n = sum(len(s.get("addresses") or []) for s in ep.get("subsets") or [])
        return None if n == int(count) else f"{n} ready addresses, want {count}"

    def exec(self, target: str, arg: str) -> str | None:
        """``CMD... => TEXT``: the command's output holds TEXT."""
        cmd, _, want = arg.partition(" => ")
        pod, _, container = target.partition(":")
        r = self.c.api.exec(pod.partition("/")[2], self.ns, container or None, shlex.split(cmd))
        out = r.stdout + r.stderr
        return None if want in out else f"exec {cmd!r} gave {out[-300:]!r} (exit {r.exit_code})"


CHECKS: dict[str, Callable[..., str | None]] = {
    name: getattr(Judge, name) for name in (
        "ready", "phase", "running", "restarted", "waiting", "terminated", "jsonpath", "unschedulable", "complete", "jobfailed", "jobs",
        "bound", "exists", "rejected", "log", "pods", "endpoints", "exec")
}


@dataclass
class Result:
    example: Example
    failures: list[str]

    @property
    def passed(self) -> bool:
        return not self.failures


def run(ex: Example) -> Result:
    """Apply the example (and what it requires) to a fresh virtual-clock cluster, run it
    forward, and judge each expectation."""
    c = Cluster(clock="virtual", seed=1)
    ns_args: list[str] = []
    if ex.namespace:
        c.kubectl(f"create namespace {ex.namespace}")
        ns_args = [f"--namespace={ex.namespace}"]
    failures: list[str] = []
    for req in ex.requires:
        r = c.kubectl("apply", "-f", str(CORPUS / req), *ns_args)
        if r.returncode != 0:
            failures.append(f"requires {req}: {r.stderr.strip()}")
        c.advance(10)
    applied = c.kubectl("apply", "-f", str(ex.path), *ns_args)
    judge = Judge(c, ex.namespace, applied)
    expects_rejection = any(e[0] == "rejected" for e in ex.expects)
    if not expects_rejection and (why := judge.applied_ok()):
        failures.append(why)
    c.advance(ex.advance)
    for words in ex.expects:
        check = CHECKS.get(words[0])
        if check is None:
            failures.append(f"unknown check {words[0]!r}")
            continue
        try:
            why = check(judge, *words[1:])
        except Exception as err:  # a missing object is an unmet expectation, said so
            why = f"{type(err).__name__}: {err}"
        if why:
            failures.append(f"{' '.join(words)}: {why}")
    c.close()
    return Result(ex, failures)
