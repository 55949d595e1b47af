"""``redditbot run`` under a (simulated) systemd: READY, WATCHDOG…, STOPPING, in that order."""

from __future__ import annotations

import signal
import socket
import uuid
from pathlib import Path

from tests.daemon.conftest import start_daemon, write_config


def test_daemon_notifies_ready_watchdog_stopping(
    tmp_path: Path, live_sandbox, fake_openai, monkeypatch
) -> None:
    address = f"/tmp/rb-daemon-{uuid.uuid4().hex[:8]}.sock"
    receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    receiver.bind(address)
    receiver.settimeout(30)
    monkeypatch.setenv("NOTIFY_SOCKET", address)
    monkeypatch.setenv("WATCHDOG_USEC", "1000000")  # WatchdogSec=1: a ping every 0.5 s
    db_url = f"sqlite:///{tmp_path / 'bot.db'}"
    config = write_config(
        tmp_path / "bot.toml", sandbox_url=live_sandbox.url, db_url=db_url,
        openai_url=fake_openai.url,
    )  # fmt: skip
    log = tmp_path / "daemon.log"
    daemon = start_daemon(config, log, "--grace", "5")
    try:
        messages = [receiver.recv(4096).decode()]
        assert messages[0].startswith("READY=1"), log.read_text()[-3000:]
        messages += [receiver.recv(4096).decode() for _ in range(2)]
        daemon.send_signal(signal.SIGTERM)
        while not messages[-1].startswith("STOPPING=1"):
            messages.append(receiver.recv(4096).decode())
        assert daemon.wait(30) == 0
    finally:
        daemon.kill()
        receiver.close()
        Path(address).unlink(missing_ok=True)
    assert messages[1:3] == ["WATCHDOG=1", "WATCHDOG=1"]
    assert [m for m in messages if m.startswith(("READY", "STOPPING"))] == [
        messages[0], messages[-1]
    ]  # fmt: skip
