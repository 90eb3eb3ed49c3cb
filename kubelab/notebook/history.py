"""The rollout history of a Deployment, read from its ReplicaSets as kubectl does.

Each ReplicaSet carries its revision (``deployment.kubernetes.io/revision``) and the pod
template of that revision, so the view shows per revision: image(s), the ConfigMaps and
Secrets it uses, what changed from the revision before (image, env, envFrom, volumes), the
change cause, which one is live, and what ``rollout undo`` goes back to.
"""
from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

from kubelab.api.objects import Obj
from kubelab.notebook.diagram import config_refs

REVISION = "deployment.kubernetes.io/revision"
CHANGE_CAUSE = "kubernetes.io/change-cause"
# JupyterLab right-aligns table cells and wraps them: read like kubectl, left and on one line
CELL = "text-align:left;padding:2px 10px;white-space:nowrap"


@dataclass
class Revision:
    number: int
    replicaset: str
    images: list[str]
    configs: list[str]  # "configmap/name", "secret/name"
    change_cause: str
    replicas: int
    ready: int
    live: bool = False
    undo_target: bool = False
    changes: list[str] = field(default_factory=list)  # from the revision before ("env MODE: a → b")


@dataclass
class History:
    deployment: str
    namespace: str
    revisions: list[Revision] = field(default_factory=list)  # oldest first

    @property
    def live(self) -> Revision | None:
        return next((r for r in self.revisions if r.live), None)

    @property
    def undo_target(self) -> Revision | None:
        return next((r for r in self.revisions if r.undo_target), None)

    def rows(self) -> list[list[str]]:
        out = []
        for r in self.revisions:
            mark = "live" if r.live else ("undo →" if r.undo_target else "")
            out.append([str(r.number), mark, ", ".join(r.images), ", ".join(r.configs) or "<none>",
                        "; ".join(r.changes) or "<none>", r.change_cause or "<none>", f"{r.ready}/{r.replicas}",
                        r.replicaset])
        return out

    HEADER = ["REVISION", "", "IMAGES", "CONFIG", "CHANGED", "CHANGE-CAUSE", "READY", "REPLICASET"]

    def text(self) -> str:
        rows = [self.HEADER] + self.rows()
        widths = [max(len(r[i]) for r in rows) for i in range(len(self.HEADER))]
        lines = [f"deployment.apps/{self.deployment}"]
        for r in rows:
            lines.append("   ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
        if not self.revisions:
            lines.append("(no revisions yet)")
        target = self.undo_target
        lines.append(f"rollout undo would go back to revision {target.number}" if target
                     else "rollout undo has no earlier revision to go back to")
        return "\n".join(lines) + "\n"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        cells = []
        for row, r in zip(self.rows(), self.revisions):
            bg = "#c8e6c9" if r.live else ("#fff3e0" if r.undo_target else "white")
            cells.append(f'<tr class="kubelab-revision" data-revision="{r.number}" style="background:{bg}">'
                         + "".join(f'<td style="{CELL}">{html.escape(c)}</td>' for c in row) + "</tr>")
        head = "".join(f'<th style="{CELL}">{html.escape(h)}</th>' for h in self.HEADER)
        target = self.undo_target
        note = (f"<code>kubectl rollout undo deployment/{html.escape(self.deployment)}</code> would go back to "
                f"revision {target.number}" if target else "no earlier revision to roll back to")
        return {"text/plain": self.text().rstrip("\n"),
                "text/html": f'<div class="kubelab-history"><b>deployment.apps/{html.escape(self.deployment)}</b>'
                             f'<table style="border-collapse:collapse;font-family:monospace;font-size:12px">'
                             f"<thead><tr>{head}</tr></thead><tbody>{''.join(cells)}</tbody></table>"
                             f"<div>{note}</div></div>"}

    def __repr__(self) -> str:
        return self.text().rstrip("\n")


def _env_text(env: Obj) -> str:
    source = env.get("valueFrom") or {}
    for key, kind in (("configMapKeyRef", "configmap"), ("secretKeyRef", "secret")):
        if source.get(key):
            return f"{env.get('name')} from {kind}/{source[key].get('name')}"
    return f"{env.get('name')}={env.get('value', '')}" if not source else f"{env.get('name')} (valueFrom)"


def _ref(item: Obj) -> str:
    """``configmap/x`` / ``secret/x`` for an envFrom entry or a volume."""
    if item.get("configMapRef") or item.get("configMap"):
        return f"configmap/{(item.get('configMapRef') or item.get('configMap')).get('name')}"
    if item.get("secretRef"):
        return f"secret/{item['secretRef'].get('name')}"
    if item.get("secret"):
        return f"secret/{item['secret'].get('secretName')}"
    return item.get("name", "?")


def template_changes(old: Obj, new: Obj) -> list[str]:
    """What a learner changed between two revisions' pod specs, container by container:
    ``image: a → b``, ``+env MODE=fast``, ``env MODE: slow → fast``, ``-envFrom configmap/x``,
    ``+volume configmap/y``; ``pod template`` when something else changed."""
    out: list[str] = []
    before = {c.get("name"): c for c in old.get("containers") or []}
    after = {c.get("name"): c for c in new.get("containers") or []}
    many = len(after) > 1
    for name, c in after.items():
        where = f"{name}: " if many else ""
        was = before.get(name)
        if was is None:
            out.append(f"+container {name}")
            continue
        if was.get("image") != c.get("image"):
            out.append(f"{where}image: {was.get('image')} → {c.get('image')}")
        old_env = {e.get("name"): e for e in was.get("env") or []}
        new_env = {e.get("name"): e for e in c.get("env") or []}
        for key, e in new_env.items():
            if key not in old_env:
                out.append(f"{where}+env {_env_text(e)}")
            elif old_env[key] != e:
                out.append(f"{where}env {key}: {_env_text(old_env[key]).partition('=')[2] or _env_text(old_env[key])}"
                           f" → {_env_text(e).partition('=')[2] or _env_text(e)}")
        out += [f"{where}-env {key}" for key in old_env if key not in new_env]
        old_from = [_ref(f) for f in was.get("envFrom") or []]
        new_from = [_ref(f) for f in c.get("envFrom") or []]
        out += [f"{where}+envFrom {r}" for r in new_from if r not in old_from]
        out += [f"{where}-envFrom {r}" for r in old_from if r not in new_from]
    out += [f"-container {name}" for name in before if name not in after]
    old_vols = [_ref(v) for v in old.get("volumes") or [] if v.get("configMap") or v.get("secret")]
    new_vols = [_ref(v) for v in new.get("volumes") or [] if v.get("configMap") or v.get("secret")]
    out += [f"+volume {r}" for r in new_vols if r not in old_vols]
    out += [f"-volume {r}" for r in old_vols if r not in new_vols]
    if not out and old != new:
        out.append("pod template")
    return out


def history(client: Any, name: str, namespace: str = "default") -> History:
    """Build the view from the Deployment and the ReplicaSets it controls."""
    deploy = client.get("Deployment", name, namespace)
    uid = deploy["metadata"].get("uid")
    current = (deploy["metadata"].get("annotations") or {}).get(REVISION)
    revisions = []
    specs: dict[int, Obj] = {}
    for rs in client.list("ReplicaSet", namespace)["items"]:
        refs = rs["metadata"].get("ownerReferences") or []
        if not any(r.get("uid") == uid and r.get("controller") for r in refs):
            continue
        ann = rs["metadata"].get("annotations") or {}
        try:
            number = int(ann.get(REVISION, "0"))
        except ValueError:
            continue
        template = (rs.get("spec") or {}).get("template") or {}
        pod_like = {"spec": template.get("spec") or {}}
        images = [c.get("image", "") for c in pod_like["spec"].get("containers") or []]
        configs = [f"{k.lower()}/{n}" for k, n, _ in config_refs(pod_like)]
        configs = list(dict.fromkeys(configs))
        revisions.append(Revision(number, rs["metadata"]["name"], images, configs, ann.get(CHANGE_CAUSE, ""),
                                  (rs.get("spec") or {}).get("replicas", 0) or 0,
                                  (rs.get("status") or {}).get("readyReplicas", 0) or 0))
        specs[number] = pod_like["spec"]
    revisions.sort(key=lambda r: r.number)
    for before, after in zip(revisions, revisions[1:]):
        after.changes = template_changes(specs[before.number], specs[after.number])
    if revisions:
        live = next((r for r in revisions if str(r.number) == current), revisions[-1])
        live.live = True
        earlier = [r for r in revisions if r.number < live.number]
        if earlier:
            earlier[-1].undo_target = True
    return History(name, namespace, revisions)
