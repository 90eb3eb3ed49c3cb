"""The certificate/key check ``kubectl create secret tls`` makes (Go's ``tls.X509KeyPair``), so a
learner who swaps ``--cert`` and ``--key`` or pairs the wrong files gets kubectl's error.

The PEM checks (which blocks are there, in which file) use only the standard library and give
Go's messages. Parsing the DER and matching the key to the certificate's public key needs the
``cryptography`` package: when it is not installed, that last part is skipped.
"""
from __future__ import annotations

import base64
import binascii
import re
from typing import Any, Iterator

_BLOCK = re.compile(rb"-----BEGIN ([^\r\n]*?)-----\r?\n(.*?)-----END \1-----", re.S)


class PairError(ValueError):
    """The pair is not a usable TLS certificate and key; the message is Go's."""


def pem_blocks(data: bytes) -> Iterator[tuple[str, bytes]]:
    """(type, DER bytes) of each well-formed PEM block, in order; malformed ones are skipped, as
    Go's ``pem.Decode`` skips them when asked for the next block."""
    for match in _BLOCK.finditer(data):
        lines = match.group(2).splitlines()
        if any(b":" in line for line in lines):  # RFC 1421 headers end at the first blank line
            while lines and lines[0].strip():
                lines.pop(0)
        try:
            der = base64.b64decode(b"".join(line.strip() for line in lines), validate=True)
        except (binascii.Error, ValueError):
            continue
        yield match.group(1).decode("latin-1"), der


def _types(skipped: list[str]) -> str:
    return "[" + " ".join(skipped) + "]"  # Go's %v of a []string


def check_pair(cert_pem: bytes, key_pem: bytes) -> None:
    """Raise PairError as ``tls.X509KeyPair`` would fail on these two files."""
    certs: list[bytes] = []
    skipped: list[str] = []
    for kind, der in pem_blocks(cert_pem):
        if kind == "CERTIFICATE":
            certs.append(der)
        else:
            skipped.append(kind)
    if not certs:
        if not skipped:
            raise PairError("tls: failed to find any PEM data in certificate input")
        if len(skipped) == 1 and skipped[0].endswith("PRIVATE KEY"):
            raise PairError("tls: failed to find certificate PEM data in certificate input, but did find a "
                            "private key; PEM inputs may have been switched")
        raise PairError('tls: failed to find "CERTIFICATE" PEM block in certificate input after skipping '
                        f"PEM blocks of the following types: {_types(skipped)}")
    key_der: bytes | None = None
    skipped = []
    for kind, der in pem_blocks(key_pem):
        if kind == "PRIVATE KEY" or kind.endswith(" PRIVATE KEY"):
            key_der = der
            break
        skipped.append(kind)
    if key_der is None:
        if not skipped:
            raise PairError("tls: failed to find any PEM data in key input")
        if skipped == ["CERTIFICATE"]:
            raise PairError("tls: found a certificate rather than a key in the PEM for the private key")
        raise PairError('tls: failed to find PEM block with type ending in "PRIVATE KEY" in key input after '
                        f"skipping PEM blocks of the following types: {_types(skipped)}")
    _check_der(certs[0], key_der)


def _check_der(cert_der: bytes, key_der: bytes) -> None:
    """Parse the leaf certificate and the key and check that they belong together."""
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
        from cryptography.hazmat.primitives.serialization import load_der_private_key
    except ImportError:
        return
    try:
        public: Any = x509.load_der_x509_certificate(cert_der).public_key()
    except ValueError:
        raise PairError("x509: malformed certificate") from None
    try:
        private: Any = load_der_private_key(key_der, password=None)
    except (ValueError, TypeError):
        raise PairError("tls: failed to parse private key") from None
    pairs = ((rsa.RSAPublicKey, rsa.RSAPrivateKey), (ec.EllipticCurvePublicKey, ec.EllipticCurvePrivateKey),
             (ed25519.Ed25519PublicKey, ed25519.Ed25519PrivateKey))
    for public_type, private_type in pairs:
        if isinstance(public, public_type):
            if not isinstance(private, private_type):
                raise PairError("tls: private key type does not match public key type")
            if private.public_key() != public:
                raise PairError("tls: private key does not match public key")
            return
    raise PairError("tls: unknown public key algorithm")
