"""The repository's load balancer (deploy/nginx.conf) run by Debian's real nginx in front of
test daphnes, on a free port, in a temporary prefix.

Only what a test machine needs differs from the deployed configuration: the listen address,
the upstream servers (the given daphne ports instead of the compose service names) and the
temporary paths. nginx comes from Debian's package (bin/_nginx installs it; bin/test runs it).
"""

from __future__ import annotations

import contextlib
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.daphne import graphql_post
from tests.servers import free_port

__all__ = [
    "CONFIG",
    "LoadBalancer",
    "load_balancer",
    "nginx_binary",
    "render_config",
    "start_load_balancer",
]

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "deploy" / "nginx.conf"

_UPSTREAM_SERVER = re.compile(r"^(\s*server\s+)([^\s;]+:\d+)([^;]*;)[ \t]*$", re.MULTILINE)
_LISTEN = re.compile(r"^(\s*)listen\s+[^;]+;[ \t]*\n", re.MULTILINE)
_HTTP_BLOCK = re.compile(r"^http\s*\{[ \t]*\n", re.MULTILINE)
_TEMP_PATHS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


def nginx_binary() -> str:
    """Debian's nginx; a missing one fails the test (bin/_nginx installs it)."""
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/sbin")
    if found is None:
        raise RuntimeError("nginx is not installed: run bin/_nginx (apt-get install nginx)")
    return found


def render_config(config: str, *, port: int, upstream_ports: Sequence[int], prefix: Path) -> str:
    """``config`` listening on 127.0.0.1:``port`` only, its upstream servers replaced by
    127.0.0.1:``upstream_ports`` (each with the first server's parameters), and its
    temporary files under ``prefix``."""
    servers = list(_UPSTREAM_SERVER.finditer(config))
    assert servers, "no upstream server line in the nginx configuration"
    indent, _, parameters = servers[0].groups()
    replacement = "\n".join(f"{indent}127.0.0.1:{p}{parameters}" for p in upstream_ports)
    first, last = servers[0], servers[-1]
    between = config[first.end() : last.start()]
    assert not _UPSTREAM_SERVER.sub("", between).strip(" \n"), "upstream servers not together"
    config = config[: first.start()] + replacement + config[last.end() :]

    listens = list(_LISTEN.finditer(config))
    assert listens, "no listen line in the nginx configuration"
    pieces, end = [], 0
    for index, match in enumerate(listens):
        pieces.append(config[end : match.start()])
        if index == 0:
            pieces.append(f"{match.group(1)}listen 127.0.0.1:{port};\n")
        end = match.end()
    config = "".join(pieces) + config[end:]

    http = _HTTP_BLOCK.search(config)
    assert http is not None, "no http block in the nginx configuration"
    temp = "".join(f"    {kind}_temp_path {prefix / 'tmp' / kind};\n" for kind in _TEMP_PATHS)
    return config[: http.end()] + temp + config[http.end() :]


@dataclass
class LoadBalancer:
    port: int
    process: subprocess.Popen[bytes]
    prefix: Path

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    @property
    def http_url(self) -> str:
        return self.url("/graphql/")

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql/"

    def post(self, query: str, variables: dict[str, Any], token: str) -> dict[str, Any]:
        """POST a GraphQL operation through the load balancer."""
        return graphql_post(self.http_url, query, variables, token)

    def log(self) -> str:
        """What nginx wrote (error log and access log)."""
        return (self.prefix / "nginx.log").read_text(errors="replace")

    def stop(self) -> None:
        """Stop nginx (SIGQUIT: graceful, then SIGKILL after 10 s)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_load_balancer(
    upstream_ports: Sequence[int], *, port: int | None = None, config: Path = CONFIG
) -> LoadBalancer:
    """Start nginx with ``config`` in front of daphnes on ``upstream_ports`` and wait until
    it accepts connections."""
    binary = nginx_binary()
    port = port or free_port()
    prefix = Path(tempfile.mkdtemp(prefix="chat-nginx-"))
    # nginx's workers drop root for an unprivileged user that must reach the temporary paths.
    prefix.chmod(0o755)
    for kind in _TEMP_PATHS:
        (prefix / "tmp" / kind).mkdir(parents=True)
        (prefix / "tmp" / kind).chmod(0o777)
    (prefix / "tmp").chmod(0o755)
    conf = prefix / "nginx.conf"
    conf.write_text(
        render_config(config.read_text(), port=port, upstream_ports=upstream_ports, prefix=prefix)
    )
    command = [binary, "-p", str(prefix), "-c", str(conf), "-e", "stderr",
               "-g", f"daemon off; pid {prefix / 'nginx.pid'};"]  # fmt: skip
    checked = subprocess.run([*command, "-t", "-q"], capture_output=True, text=True)
    if checked.returncode != 0:
        shutil.rmtree(prefix, ignore_errors=True)
        raise RuntimeError(f"nginx refused the configuration:\n{checked.stderr}")
    with open(prefix / "nginx.log", "wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    balancer = LoadBalancer(port, process, prefix)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"nginx exited:\n{balancer.log()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return balancer
        except OSError:
            time.sleep(0.02)
    balancer.stop()
    raise RuntimeError(f"nginx did not start:\n{balancer.log()}")


@contextlib.contextmanager
def load_balancer(
    upstream_ports: Sequence[int], *, port: int | None = None, config: Path = CONFIG
) -> Iterator[LoadBalancer]:
    """nginx with the repository's configuration in front of ``upstream_ports``, stopped and
    its prefix removed on exit."""
    balancer = start_load_balancer(upstream_ports, port=port, config=config)
    try:
        yield balancer
    finally:
        balancer.stop()
        shutil.rmtree(balancer.prefix, ignore_errors=True)
