"""``kubectl diff -f``: what applying would change, as the server would store it.

Mirrors kubectl's diff.go: each object is written twice as YAML, as it is live (LIVE-*) and
as a dry run of the apply makes it (MERGED-*: a server dry-run create, the client-side
apply's three-way patch with dryRun=All, or with ``--server-side`` a dry-run apply patch),
in files named ``group.version.Kind.namespace.name``; then ``diff -u -N`` (or
``$KUBECTL_EXTERNAL_DIFF``) compares the two folders. Secret data is masked, managedFields
hidden unless ``--show-managed-fields``. Exit code 0: no differences, 1: differences,
2 (and more): an error, as kubectl's CheckDiffErr exits.
"""
from __future__ import annotations

import json
import os
import random
import shlex
import shutil
import subprocess
import tempfile
import time
from contextlib import contextmanager
from typing import Iterator

from kubelab.api.errors import StatusError
from kubelab.api.kinds import Kind
from kubelab.api.objects import Obj
from kubelab.api.patch import three_way
from kubelab.kubectl import flags as fl
from kubelab.kubectl import printers
from kubelab.kubectl.apply import LAST_APPLIED, field_validation
from kubelab.kubectl.command import Context, KubectlError, command, error, format_error
from kubelab.kubectl.flags import Flag
from kubelab.kubectl.manifests import kind_of, namespace_for, read_manifests


DIFF_FLAGS = (
    *fl.FILE_FLAGS, fl.VALIDATE, fl.SELECTOR, fl.SHOW_MANAGED_FIELDS,
    Flag("field-manager", type=fl.STRING, default="kubectl-client-side-apply"),
    Flag("server-side", type=fl.BOOL), Flag("force-conflicts", type=fl.BOOL),
    Flag("prune", type=fl.BOOL), Flag("concurrency", type=fl.INT, default=1),
)


def _file_name(kind: Kind, namespace: str | None, name: str) -> str:
    """InfoObject.Name in diff.go: ``apps.v1.Deployment.default.web``."""
    group = f"{kind.group}." if kind.group else ""
    return f"{group}{kind.version}.{kind.kind}.{namespace or ''}.{name}"


def _merged(ctx: Context, kind: Kind, obj: Obj, live: Obj | None, namespace: str | None, name: str,
            validation: str) -> Obj:
    client = ctx.client
    if ctx.flags.get("server-side"):
        manager = ctx.flags.get("field-manager")
        if manager == "kubectl-client-side-apply":  # diff's default names the client-side applier
            manager = "kubectl"
        return client.apply(kind.kind, name, namespace, obj, field_manager=manager,
                            force=bool(ctx.flags.get("force-conflicts")), dry_run=True,
                            field_validation=validation)
    if live is None:
        return client.create(obj, namespace, dry_run=True, field_validation=validation)
    original_text = ((live.get("metadata") or {}).get("annotations") or {}).get(LAST_APPLIED)
    # GetModifiedConfiguration(annotate=false): the file's object, its annotations a map of their own
    meta = dict(obj.get("metadata") or {})
    meta["annotations"] = {k: v for k, v in (meta.get("annotations") or {}).items() if k != LAST_APPLIED}
    modified = {**obj, "metadata": meta}
    patch = three_way(json.loads(original_text) if original_text else {}, modified, live)
    if not patch:
        return live
    return client.patch(kind.kind, name, namespace, patch, "strategic", dry_run=True, field_validation=validation)


def _mask_secrets(live: Obj | None, merged: Obj | None) -> tuple[Obj | None, Obj | None]:
    """diff.go's Masker: Secret data values become ``***``, ``*** (before)``/``*** (after)``
    where they differ."""
    before = dict((live or {}).get("data") or {})
    after = dict((merged or {}).get("data") or {})
    for key in set(before) | set(after):
        if key in before and key in after and before[key] != after[key]:
            before[key], after[key] = "*** (before)", "*** (after)"
        else:
            if key in before:
                before[key] = "***"
            if key in after:
                after[key] = "***"
    if live is not None and "data" in live:
        live = {**live, "data": before}
    if merged is not None and "data" in merged:
        merged = {**merged, "data": after}
    return live, merged


def _write(path: str, obj: Obj | None, show_managed: bool, always: bool) -> None:
    text = ""
    if obj is not None:
        obj = {k: v for k, v in obj.items() if k != "__warnings__"}
        text = printers.to_yaml(obj, show_managed_fields=show_managed)
    elif always:
        text = "null\n"
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


@command("diff", *DIFF_FLAGS)
def diff(ctx: Context, args: list[str]) -> int:
    try:
        return _diff(ctx, args)
    except KubectlError as e:  # CheckDiffErr: 1 means "differences", so errors exit 2
        raise KubectlError(e.text, 2 if e.code == 1 else e.code) from None


def _diff(ctx: Context, args: list[str]) -> int:
    if args:
        raise KubectlError(ctx.usage_error(f"Unexpected args: [{' '.join(args)}]").text, 2)
    if not ctx.flags.get("filename") and not ctx.flags.get("kustomize"):
        raise error("must specify one of -f and -k", 2)
    if ctx.flags.get("force-conflicts") and not ctx.flags.get("server-side"):
        raise error("--force-conflicts only works with --server-side", 2)
    validation = field_validation(ctx)
    docs = read_manifests(ctx, ctx.flags.get("filename"), ctx.flags.get("recursive"))
    bad = next((d for d in docs if d.error), None)
    if bad is not None:
        raise KubectlError(bad.error, 2)
    show_managed = bool(ctx.flags.get("show-managed-fields"))
    with _temp_dir("LIVE") as live_dir, _temp_dir("MERGED") as merged_dir:
        for doc in docs:
            kind = kind_of(doc)
            obj = doc.obj or {}
            namespace = namespace_for(ctx, kind, obj)
            if namespace is not None:
                obj = {**obj, "metadata": {**(obj.get("metadata") or {}), "namespace": namespace}}
            name = (obj.get("metadata") or {}).get("name") or ""
            try:
                try:
                    live: Obj | None = ctx.client.get(kind.kind, name, namespace)
                except StatusError as e:
                    if e.reason != "NotFound":
                        raise
                    live = None
                try:
                    merged: Obj | None = _merged(ctx, kind, obj, live, namespace, name, validation)
                except StatusError as e:
                    if e.code != 409:
                        raise
                    # diff.go retries a conflict with the live resourceVersion as a lock, then once without
                    _klog_warning(ctx, f"Object ({'/'.join(filter(None, [kind.group]))}/{kind.version}, "
                                       f"Kind={kind.kind}: {name}) keeps changing, diffing without lock")
                    merged = _merged(ctx, kind, obj, live, namespace, name, validation)
                merged = ctx.warnings(merged)
            except StatusError as e:
                raise KubectlError(format_error(e), 2) from None
            secret = kind.kind == "Secret"
            if secret:
                live, merged = _mask_secrets(live, merged)
            file_name = _file_name(kind, namespace, name)
            _write(os.path.join(live_dir, file_name), live, show_managed, secret)
            _write(os.path.join(merged_dir, file_name), merged, show_managed, secret)
        return _run_diff(ctx, live_dir, merged_dir)


def _klog_warning(ctx: Context, text: str) -> None:
    """A klog warning line as kubectl writes it (``W1204 01:59:21.149663   23015 diff.go:723] ...``)."""
    now = time.time()
    stamp = time.strftime("%m%d %H:%M:%S", time.localtime(now)) + f".{int(now % 1 * 1e6):06d}"
    ctx.eprint(f"W{stamp} {os.getpid():7d} diff.go:723] {text}")


@contextmanager
def _temp_dir(prefix: str) -> Iterator[str]:
    """A folder named as Go's os.MkdirTemp names kubectl's (``/tmp/LIVE-2057550692``)."""
    while True:
        path = os.path.join(tempfile.gettempdir(), f"{prefix}-{random.randrange(2**32)}")
        try:
            os.mkdir(path, 0o700)
            break
        except FileExistsError:
            continue
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _run_diff(ctx: Context, live_dir: str, merged_dir: str) -> int:
    """The external diff program on the two folders (DiffProgram.getCommand in diff.go)."""
    program = ["diff", "-u", "-N"]
    external = os.environ.get("KUBECTL_EXTERNAL_DIFF")
    if external:
        program = shlex.split(external)
    try:
        done = subprocess.run([*program, live_dir, merged_dir], capture_output=True, text=True, timeout=60)
    except FileNotFoundError:
        raise error(f'failed to run "{program[0]}": executable file not found in $PATH', 2) from None
    ctx.out.write(done.stdout)
    ctx.err.write(done.stderr)
    if done.returncode > 1:
        raise error(f"exit status {done.returncode}", done.returncode)
    return done.returncode
