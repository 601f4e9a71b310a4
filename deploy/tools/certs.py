"""Makes throwaway certificates for TLS tests: a CA, a server certificate for localhost,
127.0.0.1 and rel-concord.default.svc (the name the chart's NOTES give curl for release `rel`),
a client certificate, and a second CA with its own client (which must be refused).

    python3 deploy/tools/certs.py DIR

Writes PEM files into DIR: ca.pem, server.pem, server-key.pem, client.pem, client-key.pem,
other-ca.pem, other-client.pem, other-client-key.pem. Keys are EC P-256, valid for two days.
"""

from __future__ import annotations

import datetime
import ipaddress
import sys
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

Key = ec.EllipticCurvePrivateKey


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _builder(subject: str, issuer: x509.Name, key: Key) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
    )


def authority(name: str) -> tuple[x509.Certificate, Key]:
    """A self-signed CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        _builder(name, _name(name), key)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return cert, key


def leaf(ca: tuple[x509.Certificate, Key], name: str, server: bool) -> tuple[x509.Certificate, Key]:
    """A server certificate (localhost, 127.0.0.1, the chart's service name for release `rel`)
    or a client certificate signed by `ca`."""
    key = ec.generate_private_key(ec.SECP256R1())
    usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
    builder = _builder(name, ca[0].subject, key).add_extension(
        x509.ExtendedKeyUsage([usage]), critical=False
    )
    if server:
        names = [
            x509.DNSName("localhost"),
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            x509.DNSName("rel-concord.default.svc"),
        ]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return builder.sign(ca[1], hashes.SHA256()), key


def _write(folder: Path, stem: str, pair: tuple[x509.Certificate, Key]) -> None:
    cert, key = pair
    (folder / f"{stem}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    (folder / f"{stem}-key.pem").write_bytes(key_pem)


def make(folder: Path) -> Path:
    """Writes every file into `folder` (created if needed); returns it."""
    folder.mkdir(parents=True, exist_ok=True)
    ca, other = authority("Concord test CA"), authority("Some other CA")
    (folder / "ca.pem").write_bytes(ca[0].public_bytes(serialization.Encoding.PEM))
    (folder / "other-ca.pem").write_bytes(other[0].public_bytes(serialization.Encoding.PEM))
    _write(folder, "server", leaf(ca, "localhost", server=True))
    _write(folder, "client", leaf(ca, "concord-test-client", server=False))
    _write(folder, "other-client", leaf(other, "intruder", server=False))
    return folder


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    make(Path(sys.argv[1]))
