"""Hostile clients over raw sockets, and what a server process tree holds (from /proc).

Shared by the hostile-client tests and ``benchmarks/slow_readers.py``: slow stream
readers (a small receive buffer, a few bytes a second), slowloris connections (a
request head sent a byte at a time), and the RSS and open descriptors of a server
and its workers. Linux only (/proc).
"""

from __future__ import annotations

import contextlib
import os
import random
import socket
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

from benchmarks.procs import process_tree

MIB = 1024 * 1024


def fd_kinds(root: int) -> dict[str, int]:
    """Open descriptors of ``root`` and its descendants, by kind: ``socket``, ``pipe``, a path."""
    kinds: dict[str, int] = {}
    for pid in process_tree(root):
        try:
            names = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for name in names:
            try:
                target = os.readlink(f"/proc/{pid}/fd/{name}")
            except OSError:
                continue
            kind = target.split(":", 1)[0] if ":" in target else target
            kinds[kind] = kinds.get(kind, 0) + 1
    return kinds


def tree_fds(root: int) -> int:
    return sum(fd_kinds(root).values())


def _address(url: str) -> tuple[tuple[str, int], str, str]:
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    return (parts.hostname or "127.0.0.1", parts.port or 80), parts.netloc, target


def slow_reader(url: str, byte_range: str | None, receive_buffer: int = 4096) -> socket.socket:
    """A connected, non-blocking socket that has sent its GET and will be read slowly.

    The receive buffer is set before connecting, so the window it advertises stays small.
    """
    address, host, target = _address(url)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.connect(address)
    request = f"GET {target} HTTP/1.1\r\nHost: {host}\r\n"
    if byte_range:
        request += f"Range: {byte_range}\r\n"
    sock.sendall((request + "\r\n").encode())
    sock.setblocking(False)
    return sock


def read_a_little(sockets: list[socket.socket], amount: int) -> int:
    """Read up to ``amount`` bytes from each socket without waiting; the bytes read."""
    received = 0
    for sock in sockets:
        with contextlib.suppress(BlockingIOError, ConnectionError):
            received += len(sock.recv(amount))
    return received


def slowloris(url: str) -> tuple[socket.socket, bytes]:
    """A connected socket and the request head it will trickle out, a byte at a time."""
    address, host, target = _address(url)
    sock = socket.create_connection(address)
    sock.setblocking(False)
    head = f"GET {target} HTTP/1.1\r\nHost: {host}\r\nX-Padding: {'a' * 200}\r\n\r\n"
    return sock, head.encode()


def trickle(connections: list[tuple[socket.socket, bytes]], sent: int) -> None:
    """Send byte ``sent`` of each connection's head (never the last: the head never ends)."""
    for sock, head in connections:
        if sent < len(head) - 1:
            with contextlib.suppress(BlockingIOError, ConnectionError):
                sock.send(head[sent : sent + 1])


def close_all(sockets: list[socket.socket]) -> None:
    for sock in sockets:
        sock.close()


def settle(check: object, timeout: float) -> bool:
    """Poll ``check()`` every 0.2 s until it is true or ``timeout`` seconds passed."""
    deadline = time.monotonic() + timeout
    while True:
        if callable(check) and check():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.2)


class PatternFile:
    """A large MP4-looking file that is never held whole: its bytes follow from their offset."""

    def __init__(self, size: int, head: bytes, *, seed: int = 7) -> None:
        self.size = size
        self._block = bytearray(random.Random(seed).randbytes(MIB))
        self._block[: len(head)] = head

    def slice(self, start: int, end: int) -> bytes:
        """Bytes ``start`` to ``end`` inclusive, as stored."""
        out = bytearray()
        position = start
        while position <= end:
            offset = position % MIB
            piece = self._block[offset : min(MIB, offset + end - position + 1)]
            out += piece
            position += len(piece)
        return bytes(out)

    def multipart(self, boundary: str) -> tuple[Iterator[bytes], int]:
        """The file as a form's one file part, generated while sent; and the body's length."""
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.mp4"\r\n'
            "Content-Type: video/mp4\r\n\r\n"
        ).encode()
        tail = f"\r\n--{boundary}--\r\n".encode()

        def pieces() -> Iterator[bytes]:
            yield head
            for start in range(0, self.size, MIB):
                yield bytes(self._block[: min(MIB, self.size - start)])
            yield tail

        return pieces(), len(head) + self.size + len(tail)
