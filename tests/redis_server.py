"""A real `redis-server` for the tests: its own loopback port and directory, persistence on.

Started from Debian's package (`apt-get install redis-server`; .ci/run installs it). Its
append-only file is written on every command, so a restart in the middle of a test keeps
every stream, group and key, as a production Redis with persistence would.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import redis


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    def __init__(self, directory: Path):
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.process = subprocess.Popen(
            [binary, "--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(self.directory),
             "--appendonly", "yes", "--appendfsync", "always", "--save", "",
             "--daemonize", "no", "--logfile", str(self.directory / "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(port=self.port, socket_connect_timeout=1)
        deadline = time.monotonic() + 20
        while True:
            try:
                client.ping()
                break
            except redis.exceptions.BusyLoadingError:
                pass
            except redis.ConnectionError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    log = (self.directory / "redis.log").read_text(errors="replace")
                    raise RuntimeError(f"redis-server did not start:\n{log[-2000:]}") from None
            time.sleep(0.05)
        client.close()
        return self

    def stop(self) -> None:
        """A clean shutdown (SIGTERM), as systemd stops it."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def restart(self, down_for: float = 0.0) -> None:
        self.stop()
        time.sleep(down_for)
        self.start()

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, decode_responses=True)


def redis_server_or_skip(directory: Path) -> RedisServer:
    """A started server; without redis-server installed, the test is skipped, unless
    NEWSMILL_REQUIRE_REDIS is set (as .ci/run sets it), where that is a failure."""
    if not (shutil.which("redis-server") or Path("/usr/bin/redis-server").exists()):
        message = "redis-server is not installed (apt-get install redis-server)"
        if os.environ.get("NEWSMILL_REQUIRE_REDIS"):
            pytest.fail(message)
        pytest.skip(message)
    return RedisServer(directory).start()
