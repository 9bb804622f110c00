from pathlib import Path
from typing import Any

import pytest
import uvicorn
from pydantic import ValidationError

from services import cli, entrypoint


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    calls: list[tuple[str, dict[str, Any]]] = []

    def fake_run(app: str, **options: Any) -> None:
        calls.append((app, options))

    monkeypatch.setattr(uvicorn, "run", fake_run)
    return calls


def test_the_argument_chooses_the_service_and_settings_choose_where_it_listens(
    served: list[tuple[str, dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOTLINE_HOST", "0.0.0.0")
    monkeypatch.setenv("HOTLINE_PORT", "8080")
    entrypoint.main(["feedback"])
    [(app, options)] = served
    assert app == "feedback_service.main:create_app"
    assert options["factory"] is True
    assert (options["host"], options["port"], options["workers"]) == ("0.0.0.0", 8080, 1)
    assert options["access_log"] is False
    assert (options["proxy_headers"], options["forwarded_allow_ips"]) == (True, "127.0.0.1,::1")


def test_the_proxies_believed_are_the_deployments_and_must_be_addresses(
    served: list[tuple[str, dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOTLINE_FORWARDED_ALLOW_IPS", "10.0.0.0/8, fd00::/8")
    entrypoint.main(["intake"])
    [(_, options)] = served
    assert options["forwarded_allow_ips"] == "10.0.0.0/8, fd00::/8"
    monkeypatch.setenv("HOTLINE_FORWARDED_ALLOW_IPS", "10.0.0.0/8,ingress")
    with pytest.raises(ValidationError, match="ingress"):
        entrypoint.main(["intake"])


def test_each_service_defaults_to_its_own_port(
    served: list[tuple[str, dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HOTLINE_PORT", raising=False)
    for name in ("intake", "dispatch", "feedback", "audit"):
        entrypoint.main([name])
    assert [options["port"] for _, options in served] == [8001, 8002, 8003, 8004]


def test_hotline_runs_the_operator_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str] | None] = []
    monkeypatch.setattr(cli, "main", seen.append)
    entrypoint.main(["hotline", "migrate", "audit"])
    assert seen == [["migrate", "audit"]]


def test_bad_kafka_tls_settings_stop_the_start_before_serving(
    served: list[tuple[str, dict[str, Any]]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOTLINE_KAFKA_SECURITY_PROTOCOL", "SSL")
    with pytest.raises(ValidationError, match="HOTLINE_KAFKA_SSL_CAFILE"):
        entrypoint.main(["dispatch"])
    monkeypatch.setenv("HOTLINE_KAFKA_SSL_CAFILE", str(tmp_path / "absent.crt"))
    with pytest.raises(FileNotFoundError):
        entrypoint.main(["dispatch"])
    assert served == []


@pytest.mark.parametrize("argv", [[], ["billing"], ["intake", "extra"]])
def test_anything_else_prints_usage_and_fails(
    argv: list[str], served: list[tuple[str, dict[str, Any]]], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        entrypoint.main(argv)
    assert exit_.value.code == 2
    assert "usage: entrypoint {intake,dispatch,feedback,audit}" in capsys.readouterr().err
    assert served == []
