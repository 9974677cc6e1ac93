"""`cortex serve` as a user starts it: a real process, a real socket, the embedded default."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_answers_commands_and_queries_then_stops_cleanly(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "CORTEX_VAR_DIR": str(tmp_path / "var"), "CORTEX_PORT": str(port)}
    env.pop("CORTEX_DATABASE_URL", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "cortex.cli", "serve"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, server.stdout.read().decode() if server.stdout else ""
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.2)
        created = httpx.post(f"{base}/api/projects", json={"name": "Served"}, timeout=5)
        assert created.status_code == 201
        body = created.json()
        read = httpx.get(f"{base}/api/projects/{body['id']}?after={body['position']}", timeout=10)
        assert read.status_code == 200
        assert read.json()["name"] == "Served"
        assert httpx.get(f"{base}/readyz", timeout=5).json()["ready"] is True
    finally:
        server.send_signal(signal.SIGINT)
        output = server.communicate(timeout=20)[0].decode()
    assert server.returncode == 0, output
    assert (tmp_path / "var" / "cortex.sqlite3").exists()
    assert (tmp_path / "var" / "cortex-read.sqlite3").exists()
