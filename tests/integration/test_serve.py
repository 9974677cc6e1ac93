"""`cortex serve` as a user starts it: a real process, a real socket, the embedded default."""

from __future__ import annotations

import contextlib
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
        # Ready once the embedding model has loaded (seconds, in the background).
        ready = httpx.get(f"{base}/readyz", timeout=60).json()
        assert ready["ready"] is True, ready
        assert ready["checks"]["embedding_model"]["detail"].startswith("all-MiniLM-L6-v2")
    finally:
        server.send_signal(signal.SIGINT)
        output = server.communicate(timeout=20)[0].decode()
    assert server.returncode == 0, output
    assert (tmp_path / "var" / "cortex.sqlite3").exists()
    assert (tmp_path / "var" / "cortex-read.sqlite3").exists()


def _start(tmp_path: Path, **extra: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "CORTEX_VAR_DIR": str(tmp_path / "var"),
        "CORTEX_PORT": str(port),
        **extra,
    }
    env.pop("CORTEX_DATABASE_URL", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "cortex.cli", "serve"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return server, base
        except httpx.TransportError:
            pass
        assert server.poll() is None, server.stdout.read().decode() if server.stdout else ""
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.2)


def test_an_oversized_upload_is_refused_before_the_rest_is_sent(tmp_path: Path) -> None:
    """413 as soon as the file passes CORTEX_INGEST_MAX_BYTES: the server does not read on."""
    server, base = _start(tmp_path, CORTEX_INGEST_MAX_BYTES=str(1 << 20))
    try:
        project = httpx.post(f"{base}/api/projects", json={"name": "Big"}, timeout=5).json()
        small = httpx.post(
            f"{base}/api/projects/{project['id']}/documents",
            files={"file": ("small.txt", b"A small file that fits.")},
            timeout=10,
        )
        assert small.status_code == 201, small.text
        job_id = small.json()["documents"][0]["job_id"]

        declared = 20 << 20
        boundary = "cortexboundary"
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="big.txt"\r\nContent-Type: text/plain\r\n\r\n'
        ).encode()
        port = int(base.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(
                (
                    f"POST /api/projects/{project['id']}/documents HTTP/1.1\r\n"
                    f"Host: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary={boundary}\r\n"
                    f"Content-Length: {declared + len(head)}\r\n\r\n"
                ).encode()
                + head
            )
            sent = 0
            sock.setblocking(False)
            answer = b""
            deadline = time.monotonic() + 20
            while sent < declared and time.monotonic() < deadline:
                with contextlib.suppress(BlockingIOError):
                    answer += sock.recv(65536)
                if answer:
                    break
                try:
                    sent += sock.send(b"x" * 65536)
                except BlockingIOError:
                    time.sleep(0.01)
                except (BrokenPipeError, ConnectionResetError):
                    break
            sock.setblocking(True)
            sock.settimeout(5)
            while b"\r\n\r\n" not in answer:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
        assert sent < 8 << 20, f"the client got to send {sent} of {declared} bytes"

        deadline = time.monotonic() + 20
        while True:
            job = httpx.get(f"{base}/api/ingest/jobs/{job_id}", timeout=5).json()
            if job.get("status") == "completed":
                break
            assert time.monotonic() < deadline, job
            time.sleep(0.1)
        listed = httpx.get(f"{base}/api/projects/{project['id']}/documents", timeout=5).json()
        assert [item["filename"] for item in listed["items"]] == ["small.txt"]
    finally:
        server.send_signal(signal.SIGINT)
        output = server.communicate(timeout=20)[0].decode()
    assert server.returncode == 0, output
    staging = tmp_path / "var" / "storage" / "tmp"
    assert list(staging.iterdir()) == [], "the refused upload left a temp file"
