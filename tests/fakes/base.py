"""A small threaded HTTP server on 127.0.0.1 that can be stopped (connections refused) and restarted on
the same port, with a queue of forced answers ("the next 3 requests get 429").

Used by the fake LINE and SMS servers; real sockets, so the code under test runs its real HTTP client.
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Forced:
    """One forced answer. `accept=True` first processes the request normally (it counts as delivered),
    then answers `status` anyway, or drops the connection when `status` is 0: a lost response."""

    status: int
    body: dict = field(default_factory=dict)
    headers: dict = field(default_factory=dict)
    accept: bool = False


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.open_sockets: set = set()
        self.sockets_lock = threading.Lock()

    def process_request(self, request, client_address):
        with self.sockets_lock:
            self.open_sockets.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        with self.sockets_lock:
            self.open_sockets.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request, client_address):
        # A client killed mid-request (the SIGKILL drill) resets its connection: expected, not news.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)

    def drop_connections(self) -> None:
        """Cut every kept-alive connection too, so "down" means down for pooled clients as well."""
        with self.sockets_lock:
            sockets = list(self.open_sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class FakeHTTPServer:
    """Base: subclasses implement `handle(method, path, headers, body) -> (status, dict, headers)`."""

    def __init__(self, port: int = 0):
        self.lock = threading.RLock()
        self.port = port
        self.forced: deque[Forced] = deque()
        self.requests: list[dict[str, Any]] = []
        self.record_requests = True
        self.request_count = 0
        self.always: int | None = None  # answer every request with this status (an outage)
        self.refusing = False  # down: requests already on a connection are cut, not served
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle --------------------------------------------------------------------------------
    def start(self) -> FakeHTTPServer:
        fake = self
        self.refusing = False

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: the client's pooled session reuses connections
            # Headers and body go out as two writes: with Nagle on, the client's delayed ACK would hold
            # the body back ~40 ms per response (measured: 16 pushes/s instead of hundreds).
            disable_nagle_algorithm = True

            def log_message(self, *args):
                pass

            def _serve(self):
                if fake.refusing:  # went down while this connection was open: reset it, no answer
                    self.close_connection = True
                    return
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                status, body, headers = fake._dispatch(self.command, self.path, dict(self.headers), raw)
                if status == 0:  # lost response: close without answering
                    self.close_connection = True
                    return
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers.items():
                    self.send_header(k, str(v))
                self.end_headers()
                self.wfile.write(data)

            do_POST = do_GET = do_PUT = do_DELETE = _serve

        self._httpd = _Server(("127.0.0.1", self.port), Handler)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True, name="fake-http")
        self._thread.start()
        return self

    def stop(self) -> None:
        """Close the listening socket: new connections are refused until `start()` again.

        Down at once: `shutdown()` waits for the accept loop's next poll (up to 0.5 s), and until then
        the handler threads of kept-alive connections would go on serving (a fast sender got 150
        messages through a "down" server that way), so requests are refused and the open connections
        cut first."""
        if self._httpd is not None:
            self.refusing = True
            self._httpd.drop_connections()
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd.drop_connections()
            self._httpd = None

    down = stop

    def up(self) -> None:
        if self._httpd is None:
            self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # --- forced answers ---------------------------------------------------------------------------
    def fail_next(
        self, n: int, status: int, *, retry_after: int | None = None, accept: bool = False, body=None
    ) -> None:
        headers = {"Retry-After": retry_after} if retry_after is not None else {}
        with self.lock:
            for _ in range(n):
                self.forced.append(Forced(status, body or {"message": f"forced {status}"}, headers, accept))

    # --- request handling -------------------------------------------------------------------------
    def _dispatch(self, method: str, path: str, headers: dict, raw: bytes) -> tuple[int, dict, dict]:
        headers = {k.lower(): v for k, v in headers.items()}
        with self.lock:
            self.request_count += 1
            forced = self.forced.popleft() if self.forced else None
            if forced is None and self.always is not None:
                forced = Forced(self.always, {"message": f"outage {self.always}"})
        if forced is not None and not forced.accept:
            result = (forced.status, forced.body, forced.headers)
        else:
            try:
                body = json.loads(raw) if raw else {}
            except ValueError:
                body = None
            result = self.handle(method, path, headers, body)
            if forced is not None:
                result = (forced.status, forced.body, forced.headers)
        if self.record_requests:
            with self.lock:
                self.requests.append(
                    {"method": method, "path": path, "headers": headers, "status": result[0]}
                )
        return result

    def handle(self, method: str, path: str, headers: dict, body: Any) -> tuple[int, dict, dict]:
        raise NotImplementedError
