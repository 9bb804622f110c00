"""Kafka client security: plain TCP locally, mutual TLS against Strimzi's listener."""

import ssl
import subprocess
from pathlib import Path

import pytest
from pydantic import ValidationError

from shared.runtime import kafka
from shared.runtime.settings import KafkaSecurity


def _certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a client certificate it signed, as Strimzi's Secrets hold them."""
    ca_key, ca_crt = directory / "ca.key", directory / "ca.crt"
    key, csr, crt = directory / "user.key", directory / "user.csr", directory / "user.crt"

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True)

    openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=cluster-ca",
        "-keyout", str(ca_key), "-out", str(ca_crt),
    )  # fmt: skip
    openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=dispatch",
        "-keyout", str(key), "-out", str(csr),
    )  # fmt: skip
    openssl(
        "x509", "-req", "-in", str(csr), "-CA", str(ca_crt), "-CAkey", str(ca_key),
        "-CAcreateserial", "-days", "1", "-out", str(crt),
    )  # fmt: skip
    return ca_crt, crt, key


def test_plaintext_is_the_default_outside_production(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SECURITY_PROTOCOL", "SSL_CAFILE", "SSL_CERTFILE", "SSL_KEYFILE"):
        monkeypatch.delenv(f"HOTLINE_KAFKA_{name}", raising=False)
    assert kafka.client_security() == {"security_protocol": "PLAINTEXT"}


def test_production_names_its_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOTLINE_KAFKA_SECURITY_PROTOCOL", raising=False)
    monkeypatch.setenv("HOTLINE_ENVIRONMENT", "production")
    with pytest.raises(ValidationError, match="production needs HOTLINE_KAFKA_SECURITY_PROTOCOL"):
        kafka.client_security()
    monkeypatch.setenv("HOTLINE_KAFKA_SECURITY_PROTOCOL", "PLAINTEXT")  # named: as asked
    assert kafka.client_security() == {"security_protocol": "PLAINTEXT"}


async def test_ssl_settings_from_the_environment_reach_every_client(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ca, crt, key = _certificates(tmp_path)
    monkeypatch.setenv("HOTLINE_KAFKA_SECURITY_PROTOCOL", "SSL")
    monkeypatch.setenv("HOTLINE_KAFKA_SSL_CAFILE", str(ca))
    monkeypatch.setenv("HOTLINE_KAFKA_SSL_CERTFILE", str(crt))
    monkeypatch.setenv("HOTLINE_KAFKA_SSL_KEYFILE", str(key))

    options = kafka.client_security()
    context = options["ssl_context"]
    assert options["security_protocol"] == "SSL"
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    assert [c["subject"] for c in context.get_ca_certs()] == [((("commonName", "cluster-ca"),),)]

    producer = kafka.producer("hotline-kafka-bootstrap:9093", client_id="dispatch")
    consumer = kafka.consumer(
        "hotline-kafka-bootstrap:9093", group="dispatch", instance_id=None, subscribe=["t"]
    )
    for client in (producer.client, consumer._client):
        assert client._security_protocol == "SSL"
        assert isinstance(client._ssl_context, ssl.SSLContext)
    await producer.stop()
    await consumer.stop()


def test_settings_passed_explicitly_are_used_as_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HOTLINE_KAFKA_SECURITY_PROTOCOL", raising=False)
    ca, _, _ = _certificates(tmp_path)
    options = kafka.client_security(KafkaSecurity(security_protocol="SSL", ssl_cafile=ca))
    assert options["security_protocol"] == "SSL"
    assert isinstance(options["ssl_context"], ssl.SSLContext)


def test_a_missing_certificate_file_fails_fast(tmp_path: Path) -> None:
    security = KafkaSecurity(security_protocol="SSL", ssl_cafile=tmp_path / "absent.crt")
    with pytest.raises(FileNotFoundError):
        kafka.client_security(security)


@pytest.mark.parametrize(
    ("given", "complaint"),
    [
        ({"security_protocol": "SSL"}, "needs HOTLINE_KAFKA_SSL_CAFILE"),
        (
            {"security_protocol": "SSL", "ssl_cafile": "ca.crt", "ssl_certfile": "user.crt"},
            "go together",
        ),
        ({"ssl_cafile": "ca.crt"}, "is not SSL"),
        ({"security_protocol": "SASL_SSL"}, "security_protocol"),
    ],
)
def test_incomplete_tls_settings_are_refused(given: dict[str, str], complaint: str) -> None:
    with pytest.raises(ValidationError, match=complaint):
        KafkaSecurity.model_validate(given)
