"""ServiceAccount tokens for the served API: TokenRequest issues them, the authenticator reads them.

Shaped as kube-apiserver's: a JWT with an RS256 header and the bound-token claims
(pkg/serviceaccount/claims.go: aud, exp, iat, iss, jti, kubernetes.io.{namespace,
serviceaccount}, nbf, sub), or the legacy claims of a ``kubernetes.io/service-account-token``
Secret (filled by the engine's token controller). Bound tokens are signed with the server's
own key (an HMAC standing in for the RSA signature; kubelab never hands out a private key),
so a token is good on the server that issued it; a legacy token is good while its Secret
holds it, as the legacy authenticator looks the Secret up. Either is refused once its
ServiceAccount is gone or was re-created (another uid).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from datetime import datetime, timezone
from typing import Any

from kubelab.api import rbac
from kubelab.api.errors import StatusError
from kubelab.api.objects import Obj

AUDIENCE = "https://kubernetes.default.svc.cluster.local"  # minikube's --service-account-issuer
DEFAULT_SECONDS, MIN_SECONDS, MAX_SECONDS = 3600, 600, 2 ** 32
CREDENTIAL_ID = "authentication.kubernetes.io/credential-id"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(key: bytes, signed: str) -> str:
    """256 bytes, as long as an RS256 signature with a 2048-bit key."""
    return _b64url(b"".join(hmac.new(key, signed.encode() + bytes([i]), hashlib.sha256).digest() for i in range(8)))


def token_request(account: Obj, request: Obj, now: float, key: bytes) -> Obj:
    """The answer to POST serviceaccounts/NAME/token: the TokenRequest with its token
    (ValidateTokenRequest's bounds on expirationSeconds, the default audience)."""
    meta = account["metadata"]
    spec = request.get("spec") if isinstance(request.get("spec"), dict) else {}
    seconds = spec.get("expirationSeconds") or DEFAULT_SECONDS
    if not isinstance(seconds, int) or seconds < MIN_SECONDS or seconds > MAX_SECONDS:
        detail = ("may not specify a duration less than 10 minutes" if isinstance(seconds, int) and
                  seconds < MIN_SECONDS else "may not specify a duration larger than 2^32 seconds")
        from kubelab.api import errors

        raise errors.invalid("TokenRequest", meta["name"], [errors.Cause(
            "spec.expirationSeconds", f"Invalid value: {seconds}: {detail}", "FieldValueInvalid")],
            "authentication.k8s.io")
    audiences = [a for a in spec.get("audiences") or [] if isinstance(a, str)] or [AUDIENCE]
    issued = int(now)
    claims = {"aud": audiences, "exp": issued + seconds, "iat": issued, "iss": AUDIENCE, "jti": str(uuid.uuid4()),
              "kubernetes.io": {"namespace": meta["namespace"],
                                "serviceaccount": {"name": meta["name"], "uid": meta.get("uid", "")}},
              "nbf": issued, "sub": f"{rbac.SA_PREFIX}{meta['namespace']}:{meta['name']}"}
    header = {"alg": "RS256", "kid": _b64url(hashlib.sha256(key + b"kid").digest())}
    signed = _b64url(json.dumps(header, separators=(",", ":")).encode()) + "." + \
        _b64url(json.dumps(claims, separators=(",", ":")).encode())
    return {"kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
            "metadata": {"name": meta["name"], "namespace": meta["namespace"], "creationTimestamp": None},
            "spec": {"audiences": audiences, "expirationSeconds": seconds, "boundObjectRef": spec.get("boundObjectRef")},
            "status": {"token": f"{signed}.{_signature(key, signed)}",
                       "expirationTimestamp": datetime.fromtimestamp(issued + seconds, tz=timezone.utc)
                       .strftime("%Y-%m-%dT%H:%M:%SZ")}}


def _get(client: Any, kind: str, name: str, namespace: str) -> Obj | None:
    try:
        return client.get(kind, name, namespace)
    except StatusError:
        return None


def authenticate(client: Any, token: str, key: bytes) -> rbac.User | None:
    """The ServiceAccount a token stands for, or None (a malformed, forged, expired or orphaned
    token: the apiserver's 401)."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(_unb64url(parts[1]))
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(claims, dict):
        return None
    bound = claims.get("kubernetes.io")
    if isinstance(bound, dict):
        if not hmac.compare_digest(parts[2], _signature(key, f"{parts[0]}.{parts[1]}")):
            return None
        now = client.now()
        if not isinstance(claims.get("exp"), int) or claims["exp"] <= now or claims.get("nbf", 0) > now + 60:
            return None
        ns, sa = bound.get("namespace", ""), bound.get("serviceaccount") or {}
        account = _get(client, "ServiceAccount", sa.get("name", ""), ns)
        if account is None or account["metadata"].get("uid") != sa.get("uid"):
            return None
        user = rbac.service_account_user(ns, sa["name"], sa["uid"])
        return rbac.User(user.name, user.groups, user.uid, {CREDENTIAL_ID: [f"JTI={claims.get('jti', '')}"]})
    if claims.get("iss") != "kubernetes/serviceaccount":
        return None
    ns = claims.get("kubernetes.io/serviceaccount/namespace", "")
    secret = _get(client, "Secret", claims.get("kubernetes.io/serviceaccount/secret.name", ""), ns)
    stored = ((secret or {}).get("data") or {}).get("token", "")
    try:
        held = base64.b64decode(stored).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    if not held or not hmac.compare_digest(held.encode(), token.encode()):
        return None
    name, uid = claims.get("kubernetes.io/serviceaccount/service-account.name", ""), \
        claims.get("kubernetes.io/serviceaccount/service-account.uid", "")
    account = _get(client, "ServiceAccount", name, ns)
    if account is None or account["metadata"].get("uid") != uid:
        return None
    return rbac.service_account_user(ns, name, uid)
