"""A tiny HTTP/JSON client over the standard library, for seeding and checks (not for load)."""

from __future__ import annotations

import http.client
import json
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True, slots=True)
class Reply:
    """Status, headers (lower-case names) and body of one response."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


class Client:
    """One keep-alive connection to ``base_url`` (loopback only)."""

    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        parts = urlsplit(base_url)
        if parts.hostname not in {"127.0.0.1", "localhost", "::1"}:
            raise ValueError(f"benchmarks only talk to loopback, not {parts.hostname}")
        self.base_url = base_url.rstrip("/")
        self._conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        """Send one request and read the whole answer; reconnects once if the peer closed."""
        sent = dict(headers or {})
        body = None
        if json_body is not None:
            body = json.dumps(json_body).encode()
            sent["content-type"] = "application/json"
        for attempt in (1, 2):
            try:
                self._conn.request(method, path, body=body, headers=sent)
                response = self._conn.getresponse()
                data = response.read()
                return Reply(
                    response.status, {k.lower(): v for k, v in response.getheaders()}, data
                )
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self._conn.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()


def bearer(token: str) -> dict[str, str]:
    """The Authorization header of an access token."""
    return {"authorization": f"Bearer {token}"}


def curl_upload(url: str, token: str, file: Path, out: Path) -> tuple[int, float]:
    """POST ``file`` as multipart with curl (streams from disk); returns (status, seconds).

    curl rather than Python: it streams the file at disk speed with little CPU,
    so the client does not steal the server's cores on a 2-core machine.
    """
    done = subprocess.run(
        [
            "curl",
            "--silent",
            "--show-error",
            "--max-time",
            "600",
            "--output",
            str(out),
            "--write-out",
            "%{http_code} %{time_total}",
            "--header",
            f"authorization: Bearer {token}",
            "--header",
            "Expect:",
            "--form",
            f"file=@{file};type=video/mp4",
            "--form",
            "title=benchmark upload",
            url,
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=660,
    )
    if done.returncode != 0:
        raise RuntimeError(f"curl failed ({done.returncode}): {done.stderr.strip()}")
    status, seconds = done.stdout.split()
    return int(status), float(seconds)
