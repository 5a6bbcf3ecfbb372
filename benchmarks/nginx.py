"""nginx as the streaming ceiling: one worker, ``sendfile on``, serving the same file."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from benchmarks.procs import ServerProcess

CONFIG = """\
worker_processes 1;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    types {{ video/mp4 mp4; }}
    default_type application/octet-stream;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        location / {{ }}
    }}
}}
"""


def nginx_server(prefix: Path, root: Path, port: int) -> ServerProcess:
    """An nginx that serves ``root`` on 127.0.0.1:``port``, configured under ``prefix``.

    The worker drops to an unprivileged user when started as root, so the served
    folder and file must be world-readable (the caller's temp folder is made so).
    """
    prefix.mkdir(parents=True, exist_ok=True)
    config = prefix / "nginx.conf"
    config.write_text(CONFIG.format(prefix=prefix, root=root, port=port))
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    return ServerProcess(
        "nginx",
        [nginx, "-p", str(prefix), "-c", str(config), "-e", str(prefix / "error.log")],
        dict(os.environ),
        prefix / "stdout.log",
        prefix,
    )
