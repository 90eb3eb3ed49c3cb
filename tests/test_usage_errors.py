"""kubectl's client-side errors, usage texts and help, byte for byte against the real binary.

These command lines fail (or print help) before kubectl talks to a server, so the real kubectl 1.32
needs no cluster: it runs with an empty kubeconfig. Only klog's timestamp and pid are normalised
(kubectl logs through klog when discovery fails; none of these lines should get there).
Help screens are compared on what kubelab reproduces (see kubelab/kubectl/usage.py): the summary
paragraph, the Aliases and Available Commands sections, and everything from ``Usage:`` on.
"""
from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest

from kubelab import Cluster
from kubelab.kubectl import run
from test_server import KUBECTL, SKIP_REASON

pytestmark = pytest.mark.skipif(KUBECTL is None, reason=SKIP_REASON)

COMMANDS = [
    '',
    '--help',
    '-h',
    'help',
    'help get',
    'get --help',
    'get -h',
    'apply --help',
    'create --help',
    'create deployment --help',
    'run --help',
    'expose --help',
    'scale --help',
    'rollout --help',
    'rollout status --help',
    'logs --help',
    'exec --help',
    'delete --help',
    'describe --help',
    'rollout restart',
    'rollout undo',
    'rollout history',
    'rollout pause',
    'rollout resume',
    'rollout status',
    'rollout status deploy/x --timeout=xyz',
    'rollout bogus',
    'rollout status deploy/x --watch=maybe',
    'set',
    'set image',
    'set image deploy/x nginx=nginx:1.2 --dry-run=maybe',
    'top',
    'top pod --bogus',
    'config',
    'config set-context',
    'create',
    'create secret',
    'create service',
    'create svc',
    'create service clusterip',
    'create service nodeport',
    'create job',
    'create cronjob',
    'create cronjob x',
    'create cronjob x --image=nginx',
    'create job x',
    'create configmap',
    'create configmap x --dry-run=maybe',
    'create namespace',
    'create namespace a b',
    'create deployment x --image=nginx --replicas=abc',
    'create deployment x --image=nginx --dry-run=maybe',
    'create deployment --image=nginx',
    'create deploy x --image=nginx --port=abc',
    'scale',
    'scale --replicas=abc deploy/x',
    'scale --replicas=3',
    'scale --replicas=-1 deploy/x',
    'scale --replicas=3 deploy/x --timeout=xyz',
    'scale --replicas=3 deploy/x --dry-run=maybe',
    'run',
    'run x',
    'run --image=nginx',
    'run x --image=nginx --dry-run=maybe',
    'run x --image=nginx --restart=Sometimes',
    'run x --image=nginx --port=abc',
    'run x --image=nginx --rm',
    'run x --image=nginx --expose',
    'run x --image=Busybox',  # the image reference is checked before anything is sent
    "run x '--image=a b'",
    'run x --image=nginx:',
    'run x --image=nginx@sha256:abc',
    'run x --image=',
    'wait',
    'wait --for=condition=Ready',
    'wait --for=bogus pod/x',
    'wait --for=condition=Ready pod/x --timeout=xyz',
    'wait pod/x',
    'delete',
    'delete pods x --grace-period=x',
    'delete pods x --dry-run=maybe',
    'delete pods x --cascade=maybe',
    'delete pods x --timeout=xyz',
    'delete --all',
    'delete pods x --now --grace-period=5',
    'get',
    'get pods --watch=maybe',
    'get pods --chunk-size=abc',
    'get pods -l',
    'get --bogus',
    'logs',
    'logs --tail=abc x',
    'logs x --since=xyz',
    'logs x y z',
    'logs -f',
    'exec x',
    'exec x -- ',
    'exec -it',
    'exec x --bogus -- ls',
    'attach',
    'describe',
    'describe --bogus',
    'apply',
    'apply -f',
    'apply x',
    'apply -f x.yaml --dry-run=maybe',
    'apply -f x.yaml --server-side --force',
    'apply -f x.yaml --timeout=xyz',
    'apply -f x.yaml --grace-period=x',
    'apply -f x.yaml --prune',
    'create -f',
    'create x',
    'create -f x.yaml --dry-run=maybe',
    'edit',
    'patch',
    'patch pod x',
    'patch pod x -p {} --type=bogus',
    'patch pod x -p {} --dry-run=maybe',
    'label',
    'label pod x',
    'label pod x a=b --dry-run=maybe',
    'annotate',
    'annotate pod x',
    'expose',
    'expose deploy x --dry-run=maybe',
    'cordon',
    'uncordon',
    'drain',
    'drain --grace-period=x n1',
    'drain n1 --timeout=xyz',
    'taint',
    'taint nodes',
    'taint nodes n1',
    'taint nodes n1 a=b',
    'port-forward',
    'port-forward x',
    'explain',
    'explain pods --bogus',
    'cluster-info --bogus',
    'api-resources --bogus',
    'api-versions --bogus',
    'version --bogus',
    'completion',
    'completion bogus',
    'completion bash --bogus',
    'nope',
    'get pods --namespace',
    '-n',
    '-n x get',
    '--bogus',
    'edit --bogus',
    'completion bash zsh',
    'completion zsh x y',
    'apply --server-side --force',
    'apply -f x.yaml --server-side --force --prune',
    'apply --prune x',
    'rollout history',
    'rollout undo',
    'rollout pause',
    'rollout restart',
    'rollout resume',
    'rollout history --revision=abc deploy/x',
    'rollout undo --to-revision=x deploy/x',
    'get pods --sort-by',
    'create namespace --bogus',
    'create configmap x --from-literal',
    'create secret generic',
    'create secret generic x --type',
    'create service clusterip',
    'create service nodeport x --tcp=abc',
    'create job x --image=nginx --from=cronjob/y',
    'top node --bogus',
    'top pod -A --containers=maybe',
    'taint nodes --all',
    'taint --bogus',
    'drain',
    'drain a --selector=x=y',
    'label --overwrite=maybe pod x a=b',
    'patch -p',
    'patch --type=merge',
    'edit -f',
    'scale --replicas',
    'scale --replicas=3 -f',
    'exec -c',
    'logs -c',
    'logs --tail',
    'wait --for',
    'wait --timeout=5s',
    'describe -l',
    'run x --image=nginx --restart=Never --rm',
    'run x --image=nginx --env',
    'run x --image=nginx -it --dry-run=client',
    'set image --all',
    'set image -f',
    'expose --port',
    'expose --type',
    'delete --grace-period',
    'delete pods x --now --grace-period=3',
    'delete --all -A',
    'get -o',
    'get pods -w --watch-only=maybe',
    'port-forward --address',
    'version x',
    'version -o bogus',
    'version --client -o bogus',
    'version x -o bogus',
    'api-versions x',
    'api-resources x',
    'api-resources x -o bogus',
    'config view x',
    'config use-context',
    'config use-context a b',
    'config use a b',
    'set env',
    'set env A=1',
    'set env deploy/x --keys=a',
    'set env deploy/x --list -o yaml',
    'set env deploy/x A=1 A-',
    'set env deploy/x 1A=1',
    'set env deploy/x A=1 deploy/y',
    'set env deploy/x --all -l a=b',
    'set env deploy/x --local --dry-run=server',
    'set env --help',
    'set resources --help',
    'set resources',
    'set sa -h',
    'events --help',
    'events --bogus',
    'set serviceaccount --help',
    'set sa deploy/x',
    'set sa deploy/x a --local --dry-run=server',
    'create serviceaccount --help',
    'create sa -h',
    'create secret docker-registry --help',
    'create secret tls --help',
    'create service loadbalancer --help',
    'create svc externalname --help',
    'create priorityclass --help',
    'create pc --help',
    'create quota --help',
    'create resourcequota --help',
    'create sa',
    'create sa a b',
    'create serviceaccount x --dry-run=client -o yaml',
    'create sa x -n foo --dry-run=client -o json',
    'create sa x --dry-run=client',
    'create sa x --dry-run=client -o name',
    'create sa x --dry-run=client -o wide',
    'create deployment x --image=nginx --dry-run=client -o jsonpath={.metadata.name}',
    'create deployment x --image=nginx --dry-run=client -o jsonpath={.metadata.creationTimestamp}{.status}',
    'create deployment x --image=nginx --dry-run=client -o jsonpath-as-json={.spec}',
    'create deployment x --image=nginx --dry-run=client -o go-template={{.spec.replicas}}{{.status.x}}',
    'create deployment x --image=nginx --dry-run=client -o go-template={{.status.x}} --allow-missing-template-keys=false',
    'create deployment x --image=nginx --dry-run=client --template={{.metadata.name}}',
    'create deployment x --image=nginx --dry-run=client -o custom-columns=N:.metadata.name',
    'create configmap cm --from-literal=a=b --dry-run=client -o jsonpath={.data}',
    'create quota q --hard=pods=3 --dry-run=client -o jsonpath={.spec.hard}',
    'create service loadbalancer x --tcp=80:8080 --dry-run=client -o yaml',
    'create service loadbalancer x --dry-run=client',
    'create service loadbalancer x --tcp=80 --tcp=443:https --dry-run=client -o json',
    'create svc loadbalancer x --tcp=80:8080:9 --dry-run=client -o yaml',
    'create service externalname x --external-name=a.b.com --dry-run=client -o yaml',
    'create service externalname x --external-name=a.b.com --tcp=80 --dry-run=client -o json',
    'create service externalname x --dry-run=client',
    'create service externalname x --external-name=A_b --dry-run=client',
    'create service externalname x --external-name= --dry-run=client',
    'create service externalname x --external-name=a.b --tcp=abc --dry-run=client',
    'create service externalname x --external-name=a.com --clusterip=None',
    'create service clusterip x --dry-run=client',
    'create service clusterip x --clusterip=None --dry-run=client -o yaml',
    'create service clusterip x --tcp=80:0 --dry-run=client',
    'create service clusterip x --tcp=80:Bad_Name --dry-run=client',
    'create service clusterip x --tcp=80: --dry-run=client',
    'create service clusterip x --tcp=80:-a- --dry-run=client',
    'create service clusterip x --tcp=80:a--b --dry-run=client',
    'create service clusterip x --tcp=80:abcdefghijklmnopq --dry-run=client',
    'create service clusterip x --tcp=80:70000 --dry-run=client',
    'create service clusterip x --tcp=80:+81 --dry-run=client -o json',
    'create service nodeport x --tcp=80:8080 --node-port=30001 --dry-run=client -o json',
    'create service loadbalancer x --tcp=0 --dry-run=client -o yaml',
    'create service loadbalancer --tcp=80',
    'create secret docker-registry x --docker-server=reg.io --docker-username=u --docker-password=p --docker-email=e@x --dry-run=client -o yaml',
    'create secret docker-registry x --docker-username=u --docker-password=p --dry-run=client -o json',
    'create secret docker-registry x --docker-username=u<& --docker-password=p> --dry-run=client -o yaml',
    'create secret docker-registry x --dry-run=client',
    'create secret docker-registry x --docker-username=u --docker-password=p --docker-server= --dry-run=client',
    'create secret docker-registry --docker-username=u --docker-password=p',
    'create secret docker-registry x --docker-username=u --docker-password=p --dry-run=client',
    'create secret tls x --dry-run=client',
    'create priorityclass x --value=10 --description=hi --global-default --preemption-policy=Never --dry-run=client -o yaml',
    'create pc x --dry-run=client -o yaml',
    'create pc x --value=5 -n foo --global-default --description=d --dry-run=client -o json',
    'create pc x --value=abc',
    'create pc x --dry-run=client',
    'create pc x --dry-run=client -o name',
    'create pc',
    'create priorityclass x --preemption-policy=Bogus --dry-run=client -o yaml',
    'create quota x --hard=pods=2,cpu=1 --scopes=BestEffort --dry-run=client -o yaml',
    'create quota x --dry-run=client -o yaml',
    'create quota x --hard=pods --dry-run=client',
    'create quota x --hard=pods=abc --dry-run=client',
    'create quota x --hard=pods=1 --scopes=Bogus --dry-run=client -o yaml',
    'create quota x --hard=pods=1 --scopes= --dry-run=client -o yaml',
    'create quota x --hard=pods=1 --scopes=a,,b --dry-run=client -o yaml',
    'create quota x --hard=,pods=1 --dry-run=client',
    'create quota x --hard=foo/bar=1,memory=1024Mi,cpu=1500m --dry-run=client -o json',
    'create quota x --hard=cpu=1000m,memory=1Gi,pods=2 --scopes=BestEffort,NotTerminating -n foo --dry-run=client -o json',
    'create resourcequota x --dry-run=client',
    'create quota x --dry-run=client -o name',
    'create quota',
    'create quota x --hard=pods=1a --dry-run=client',
    'create deploy x --image=nginx --dry-run=client -o wide',
    'create ns',
    'create secret generic x --from-literal=a/b=1 --dry-run=client -o name',
]

_KLOG = re.compile(r"^([EWIF])\d{4} \d\d:\d\d:\d\d\.\d{6} +\d+ ", re.M)


def _reduce_help(text: str) -> str:
    """A help screen without the long description, examples and options kubelab leaves out."""
    if 'Use "kubectl options" for a list' not in text or "\nUsage:\n" not in text:
        return text
    parts = [text.split("\n\n", 1)[0]]
    for section in ("Aliases:", "Available Commands:"):
        m = re.search(r"\n\n(" + section + r"\n.*?)\n\n", text, re.S)
        if m:
            parts.append(m.group(1))
    return "\n\n".join(parts) + "\n" + text[text.index("\nUsage:\n"):]


def _both(cluster: Cluster, home: str, line: str) -> tuple[tuple[int, str, str], tuple[int, str, str]]:
    """(exit code, stdout, stderr) of the real kubectl (no kubeconfig: client-side only) and
    of kubelab's, for one command line run in the current folder."""
    argv = shlex.split(line)
    real = subprocess.run([KUBECTL, *argv], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "KUBECONFIG": "/dev/null", "HOME": home})
    mine = run(cluster.client, argv)
    return (real.returncode, real.stdout, real.stderr), (mine.returncode, mine.stdout, mine.stderr)


def _normal(text: str) -> str:
    return _reduce_help(_KLOG.sub(r"\1MMDD hh:mm:ss.uuuuuu PID ", text))


@pytest.fixture(scope="module")
def cluster() -> Cluster:
    return Cluster(clock="virtual", seed=1)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("home"))


@pytest.mark.parametrize("line", COMMANDS)
def test_same_as_kubectl(cluster: Cluster, home: str, line: str) -> None:
    (code, out, err), (my_code, my_out, my_err) = _both(cluster, home, line)
    assert (my_code, _normal(my_out), _normal(my_err)) == (code, _normal(out), _normal(err))



# Manifests for the client-only ``--local`` commands, which print the object as kubectl decodes
# it into its Go type (its empty fields included).
MANIFESTS = {
    "deploy.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  labels:\n    app: web\n"
                   "spec:\n  replicas: 2\n  selector:\n    matchLabels:\n      app: web\n  template:\n"
                   "    metadata:\n      labels:\n        app: web\n    spec:\n      containers:\n"
                   "      - name: nginx\n        image: nginx:1.27\n        ports:\n        - containerPort: 80\n",
    "pod.yaml": "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: c\n"
                "    image: busybox\n    command: [sleep, '3600']\n",
}

LOCAL = [
    'set env --local -f deploy.yaml A=1 -o yaml',
    'set env --local -f pod.yaml A=1 -o yaml',
    'set resources --local -f deploy.yaml --limits=cpu=200m -o yaml',
    'set resources --local -f pod.yaml --requests=memory=64Mi -o yaml',
]


@pytest.mark.parametrize("line", LOCAL)
def test_local_same_as_kubectl(cluster: Cluster, home: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                               line: str) -> None:
    for name, text in MANIFESTS.items():
        (tmp_path / name).write_text(text)
    monkeypatch.chdir(tmp_path)
    real, mine = _both(cluster, home, line)
    assert mine == real


# ``-f`` paths the resource builder refuses before reading anything: globs, directories that hold
# no manifest, several errors at once (one a line, without ``error: ``).
PATHS = [
    'apply -f empty', 'apply -f empty -f empty2', 'apply -f notes', 'apply -f empty -f deploy.yaml',
    'apply -f empty -f missing', 'apply -f missing -f empty', 'apply -f m1 -f m2', 'apply -f e*',
    'apply -f nomatch*', "apply -f '['", "apply -f 'x\\'", 'create -f empty', 'delete -f empty', 'get -f empty',
    'diff -f empty', 'apply -f nested', 'scale --replicas=1 -f empty', 'create -f blank.yaml',
    'apply -f blank.yaml',
]


@pytest.mark.parametrize("line", PATHS)
def test_file_paths_same_as_kubectl(cluster: Cluster, home: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    line: str) -> None:
    for name in ("empty", "empty2", "notes", "nested/sub"):
        (tmp_path / name).mkdir(parents=True)
    (tmp_path / "notes" / "a.txt").write_text("x: 1\n")
    (tmp_path / "deploy.yaml").write_text(MANIFESTS["deploy.yaml"])
    (tmp_path / "blank.yaml").write_text("# nothing yet\n---\n")
    (tmp_path / "nested" / "sub" / "pod.yaml").write_text(MANIFESTS["pod.yaml"])
    monkeypatch.chdir(tmp_path)
    real, mine = _both(cluster, home, line)
    assert mine == real
