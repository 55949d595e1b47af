"""The notify protocol, received on a real datagram socket as systemd would receive it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from redditbot.sdnotify import SystemdNotifier, socket_address, watchdog_interval


class NotifyListener:
    """The systemd side: a bound AF_UNIX datagram socket that collects messages."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(socket_address(address))
        self.sock.settimeout(5)

    def receive(self, count: int) -> list[str]:
        return [self.sock.recv(4096).decode() for _ in range(count)]

    def pending(self) -> bool:
        self.sock.setblocking(False)
        try:
            self.sock.recv(4096)
        except BlockingIOError:
            return False
        finally:
            self.sock.settimeout(5)
        return True


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[NotifyListener]:
    # A short path: AF_UNIX paths are limited to 107 bytes and tmp_path can be long.
    path = Path("/tmp") / f"rb-notify-{uuid.uuid4().hex[:8]}.sock"
    receiver = NotifyListener(str(path))
    yield receiver
    receiver.sock.close()
    path.unlink(missing_ok=True)


def test_ready_watchdog_stopping_arrive_in_order(listener: NotifyListener) -> None:
    notifier = SystemdNotifier.from_environment({"NOTIFY_SOCKET": listener.address})
    assert notifier.ready("polling 2 subreddits")
    assert notifier.watchdog()
    assert notifier.watchdog()
    assert notifier.stopping()
    assert listener.receive(4) == [
        "READY=1\nSTATUS=polling 2 subreddits",
        "WATCHDOG=1",
        "WATCHDOG=1",
        "STOPPING=1\nSTATUS=draining",
    ]


def test_abstract_namespace_address() -> None:
    name = f"@redditbot-test-{uuid.uuid4().hex[:8]}"
    receiver = NotifyListener(name)
    try:
        assert SystemdNotifier(name).status("reconciling")
        assert receiver.receive(1) == ["STATUS=reconciling"]
    finally:
        receiver.sock.close()


def test_child_process_notifies_the_parent_socket(listener: NotifyListener) -> None:
    """As under systemd: the variable is inherited by the daemon process, which sends."""
    code = "from redditbot.sdnotify import SystemdNotifier as N; N.from_environment().ready()"
    env = {**os.environ, "NOTIFY_SOCKET": listener.address}
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=60)
    assert listener.receive(1) == ["READY=1\nSTATUS=running"]


def test_without_notify_socket_nothing_is_sent(listener: NotifyListener) -> None:
    notifier = SystemdNotifier.from_environment({})
    assert not notifier.enabled
    assert notifier.ready() is False
    assert notifier.watchdog() is False
    assert not listener.pending()


def test_a_dead_socket_is_reported_not_raised(tmp_path: Path, caplog) -> None:
    notifier = SystemdNotifier(str(tmp_path / "gone.sock"))
    assert notifier.enabled
    assert notifier.ready() is False
    assert "sd_notify" in caplog.text and "gone.sock" in caplog.text


def test_watchdog_interval_is_half_of_watchdog_sec() -> None:
    mine = str(os.getpid())
    assert watchdog_interval({"WATCHDOG_USEC": "60000000", "WATCHDOG_PID": mine}) == 30.0
    assert watchdog_interval({"WATCHDOG_USEC": "3000000"}) == 1.5


def test_watchdog_interval_absent_or_for_another_process() -> None:
    assert watchdog_interval({}) is None
    assert watchdog_interval({"WATCHDOG_USEC": "0"}) is None
    assert watchdog_interval({"WATCHDOG_USEC": "junk"}) is None
    assert watchdog_interval({"WATCHDOG_USEC": "60000000", "WATCHDOG_PID": "1"}) is None
