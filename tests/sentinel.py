"""A Redis Sentinel deployment on free ports: a master, a replica and three sentinels
(``redis-server --sentinel``), fast to fail over, for the failover tests."""

from __future__ import annotations

import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

from tests.servers import _redis_server_binary, free_port

__all__ = ["MASTER_NAME", "SentinelCluster", "sentinel_cluster"]

MASTER_NAME = "chat"
# Sentinels call the master down after this long without an answer, and a failover that
# stalls is retried after the timeout: low, so that the test's failover takes ~1 s.
DOWN_AFTER_MS = 500
FAILOVER_TIMEOUT_MS = 2000


def _start(binary: str, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([binary, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _wait(check: object, what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():  # type: ignore[operator]
                return
        except redis.RedisError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"sentinel cluster: {what} not reached in {timeout} s")


class SentinelCluster:
    """The processes of the deployment; ``kill_master`` crashes whichever is master."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.binary = _redis_server_binary()
        self.redis_ports = [free_port(), free_port()]
        self.sentinel_ports = [free_port() for _ in range(3)]
        self.processes: dict[int, subprocess.Popen[bytes]] = {}

    @property
    def sentinels_env(self) -> str:
        """``REDIS_SENTINELS`` for this deployment."""
        return ",".join(f"127.0.0.1:{port}" for port in self.sentinel_ports)

    def _redis(self, port: int, *replica_of: str) -> None:
        directory = self.workdir / f"redis-{port}"
        directory.mkdir()
        self.processes[port] = _start(
            self.binary,
            "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--dir", str(directory), "--maxclients", "10000", *replica_of,
        )  # fmt: skip

    def _sentinel(self, port: int, master_port: int) -> None:
        config = self.workdir / f"sentinel-{port}.conf"
        # Sentinel rewrites its config file (the replicas and sentinels it learns of).
        config.write_text(
            f"port {port}\nbind 127.0.0.1\ndir {self.workdir}\n"
            f"sentinel monitor {MASTER_NAME} 127.0.0.1 {master_port} 2\n"
            f"sentinel down-after-milliseconds {MASTER_NAME} {DOWN_AFTER_MS}\n"
            f"sentinel failover-timeout {MASTER_NAME} {FAILOVER_TIMEOUT_MS}\n"
            f"sentinel parallel-syncs {MASTER_NAME} 1\n"
        )
        self.processes[port] = _start(self.binary, str(config), "--sentinel")

    def start(self) -> None:
        master, replica = self.redis_ports
        self._redis(master)
        self._redis(replica, "--replicaof", "127.0.0.1", str(master))
        for port in self.sentinel_ports:
            self._sentinel(port, master)
        replica_client = redis.Redis(port=replica)
        _wait(
            lambda: replica_client.info("replication")["master_link_status"] == "up",
            "replica in sync",
        )
        for port in self.sentinel_ports:
            client = redis.Redis(port=port)
            # Each sentinel knows the replica and the two other sentinels: a failover can
            # then be agreed on and has a replica to promote.
            _wait(
                lambda c=client: (
                    len(c.sentinel_slaves(MASTER_NAME)) == 1
                    and len(c.sentinel_sentinels(MASTER_NAME)) == 2
                ),
                "sentinels aware of each other and of the replica",
            )
            client.close()
        replica_client.close()

    def master_port(self) -> int | None:
        """The master's port as the first sentinel answering says (None: none known)."""
        for port in self.sentinel_ports:
            try:
                client = redis.Redis(port=port, socket_timeout=0.5)
                address = client.sentinel_get_master_addr_by_name(MASTER_NAME)
                client.close()
            except redis.RedisError:
                continue
            # redis-py types the reply as a tuple or a bool; it is a (host, port) or None.
            return int(address[1]) if isinstance(address, tuple) else None
        return None

    def master_keys(self, pattern: str) -> list[str]:
        """The current master's keys matching ``pattern``, sorted."""
        port = self.master_port()
        assert port is not None
        client = redis.Redis(port=port, decode_responses=True)
        try:
            return sorted(client.scan_iter(match=pattern))
        finally:
            client.close()

    def group_subscribers(self, group: str) -> int:
        """Processes subscribed, on the current master, to the channel layer's ``group``."""
        port = self.master_port()
        assert port is not None
        client = redis.Redis(port=port)
        try:
            channel = f"chat__group__{group}"
            return int(dict(client.pubsub_numsub(channel))[channel.encode()])
        finally:
            client.close()

    def sentinel_clients(self) -> list[int]:
        """Each sentinel's count of connected clients."""
        counts = []
        for port in self.sentinel_ports:
            client = redis.Redis(port=port)
            counts.append(int(client.info("clients")["connected_clients"]))
            client.close()
        return counts

    def kill_master(self) -> int:
        """SIGKILL the master, as a crash would; its port."""
        port = self.master_port()
        assert port is not None
        process = self.processes.pop(port)
        process.send_signal(signal.SIGKILL)
        process.wait()
        return port

    def stop(self) -> None:
        for process in self.processes.values():
            process.kill()
            process.wait()
        self.processes.clear()


@contextmanager
def sentinel_cluster() -> Iterator[SentinelCluster]:
    """A running deployment, torn down (and its files removed) on exit."""
    cluster = SentinelCluster(Path(tempfile.mkdtemp(prefix="chat-sentinel-")))
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(cluster.workdir, ignore_errors=True)
