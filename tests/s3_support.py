"""A real S3-compatible server for tests: moto's standalone server in its own process, on loopback.

Tests talk to it over HTTP as Cortex would talk to MinIO or AWS. When it cannot start, the
fixtures that need it fail with the reason (server output included): a skipped test would prove
nothing.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import boto3
import httpx

from cortex.storage.s3 import S3ObjectStore

ACCESS_KEY = "testing"
SECRET_KEY = "testing"
REGION = "us-east-1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def closed_port() -> int:
    """A loopback port nobody listens on (bound once, then released)."""
    return free_port()


def unique_bucket(prefix: str = "cortex-test") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


class MotoServerError(RuntimeError):
    """The moto server did not start (or did not stop)."""


class MotoServer:
    """``python -m moto.server`` on 127.0.0.1:PORT, its output kept in a log file."""

    def __init__(self, log_dir: Path) -> None:
        self.port = free_port()
        self.endpoint_url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / f"moto-{self.port}.log"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 20.0) -> None:
        env = {
            **os.environ,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_DEFAULT_REGION": REGION,
        }
        with self.log_path.open("wb") as log:  # the child keeps its own descriptor
            self._process = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
            )
        deadline = time.monotonic() + timeout
        while True:
            if self._process.poll() is not None:
                raise MotoServerError(
                    f"moto server exited with {self._process.returncode}: {self.output()}"
                )
            try:
                # Any HTTP answer means it serves; moto's own API answers 200 once it is up.
                httpx.get(f"{self.endpoint_url}/moto-api/", timeout=1.0)
                return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise MotoServerError(
                    f"moto server did not answer on {self.endpoint_url} within {timeout:g} s: "
                    f"{self.output()}"
                )
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop the process and wait until the port refuses connections."""
        process = self._process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        deadline = time.monotonic() + 10
        while _accepts(self.port):
            if time.monotonic() > deadline:
                raise MotoServerError(f"port {self.port} still accepts after moto stopped")
            time.sleep(0.05)

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def output(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return "(no output)"

    def client(self) -> Any:
        """A plain boto3 S3 client on the server (to look at the bucket from outside Cortex)."""
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name=REGION,
        )

    def store(self, bucket: str, staging_dir: Path, **options: Any) -> S3ObjectStore:
        return S3ObjectStore(
            bucket=bucket,
            endpoint_url=self.endpoint_url,
            access_key=ACCESS_KEY,
            secret_key=SECRET_KEY,
            region=REGION,
            staging_dir=staging_dir,
            **options,
        )

    def create_bucket(self, bucket: str, staging_dir: Path) -> None:
        """Create the bucket through S3ObjectStore.ensure_bucket (as `cortex` setups do)."""
        store = self.store(bucket, staging_dir)
        try:
            store.ensure_bucket()
        finally:
            store.close()

    def keys(self, bucket: str) -> list[str]:
        listing = self.client().list_objects_v2(Bucket=bucket)
        return sorted(item["Key"] for item in listing.get("Contents", []))

    def storage_env(self, bucket: str, **extra: str) -> dict[str, str]:
        """CORTEX_* settings that put Cortex's originals in this server's bucket."""
        return {
            "CORTEX_STORAGE_BUCKET": bucket,
            "CORTEX_STORAGE_ENDPOINT_URL": self.endpoint_url,
            "CORTEX_STORAGE_ACCESS_KEY": ACCESS_KEY,
            "CORTEX_STORAGE_SECRET_KEY": SECRET_KEY,
            "CORTEX_STORAGE_REGION": REGION,
            "CORTEX_STORAGE_PURGE_GRACE_SECONDS": "0",
            **extra,
        }


def _accepts(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0
