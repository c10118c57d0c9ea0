"""Local ports for the benchmark commands that start their own servers (gunicorn, SMTP sinks)."""

from __future__ import annotations

import socket
import time

from django.core.management.base import CommandError


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, *, what: str = "gunicorn", timeout: float = 60) -> None:
    """Block until something accepts connections on 127.0.0.1:`port`, or fail the command."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise CommandError(f"{what} did not start")
