"""Template output formats: jsonpath, go-template, custom-columns (and their -file forms).

The fidelity half serves one cluster and runs each command line (split as a shell would)
through kubelab's kubectl and the real kubectl 1.32; stdout, stderr and exit code must be
identical. The unit half checks the Go template engine and Go's ``%v`` formatting without
the binary.
"""
from __future__ import annotations

import shlex
import time

import pytest

from kubelab import Cluster
from kubelab.engine.clock import VirtualClock
from kubelab.kubectl import gofmt, gotemplate
from kubelab.server import serve
from test_server import KUBECTL, SKIP_REASON, Kubectl

STATE = """\
apiVersion: v1
kind: Pod
metadata:
  name: echo
  labels: {app: echo, tier: web}
  annotations: {note: "a<b>&c"}
spec:
  containers:
  - name: c
    image: kennship/http-echo
    env:
    - name: VERSION
      value: "2"
    ports:
    - containerPort: 3000
  - name: sidecar
    image: busybox
    command: [sleep, "3600"]
---
apiVersion: v1
kind: Secret
metadata:
  name: db
stringData:
  password: s3cr3t
  user: admin
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  PORT: "3000"
  big: "1000000"
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: nginx
        image: nginx
        resources:
          limits: {cpu: 500m, memory: 128Mi}
"""

JSONPATH = [
    "get pods -o jsonpath='{range.items[*]}{.metadata.name}{\"\\n\"}{end}'",
    "get pods -o jsonpath={range.items[*]}{.metadata.name}{\"\\n\"}{end}",  # quotes eaten: {\n}
    "get pods -o jsonpath='{.items[*].metadata.name}'",
    "get pod echo -o jsonpath='{.spec.containers[0].env}'",
    "get pod echo -o jsonpath='{.metadata.labels}'",
    "get pod echo -o jsonpath='{.metadata.annotations}'",
    "get pod echo -o jsonpath='{.spec.containers[*].name}'",
    "get pod echo -o jsonpath='{.spec.containers[-1:].image}'",
    "get pod echo -o jsonpath='{.spec.containers[0:2].name}'",
    "get pod echo -o jsonpath='{.spec.containers[5].name}'",
    "get pod echo -o jsonpath='{.spec.containers[::0].name}'",
    "get pod echo -o jsonpath='{.spec.containers[0,1].name}'",
    "get pod echo -o jsonpath=\"{.metadata['name']}\"",
    "get pod echo -o jsonpath='{.spec.containers[?(@.name==\"sidecar\")].image}'",
    "get pod echo -o jsonpath='{.spec.containers[?(@.ports)].name}'",
    "get pod echo -o jsonpath='{.spec.containers[?(@.ports[0].containerPort==3000)].name}'",
    "get pod echo -o jsonpath='{.spec.containers[?(@.ports[0].containerPort>\"1\")].name}'",
    "get pod echo -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}'",
    "get pod echo -o jsonpath='{..containerPort}'",
    "get pod echo -o jsonpath='{.nope}{.spec.nope[0]}done'",
    "get pod echo -o jsonpath='{.nope}' --allow-missing-template-keys=false",
    "get pod echo -o jsonpath='{.metadata.name'",
    "get pod echo -o jsonpath='{.metadata.name,.kind}'",
    "get pod echo -o jsonpath='{foo}'",
    "get pod echo -o jsonpath='{end}'",
    "get pod echo -o jsonpath='{.metadata[name]}'",
    "get pod echo -o jsonpath='{\"a\\tb\"}{.kind}{@.kind}{$.kind}'",
    "get pod echo -o jsonpath='{.metadata.labels[?(@==\"x\")]}'",
    "get pods -o jsonpath='{range .items[*]}{.metadata.name}{\"\\t\"}{range .spec.containers[*]}{.image} {end}"
    "{\"\\n\"}{end}'",
    "get pod echo -o jsonpath-as-json='{.metadata.name}{.spec.containers[*].name}'",
    "get pods -o jsonpath",
    "get pod echo -o jsonpath --template='{.kind}'",
    "get pod echo --template='{{.kind}}'",
    "get pod echo -o go-template='{{.kind}}' --template='{{.metadata.name}}'",
    "get deploy web -o jsonpath='{.spec.template.spec.containers[0].resources}'",
]

CUSTOM_COLUMNS = [
    "get pods -o custom-columns=NAME:.metadata.name,ENV:.spec.containers[0].env",
    "get pods -o custom-columns=NAME:.metadata.name,ENV:.spec.containers[*].env[*].name",
    "get pods -o custom-columns=L:.metadata.labels,P:.spec.containers[0].ports",
    "get pods -o custom-columns=NAME:.metadata.name,X:.spec.nope,C:.spec.containers[*].command",
    "get pods -o custom-columns=NAME:metadata.name,IMG:{.spec.containers[*].image}",
    "get pods -o custom-columns=NAME",
    "get pods -o custom-columns=",
    "get pods -o custom-columns=N:.metadata.name --no-headers",
    "get pods -o custom-columns=N:.metadata.name,T:.metadata.creationTimestamp,S:.status.containerStatuses[*].ready",
    "get deploy -o custom-columns=NAME:.metadata.name,LIM:.spec.template.spec.containers[0].resources.limits",
    "get cm settings -o custom-columns=DATA:.data",
]

GO_TEMPLATE = [
    "get secret db -o go-template='{{.data.password | base64decode}}'",
    "get secret db -o go-template='{{range $k, $v := .data}}{{$k}}={{$v | base64decode}}{{\"\\n\"}}{{end}}'",
    "get secret db -o go-template='{{base64decode .data.nope}}'",
    "get secret db -o go-template='{{base64encode .data.user}}'",
    "get pods -o go-template='{{range .items}}{{.metadata.name}}{{\"\\n\"}}{{end}}'",
    "get pods -o template='{{range .items}}{{.metadata.name}} {{len .spec.containers}}{{\"\\n\"}}{{end}}'",
    "get pod echo -o go-template='{{.metadata.name}}'",
    "get pod echo -o go-template='{{.metadata.labels}} {{.spec.containers}}'",
    "get pod echo -o go-template='{{.nope}} {{.metadata.nope.deeper}}'",
    "get pod echo -o go-template='{{range $i, $c := .spec.containers}}{{if $i}},{{end}}{{$c.name}}{{end}}'",
    "get pod echo -o go-template='{{range .spec.containers}}{{if .ports}}{{.name}} has ports{{else}}"
    "{{.name}} none{{end}}{{\"\\n\"}}{{end}}'",
    "get pod echo -o go-template='{{with .metadata.labels}}{{.app}}{{end}}{{with .nope}}x{{else}}y{{end}}'",
    "get pod echo -o go-template='{{if eq .status.phase \"Running\" \"Pending\"}}up{{else if .spec}}other{{end}}'",
    "get pod echo -o go-template='{{printf \"%s has %d containers, port %v\\n\" .metadata.name "
    "(len .spec.containers) (index .spec.containers 0).ports}}'",
    "get pod echo -o go-template='{{index .metadata.labels \"app\"}} {{index .spec.containers 1 | printf \"%v\"}}'",
    "get pod echo -o go-template='{{(index .spec.containers 0).ports}}'",
    "get pod echo -o go-template='{{- .metadata.name -}}   {{- \"!\" }}'",
    "get pod echo -o go-template='{{$n := .metadata.name}}{{range .spec.containers}}{{$n}}/{{.name}} {{end}}'",
    "get pod echo -o go-template='{{.metadata.name'",
    "get pod echo -o go-template='{{.metadata.name}'",
    "get pod echo -o go-template='{{foo .metadata}}'",
    "get pod echo -o go-template='{{if .spec}}'",
    "get pod echo -o go-template='{{end}}'",
    "get pod echo -o go-template='{{.spec.containers[0]}}'",
    "get pod echo -o go-template='{{index .spec.containers 5}}'",
    "get pod echo -o go-template='{{.metadata.name.first}}'",
    "get pod echo -o go-template='{{gt .spec.containers 1}}'",
    "get pod echo -o go-template='{{.nope}}' --allow-missing-template-keys=false",
    "get cm settings -o go-template='{{.data.big}} {{len .data}} {{exists .data \"PORT\"}}'",
    "get deploy web -o go-template='{{.spec.replicas}} {{if gt .spec.replicas 1}}many{{end}} "
    "{{printf \"%d %s %5.1f %q\" .spec.replicas .spec.replicas 2.5 .metadata.name}}'",
    "get deploy -o go-template='{{range .items}}{{.metadata.name}}:{{range .spec.template.spec.containers}}"
    "{{.resources.limits}}{{end}}{{\"\\n\"}}{{end}}'",
    "get pods -o go-template",
]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    cluster = Cluster(clock=VirtualClock(start=int(time.time()) - 3600), seed=1)
    r = cluster.kubectl("apply -f -", stdin=STATE)
    assert r.returncode == 0, r.stderr
    cluster.settle(600)
    with serve(cluster) as server:
        kubectl = Kubectl(server.kubeconfig, str(tmp_path_factory.mktemp("home")))
        assert kubectl("get ns").returncode == 0
        yield cluster, kubectl


def same(served, command: str) -> None:
    cluster, kubectl = served
    argv = shlex.split(command)
    real, mine = kubectl(argv), cluster.kubectl(*argv)
    assert (mine.returncode, mine.stdout, mine.stderr) == (real.returncode, real.stdout, real.stderr)


needs_binary = pytest.mark.skipif(KUBECTL is None, reason=SKIP_REASON)


@needs_binary
@pytest.mark.parametrize("command", JSONPATH + CUSTOM_COLUMNS + GO_TEMPLATE)
def test_output_matches_real_kubectl(served, command):
    same(served, command)


@needs_binary
def test_file_formats_match_real_kubectl(served, tmp_path):
    files = {"t.tmpl": '{{range .items}}{{.metadata.name}}{{"\\n"}}{{end}}',
             "j.txt": '{range .items[*]}{.metadata.name}{"\\n"}{end}',
             "cc.txt": "NAME          IMAGES\n.metadata.name   {.spec.containers[*].image}\n",
             "cc-bad.txt": "NAME IMAGES\n.metadata.name\n",
             "cc-one.txt": "NAME\n"}
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    for command in ("get pods -o go-template-file={d}/t.tmpl", "get pods -o templatefile={d}/t.tmpl",
                    "get pods -o jsonpath-file={d}/j.txt", "get pods -o custom-columns-file={d}/cc.txt",
                    "get pods -o custom-columns-file={d}/cc-bad.txt", "get pods -o custom-columns-file={d}/cc-one.txt",
                    "get pods -o go-template-file={d}/missing", "get pods -o custom-columns-file={d}/missing",
                    "get pods -o jsonpath-file={d}/missing", "get pods -o go-template-file="):
        same(served, command.format(d=tmp_path))


# -- the engine, without the binary ---------------------------------------------------------
POD = {"kind": "Pod", "metadata": {"name": "web", "labels": {"app": "web", "tier": "fe"}, "creationTimestamp": None},
       "spec": {"replicas": 3, "containers": [{"name": "c", "ports": [{"containerPort": 80}]}, {"name": "d"}]},
       "data": {"password": "czNjcjN0"}}


def run(template: str, data=POD, **kw) -> str:
    return gotemplate.parse(template).execute(data, **kw)


def test_fields_pipelines_and_kubectl_functions():
    assert run("{{.metadata.name}}") == "web"
    assert run("{{.data.password | base64decode}}") == "s3cr3t"
    assert run("{{.nope}}|{{.metadata.nope.deeper}}|{{.metadata.creationTimestamp}}") == \
        "<no value>|<no value>|<no value>"
    assert run("{{.metadata}}") == "map[creationTimestamp:<nil> labels:map[app:web tier:fe] name:web]"
    assert run("{{.spec.containers}}") == "[map[name:c ports:[map[containerPort:80]]] map[name:d]]"
    assert run('{{exists .metadata "labels" "app"}} {{exists .metadata "creationTimestamp"}}') == "true false"
    assert run('{{index .metadata.labels "app"}} {{(index .spec.containers 0).name}}') == "web c"
    assert run("{{.spec.containers | len | printf \"%d containers\"}}") == "2 containers"


def test_control_structures_and_variables():
    assert run('{{range $i, $c := .spec.containers}}{{if $i}},{{end}}{{$i}}={{$c.name}}{{end}}') == "0=c,1=d"
    assert run("{{range $k, $v := .metadata.labels}}{{$k}}:{{$v}};{{end}}") == "app:web;tier:fe;"
    assert run("{{range .nope}}x{{else}}empty{{end}}") == "empty"
    assert run("{{range .spec.containers}}{{if .ports}}{{continue}}{{end}}{{.name}}{{break}}{{end}}") == "d"
    assert run('{{if eq .kind "Svc"}}a{{else if eq .kind "Pod"}}b{{else}}c{{end}}') == "b"
    assert run("{{with .metadata.labels}}{{.app}}{{end}}{{with .nope}}x{{else}}y{{end}}") == "weby"
    assert run('{{$n := .metadata.name}}{{range .spec.containers}}{{$n}}/{{.name}}{{$.kind}} {{end}}') == \
        "web/cPod web/dPod "
    assert run("{{$x := 1}}{{$x = 2}}{{$x}}") == "2"
    assert run('{{define "n"}}[{{.name}}]{{end}}{{range .spec.containers}}{{template "n" .}}{{end}}') == "[c][d]"
    assert run('{{- "a" -}}  \n {{- "b"}} x {{ "c" -}}\n y{{/* note */}}') == "ab x cy"


def test_functions_and_literals():
    assert run('{{and 1 0 2}} {{or 0 "" "z"}} {{not .nope}} {{ne 1 2}} {{lt "a" "b"}} {{ge .spec.replicas 3}}') == \
        "0 z true true true true"
    assert run('{{print 1 2 "a" "b" 3}}{{println "x" 1}}') == "1 2ab3x 1\n"
    assert run("{{ 3 }} {{ 1.5 }} {{ 1e3 }} {{ 0x10 }} {{ 'a' }} {{ `raw\\n` }}") == "3 1.5 1000 16 97 raw\\n"
    assert run('{{printf "%d|%s|%v|%q|%x|%5.2f|%-3s|" .spec.replicas .spec.replicas .nope "a\\"b" 255 3.14159 "a"}}') \
        == '3|%!s(int64=3)|<nil>|"a\\"b"|ff| 3.14|a  |'
    assert run('{{printf "%d"}} {{printf "%s" 1 2}}') == "%!d(MISSING) %!s(int=1)%!(EXTRA int=2)"
    assert run('{{html "<a&b>"}} {{slice "hello" 1 3}}') == "&lt;a&amp;b&gt; el"


@pytest.mark.parametrize("template, message", [
    ("{{.metadata.name", "template: output:1: unclosed action"),
    ("{{.metadata.name}", "template: output:1: bad character U+007D '}'"),
    ("{{ .a }", 'template: output:1: unexpected "}" in operand'),
    ("{{foo}}", 'template: output:1: function "foo" not defined'),
    ("{{base64encode .x}}", 'template: output:1: function "base64encode" not defined'),
    ("{{end}}", "template: output:1: unexpected {{end}}"),
    ("{{else}}", "template: output:1: unexpected {{else}}"),
    ("{{if}}", "template: output:1: missing value for if"),
    ("{{if .x}}", "template: output:1: unexpected EOF"),
    ("{{}}", "template: output:1: missing value for command"),
    ("\n{{$x}}", 'template: output:2: undefined variable "$x"'),
    ('{{"abc}}', "template: output:1: unterminated quoted string"),
    ("{{.a[0]}}", "template: output:1: bad character U+005B '['"),
    ('{{"abc".x}}', 'template: output:1: unexpected . after term "\\"abc\\""'),
    ("{{break}}", "template: output:1: {{break}} outside {{range}}"),
    ('{{.a | "x"}}', "template: output:1: non executable command in pipeline stage 2"),
])
def test_parse_errors(template, message):
    with pytest.raises(gotemplate.ParseError) as e:
        gotemplate.parse(template)
    assert str(e.value) == message


@pytest.mark.parametrize("template, message", [
    ("{{eq 1.0 1}}", "output:1:2: executing \"output\" at <eq 1.0 1>: error calling eq: incompatible types for "
                     "comparison"),
    ("{{.metadata.creationTimestamp.x}}", "output:1:11: executing \"output\" at <.metadata.creationTimestamp.x>: "
                                          "nil pointer evaluating interface {}.x"),
    ("{{.metadata.name.foo}}", "output:1:11: executing \"output\" at <.metadata.name.foo>: can't evaluate field "
                               "foo in type interface {}"),
    ("{{len .spec.replicas}}", "output:1:2: executing \"output\" at <len .spec.replicas>: error calling len: "
                               "len of type int64"),
    ("{{range .spec.replicas}}x{{end}}", "output:1:13: executing \"output\" at <.spec.replicas>: range can't "
                                         "iterate over 3"),
    ("{{index .spec.containers 3}}", "output:1:2: executing \"output\" at <index .spec.containers 3>: error "
                                     "calling index: index out of range: 3"),
    ("{{base64decode .nope}}", "output:1:15: executing \"output\" at <.nope>: invalid value; expected string"),
    ('{{base64decode "aGVsbA="}}', "output:1:2: executing \"output\" at <base64decode \"aGVsbA=\">: error calling "
                                   "base64decode: base64 decode failed: illegal base64 data at input byte 7"),
    ("{{nil}}", "output:1:2: executing \"output\" at <nil>: nil is not a command"),
    ('{{"a" 1}}', "output:1:2: executing \"output\" at <\"a\">: can't give argument to non-function \"a\""),
    ("{{and}}", "output:1:2: executing \"output\" at <and>: wrong number of args for and: want at least 1 got 0"),
    ('{{template "x"}}', "output:1:11: executing \"output\" at <{{template \"x\"}}>: template \"x\" not defined"),
])
def test_execution_errors(template, message):
    with pytest.raises(gotemplate.ExecError) as e:
        run(template)
    assert str(e.value) == "template: " + message


def test_missing_keys_can_be_errors():
    with pytest.raises(gotemplate.ExecError, match='map has no entry for key "nope"'):
        run("{{.nope}}", missing_error=True)


def test_go_value_formatting():
    assert gofmt.format_v({"b": [1, None, True], "a": {"x": 1.5}}) == "map[a:map[x:1.5] b:[1 <nil> true]]"
    assert [gofmt.format_float(f) for f in (3.0, 1e6, 123456.0, 1e-5, 0.0001, -2.5)] == \
        ["3", "1e+06", "123456", "1e-05", "0.0001", "-2.5"]
    assert gofmt.go_syntax({"a": [None, "x", 1]}) == \
        'map[string]interface {}{"a":[]interface {}{interface {}(nil), "x", 1}}'
    assert gofmt.sprint([gofmt.GoInt(1), gofmt.GoInt(2), "a", "b", gofmt.GoInt(3)]) == "1 2ab3"
