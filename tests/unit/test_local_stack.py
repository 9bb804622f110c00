"""`make run` gives intake a demo partner's Open311 key and says which, and stops everything it
started."""

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from intake_service.settings import parse_partners
from services import stack
from services.catalog import SERVICES
from services.processes import ServiceProcess


def test_the_demo_key_defaults_to_demo_key_and_can_be_chosen() -> None:
    env, line = stack.open311_keys({})
    assert parse_partners(env["HOTLINE_GEOREPORT_API_KEYS"]) == {"demo-key": "demo-partner"}
    assert line == "Open311 api_key of partner demo-partner: demo-key"
    env, line = stack.open311_keys({"HOTLINE_DEMO_API_KEY": "k3y"})
    assert parse_partners(env["HOTLINE_GEOREPORT_API_KEYS"]) == {"k3y": "demo-partner"}
    assert line.endswith(": k3y")


def test_configured_keys_win_over_the_demo_key() -> None:
    env, line = stack.open311_keys(
        {"HOTLINE_GEOREPORT_API_KEYS": '{"a":"b"}', "HOTLINE_DEMO_API_KEY": "k3y"}
    )
    assert env == {}  # intake reads HOTLINE_GEOREPORT_API_KEYS from the environment itself
    assert "HOTLINE_GEOREPORT_API_KEYS" in line


def test_make_run_names_the_development_environment_and_says_so() -> None:
    environ: dict[str, str] = {}
    line = stack.development_environment(environ)
    assert environ == {"HOTLINE_ENVIRONMENT": "development"}
    assert line.startswith("HOTLINE_ENVIRONMENT=development")
    chosen = {"HOTLINE_ENVIRONMENT": "production"}
    assert "as set by the caller" in stack.development_environment(chosen)
    assert chosen == {"HOTLINE_ENVIRONMENT": "production"}


def test_moved_ports_move_the_addresses_services_use_and_hand_out() -> None:
    assert stack.addresses({}) == {
        "HOTLINE_INTAKE_URL": "http://127.0.0.1:8001",
        "HOTLINE_AUDIT_PUBLIC_URL": "http://127.0.0.1:8004",
        "HOTLINE_RATING_LINK_BASE_URL": "http://127.0.0.1:8003/v1/rating-links",
    }
    moved = stack.addresses(
        {
            "HOTLINE_INTAKE_PORT": "9001",
            "HOTLINE_FEEDBACK_PORT": "9003",
            "HOTLINE_AUDIT_PORT": "9004",
        }
    )
    assert moved == {
        "HOTLINE_INTAKE_URL": "http://127.0.0.1:9001",
        "HOTLINE_AUDIT_PUBLIC_URL": "http://127.0.0.1:9004",
        "HOTLINE_RATING_LINK_BASE_URL": "http://127.0.0.1:9003/v1/rating-links",
    }
    chosen = {"HOTLINE_AUDIT_PUBLIC_URL": "http://192.168.1.20:8004"}  # set: left alone
    assert "HOTLINE_AUDIT_PUBLIC_URL" not in stack.addresses(chosen)


def test_replicas_default_to_one_and_are_bounded() -> None:
    assert stack.replicas({}) == 1
    assert stack.replicas({"REPLICAS": "3"}) == 3
    for wrong in ("0", "-1", "two", "10"):
        with pytest.raises(SystemExit):
            stack.replicas({"REPLICAS": wrong})


def test_replicas_never_share_a_static_instance_id() -> None:
    assert stack.replica_env({}, 0, 2) == {}  # dynamic members: the default
    environ = {"HOTLINE_CONSUMER_INSTANCE_ID": "node"}
    assert stack.replica_env(environ, 0, 1) == {}  # one process keeps the id it was given
    ids = {stack.replica_env(environ, i, 2)["HOTLINE_CONSUMER_INSTANCE_ID"] for i in range(2)}
    assert ids == {"node-0", "node-1"}


class _Draining:
    """A service that is sent a second SIGTERM while it drains, as make forwards one."""

    def __init__(self, stopped: list[str], name: str, *, signal_again: bool = False) -> None:
        self._stopped, self._name, self._signal_again = stopped, name, signal_again

    def stop(self) -> None:
        if self._signal_again:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.05)  # the handler runs here, in the main thread
        self._stopped.append(self._name)


def test_a_second_signal_while_stopping_leaves_no_service_running() -> None:
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    signal.signal(signal.SIGTERM, stack._interrupt)  # as `make run` is while it serves
    stopped: list[str] = []
    services = [_Draining(stopped, "intake", signal_again=True), _Draining(stopped, "dispatch")]
    try:
        stack.stop_everything(services, [])  # type: ignore[arg-type]
    except KeyboardInterrupt:
        pytest.fail("the second signal cut the stop short")
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
    assert stopped == ["intake", "dispatch"]


def _terminated() -> None:
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(0.05)  # the handler runs here, in the main thread


def test_a_second_signal_before_the_stop_begins_is_ignored_too() -> None:
    """`kill` of make's process group and make's own SIGTERM arrive together: the second
    lands before `stop_everything` has begun, and must not cut it short either."""
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    signal.signal(signal.SIGTERM, stack._interrupt)
    stopped: list[str] = []
    try:
        with pytest.raises(KeyboardInterrupt):
            _terminated()
        _terminated()
        stack.stop_everything([_Draining(stopped, "intake")], [])  # type: ignore[list-item]
    except KeyboardInterrupt:
        pytest.fail("the second signal interrupted the stack before its stop")
    finally:
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
    assert stopped == ["intake"]


def _running(pid: int) -> bool:
    try:  # a killed process may linger as a zombie until its new parent reaps it
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False


def test_a_service_that_will_not_stop_is_killed_with_its_workers(tmp_path: Path) -> None:
    # As a web process with its uvicorn workers: a process group of its own, deaf to SIGTERM.
    web = subprocess.Popen(
        ["bash", "-c", "trap '' TERM; sleep 60 & echo $!; wait"],
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    assert web.stdout is not None
    with web.stdout:
        worker = int(web.stdout.readline())
    service = ServiceProcess(SERVICES["intake"], tmp_path, split=True)
    service.process = web
    try:
        service.stop(grace_seconds=0.5)
        assert web.poll() is not None
        deadline = time.monotonic() + 5
        while _running(worker) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _running(worker)
    finally:
        if _running(worker):
            os.kill(worker, signal.SIGKILL)
