"""A private nginx in front of ``modeltrail server`` processes, for the load test and the
tests of a proxy: a configuration of its own in a directory of its own (pid file, logs,
temporary files), listening on one loopback port, with the ``server`` block's locations and
any ``upstream`` the caller gives."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

CONF = """
daemon off;
worker_processes {workers};
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections {connections}; }}
http {{
  access_log off;
  client_body_temp_path {dir}/body;
  proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fastcgi;
  uwsgi_temp_path {dir}/uwsgi;
  scgi_temp_path {dir}/scgi;
{upstream}
  server {{
    listen 127.0.0.1:{port};
{server}
  }}
}}
"""


def nginx_binary() -> str | None:
    """The nginx on this machine, None where there is none."""
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx",) if os.path.exists(p)), None
    )


def start_nginx(
    directory: Path,
    *,
    port: int,
    server: str,
    upstream: str = "",
    workers: int = 1,
    connections: int = 64,
) -> subprocess.Popen[bytes]:
    """nginx listening on ``port`` with ``server`` (the lines of its ``server`` block after
    ``listen``) and ``upstream`` (blocks of its ``http`` block), its files in ``directory``."""
    binary = nginx_binary()
    assert binary, "nginx is not installed"
    conf = directory / "nginx.conf"
    conf.write_text(
        CONF.format(
            dir=directory,
            port=port,
            server=server,
            upstream=upstream,
            workers=workers,
            connections=connections,
        )
    )
    return subprocess.Popen(
        [binary, "-c", str(conf), "-e", str(directory / "error.log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
