"""Exercise checks: one line at the end of a chapter tells the learner how far they got.

``check("05-nodeport")`` reads the live cluster through the client (never through the engine,
so the same checks work on a real cluster), and answers with what is right, what is missing,
and a hint that points the way without giving the solution. While the only things missing
are pods still starting, it waits a little before answering.
"""
from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from kubelab.api.errors import StatusError
from kubelab.api.objects import Obj
from kubelab.api.pods import is_ready
from kubelab.api.selectors import from_label_selector

if TYPE_CHECKING:
    from kubelab.client import Client


@dataclass
class Finding:
    """One thing the check looked at. ``pending`` marks what time alone may fix (a pod
    still starting), so the check waits for it rather than giving a hint at once."""

    ok: bool
    text: str
    hint: str = ""
    pending: bool = False


@dataclass
class Report:
    """The answer of a check: shown as a short list in the notebook, usable in tests."""

    name: str
    title: str
    findings: list[Finding] = field(default_factory=list)

    def good(self, text: str) -> None:
        self.findings.append(Finding(True, text))

    def bad(self, text: str, hint: str = "", pending: bool = False) -> None:
        self.findings.append(Finding(False, text, hint, pending))

    @property
    def passed(self) -> bool:
        return all(f.ok for f in self.findings)

    @property
    def hints(self) -> list[str]:
        return [f.hint for f in self.findings if not f.ok and f.hint]

    @property
    def waiting(self) -> bool:
        """Nothing is wrong that time will not fix."""
        return not self.passed and all(f.ok or f.pending for f in self.findings)

    def __str__(self) -> str:
        lines = [f"Exercise {self.name}: {self.title}"]
        for f in self.findings:
            lines.append(f"  {'✔' if f.ok else '✘'} {f.text}")
            if not f.ok and f.hint:
                lines.append(f"      hint: {f.hint}")
        lines.append("  All done, well done!" if self.passed else "  Not there yet: fix the ✘ lines and run the check again.")
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        colour = "#1a7f37" if self.passed else "#b35900"
        items = []
        for f in self.findings:
            mark = '<span style="color:#1a7f37">✔</span>' if f.ok else '<span style="color:#cf222e">✘</span>'
            hint = (f'<br><span style="color:#57606a">hint: {_code(f.hint)}</span>' if not f.ok and f.hint
                    else "")
            items.append(f"<li style='list-style:none'>{mark} {html.escape(f.text)}{hint}</li>")
        verdict = "All done, well done!" if self.passed else "Not there yet: fix the ✘ lines and run the check again."
        return (f"<div style='border-left:4px solid {colour};padding:4px 10px'>"
                f"<b>Exercise {html.escape(self.name)}</b>: {html.escape(self.title)}"
                f"<ul style='padding-left:4px;margin:4px 0'>{''.join(items)}</ul>"
                f"<b style='color:{colour}'>{verdict}</b></div>")


def _code(text: str) -> str:
    """Escape a hint for HTML, showing its `backticked` commands as code (no emoji: a missing
    emoji font shows an empty box)."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))


Check = Callable[["Client", Report], None]
CHECKS: dict[str, tuple[str, Check]] = {}


def exercise(name: str, title: str) -> Callable[[Check], Check]:
    def register(fn: Check) -> Check:
        CHECKS[name] = (title, fn)
        return fn
    return register


def check(name: str, client: "Client | None" = None, wait: float = 20.0) -> Report:
    """Check exercise ``name`` against the cluster (by default the one the ``%kube`` magics
    use). Waits up to ``wait`` seconds of cluster time while pods are only still starting."""
    if name not in CHECKS:
        raise KeyError(f"no exercise called {name!r}; there are: {', '.join(sorted(CHECKS))}")
    title, fn = CHECKS[name]
    if client is None:
        from kubelab.notebook import client as kernel_client

        client = kernel_client()

    def run() -> Report:
        report = Report(name, title)
        fn(client, report)
        return report

    report = run()
    if report.waiting and wait > 0:
        holder = [report]

        def settled() -> bool:
            holder[0] = run()
            return not holder[0].waiting

        client.wait(settled, wait)
        report = holder[0]
    return report


# -- reading the cluster ------------------------------------------------------------------
def _get(client: "Client", kind: str, name: str, namespace: str | None = "default") -> Obj | None:
    try:
        return client.get(kind, name, namespace)
    except StatusError as err:
        if err.reason == "NotFound":
            return None
        raise


def _matching_pods(client: "Client", namespace: str, match: dict[str, str]) -> list[Obj]:
    if not match:
        return []
    selector = ",".join(f"{k}={v}" for k, v in sorted(match.items()))
    pods = client.list("Pod", namespace, label_selector=selector)["items"]
    return [p for p in pods if not p["metadata"].get("deletionTimestamp")]


def _trouble(pod: Obj) -> str:
    """Why a container is not running, as kubectl's STATUS column would say it ('' if none)."""
    for cs in pod.get("status", {}).get("containerStatuses") or []:
        waiting = (cs.get("state") or {}).get("waiting") or {}
        if waiting.get("reason") and waiting["reason"] != "ContainerCreating":
            return waiting["reason"]
        terminated = (cs.get("state") or {}).get("terminated") or {}
        if terminated.get("reason") and terminated.get("exitCode", 0) != 0:
            return terminated["reason"]
    for cond in pod.get("status", {}).get("conditions") or []:
        if cond.get("type") == "PodScheduled" and cond.get("status") == "False":
            return cond.get("reason") or "Unschedulable"
    return ""


def _pods_ready(report: Report, pods: list[Obj], want: int, what: str) -> None:
    """Report whether ``want`` pods are Ready; a stuck pod gets a debugging hint."""
    ready = sum(is_ready(p) for p in pods)
    if ready >= want:
        report.good(f"{ready} of {want} {what} pods are Ready")
        return
    stuck = [(p["metadata"]["name"], _trouble(p)) for p in pods if _trouble(p)]
    if stuck:
        name, reason = stuck[0]
        report.bad(f"pod {name} is not starting ({reason})",
                   f"`%kube describe pod {name}` and read the Events at the bottom: they say what went wrong")
    elif len(pods) < want:
        report.bad(f"{len(pods)} {what} pods exist, {want} wanted", pending=bool(pods),
                   hint="how many replicas did you ask for?")
    else:
        report.bad(f"{ready} of {want} {what} pods are Ready so far", "give them a few seconds, then check again",
                   pending=True)


def _rollout_done(deploy: Obj) -> bool:
    """What `kubectl rollout status` waits for: the latest spec seen, every replica updated
    and available, no old pods left."""
    want = deploy["spec"].get("replicas", 1)
    status = deploy.get("status") or {}
    return (status.get("observedGeneration", 0) >= deploy["metadata"].get("generation", 1)
            and status.get("updatedReplicas", 0) == want and status.get("replicas", 0) == want
            and status.get("availableReplicas", 0) == want)


def _image_of(template_or_pod_spec: Obj) -> str:
    containers = template_or_pod_spec.get("containers") or [{}]
    return containers[0].get("image", "")


def _image_is(image: str, repo: str, tag: str | None = None) -> bool:
    """``nginx``, ``nginx:latest``, ``docker.io/library/nginx`` all name the same image."""
    name, _, found_tag = image.rpartition(":") if ":" in image.rsplit("/", 1)[-1] else (image, "", "")
    for prefix in ("docker.io/library/", "docker.io/", "library/"):
        if name.startswith(prefix):
            name = name[len(prefix):]
            break
    if name != repo:
        return False
    return tag is None or (found_tag or "latest") == tag


def _labels(obj: Obj) -> dict[str, str]:
    return obj.get("metadata", {}).get("labels") or {}


def _b64(value: str) -> str:
    try:
        return base64.b64decode(value, validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        return ""


# -- the exercises ------------------------------------------------------------------------
@exercise("00-hello", "a pod called hello running nginx")
def _hello(client: "Client", report: Report) -> None:
    pod = _get(client, "Pod", "hello")
    if pod is None:
        report.bad("there is no pod called hello in the default namespace",
                   "`%kube run` can start a single pod from an image; so can a Pod manifest")
        return
    report.good("pod hello exists")
    image = _image_of(pod["spec"])
    if _image_is(image, "nginx"):
        report.good(f"it runs {image}")
    else:
        report.bad(f"it runs {image!r}, not nginx",
                   "a pod's image can be changed in place: `%kube set image pod/hello hello=nginx` "
                   "(the kubelet restarts the container with the new image)")
    _pods_ready(report, [pod], 1, "hello")


@exercise("01-labels", "a pod called web (nginx) labelled app=web and tier=frontend")
def _labels_exercise(client: "Client", report: Report) -> None:
    pod = _get(client, "Pod", "web")
    if pod is None:
        report.bad("there is no pod called web", "write a Pod manifest like echo-server's and apply it")
        return
    report.good("pod web exists")
    if not _image_is(_image_of(pod["spec"]), "nginx"):
        report.bad(f"pod web runs {_image_of(pod['spec'])!r}, not nginx",
                   "delete the pod and create it again with the nginx image")
    labels = _labels(pod)
    for key, value in (("app", "web"), ("tier", "frontend")):
        if labels.get(key) == value:
            report.good(f"label {key}={value}")
        elif key in labels:
            report.bad(f"label {key} is {labels[key]!r}, not {value!r}",
                       "`%kube get pod web --show-labels` shows the labels; `%kube label` can change one (see --overwrite)")
        else:
            report.bad(f"label {key} is missing",
                       "labels live under metadata.labels; `%kube label` adds one to a running pod too")
    _pods_ready(report, [pod], 1, "web")


@exercise("02-namespace", "namespace staging with an echo-server pod in it")
def _namespace(client: "Client", report: Report) -> None:
    if _get(client, "Namespace", "staging", None) is None:
        report.bad("there is no namespace called staging", "a namespace can be created with one kubectl command or a manifest")
        return
    report.good("namespace staging exists")
    pod = _get(client, "Pod", "echo-server", "staging")
    if pod is None:
        elsewhere = [p["metadata"]["namespace"] for p in client.list("Pod", None)["items"]
                     if p["metadata"]["name"] == "echo-server"]
        where = f" (there is one in {', '.join(elsewhere)})" if elsewhere else ""
        report.bad(f"no pod echo-server in namespace staging{where}",
                   "without -n (or metadata.namespace) things land in the default namespace")
        return
    report.good("pod echo-server is in staging")
    if not _image_is(_image_of(pod["spec"]), "kennship/http-echo"):
        report.bad(f"it runs {_image_of(pod['spec'])!r}", "use the echo server's image, kennship/http-echo")
    _pods_ready(report, [pod], 1, "echo-server")


@exercise("03-replicaset", "a ReplicaSet called frontend keeping 4 nginx pods labelled app=frontend")
def _replicaset(client: "Client", report: Report) -> None:
    rs = _get(client, "ReplicaSet", "frontend")
    if rs is None:
        report.bad("there is no ReplicaSet called frontend", "start from the echo-server ReplicaSet and change names, labels and image")
        return
    report.good("ReplicaSet frontend exists")
    labels = _labels(rs["spec"]["template"])
    if labels.get("app") == "frontend":
        report.good("its pods are labelled app=frontend")
    else:
        report.bad("its pod template is not labelled app=frontend",
                   "the labels that matter are the ones in spec.template.metadata.labels (and the selector must match them)")
    if not _image_is(_image_of(rs["spec"]["template"]["spec"]), "nginx"):
        report.bad(f"its pods run {_image_of(rs['spec']['template']['spec'])!r}, not nginx",
                   "changing the template does not touch existing pods: delete them and the ReplicaSet makes new ones")
    want = rs["spec"].get("replicas", 1)
    if want != 4:
        report.bad(f"it asks for {want} replicas, the exercise wants 4",
                   "change spec.replicas and apply again, or use `%kube scale`")
        return
    report.good("it asks for 4 replicas")
    selector = rs["spec"]["selector"].get("matchLabels") or {}
    _pods_ready(report, _matching_pods(client, "default", selector), 4, "frontend")


@exercise("04-rollout", "Deployment web: 3 replicas of nginx:1.26, rolled out to nginx:1.27")
def _rollout(client: "Client", report: Report) -> None:
    deploy = _get(client, "Deployment", "web")
    if deploy is None:
        report.bad("there is no Deployment called web", "the echo-server Deployment is a good starting point")
        return
    report.good("Deployment web exists")
    image = _image_of(deploy["spec"]["template"]["spec"])
    uid = deploy["metadata"]["uid"]
    owned = [rs for rs in client.list("ReplicaSet", "default")["items"]
             if any(ref.get("uid") == uid for ref in rs["metadata"].get("ownerReferences") or [])]
    old_images = {_image_of(rs["spec"]["template"]["spec"]) for rs in owned}
    if any(_image_is(i, "nginx", "1.26") for i in old_images):
        report.good("a revision ran nginx:1.26")
    else:
        report.bad("no revision in its history ran nginx:1.26",
                   "start it on nginx:1.26 first, so that `%kube rollout history` has something to go back to")
    if _image_is(image, "nginx", "1.27"):
        report.good("it now runs nginx:1.27")
    else:
        report.bad(f"it now runs {image!r}", "update the image: edit the manifest and apply, or `%kube set image`")
        return
    want = deploy["spec"].get("replicas", 1)
    if want != 3:
        report.bad(f"it asks for {want} replicas, not 3", "spec.replicas")
        return
    if _rollout_done(deploy):
        report.good("the rollout is complete: 3 pods on nginx:1.27, all available")
    else:
        selector = deploy["spec"]["selector"].get("matchLabels") or {}
        pods = [p for p in _matching_pods(client, "default", selector) if _image_is(_image_of(p["spec"]), "nginx", "1.27")]
        stuck = [p for p in pods if _trouble(p)]
        if stuck:
            _pods_ready(report, pods, want, "web")
        else:
            report.bad("the rollout is still going", "`%kube rollout status deploy/web` waits for it", pending=True)


@exercise("05-nodeport", "3 echo servers (Deployment hello) reachable on every node at port 30080")
def _nodeport(client: "Client", report: Report) -> None:
    deploy = _get(client, "Deployment", "hello")
    pods: list[Obj] = []
    if deploy is None:
        report.bad("there is no Deployment called hello", "the echo-server Deployment from chapter 04, renamed")
    else:
        report.good("Deployment hello exists")
        want = deploy["spec"].get("replicas", 1)
        pods = _matching_pods(client, "default", deploy["spec"]["selector"].get("matchLabels") or {})
        if want != 3:
            report.bad(f"it asks for {want} replicas, not 3", "spec.replicas, or `%kube scale`")
        else:
            _pods_ready(report, pods, 3, "hello")
    svc = _get(client, "Service", "hello")
    if svc is None:
        report.bad("there is no Service called hello", "write a Service manifest (or try `%kube expose`)")
        return
    report.good("Service hello exists")
    spec = svc["spec"]
    if spec.get("type") == "NodePort":
        report.good("it is a NodePort Service")
    else:
        report.bad(f"it is of type {spec.get('type', 'ClusterIP')}",
                   "which Service type opens a port on every node? (the type field can be changed by applying again)")
    ports = spec.get("ports") or []
    if any(p.get("nodePort") == 30080 for p in ports):
        report.good("node port 30080")
    else:
        found = ", ".join(str(p["nodePort"]) for p in ports if p.get("nodePort")) or "none"
        report.bad(f"node port is not 30080 ({found})", "set nodePort in the Service's ports: otherwise one is picked at random")
    selector = spec.get("selector") or {}
    selected = _matching_pods(client, "default", selector)
    if pods and not any(p["metadata"]["uid"] in {s["metadata"]["uid"] for s in selected} for p in pods):
        report.bad("the Service's selector matches none of hello's pods",
                   "compare the Service's selector with the labels of the pods (`%kube get pods --show-labels`)")
    elif selected:
        report.good(f"its selector picks {len(selected)} pods")
    targets = {p.get("targetPort", p.get("port")) for p in ports}
    if 3000 in targets or "3000" in targets:
        report.good("traffic goes to container port 3000, where the echo server listens")
    else:
        report.bad(f"traffic goes to port {', '.join(map(str, targets))} of the pods",
                   "which port does the echo server listen on? That is the targetPort")


@exercise("06-configmap", "Deployment greeter (2 echo servers) taking PORT=8080 from ConfigMap greeter-config")
def _configmap(client: "Client", report: Report) -> None:
    cm = _get(client, "ConfigMap", "greeter-config")
    if cm is None:
        report.bad("there is no ConfigMap called greeter-config", "a ConfigMap manifest, or `%kube create configmap ... --from-literal`")
    elif (cm.get("data") or {}).get("PORT") == "8080":
        report.good("greeter-config has PORT=8080")
    else:
        report.bad(f"greeter-config's data is {cm.get('data') or {}}", "the key is PORT and the value the string \"8080\"")
    deploy = _get(client, "Deployment", "greeter")
    if deploy is None:
        report.bad("there is no Deployment called greeter", "start from echo-server's Deployment with envFrom")
        return
    report.good("Deployment greeter exists")
    container = (deploy["spec"]["template"]["spec"].get("containers") or [{}])[0]
    from_cm = any((src.get("configMapRef") or {}).get("name") == "greeter-config" for src in container.get("envFrom") or [])
    from_key = any(((e.get("valueFrom") or {}).get("configMapKeyRef") or {}).get("name") == "greeter-config"
                   and e.get("name") == "PORT" for e in container.get("env") or [])
    literal = any(e.get("name") == "PORT" and "value" in e for e in container.get("env") or [])
    if from_cm or from_key:
        report.good("its container takes its environment from greeter-config")
    elif literal:
        report.bad("PORT is written into the Deployment itself",
                   "the point is to keep configuration out of the pod spec: take it from the ConfigMap (envFrom)")
    else:
        report.bad("its container does not use greeter-config", "look at envFrom in the chapter's Deployment")
    want = deploy["spec"].get("replicas", 1)
    if want != 2:
        report.bad(f"it asks for {want} replicas, not 2", "spec.replicas")
    pods = _matching_pods(client, "default", deploy["spec"]["selector"].get("matchLabels") or {})
    current = [p for p in pods if (p["spec"].get("containers") or [{}])[0].get("envFrom") == container.get("envFrom")
               and (p["spec"].get("containers") or [{}])[0].get("env") == container.get("env")]
    _pods_ready(report, current, 2, "greeter")


@exercise("07-secret", "Secret db-credentials (username admin, password s3cr3t) used by pod db-client as DB_PASSWORD")
def _secret(client: "Client", report: Report) -> None:
    secret = _get(client, "Secret", "db-credentials")
    if secret is None:
        report.bad("there is no Secret called db-credentials",
                   "`%kube create secret generic` with --from-literal, or a manifest")
    else:
        data = secret.get("data") or {}
        for key, value in (("username", "admin"), ("password", "s3cr3t")):
            decoded = _b64(data.get(key, ""))
            if decoded == value:
                report.good(f"{key} is set")
            elif key not in data:
                report.bad(f"the Secret has no {key} key", "keys go under data (base64) or stringData (plain text)")
            elif _b64(decoded) == value:
                report.bad(f"{key} is base64-encoded twice",
                           "the API server stores data as given: encode once, or write plain text under stringData")
            else:
                report.bad(f"{key} does not decode to the expected value",
                           "`%kube get secret db-credentials -o yaml` shows what is stored; decode it with base64")
    pod = _get(client, "Pod", "db-client")
    if pod is None:
        report.bad("there is no pod called db-client", "a busybox pod that sleeps, with an env entry")
        return
    report.good("pod db-client exists")
    env = next((e for c in pod["spec"].get("containers") or [] for e in c.get("env") or []
                if e.get("name") == "DB_PASSWORD"), None)
    ref = ((env or {}).get("valueFrom") or {}).get("secretKeyRef") or {}
    if env is None:
        report.bad("its container has no DB_PASSWORD variable", "env entries can take a value from a Secret (valueFrom)")
    elif "value" in env:
        report.bad("DB_PASSWORD is written in the pod spec, for anyone who can read pods",
                   "take it from the Secret: valueFrom.secretKeyRef")
    elif ref.get("name") == "db-credentials" and ref.get("key") == "password":
        report.good("DB_PASSWORD comes from the Secret's password key")
    else:
        report.bad(f"DB_PASSWORD comes from {ref.get('name')}/{ref.get('key')}",
                   "it should read the password key of db-credentials")
    _pods_ready(report, [pod], 1, "db-client")


@exercise("08-fix-broken", "make Deployment broken-web run: all its pods Ready")
def _fix_broken(client: "Client", report: Report) -> None:
    deploy = _get(client, "Deployment", "broken-web")
    if deploy is None:
        report.bad("there is no Deployment called broken-web", "run the cell above that creates it")
        return
    want = deploy["spec"].get("replicas", 1)
    if _rollout_done(deploy):
        report.good(f"all {want} pods of broken-web are up to date and available")
        return
    pods = _matching_pods(client, "default", deploy["spec"]["selector"].get("matchLabels") or {})
    stuck = [p for p in pods if _trouble(p)]
    if stuck:
        name = stuck[0]["metadata"]["name"]
        report.bad(f"pod {name} is stuck: {_trouble(stuck[0])}",
                   f"`%kube describe pod {name}`: the Events say why; then fix the Deployment (not the pod)")
    else:
        report.bad("the rollout is still going", "`%kube rollout status deploy/broken-web`", pending=True)


@exercise("08-pin", "a pod called fast (nginx) that may only run on nodes labelled disktype=ssd")
def _pin(client: "Client", report: Report) -> None:
    pod = _get(client, "Pod", "fast")
    if pod is None:
        report.bad("there is no pod called fast", "a Pod manifest with a field that picks nodes by label")
        return
    report.good("pod fast exists")
    spec = pod["spec"]
    selector = spec.get("nodeSelector") or {}
    terms = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
             .get("requiredDuringSchedulingIgnoredDuringExecution") or {}).get("nodeSelectorTerms") or []
    by_affinity = any(expr.get("key") == "disktype" and "ssd" in (expr.get("values") or [])
                      for term in terms for expr in term.get("matchExpressions") or [])
    if selector.get("disktype") == "ssd" or by_affinity:
        report.good("it asks for nodes with disktype=ssd")
    else:
        report.bad("nothing in its spec asks for disktype=ssd",
                   "landing on the right node by luck doesn't count: look at nodeSelector")
    node_name = spec.get("nodeName")
    if not node_name:
        report.bad("it is not scheduled yet", "`%kube describe pod fast` shows the scheduler's message",
                   pending=not _trouble(pod))
        return
    node = _get(client, "Node", node_name, None)
    if node is not None and _labels(node).get("disktype") == "ssd":
        report.good(f"it runs on {node_name}, an ssd node")
    else:
        report.bad(f"it runs on {node_name}, which is not labelled disktype=ssd",
                   "pods are never moved: delete it and create it again")


@exercise("09-storage", "claim notes (100Mi or more) mounted at /data by pod reader, where /data/hello.txt says hello")
def _storage(client: "Client", report: Report) -> None:
    from kubelab.api.quantity import QuantityError, parse

    claim = _get(client, "PersistentVolumeClaim", "notes")
    if claim is None:
        report.bad("there is no PersistentVolumeClaim called notes",
                   "a claim manifest needs accessModes and resources.requests.storage")
    else:
        report.good("claim notes exists")
        try:
            size = parse(((claim["spec"].get("resources") or {}).get("requests") or {}).get("storage", "0")).value
        except QuantityError:
            size = 0
        if size >= 100 * 2**20:
            report.good("it asks for 100Mi or more")
        else:
            report.bad("it asks for less than 100Mi", "sizes are quantities such as 100Mi or 1Gi")
        phase = (claim.get("status") or {}).get("phase", "")
        if phase == "Bound":
            report.good(f"it is bound to {claim['spec'].get('volumeName', '')}")
        else:
            report.bad(f"it is {phase or 'not bound'}", "`%kube describe pvc notes`: its Events say what it waits for",
                       pending=phase == "Pending" and bool(claim["spec"].get("storageClassName")))
    pod = _get(client, "Pod", "reader")
    if pod is None:
        report.bad("there is no pod called reader", "a busybox pod that sleeps, with a volume and a volumeMount")
        return
    report.good("pod reader exists")
    volumes = {v.get("name"): (v.get("persistentVolumeClaim") or {}).get("claimName")
               for v in pod["spec"].get("volumes") or []}
    mounts = [m for c in pod["spec"].get("containers") or [] for m in c.get("volumeMounts") or []
              if volumes.get(m.get("name")) == "notes"]
    if not any(v == "notes" for v in volumes.values()):
        report.bad("none of its volumes is the claim notes", "a volume with persistentVolumeClaim.claimName: notes")
        return
    if not any(m.get("mountPath", "").rstrip("/") == "/data" for m in mounts):
        report.bad("the claim is not mounted at /data", "a volumeMount with mountPath: /data and the volume's name")
        return
    report.good("it mounts the claim at /data")
    _pods_ready(report, [pod], 1, "reader")
    if not is_ready(pod):
        return
    try:
        result = client.exec("reader", "default", None, ["cat", "/data/hello.txt"])
    except StatusError:
        report.bad("could not look inside the pod", "is it Running? `%kube get pod reader`", pending=True)
        return
    if result.exit_code != 0:
        report.bad("/data/hello.txt does not exist", "files written under /data land on the claim's volume")
    elif result.stdout.strip() == "hello":
        report.good("/data/hello.txt says hello")
    else:
        report.bad(f"/data/hello.txt says {result.stdout.strip()!r}", "it should say just hello")


def _node_address(client: "Client") -> str:
    """A node's InternalIP: where an ingress controller like minikube's listens."""
    for node in client.list("Node")["items"]:
        for addr in (node.get("status") or {}).get("addresses") or []:
            if addr.get("type") == "InternalIP":
                return str(addr["address"])
    return ""


def _wget(client: "Client", pod: str, url: str, *extra: str) -> Any:
    """busybox wget from ``pod``, giving up after 2 seconds as a blocked connection would."""
    return client.exec(pod, "default", None, ["wget", "-T", "2", "-qO-", *extra, url])


@exercise("11-ingress", "Ingress hello sending hello.example/greet to Service echo-server port 80")
def _ingress(client: "Client", report: Report) -> None:
    ing = _get(client, "Ingress", "hello")
    if ing is None:
        report.bad("there is no Ingress called hello", "start from the Ingress `echo` above, with a new name")
        return
    report.good("Ingress hello exists")
    spec = ing.get("spec") or {}
    klass = spec.get("ingressClassName")
    if klass and _get(client, "IngressClass", klass, None) is None:
        report.bad(f"it asks for IngressClass {klass}, which does not exist",
                   "`%kube get ingressclass` lists the classes; leave the field out to get the default one")
        return
    rules = spec.get("rules") or []
    hosts = [r.get("host") or "*" for r in rules]
    rule = next((r for r in rules if r.get("host") == "hello.example"), None)
    if rule is None:
        report.bad(f"no rule is for host hello.example (found: {', '.join(hosts) or 'no rules'})",
                   "each rule has a `host`; requests pick the rule by the name in their Host header")
        return
    report.good("a rule for host hello.example")
    paths = (rule.get("http") or {}).get("paths") or []
    path = next((p for p in paths if (p.get("path") or "").rstrip("/") == "/greet"), None)
    if path is None:
        found = ", ".join(p.get("path") or "/" for p in paths) or "none"
        report.bad(f"that rule has no path /greet (found: {found})", "`path: /greet` under `http.paths`")
        return
    report.good(f"path /greet ({path.get('pathType', '')})")
    service = (path.get("backend") or {}).get("service") or {}
    if service.get("name") != "echo-server":
        report.bad(f"/greet goes to {service.get('name') or 'no Service'}, not echo-server",
                   "the backend's `service.name` is the Service's name")
        return
    svc = _get(client, "Service", "echo-server")
    if svc is None:
        report.bad("there is no Service echo-server", "apply echo-server.yaml from the top of this chapter again")
        return
    port = service.get("port") or {}
    svc_ports = svc["spec"].get("ports") or []
    if not any(port.get("number") == p.get("port") or (port.get("name") and port.get("name") == p.get("name"))
               for p in svc_ports):
        wanted = port.get("number") or port.get("name")
        report.bad(f"it sends to port {wanted} of echo-server, which the Service does not have",
                   "an Ingress talks to the Service's `port` (80), not to the pods' port (3000)")
        return
    report.good("it goes to Service echo-server port 80")
    pods = _matching_pods(client, "default", svc["spec"].get("selector") or {})
    if not any(is_ready(p) for p in pods):
        report.bad("echo-server has no Ready pods behind it", "`%kube get pods -l app=echo-server`", pending=bool(pods))
        return
    if _get(client, "Pod", "busybox") is None:
        return  # the rules are right; there is no pod here to send a request from
    result = _wget(client, "busybox", f"http://{_node_address(client)}/greet", "--header", "Host: hello.example")
    if result.exit_code == 0:
        report.good("a request for http://hello.example/greet gets the echo server's answer")
    elif "504" in result.stderr or "timed out" in result.stderr:
        report.bad("the request timed out on its way to echo-server",
                   "a NetworkPolicy is in the way: the ingress controller is a client like any other")
    else:
        report.bad(f"the request failed: {result.stderr.strip()}", "`%kube describe ingress hello`")


@exercise("11-netpol", "only pods labelled access=echo reach echo-server: pod friend does, pod stranger does not")
def _netpol(client: "Client", report: Report) -> None:
    svc = _get(client, "Service", "echo-server")
    if svc is None:
        report.bad("there is no Service echo-server", "apply echo-server.yaml from the top of this chapter again")
        return
    backends = _matching_pods(client, "default", svc["spec"].get("selector") or {})
    if not any(is_ready(p) for p in backends):
        report.bad("echo-server has no Ready pods behind it", "`%kube get pods -l app=echo-server`",
                   pending=bool(backends))
        return
    isolating = [p["metadata"]["name"] for p in client.list("NetworkPolicy", "default")["items"]
                 if "Ingress" in ((p.get("spec") or {}).get("policyTypes") or ["Ingress"])
                 and from_label_selector((p.get("spec") or {}).get("podSelector") or {}).matches(_labels(backends[0]))]
    if not isolating:
        report.bad("no NetworkPolicy selects echo-server's pods, so every pod may reach them",
                   "a policy's `podSelector` picks the pods it protects; `{}` picks every pod of the namespace")
    else:
        report.good(f"echo-server's pods are isolated by policy {', '.join(isolating)}")
    found = {name: _get(client, "Pod", name) for name in ("friend", "stranger")}
    for name, pod in found.items():
        if pod is None:
            report.bad(f"there is no pod called {name}", "a busybox pod that sleeps, like busybox in this chapter")
    if any(p is None for p in found.values()):
        return
    friend, stranger = found["friend"], found["stranger"]
    if _labels(friend).get("access") != "echo":
        report.bad("pod friend is not labelled access=echo", "`%kube label pod friend access=echo`")
        return
    if _labels(stranger).get("access") == "echo":
        report.bad("pod stranger is labelled access=echo too", "remove the label: `%kube label pod stranger access-`")
        return
    report.good("friend is labelled access=echo, stranger is not")
    _pods_ready(report, [friend, stranger], 2, "friend and stranger")
    if not (is_ready(friend) and is_ready(stranger)):
        return
    if _wget(client, "friend", "http://echo-server").exit_code == 0:
        report.good("friend gets an answer from echo-server")
    else:
        report.bad("friend's request to echo-server timed out",
                   "does a rule's `from` pick friend's labels (`%kube get pods --show-labels`)? Its `ports` are "
                   "the pods' port, 3000, not the Service's 80")
    if _wget(client, "stranger", "http://echo-server").exit_code == 0:
        report.bad("stranger gets an answer too",
                   "a rule without `from` lets every pod in; and without a policy selecting the pods, nothing is blocked")
    else:
        report.good("stranger's request times out")


@exercise("10-autoscaling", "HPA web keeps Deployment web (CPU requests) at 60% CPU with 2 to 6 replicas, "
                            "scaling down after 60 s")
def _autoscaling(client: "Client", report: Report) -> None:
    from kubelab.api.quantity import QuantityError, cpu_millis

    deploy = _get(client, "Deployment", "web")
    requests_ok = False
    if deploy is None:
        report.bad("there is no Deployment called web", "`%kube create deployment web --image=nginx --replicas=2`")
    else:
        report.good("Deployment web exists")
        containers = ((deploy["spec"].get("template") or {}).get("spec") or {}).get("containers") or []
        try:
            requests_ok = bool(containers) and all(
                cpu_millis(((c.get("resources") or {}).get("requests") or {}).get("cpu", "0")) > 0 for c in containers)
        except QuantityError:
            requests_ok = False
        if requests_ok:
            report.good("its containers request CPU")
        else:
            report.bad("not every container requests CPU",
                       "utilization is a percentage of the request: set resources.requests.cpu "
                       "(`%kube set resources deployment web --requests=cpu=100m`)")
    hpa = _get(client, "HorizontalPodAutoscaler", "web")
    if hpa is None:
        report.bad("there is no HorizontalPodAutoscaler called web", "`%kube autoscale deployment web --help`")
        return
    report.good("HPA web exists")
    spec = hpa.get("spec") or {}
    ref = spec.get("scaleTargetRef") or {}
    if (ref.get("kind"), ref.get("name")) == ("Deployment", "web"):
        report.good("it scales Deployment web")
    else:
        report.bad(f"it scales {ref.get('kind')}/{ref.get('name')}", "its scaleTargetRef names what it scales")
    if (spec.get("minReplicas"), spec.get("maxReplicas")) == (2, 6):
        report.good("between 2 and 6 replicas")
    else:
        report.bad(f"it keeps between {spec.get('minReplicas')} and {spec.get('maxReplicas')} replicas",
                   "--min and --max, or spec.minReplicas and spec.maxReplicas")
    targets = [((m.get("resource") or {}).get("target") or {}) for m in spec.get("metrics") or []
               if m.get("type") == "Resource" and (m.get("resource") or {}).get("name") == "cpu"]
    if any(t.get("type") == "Utilization" and t.get("averageUtilization") == 60 for t in targets):
        report.good("it aims at 60% CPU")
    else:
        report.bad("it does not aim at 60% CPU utilization", "--cpu-percent, or a Resource metric with a Utilization target")
    window = (((spec.get("behavior") or {}).get("scaleDown") or {}).get("stabilizationWindowSeconds"))
    if window == 60:
        report.good("it scales down after a 60 s window")
    else:
        report.bad(f"its scale-down window is {'the default 300' if window is None else window} s",
                   "spec.behavior.scaleDown.stabilizationWindowSeconds (`%kube patch hpa web --type=merge -p ...`)")
    conditions = {c.get("type"): c for c in (hpa.get("status") or {}).get("conditions") or []}
    active = conditions.get("ScalingActive") or {}
    if active.get("status") == "True":
        report.good("it measures the pods' CPU")
    else:
        report.bad("it cannot measure the pods' CPU yet" + (f": {active['message']}" if active.get("message") else ""),
                   "metrics arrive about 30 seconds after a pod starts: `%kube describe hpa web`" if requests_ok
                   else "without CPU requests there is no utilization to measure", pending=requests_ok)
