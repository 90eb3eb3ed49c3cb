"""The bad-input corpus: manifests that once crashed, hung or were wrongly accepted.

Each entry is (name, bytes, what kubectl 1.32 prints for ``apply -f FILE``, with FILE in
place of the path). The texts were printed by the real binary against a served cluster;
``test_bad_input.test_corpus_matches_real_kubectl`` checks them again when it is installed.
"""
from __future__ import annotations


def _bomb() -> str:
    """The 544-byte billion laughs: nine levels of nine aliases each (9**9 strings)."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    previous = "a"
    for name in "bcdefghi":
        lines.append(f"{name}: &{name} [" + ",".join([f"*{previous}"] * 9) + "]")
        previous = name
    return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bomb}\ndata:\n" + "".join(f"  {ln}\n" for ln in lines)


def _deep_map(levels: int, header: str = "") -> str:
    return header + "a:\n" + "".join(" " * (i + 1) + "a:\n" for i in range(levels))


CM = "apiVersion: v1\nkind: ConfigMap\n"
_POD = ("apiVersion: v1\nkind: Pod\nmetadata: {name: bad}\nspec:\n  containers:\n  - name: app\n"
        "    image: nginx\n")
_DECODE = 'error: unable to decode "FILE": json: cannot unmarshal '
_NOT_STRING = ("error: error validating \"FILE\": error validating data: {}; if you choose to ignore these "
               "errors, turn validation off with --validate=false")

CRASHERS: list[tuple[str, bytes, str]] = [
    ("metadata-list", (CM + "metadata: [1,2]\n").encode(),
     _DECODE + "array into Go struct field metadataOnlyObject.metadata of type v1.ObjectMeta"),
    ("name-list", (CM + "metadata: {name: [a]}\n").encode(),
     _DECODE + "array into Go struct field ObjectMeta.metadata.name of type string"),
    ("namespace-list", (CM + "metadata: {name: a, namespace: [x]}\n").encode(),
     _DECODE + "array into Go struct field ObjectMeta.metadata.namespace of type string"),
    ("label-number", (CM + "metadata: {name: a, labels: {x: 1}}\n").encode(),
     _DECODE + "number into Go struct field ObjectMeta.metadata.labels of type string"),
    ("kind-list", "apiVersion: v1\nkind: [ConfigMap]\nmetadata: {name: a}\n".encode(),
     _NOT_STRING.format("kind isn't string type")),
    ("latin-1", (CM + "metadata: {name: latin}\ndata: {x: caf\xe9}\n").encode("latin-1"), "configmap/latin created"),
    ("xff-byte", (CM + "metadata: {name: xff}\ndata: {x: \xff}\n").encode("latin-1"), "configmap/xff created"),
    ("utf-16-bom", (CM + "metadata: {name: utf16}\ndata: {x: caf\xe9}\n").encode("utf-16"),
     "configmap/utf16 created"),
    ("deep-map", _deep_map(5000).encode(), _NOT_STRING.format("[apiVersion not set, kind not set]")),
    ("deep-map-past-limit", _deep_map(12000, CM + "metadata: {name: d}\n").encode(),
     "error: error parsing FILE: error converting YAML to JSON: yaml: line 10004: exceeded max depth of 10000"),
    ("brackets", b"[" * 100_000,
     "error: error parsing FILE: error converting YAML to JSON: yaml: exceeded max depth of 10000"),
    ("deep-json", ('{"a":' * 20000 + "1" + "}" * 20000).encode(),
     "error: error parsing FILE: json: offset 50001: invalid character '{' exceeded max depth"),
    ("alias-bomb", _bomb().encode(),
     "error: error parsing FILE: error converting YAML to JSON: yaml: document contains excessive aliasing"),
    ("deep-unknown-field", (CM + "metadata: {name: d}\nx: " + "[" * 9990 + "]" * 9990 + "\n").encode(),
     'Error from server (BadRequest): error when creating "FILE": ConfigMap in version "v1" cannot be handled '
     'as a ConfigMap: strict decoding error: unknown field "x"'),
    ("control-character", (CM + 'metadata: {name: ctl}\ndata: {x: "a\x01b"}\n').encode(),
     "error: error parsing FILE: error converting YAML to JSON: yaml: control characters are not allowed"),
]

_INVALID = 'The Pod "bad" is invalid: '
INVALID: list[tuple[str, bytes, str]] = [
    ("duplicate-port-name", (_POD + "    ports: [{name: http, containerPort: 80}, {name: http, containerPort: 81}]\n")
     .encode(), _INVALID + 'spec.containers[0].ports[1].name: Duplicate value: "http"'),
    ("negative-memory", (_POD + "    resources: {requests: {memory: -1Gi}}\n").encode(),
     _INVALID + 'spec.containers[0].resources.requests[memory]: Invalid value: "-1Gi": must be greater than '
     "or equal to 0"),
    ("env-name-with-equals", (_POD + "    env: [{name: A=B, value: x}]\n").encode(),
     _INVALID + 'spec.containers[0].env[0].name: Invalid value: "A=B": a valid environment variable name must '
     "consist only of printable ASCII characters other than '='"),
    ("envfrom-prefix", (_POD + "    envFrom: [{prefix: 1=, configMapRef: {name: c}}]\n").encode(),
     _INVALID + 'spec.containers[0].envFrom[0].prefix: Invalid value: "1=": a valid environment variable name '
     "must consist only of printable ASCII characters other than '='"),
]


def store_digest(cluster) -> tuple[str, dict]:
    """The store's resourceVersion and every stored object (as JSON, by kind/namespace/name):
    equal before and after means a request changed nothing (pytest shows what did). Work
    already due runs first, as before every request (a namespace created earlier gets its
    ServiceAccount then, not during the next request)."""
    import json

    store = cluster.engine.store
    with cluster.engine.lock:
        cluster.engine.sync()
        objects = {f"{kind}/{o['metadata'].get('namespace', '')}/{o['metadata']['name']}":
                   json.dumps(o, sort_keys=True, default=str) for kind in store.kinds() for o in store.list(kind)}
        return store.resource_version, objects
