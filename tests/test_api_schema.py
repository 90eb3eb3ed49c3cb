"""Strict decoding against the schema pre-digested from Kubernetes 1.32's OpenAPI."""
from __future__ import annotations

import base64

import pytest
from hypothesis import given, strategies as st

from kubelab.api import schema
from kubelab.api.errors import StatusError
from kubelab.api.kinds import BY_KIND


def decode(obj: dict, kind: str = "Pod", mode: str = "Strict"):
    return schema.decode(obj, BY_KIND[kind], mode)


def error(obj: dict, kind: str = "Pod", mode: str = "Strict") -> str:
    with pytest.raises(StatusError) as e:
        decode(obj, kind, mode)
    assert e.value.code == 400 and e.value.reason == "BadRequest"
    return e.value.message


def pod(**container) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "c", "image": "nginx", **container}]}}


def test_known_fields_pass_and_input_is_not_mutated():
    obj = pod(ports=[{"containerPort": 80}])
    out, warnings = decode(obj)
    assert out == obj and out is not obj and warnings == []
    out["spec"]["containers"][0]["name"] = "changed"
    assert obj["spec"]["containers"][0]["name"] == "c"


def test_unknown_field_strict_message_uses_indexed_path():
    msg = error(pod(imagee="x"))
    assert msg == ('Pod in version "v1" cannot be handled as a Pod: strict decoding error: '
                   'unknown field "spec.containers[0].imagee"')


def test_several_unknown_fields_are_comma_joined_in_document_order():
    obj = pod(imagee="x")
    obj["spec"]["foo"] = 1
    obj["metadata"]["app"] = "x"
    msg = error(obj)
    assert msg.endswith('strict decoding error: unknown field "metadata.app", '
                        'unknown field "spec.containers[0].imagee", unknown field "spec.foo"')


def test_warn_drops_unknown_fields_and_returns_warnings():
    out, warnings = decode(pod(imagee="x"), mode="Warn")
    assert "imagee" not in out["spec"]["containers"][0]
    assert warnings == ['unknown field "spec.containers[0].imagee"']


def test_ignore_drops_silently():
    out, warnings = decode(pod(imagee="x"), mode="Ignore")
    assert "imagee" not in out["spec"]["containers"][0] and warnings == []


def test_field_names_are_case_sensitive():
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
           "spec": {"ports": [{"port": 80, "nodeport": 30080}]}}
    assert error(svc, "Service").endswith('unknown field "spec.ports[0].nodeport"')


@pytest.mark.parametrize("obj,kind,expected", [
    ({"spec": {"containers": "x"}}, "Pod",
     "json: cannot unmarshal string into Go struct field PodSpec.spec.containers of type []v1.Container"),
    ({"spec": {"replicas": "3"}}, "Deployment",
     "json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32"),
    ({"spec": {"template": {"spec": {"containers": [{"ports": [{"containerPort": "80"}]}]}}}}, "Deployment",
     "json: cannot unmarshal string into Go struct field "
     "ContainerPort.spec.template.spec.containers.ports.containerPort of type int32"),
    ({"spec": {"template": {"spec": {"containers": [{"ports": {"containerPort": 80}}]}}}}, "Deployment",
     "json: cannot unmarshal object into Go struct field Container.spec.template.spec.containers.ports "
     "of type []v1.ContainerPort"),
    ({"spec": {"template": {"spec": {"containers": [{"ports": ["80"]}]}}}}, "Deployment",
     "json: cannot unmarshal string into Go struct field Container.spec.template.spec.containers.ports "
     "of type v1.ContainerPort"),
    ({"spec": {"template": {"spec": {"containers": [{"env": [{"name": "A", "value": 1}]}]}}}}, "Deployment",
     "json: cannot unmarshal number into Go struct field EnvVar.spec.template.spec.containers.env.value "
     "of type string"),
    ({"data": {"a": {"b": 1}}}, "ConfigMap",
     "json: cannot unmarshal object into Go struct field ConfigMap.data of type string"),
    ({"spec": {"ports": [{"port": "80"}]}}, "Service",
     "json: cannot unmarshal string into Go struct field ServicePort.spec.ports.port of type int32"),
    ({"metadata": {"labels": {"v": True}}}, "Pod",
     "json: cannot unmarshal bool into Go struct field ObjectMeta.metadata.labels of type string"),
    ({"spec": {"terminationGracePeriodSeconds": "30"}}, "Pod",
     "json: cannot unmarshal string into Go struct field PodSpec.spec.terminationGracePeriodSeconds of type int64"),
    ({"spec": {"replicas": 1.5}}, "Deployment",
     "json: cannot unmarshal number 1.5 into Go struct field DeploymentSpec.spec.replicas of type int32"),
    ({"spec": {"replicas": 2**31}}, "Deployment",
     "json: cannot unmarshal number 2147483648 into Go struct field DeploymentSpec.spec.replicas of type int32"),
    ({"spec": {"hostNetwork": "true"}}, "Pod",
     "json: cannot unmarshal string into Go struct field PodSpec.spec.hostNetwork of type bool"),
    ({"spec": "x"}, "Pod", "json: cannot unmarshal string into Go struct field Pod.spec of type v1.PodSpec"),
    ({"data": {"a": 1}}, "Secret", "json: cannot unmarshal number into Go struct field Secret.data of type []uint8"),
])
def test_type_mismatch_messages(obj, kind, expected):
    k = BY_KIND[kind]
    full = {"apiVersion": k.api_version, "kind": kind, **obj}
    assert error(full, kind) == f'{kind} in version "v1" cannot be handled as a {kind}: {expected}'


def test_type_error_wins_over_unknown_fields():
    obj = pod(imagee="x")
    obj["spec"]["hostNetwork"] = "yes"
    assert "cannot unmarshal string" in error(obj)


def test_int_or_string_accepts_both_and_rejects_others():
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
           "spec": {"ports": [{"port": 80, "targetPort": "http"}, {"port": 81, "targetPort": 8081}]}}
    out, _ = decode(svc, "Service")
    assert [p["targetPort"] for p in out["spec"]["ports"]] == ["http", 8081]
    svc["spec"]["ports"][0]["targetPort"] = True
    assert error(svc, "Service").endswith("json: cannot unmarshal bool into Go value of type int32")


def test_integral_floats_are_ints():
    out, _ = decode({"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"replicas": 3.0}}, "Deployment")
    assert out["spec"]["replicas"] == 3 and isinstance(out["spec"]["replicas"], int)


def test_nulls_and_empty_collections_are_dropped():
    obj = pod()
    obj["metadata"]["labels"] = {}
    obj["metadata"]["annotations"] = None
    obj["spec"]["volumes"] = []
    out, _ = decode(obj)
    assert out["metadata"] == {"name": "p"} and "volumes" not in out["spec"]


def test_quantities_are_canonical():
    out, _ = decode(pod(resources={"limits": {"cpu": 0.5, "memory": "1024Mi"}, "requests": {"cpu": 1}}))
    assert out["spec"]["containers"][0]["resources"] == {"limits": {"cpu": "500m", "memory": "1Gi"},
                                                          "requests": {"cpu": "1"}}


@pytest.mark.parametrize("text,canonical", [
    ("0.5", "500m"), ("1000m", "1"), ("1024Mi", "1Gi"), ("1.5Gi", "1536Mi"), ("2000", "2k"),
    ("2000Mi", "2000Mi"), ("100M", "100M"), ("1e3", "1e3"), ("128974848", "128974848"),
    ("0.1", "100m"), ("1.1m", "1100u"), ("0", "0"), ("512Ki", "512Ki"), ("0.5Ki", "512"),
])
def test_canonical_quantity(text, canonical):
    assert schema.canonical_quantity(text) == canonical


def test_bad_quantity_messages():
    assert error(pod(resources={"limits": {"memory": "1GB"}})).endswith(
        "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")
    assert error(pod(resources={"limits": {"memory": "1Gu"}})).endswith("unable to parse quantity's suffix")


def secret(**data) -> dict:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": data}


@pytest.mark.parametrize("value,byte", [("mypassword", 8), ("abc!", 3), ("a", 0), ("ab=c", 2), ("YQ==YQ==", 4)])
def test_secret_data_must_be_base64_with_gos_byte_offset(value, byte):
    assert error(secret(k=value), "Secret") == (
        f'Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte {byte}')


def test_secret_data_newlines_are_skipped_and_output_canonical():
    out, _ = decode(secret(k="aGVs\nbG8="), "Secret")
    assert out["data"]["k"] == "aGVsbG8="


@given(st.binary(max_size=40))
def test_go_base64_round_trip(raw):
    assert schema.go_b64decode(base64.b64encode(raw).decode()) == raw


def test_timestamps_are_normalised():
    obj = pod()
    obj["metadata"]["creationTimestamp"] = "2024-05-01T10:00:00.123+02:00"
    out, _ = decode(obj)
    assert out["metadata"]["creationTimestamp"] == "2024-05-01T08:00:00Z"


def test_every_served_kind_has_a_schema():
    for name, kind in BY_KIND.items():
        out, _ = schema.decode({"apiVersion": kind.api_version, "kind": name, "metadata": {"name": "x"}}, kind)
        assert out["metadata"]["name"] == "x"


# -- int32 vs int64 from the OpenAPI's format ------------------------------------------

def test_int64_fields_take_values_beyond_int32():
    big = 2**40
    rev = {"apiVersion": "apps/v1", "kind": "ControllerRevision", "metadata": {"name": "r"}, "revision": big}
    assert decode(rev, "ControllerRevision")[0]["revision"] == big
    sleeper = pod(lifecycle={"preStop": {"sleep": {"seconds": big}}})
    out, _ = decode(sleeper)
    assert out["spec"]["containers"][0]["lifecycle"]["preStop"]["sleep"]["seconds"] == big
    rev["revision"] = 2**63
    assert error(rev, "ControllerRevision").endswith(
        "json: cannot unmarshal number 9223372036854775808 into Go struct field ControllerRevision.revision "
        "of type int64")


def test_event_count_is_int32():
    ev = {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e"}, "count": 2**31}
    assert error(ev, "Event").endswith(
        "json: cannot unmarshal number 2147483648 into Go struct field Event.count of type int32")
    ev["count"] = 5
    assert decode(ev, "Event")[0]["count"] == 5


def test_every_served_kind_has_its_openapi_definition():
    for kind in BY_KIND.values():
        node = schema.root(kind.kind)
        assert node is not None and node.struct_name == kind.kind, kind.kind


def test_fields_digest_matches_the_installed_openapi():
    """The committed digest is what tools/digest_openapi.py makes from kubernetes-validate's 1.32."""
    import importlib.util
    from pathlib import Path

    tool = Path(__file__).resolve().parent.parent / "tools" / "digest_openapi.py"
    spec = importlib.util.spec_from_file_location("digest_openapi", tool)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert schema._DIGEST.read_text(encoding="utf-8") == module.render()


def test_list_map_keys_come_from_the_openapi():
    spec = schema.child(schema.root("Pod"), "spec")
    assert spec.list_map_keys("containers") == ("name",)
    port = schema.element(schema.child(schema.element(spec.fields["containers"]), "ports"))
    assert port is not None and port.struct_name == "ContainerPort"
    assert schema.element(spec.fields["containers"]).list_map_keys("ports") == ("containerPort", "protocol")
    assert spec.list_map_keys("nodeSelector") == ()


def test_decoding_and_explain_import_neither_the_kubernetes_client_nor_jsonschema():
    import subprocess
    import sys

    code = ("import sys; from kubelab.api import openapi, schema; from kubelab.api.kinds import BY_KIND; "
            "openapi.schemas(); "
            "schema.decode({'apiVersion': 'v1', 'kind': 'Pod', 'spec': {'containers': [{'name': 'c'}]}}, "
            "BY_KIND['Pod']); print(sorted(m for m in ('kubernetes', 'jsonschema', 'kubernetes_validate') "
            "if m in sys.modules))")
    assert subprocess.check_output([sys.executable, "-c", code], text=True).strip() == "[]"
