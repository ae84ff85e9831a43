"""The center's certificate authority (CA 证书中心) for unit and developer web-hall logins.

The server only needs the CA *certificate* to check a login certificate's chain; issuing is an offline
operation of the center. Two sources behind one interface:

* :class:`LocalCA` (local stage): a CA key and self-signed certificate generated once under
  ``<local_dir>/ca/`` (``ca.key.pem`` 0600, ``ca.cert.pem``); it can also issue unit and developer
  certificates (``gjj units certificate``).
* :class:`ParameterStoreCA` (dev/prod): the CA certificate PEM from the SSM parameter
  ``/gjj/<stage>/unit-ca-cert``, read once per process; it cannot issue.

Keys are ECDSA on P-256; certificates are signed with ECDSA/SHA-256.
"""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path
from typing import Protocol

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from chalicelib import adapters, settings

CA_DAYS = 3650                 # the local CA's own validity (technical, not a business rule)
SSM_PARAMETER = "/gjj/{stage}/unit-ca-cert"
KINDS = ("unit", "developer")


class CertificateAuthority(Protocol):
    def certificate(self) -> x509.Certificate: ...

    def issue(self, kind: str, number: str, *, not_before: dt.datetime, not_after: dt.datetime,
              ) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]: ...


def subject_for(kind: str, number: str, organisation: str) -> x509.Name:
    """The subject of a login certificate: ``O=<center>, OU=<unit|developer>, CN=<number>``."""
    return x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, kind),
        x509.NameAttribute(NameOID.COMMON_NAME, number),
    ])


class LocalCA:
    """A CA kept under the local directory, generated on first use."""

    _lock = threading.Lock()

    def __init__(self, directory: Path | None = None):
        self._directory = directory
        self._cache: dict[str, tuple[x509.Certificate, ec.EllipticCurvePrivateKey]] = {}

    @property
    def directory(self) -> Path:
        """``<local_dir>/ca`` of this process's current settings (read each time: tests move it)."""
        return self._directory or settings.get().local_dir / "ca"

    def _load(self) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        directory = self.directory
        hit = self._cache.get(str(directory))
        if hit:
            return hit
        with self._lock:
            key_path, cert_path = directory / "ca.key.pem", directory / "ca.cert.pem"
            if not (key_path.exists() and cert_path.exists()):
                self._generate(directory)
            key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
            cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
            if not isinstance(key, ec.EllipticCurvePrivateKey):
                raise RuntimeError(f"{key_path} is not an EC key")
            self._cache[str(directory)] = (cert, key)
            return cert, key

    @staticmethod
    def _generate(directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, settings.get().center_name),
                          x509.NameAttribute(NameOID.COMMON_NAME, "gjj local CA")])
        now = dt.datetime.now(dt.UTC)
        local_epoch = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)    # the local clock file may be set to any date
        builder = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(local_epoch)
                   .not_valid_after(now + dt.timedelta(days=CA_DAYS))
                   .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                   .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False,
                                                key_encipherment=False, data_encipherment=False,
                                                key_agreement=False, key_cert_sign=True, crl_sign=True,
                                                encipher_only=False, decipher_only=False), critical=True))
        cert = builder.sign(key, hashes.SHA256())
        key_path = directory / "ca.key.pem"
        key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        key_path.chmod(0o600)
        (directory / "ca.cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))

    def certificate(self) -> x509.Certificate:
        return self._load()[0]

    def issue(self, kind: str, number: str, *, not_before: dt.datetime, not_after: dt.datetime,
              ) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        """A new key pair and a client certificate naming ``kind`` and ``number``, signed by this CA."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}")
        ca_cert, ca_key = self._load()
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (x509.CertificateBuilder()
                   .subject_name(subject_for(kind, number, settings.get().center_name))
                   .issuer_name(ca_cert.subject).public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(not_before).not_valid_after(not_after)
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                   .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                                key_encipherment=False, data_encipherment=False,
                                                key_agreement=False, key_cert_sign=False, crl_sign=False,
                                                encipher_only=False, decipher_only=False), critical=True)
                   .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False))
        return builder.sign(ca_key, hashes.SHA256()), key


class ParameterStoreCA:
    """The production source: the CA certificate from SSM Parameter Store, read once per process."""

    def __init__(self, parameter: str | None = None, region: str | None = None):
        cfg = settings.get()
        self.parameter = parameter or SSM_PARAMETER.format(stage=cfg.stage)
        self.region = region or cfg.region
        self._cert: x509.Certificate | None = None
        self._lock = threading.Lock()

    def certificate(self) -> x509.Certificate:
        with self._lock:
            if self._cert is None:
                import boto3

                answer = boto3.client("ssm", region_name=self.region).get_parameter(Name=self.parameter)
                self._cert = x509.load_pem_x509_certificate(answer["Parameter"]["Value"].encode())
            return self._cert

    def issue(self, kind: str, number: str, *, not_before: dt.datetime, not_after: dt.datetime):
        raise RuntimeError("certificates are issued offline by the center's CA, not by the server")


_authority: CertificateAuthority | None = None


def authority() -> CertificateAuthority:
    """The CA of this stage (cached)."""
    global _authority
    if _authority is None:
        _authority = adapters.pick(LocalCA, ParameterStoreCA)
    return _authority


def reset() -> None:
    global _authority
    _authority = None
