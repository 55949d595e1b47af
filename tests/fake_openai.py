"""A scripted OpenAI-compatible HTTP server on 127.0.0.1, for the openai backend and the judge."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HANG = "hang"


@dataclass
class FakeServer:
    """Answers each POST with the next scripted reply: (status, body) or HANG."""

    script: list = field(default_factory=list)
    received: list[dict] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    url: str = ""


def serve_openai():
    """A real HTTP server on 127.0.0.1 playing an OpenAI-compatible endpoint (a generator:
    wrap it with ``pytest.fixture``); yields the FakeServer whose ``script`` it follows."""
    fake = FakeServer()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's naming)
            body = self.rfile.read(int(self.headers["Content-Length"]))
            fake.received.append(
                {"path": self.path, "headers": dict(self.headers), "json": json.loads(body)}
            )
            step = fake.script.pop(0) if fake.script else (500, "script exhausted")
            if step == HANG:
                fake.release.wait(5)
                return
            status, payload = step
            data = payload if isinstance(payload, str) else json.dumps(payload)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            if status == 429:
                self.send_header("Retry-After", "7")
            self.end_headers()
            self.wfile.write(data.encode())

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    fake.url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    yield fake
    fake.release.set()
    httpd.shutdown()
    httpd.server_close()
