"""Validation rules and the API server's exact messages."""
from __future__ import annotations

import copy

import pytest

from kubelab.api import admission
from kubelab.api.errors import StatusError
from kubelab.api.kinds import BY_KIND

SUBDOMAIN = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and "
             "must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
             r"'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
LABEL = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and "
         "end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
         "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')")


def create(obj: dict) -> dict:
    kind = BY_KIND[obj["kind"]]
    obj = copy.deepcopy(obj)
    if kind.namespaced:
        obj.setdefault("metadata", {}).setdefault("namespace", "default")
    return admission.admit_create(obj, kind)[0]


def create_error(obj: dict) -> StatusError:
    with pytest.raises(StatusError) as e:
        create(obj)
    assert e.value.code == 422 and e.value.reason == "Invalid"
    return e.value


def update_error(obj: dict, old: dict) -> StatusError:
    with pytest.raises(StatusError) as e:
        admission.admit_update(copy.deepcopy(obj), old, BY_KIND[obj["kind"]])
    return e.value


def deployment(name: str = "web", labels: dict | None = None, selector: dict | None = None) -> dict:
    labels = {"app": name} if labels is None else labels
    spec: dict = {"template": {"metadata": {"labels": labels},
                               "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}
    if selector is not None:
        spec["selector"] = selector
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name}, "spec": spec}


def pod(*containers: dict, **spec) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"containers": list(containers) or [{"name": "c", "image": "nginx"}], **spec}}


def test_valid_objects_pass():
    create(pod())
    create(deployment(selector={"matchLabels": {"app": "web"}}))
    create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}})
    create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "dev"}})


def test_bad_name_message_and_qualified_kind():
    err = create_error(deployment("Echo_Server", selector={"matchLabels": {"app": "Echo_Server"}}))
    assert err.message == f'Deployment.apps "Echo_Server" is invalid: metadata.name: Invalid value: "Echo_Server": {SUBDOMAIN}'
    assert err.causes[0].field == "metadata.name" and err.causes[0].reason == "FieldValueInvalid"
    assert err.to_status()["details"]["causes"][0]["message"].startswith('Invalid value: "Echo_Server"')


def test_namespace_and_service_names():
    assert create_error({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "Dev"}}).message == \
        f'Namespace "Dev" is invalid: metadata.name: Invalid value: "Dev": {LABEL}'
    err = create_error({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "Customer-api"},
                        "spec": {"ports": [{"port": 80}]}})
    assert err.message == (
        'Service "Customer-api" is invalid: metadata.name: Invalid value: "Customer-api": a DNS-1035 label must '
        "consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an "
        "alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is "
        "'[a-z]([-a-z0-9]*[a-z0-9])?')")


def test_missing_selector_reports_both_errors():
    err = create_error(deployment("x"))
    assert err.message == ('Deployment.apps "x" is invalid: [spec.selector: Required value, '
                           'spec.template.metadata.labels: Invalid value: map[string]string{"app":"x"}: '
                           '`selector` does not match template `labels`]')


def test_selector_mismatch():
    err = create_error(deployment("x", selector={"matchLabels": {"app": "y"}}))
    assert err.message.endswith('spec.template.metadata.labels: Invalid value: map[string]string{"app":"x"}: '
                                '`selector` does not match template `labels`')


def test_empty_selector_is_invalid_without_mismatch():
    err = create_error(deployment("x", selector={}))
    assert err.message.endswith("spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), "
                                "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: "
                                "empty selector is invalid for deployment")


def test_deployment_fields():
    d = deployment("x", selector={"matchLabels": {"app": "x"}})
    d["spec"]["replicas"] = -1
    d["spec"]["strategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 0}}
    d["spec"]["template"]["spec"]["restartPolicy"] = "Never"
    msg = create_error(d).message
    assert "spec.replicas: Invalid value: -1: must be greater than or equal to 0" in msg
    assert "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: 0: may not be 0 when `maxSurge` is 0" in msg
    assert 'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"' in msg
    d = deployment("x", selector={"matchLabels": {"app": "x"}})
    d["spec"]["strategy"] = {"type": "Blue"}
    assert create_error(d).message.endswith(
        'spec.strategy.type: Unsupported value: "Blue": supported values: "Recreate", "RollingUpdate"')


def test_deployment_selector_is_immutable():
    old = create(deployment("x", selector={"matchLabels": {"app": "x"}}))
    new = copy.deepcopy(old)
    new["spec"]["selector"] = {"matchLabels": {"app": "y"}}
    new["spec"]["template"]["metadata"]["labels"] = {"app": "y"}
    assert update_error(new, old).message == (
        'Deployment.apps "x" is invalid: spec.selector: Invalid value: v1.LabelSelector{MatchLabels:'
        'map[string]string{"app":"y"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable')


def test_pod_container_rules():
    err = create_error(pod({"name": "Web", "image": ""}, {"name": "Web", "image": "x", "ports": [{"containerPort": 70000}]},
                           restartPolicy="Sometimes"))
    fields = [(c.field, c.message.split(":")[0]) for c in err.causes]
    assert fields == [("spec.containers[0].name", "Invalid value"), ("spec.containers[0].image", "Required value"),
                      ("spec.containers[1].name", "Invalid value"), ("spec.containers[1].name", "Duplicate value"),
                      ("spec.containers[1].ports[0].containerPort", "Invalid value"),
                      ("spec.restartPolicy", "Unsupported value")]
    assert 'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"' \
        in err.message
    assert "spec.containers[1].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive" \
        in err.message


def test_pod_requires_containers_and_known_volumes():
    p = pod()
    p["spec"]["containers"] = []
    assert create_error(p).message == 'Pod "p" is invalid: spec.containers: Required value'
    p = pod({"name": "c", "image": "x", "volumeMounts": [{"name": "data", "mountPath": "/d"}]})
    assert create_error(p).message == 'Pod "p" is invalid: spec.containers[0].volumeMounts[0].name: Not found: "data"'


def test_requests_above_limits():
    p = pod({"name": "c", "image": "x", "resources": {"limits": {"cpu": "500m"}, "requests": {"cpu": "1"}}})
    assert create_error(p).message.endswith(
        'spec.containers[0].resources.requests: Invalid value: "1": must be less than or equal to cpu limit of 500m')


def test_labels():
    p = pod()
    p["metadata"]["labels"] = {"bad key": "ok", "ok": "bad value!"}
    causes = create_error(p).causes
    assert [c.field for c in causes] == ["metadata.labels", "metadata.labels"]
    assert causes[0].message.startswith('Invalid value: "bad key": name part must consist of alphanumeric')
    assert causes[1].message.startswith('Invalid value: "bad value!": a valid label must be an empty string')


def test_pod_update_may_only_change_images():
    old = create(pod())
    new = copy.deepcopy(old)
    new["spec"]["containers"][0]["image"] = "nginx:2"
    admission.admit_update(copy.deepcopy(new), old, BY_KIND["Pod"])
    new["spec"]["restartPolicy"] = "Never"
    err = update_error(new, old)
    assert err.message.startswith(
        'Pod "p" is invalid: spec: Forbidden: pod updates may not change fields other than '
        "`spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` "
        "(only additions to existing tolerations),`spec.terminationGracePeriodSeconds` "
        "(allow it to be set to 1 if it was previously negative)\n")
    assert '- \tRestartPolicy: "Always",' in err.message and '+ \tRestartPolicy: "Never",' in err.message


def test_service_rules():
    base = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}}
    assert create_error({**base, "spec": {"selector": {"a": "b"}}}).message == \
        'Service "s" is invalid: spec.ports: Required value'
    create({**base, "spec": {"clusterIP": "None", "selector": {"a": "b"}}})  # headless needs no ports
    msg = create_error({**base, "spec": {"type": "Foo", "ports": [{"port": 0, "targetPort": 70000}]}}).message
    assert 'spec.type: Unsupported value: "Foo": supported values: "ClusterIP", "ExternalName", "LoadBalancer", ' \
           '"NodePort"' in msg
    assert "spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive" in msg
    msg = create_error({**base, "spec": {"ports": [{"port": 80, "nodePort": 30080}, {"port": 81}]}}).message
    assert "spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'" in msg
    assert "spec.ports[0].name: Required value" in msg
    create({**base, "spec": {"type": "NodePort", "ports": [{"port": 80, "nodePort": 40000}]}})  # range: allocator's


def test_service_cluster_ip_is_immutable():
    old = create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
                  "spec": {"clusterIP": "10.96.0.10", "ports": [{"port": 80}]}})
    new = copy.deepcopy(old)
    new["spec"]["clusterIP"] = "10.96.0.11"
    assert update_error(new, old).message == \
        'Service "s" is invalid: spec.clusterIPs[0]: Invalid value: []string{"10.96.0.11"}: may not change once set'


def test_config_keys_and_immutable_configmaps():
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a b": "x"}}
    assert create_error(cm).message.startswith(
        'ConfigMap "c" is invalid: data[a b]: Invalid value: "a b": a valid config key must consist of '
        "alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', ")
    old = create({**cm, "data": {"k": "v"}, "immutable": True})
    new = copy.deepcopy(old)
    new["data"]["k"] = "w"
    assert update_error(new, old).message == \
        'ConfigMap "c" is invalid: data: Forbidden: field is immutable when `immutable` is set'


def test_secret_rules():
    s = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "type": "kubernetes.io/tls", "data": {}}
    assert create_error(s).message == 'Secret "s" is invalid: [data[tls.crt]: Required value, data[tls.key]: Required value]'
    old = create({**s, "type": "Opaque"})
    new = copy.deepcopy(old)
    new["type"] = "other"
    assert update_error(new, old).message == 'Secret "s" is invalid: type: Invalid value: "other": field is immutable'


def test_job_restart_policy():
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"},
           "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "x"}]}}}}
    assert create_error(job).message == ('Job.batch "j" is invalid: spec.template.spec.restartPolicy: '
                                         'Unsupported value: "Always": supported values: "OnFailure", "Never"')


def _causes(obj: dict) -> list[str]:
    return [f"{c.field}: {c.message}" for c in create_error(obj).causes]


def test_container_env_and_env_from_as_1_32_validates_them():
    """ValidateEnv / validateEnvFrom with RelaxedEnvironmentVariableValidation (beta, on in 1.32):
    any printable ASCII but '=' is a valid name."""
    create(pod({"name": "c", "image": "x", "env": [{"name": "1-weird.name!", "value": "v"}],
                "envFrom": [{"prefix": "My Prefix_", "configMapRef": {"name": "cm"}}]}))
    relaxed = "a valid environment variable name must consist only of printable ASCII characters other than '='"
    assert _causes(pod({"name": "c", "image": "x", "env": [{"name": "A=B", "value": "x"}, {"name": "é"}],
                        "envFrom": [{"prefix": "1=", "configMapRef": {"name": "c"}}, {},
                                    {"configMapRef": {"name": "a"}, "secretRef": {"name": "b"}}]})) == [
        f'spec.containers[0].env[0].name: Invalid value: "A=B": {relaxed}',
        f'spec.containers[0].env[1].name: Invalid value: "é": {relaxed}',
        f'spec.containers[0].envFrom[0].prefix: Invalid value: "1=": {relaxed}',
        'spec.containers[0].envFrom: Invalid value: "": must specify one of: `configMapRef` or `secretRef`',
        "spec.containers[0].envFrom: Forbidden: may not have more than one field specified at a time",
    ]
    assert _causes(pod({"name": "c", "image": "x", "env": [
        {"name": "A", "value": "x", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "B", "valueFrom": {"configMapKeyRef": {"name": "c", "key": "bad key"}}}]})) == [
        'spec.containers[0].env[0].valueFrom: Invalid value: "": may not be specified when `value` is not empty',
        'spec.containers[0].env[1].valueFrom.configMapKeyRef.key: Invalid value: "bad key": a valid config key '
        "must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or "
        "'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
    ]


def test_container_ports_unique_names():
    assert _causes(pod({"name": "c", "image": "x", "ports": [
        {"name": "http", "containerPort": 80}, {"name": "http", "containerPort": 81},
        {"containerPort": 70000, "protocol": "ICMP"}]})) == [
        'spec.containers[0].ports[1].name: Duplicate value: "http"',
        "spec.containers[0].ports[2].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
        'spec.containers[0].ports[2].protocol: Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"',
    ]


def test_host_ports_unique_across_containers():
    """checkHostPortConflicts: protocol/hostIP/hostPort once per pod."""
    assert _causes(pod({"name": "a", "image": "x", "ports": [{"containerPort": 80, "hostPort": 8080}]},
                       {"name": "b", "image": "x", "ports": [{"containerPort": 81, "hostPort": 8080},
                                                              {"containerPort": 82, "hostPort": 8080,
                                                               "protocol": "UDP"}]})) == [
        'spec.containers[1].ports[0].hostPort: Duplicate value: "TCP//8080"']


def test_resource_requirements():
    """ValidateResourceRequirements: names, non-negative quantities, requests within limits
    (the path is .requests itself), extended resources must be requested as limited."""
    assert _causes(pod({"name": "c", "image": "x", "resources": {
        "limits": {"cpu": "1", "example.com/gpu": "1"},
        "requests": {"memory": "-1Gi", "cpu": "2", "example.com/gpu": "2", "disk": "1", "example.com/fpga": "1"}}})) \
        == [
        'spec.containers[0].resources.requests: Invalid value: "2": must be less than or equal to cpu limit of 1',
        'spec.containers[0].resources.requests[disk]: Invalid value: "disk": must be a standard resource for '
        "containers",
        "spec.containers[0].resources.limits: Required value: Limit must be set for non overcommitable resources",
        'spec.containers[0].resources.requests: Invalid value: "2": must be equal to example.com/gpu limit of 1',
        'spec.containers[0].resources.requests[memory]: Invalid value: "-1Gi": must be greater than or equal to 0',
    ]


def test_probes():
    assert _causes(pod({"name": "c", "image": "x",
                        "livenessProbe": {"exec": {}, "successThreshold": 2, "terminationGracePeriodSeconds": 0},
                        "readinessProbe": {"tcpSocket": {"port": 0}, "successThreshold": 3},
                        "startupProbe": {"httpGet": {"port": "Bad_Name"}}})) == [
        "spec.containers[0].livenessProbe.exec.command: Required value",
        "spec.containers[0].livenessProbe.terminationGracePeriodSeconds: Invalid value: 0: must be greater than 0",
        "spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1",
        "spec.containers[0].readinessProbe.tcpSocket.port: Invalid value: 0: must be between 1 and 65535, inclusive",
        'spec.containers[0].startupProbe.httpGet.port: Invalid value: "Bad_Name": must contain only alpha-numeric '
        "characters (a-z, 0-9), and hyphens (-)",
    ]


def test_lifecycle_hooks():
    """validateLifecycle: one handler per hook (a second is forbidden and not looked into), an
    exec needs a command, a sleep fits in the pod's grace period (zero is refused in 1.32)."""
    assert _causes(pod({"name": "a", "image": "x", "lifecycle": {
                            "postStart": {}, "preStop": {"exec": {}, "sleep": {"seconds": 0}}}},
                       {"name": "b", "image": "x", "lifecycle": {
                            "postStart": {"httpGet": {"port": 0}}, "preStop": {"sleep": {"seconds": 45}}}},
                       terminationGracePeriodSeconds=40)) == [
        "spec.containers[0].lifecycle.postStart: Required value: must specify a handler type",
        "spec.containers[0].lifecycle.preStop.sleep: Forbidden: may not specify more than 1 handler type",
        "spec.containers[0].lifecycle.preStop.exec.command: Required value",
        "spec.containers[1].lifecycle.postStart.httpGet.port: Invalid value: 0: must be between 1 and 65535, inclusive",
        "spec.containers[1].lifecycle.preStop.sleep: Invalid value: 45: must be greater than 0 and less than "
        "terminationGracePeriodSeconds (40)",
    ]
    create(pod({"name": "c", "image": "x", "lifecycle": {"preStop": {"sleep": {"seconds": 30}}}}))


def test_seccomp_profile_localhost_needs_its_profile():
    err = create_error(pod(securityContext={"seccompProfile": {"type": "Localhost"}}))
    assert str(err) == ('Pod "p" is invalid: spec.securityContext.seccompProfile.localhostProfile: Required value: '
                        'must be set when seccomp type is Localhost')
    err = create_error(pod({"name": "c", "image": "nginx", "securityContext": {"seccompProfile": {"type": "Strict"}}}))
    assert 'spec.containers[0].securityContext.seccompProfile.type: Unsupported value: "Strict": supported values: ' \
           '"Localhost", "RuntimeDefault", "Unconfined"' in str(err)
    create(pod(securityContext={"seccompProfile": {"type": "Localhost", "localhostProfile": "profiles/audit.json"}}))
    create(pod(securityContext={"seccompProfile": {"type": "RuntimeDefault"}}))


@pytest.mark.parametrize("type_, data, message", [
    ("kubernetes.io/dockercfg", {"config": "e30="}, "data[.dockercfg]: Required value"),
    ("kubernetes.io/ssh-auth", {}, "data[ssh-privatekey]: Required value"),
    ("kubernetes.io/service-account-token", {}, "metadata.annotations[kubernetes.io/service-account.name]: "
                                                "Required value"),
])
def test_typed_secrets_need_their_keys(type_, data, message):
    err = create_error({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "type": type_, "data": data})
    assert str(err) == f'Secret "s" is invalid: {message}'


def test_a_single_stack_cluster_refuses_ipv6_and_require_dual_stack():
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
           "spec": {"ports": [{"port": 80}], "ipFamilies": ["IPv6"]}}
    assert str(create_error(svc)) == 'Service "s" is invalid: spec.ipFamilies[0]: Invalid value: "IPv6": ' \
                                     'not configured on this cluster'
    svc["spec"] = {"ports": [{"port": 80}], "ipFamilyPolicy": "RequireDualStack"}
    assert 'spec.ipFamilyPolicy: Invalid value: "RequireDualStack": this cluster is not configured for ' \
           'dual-stack services' in str(create_error(svc))
    svc["spec"] = {"ports": [{"port": 80}], "ipFamilyPolicy": "PreferDualStack", "ipFamilies": ["IPv4"]}
    create(svc)
