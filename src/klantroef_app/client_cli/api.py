"""Requests to a running Klantroef over HTTP (httpx), and their failures as one line each."""

from __future__ import annotations

import socket
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from klantroef_app.client_cli.config import ClientError

SESSION_OVER = "your session has expired or was logged out: run klantroef login"
TIMEOUT = httpx.Timeout(30.0, connect=10.0, write=None)
"""A write may wait as long as the network does (uploads); every other step is bounded."""


def check_url(url: str) -> str:
    """The server's base URL without a trailing slash; ClientError when it is not http(s)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ClientError(f"--url must be an http:// or https:// address, not {url!r}")
    return url.strip().rstrip("/")


def media_path(media_id: str, suffix: str = "") -> str:
    return f"/media/{quote(media_id, safe='')}{suffix}"


def _why(exc: BaseException) -> str:
    """The root cause of a connection failure in a few words."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ConnectionRefusedError):
            return "connection refused"
        if isinstance(seen, socket.gaierror):
            return "unknown host"
        if "connection refused" in str(seen).lower():
            return "connection refused"
        seen = seen.__cause__ or seen.__context__
    return " ".join(str(exc).split()) or type(exc).__name__


def problem_detail(response: httpx.Response) -> str:
    """The ``detail`` of a problem+json answer, else its status line."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("detail"), str) and body["detail"]:
        detail = " ".join(body["detail"].split())
        if response.status_code == 429 and response.headers.get("retry-after"):
            detail += f" (retry in {response.headers['retry-after']} s)"
        return detail
    return f"the server answered {response.status_code} {response.reason_phrase}"


class Api:
    """One server, optionally with a bearer token; every failure becomes a ClientError."""

    def __init__(self, url: str, token: str | None = None) -> None:
        self.url = url
        headers = {"user-agent": "klantroef-cli"}
        if token is not None:
            headers["authorization"] = f"Bearer {token}"
        self._authenticated = token is not None
        self._client = httpx.Client(base_url=url, headers=headers, timeout=TIMEOUT)

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._client.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        expect: Iterable[int] = (200,),
        **options: Any,
    ) -> httpx.Response:
        """Send one request; the response if its status is expected, else a ClientError."""
        try:
            response = self._client.request(method, path, **options)
        except httpx.ConnectError as exc:
            raise ClientError(f"cannot reach {self.url}: {_why(exc)}") from None
        except httpx.TimeoutException:
            raise ClientError(f"{self.url} did not answer in time") from None
        except httpx.HTTPError as exc:
            raise ClientError(f"the exchange with {self.url} broke off: {_why(exc)}") from None
        if response.status_code in set(expect):
            return response
        if response.status_code == 401 and self._authenticated:
            raise ClientError(SESSION_OVER)
        raise ClientError(problem_detail(response))

    def json(
        self, method: str, path: str, *, expect: Iterable[int] = (200,), **options: Any
    ) -> Answer:
        """The JSON object the server answered; a ClientError if it answered anything else."""
        response = self.request(method, path, expect=expect, **options)
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise ClientError(f"{self.url} did not answer like a Klantroef server")
        return Answer(self.url, body)


class Answer:
    """A JSON object from the server; a field it lacks is a ClientError, not a KeyError."""

    def __init__(self, url: str, body: dict[str, Any]) -> None:
        self._url = url
        self._body = body

    def __getitem__(self, name: str) -> Any:
        if name not in self._body:
            raise ClientError(f"{self._url} did not answer like a Klantroef server ({name}?)")
        return self._body[name]
