from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from services.pki.adapters.trust_store import load_trust_anchors


def _self_signed(name: str) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now).not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


def test_loads_every_certificate_of_every_configured_file(tmp_path: Path) -> None:
    (tmp_path / "roots.pem").write_bytes(_self_signed("Root A") + _self_signed("Root B"))
    (tmp_path / "sub.pem").write_bytes(_self_signed("Sub C"))
    anchors = load_trust_anchors(f"{tmp_path / 'roots.pem'}, {tmp_path / 'sub.pem'}")
    names = [a.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value for a in anchors]
    assert names == ["Root A", "Root B", "Sub C"]


def test_no_configured_file_means_no_anchor() -> None:
    assert load_trust_anchors("") == []
