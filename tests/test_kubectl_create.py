"""kubectl create's generators beyond deployment/configmap/job: serviceaccount, service
loadbalancer|externalname, secret docker-registry|tls, priorityclass, quota, against the engine.
(Client-side outputs and errors are compared byte for byte with kubectl 1.32 in test_usage_errors.)"""
from __future__ import annotations

import base64
import datetime
import json
from pathlib import Path

import pytest
import yaml

from kubelab import Cluster


@pytest.fixture()
def cluster() -> Cluster:
    c = Cluster(clock="virtual", seed=3)
    c.settle()
    return c


def _names(cluster: Cluster, kind: str) -> set[str]:
    return {o["metadata"]["name"] for o in cluster.client.list(kind, "default")["items"]}


def test_serviceaccount_created_and_listed(cluster: Cluster) -> None:
    r = cluster.kubectl("create sa robot")
    assert (r.returncode, r.stdout) == (0, "serviceaccount/robot created\n")
    assert cluster.client.get("ServiceAccount", "robot", "default")["metadata"]["name"] == "robot"
    again = cluster.kubectl("create serviceaccount robot")
    assert again.returncode == 1
    assert again.stderr == 'error: failed to create serviceaccount: serviceaccounts "robot" already exists\n'
    assert cluster.kubectl("create sa other --dry-run=server").stdout == "serviceaccount/other created (server dry run)\n"
    assert "other" not in _names(cluster, "ServiceAccount")


def test_loadbalancer_service_matches_the_yaml_one(cluster: Cluster) -> None:
    assert cluster.kubectl("create service loadbalancer web --tcp=80:8080").stdout == "service/web created\n"
    manifest = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web2", "labels": {"app": "web2"}},
                "spec": {"type": "LoadBalancer", "selector": {"app": "web2"},
                         "ports": [{"name": "80-8080", "port": 80, "protocol": "TCP", "targetPort": 8080}]}}
    assert cluster.kubectl("apply -f -", stdin=yaml.safe_dump(manifest)).returncode == 0
    cluster.settle()
    made, applied = (cluster.client.get("Service", n, "default")["spec"] for n in ("web", "web2"))
    for spec in (made, applied):
        assert spec["type"] == "LoadBalancer" and spec["allocateLoadBalancerNodePorts"] is True
        assert 30000 <= spec["ports"][0]["nodePort"] <= 32767
    assert {k: v for k, v in made.items() if k not in ("clusterIP", "clusterIPs", "ports", "selector")} == \
        {k: v for k, v in applied.items() if k not in ("clusterIP", "clusterIPs", "ports", "selector")}
    row = cluster.kubectl("get svc web").stdout.splitlines()[1].split()
    assert row[1] == "LoadBalancer" and row[4].startswith("80:")


def test_externalname_service(cluster: Cluster) -> None:
    r = cluster.kubectl("create service externalname db --external-name=db.example.com")
    assert (r.returncode, r.stdout) == (0, "service/db created\n")
    spec = cluster.client.get("Service", "db", "default")["spec"]
    assert spec["type"] == "ExternalName" and spec["externalName"] == "db.example.com"
    assert "clusterIP" not in spec
    row = cluster.kubectl("get svc db").stdout.splitlines()[1].split()
    assert row[1:4] == ["ExternalName", "<none>", "db.example.com"]
    dup = cluster.kubectl("create svc externalname db --external-name=x.example.com")
    assert dup.stderr == 'error: failed to create ExternalName service: services "db" already exists\n'


def test_docker_registry_secret(cluster: Cluster) -> None:
    r = cluster.kubectl("create secret docker-registry regcred --docker-server=reg.io --docker-username=u "
                        "--docker-password=p --docker-email=e@x")
    assert (r.returncode, r.stdout) == (0, "secret/regcred created\n")
    secret = cluster.client.get("Secret", "regcred", "default")
    assert secret["type"] == "kubernetes.io/dockerconfigjson"
    # the bytes kubectl 1.32 writes for these flags
    assert secret["data"][".dockerconfigjson"] == (
        "eyJhdXRocyI6eyJyZWcuaW8iOnsidXNlcm5hbWUiOiJ1IiwicGFzc3dvcmQiOiJwIiwiZW1haWwiOiJlQHgiLCJhdXRoIjoiZFRwdyJ9fX0=")
    assert json.loads(base64.b64decode(secret["data"][".dockerconfigjson"]))["auths"]["reg.io"]["auth"] == "dTpw"


def _pem_pair(tmp_path: Path, name: str) -> tuple[str, str]:
    """A self-signed certificate and its key, written as PEM files."""
    pytest.importorskip("cryptography")
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    start = datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(1).not_valid_before(start).not_valid_after(start + datetime.timedelta(days=365))
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / f"{name}.crt", tmp_path / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


def test_tls_secret_checks_the_pair(cluster: Cluster, tmp_path: Path) -> None:
    cert, key = _pem_pair(tmp_path, "a")
    other_cert, other_key = _pem_pair(tmp_path, "b")
    r = cluster.kubectl(f"create secret tls web-tls --cert={cert} --key={key}")
    assert (r.returncode, r.stdout) == (0, "secret/web-tls created\n")
    secret = cluster.client.get("Secret", "web-tls", "default")
    assert secret["type"] == "kubernetes.io/tls"
    assert base64.b64decode(secret["data"]["tls.crt"]) == Path(cert).read_bytes()
    assert base64.b64decode(secret["data"]["tls.key"]) == Path(key).read_bytes()
    wrong = cluster.kubectl(f"create secret tls other --cert={cert} --key={other_key}")
    assert (wrong.returncode, wrong.stderr) == (1, "error: tls: private key does not match public key\n")
    swapped = cluster.kubectl(f"create secret tls other --cert={other_key} --key={other_cert}")
    assert swapped.stderr == ("error: tls: failed to find certificate PEM data in certificate input, but did find "
                              "a private key; PEM inputs may have been switched\n")
    assert "other" not in _names(cluster, "Secret")


def test_tls_pem_checks_without_parsing() -> None:
    from kubelab.kubectl.tlspair import PairError, check_pair

    block = b"-----BEGIN %s-----\nAAAA\n-----END %s-----\n"
    with pytest.raises(PairError, match="after skipping PEM blocks of the following types: \\[A B\\]"):
        check_pair(block % (b"A", b"A") + block % (b"B", b"B"), b"")
    with pytest.raises(PairError, match="^tls: failed to find any PEM data in key input$"):
        check_pair(block % (b"CERTIFICATE", b"CERTIFICATE"), b"no pem here")
    with pytest.raises(PairError, match='type ending in "PRIVATE KEY" in key input after skipping PEM blocks '
                                        "of the following types: \\[PUBLIC KEY\\]"):
        check_pair(block % (b"CERTIFICATE", b"CERTIFICATE"), block % (b"PUBLIC KEY", b"PUBLIC KEY"))


def test_create_priorityclass_reaches_the_server(cluster: Cluster) -> None:
    r = cluster.kubectl("create pc high --value=1000 --description=important")
    assert (r.returncode, r.stdout, r.stderr) == (0, "priorityclass.scheduling.k8s.io/high created\n", "")
    pc = cluster.api.get("PriorityClass", "high")
    assert (pc["value"], pc["description"], pc["preemptionPolicy"]) == (1000, "important", "PreemptLowerPriority")
    r = cluster.kubectl("create pc system-high --value=1000")
    assert r.returncode == 1 and r.stderr.startswith(
        'error: failed to create priorityclass: PriorityClass.scheduling.k8s.io "system-high" is invalid: '
        "metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for system use only.")


def test_replace_force_gives_a_pod_a_spec_it_could_not_be_updated_to(cluster: Cluster, tmp_path: Path) -> None:
    """A Pod's spec is fixed but for images; replace --force deletes the pod, waits until it
    is gone, and creates the file's: a new pod (new uid) with the new ports."""
    manifest = tmp_path / "pod.yaml"
    manifest.write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: web}\n"
                        "spec: {containers: [{name: web, image: nginx, ports: [{containerPort: 80}]}]}\n")
    assert cluster.kubectl("run web --image=nginx").returncode == 0
    cluster.settle()
    old = cluster.api.get("Pod", "web")["metadata"]["uid"]
    refused = cluster.kubectl(f"replace -f {manifest}")
    assert refused.returncode == 1 and "pod updates may not change fields" in refused.stderr
    result = cluster.kubectl(f"replace --force -f {manifest}")
    assert (result.returncode, result.stdout, result.stderr) == (0, 'pod "web" deleted\npod/web replaced\n', "")
    pod = cluster.api.get("Pod", "web")
    assert pod["metadata"]["uid"] != old
    assert pod["spec"]["containers"][0]["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
