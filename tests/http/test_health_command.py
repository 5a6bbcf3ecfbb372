"""``klantroef health``, the image's HEALTHCHECK: 0 only when readiness answers 200.

A real server answering 200 and one port with nothing are in tests/deploy; here a
loopback HTTP server answers what a server whose database is down answers.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from klantroef_app.cli import main


@contextmanager
def answering(status: int) -> Iterator[str]:
    body = json.dumps({"status": "ok" if status == 200 else "unavailable", "checks": {}}).encode()
    paths: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            paths.append(self.path)
            self.send_response(status)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield str(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
        assert paths in ([], ["/health/ready"])


@pytest.mark.parametrize(("status", "exit_code"), [(200, 0), (503, 1), (500, 1)])
def test_the_exit_code_follows_readiness(
    status: int, exit_code: int, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with answering(status) as port:
        monkeypatch.setenv("KLANTROEF_PORT", port)  # as in the image: the port it serves on
        assert main(["health"]) == exit_code
    assert '"status"' in capsys.readouterr().out


def test_a_url_that_is_not_http_is_refused() -> None:
    assert main(["health", "--url", "file:///etc/passwd"]) == 2
