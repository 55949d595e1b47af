"""systemd's notify protocol (``Type=notify``): READY, WATCHDOG, STOPPING and STATUS messages.

systemd hands a ``Type=notify`` service the address of a datagram socket in ``$NOTIFY_SOCKET``
(a path, or ``@name`` for Linux's abstract namespace) and reads newline-separated
``KEY=VALUE`` lines from it. Outside systemd the variable is unset and every call is a no-op,
so the daemon can notify unconditionally. See sd_notify(3); this is the whole protocol we need.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

log = logging.getLogger(__name__)

NOTIFY_SOCKET_ENV = "NOTIFY_SOCKET"
WATCHDOG_USEC_ENV = "WATCHDOG_USEC"
WATCHDOG_PID_ENV = "WATCHDOG_PID"


def socket_address(value: str) -> str | bytes:
    """The address to ``sendto``: a filesystem path, or ``@name`` as an abstract socket."""
    if value.startswith("@"):
        return b"\0" + value[1:].encode()
    return value


def watchdog_interval(environ: Mapping[str, str] | None = None) -> float | None:
    """Seconds between WATCHDOG pings (half of ``WatchdogSec=``), or None when not asked for.

    systemd sets ``WATCHDOG_PID`` to the main process; a child that inherited the variables
    must not ping on the parent's behalf.
    """
    env = os.environ if environ is None else environ
    usec, pid = env.get(WATCHDOG_USEC_ENV, ""), env.get(WATCHDOG_PID_ENV, "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    if pid and pid != str(os.getpid()):
        return None
    return int(usec) / 1_000_000 / 2


class SystemdNotifier:
    """Sends notify messages to ``$NOTIFY_SOCKET``; does nothing when there is none."""

    def __init__(self, address: str | None) -> None:
        self.address = address or None

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> SystemdNotifier:
        """A notifier for the socket systemd named in the environment (if any)."""
        env = os.environ if environ is None else environ
        return cls(env.get(NOTIFY_SOCKET_ENV))

    @property
    def enabled(self) -> bool:
        """Whether a notify socket was given (i.e. we run under ``Type=notify``)."""
        return self.address is not None

    def notify(self, *lines: str) -> bool:
        """Send ``KEY=VALUE`` lines as one datagram; True if it was sent.

        A failure is logged, never raised: a lost notification must not stop the bot (systemd
        then times the service out, which is the right outcome for a daemon it cannot hear).
        """
        if self.address is None:
            return False
        payload = "\n".join(lines).encode()
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.sendto(payload, socket_address(self.address))
        except OSError as exc:
            log.warning("sd_notify to %s failed: %s", self.address, exc)
            return False
        return True

    def ready(self, status: str = "running") -> bool:
        """Start-up is complete: ``Type=notify`` units count as started from here."""
        return self.notify("READY=1", f"STATUS={status}")

    def watchdog(self) -> bool:
        """Still alive: resets the ``WatchdogSec=`` timer."""
        return self.notify("WATCHDOG=1")

    def stopping(self, status: str = "draining") -> bool:
        """Shutdown has begun: systemd waits up to ``TimeoutStopSec=`` from here."""
        return self.notify("STOPPING=1", f"STATUS={status}")

    def status(self, text: str) -> bool:
        """A one-line status shown by ``systemctl status``."""
        return self.notify(f"STATUS={text}")
