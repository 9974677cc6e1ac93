"""Objects in an S3-compatible bucket (AWS S3, MinIO, ...) through aioboto3.

aioboto3 is asynchronous and its clients belong to one event loop, while ingest runs in worker
threads. The store owns a private event loop on a daemon thread with one long-lived client;
synchronous callers submit coroutines to it and wait.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from concurrent.futures import Future
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import aioboto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from cortex.storage.base import ObjectMissing, StorageUnavailable

T = TypeVar("T")
_MISSING = frozenset({"404", "NoSuchKey", "NotFound"})


class S3ObjectStore:
    """A bucket reached through one aioboto3 client on the store's own event loop."""

    def __init__(
        self,
        *,
        bucket: str,
        endpoint_url: str = "",
        access_key: str = "",
        secret_key: str = "",
        region: str = "us-east-1",
        staging_dir: str | Path,
        connect_timeout: float = 5.0,
    ) -> None:
        self.bucket = bucket
        self.description = f"s3 bucket {bucket}" + (f" at {endpoint_url}" if endpoint_url else "")
        self._staging = Path(staging_dir)
        self._staging.mkdir(parents=True, exist_ok=True)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="s3-store", daemon=True)
        self._thread.start()
        session = aioboto3.Session(
            aws_access_key_id=access_key or None,
            aws_secret_access_key=secret_key or None,
            region_name=region,
        )
        config = Config(
            connect_timeout=connect_timeout,
            read_timeout=60,
            retries={"max_attempts": 2, "mode": "standard"},
        )
        self._client_context = session.client(
            "s3", endpoint_url=endpoint_url or None, config=config
        )
        self._client: Any = self._run(self._client_context.__aenter__())

    def _submit(self, coroutine: Coroutine[Any, Any, T]) -> Future[T]:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop)

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        try:
            return self._submit(coroutine).result()
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", ""))
            if code in _MISSING:
                raise ObjectMissing(f"no object in {self.bucket}") from None
            raise StorageUnavailable(f"{self.description}: {code or error}") from error
        except (BotoCoreError, OSError) as error:
            raise StorageUnavailable(f"{self.description}: {error}") from error

    def staging_dir(self) -> Path:
        return self._staging

    def put_file(self, key: str, path: Path) -> None:
        try:
            self._run(self._client.upload_file(str(path), self.bucket, key))
        finally:
            path.unlink(missing_ok=True)

    def read_bytes(self, key: str) -> bytes:
        async def read() -> bytes:
            response = await self._client.get_object(Bucket=self.bucket, Key=key)
            async with response["Body"] as body:
                data: bytes = await body.read()
                return data

        return self._run(read())

    def iter_bytes(self, key: str, chunk_size: int = 256 * 1024) -> Iterator[bytes]:
        response = self._run(self._client.get_object(Bucket=self.bucket, Key=key))
        body = response["Body"]
        try:
            while chunk := self._run(body.read(chunk_size)):
                yield chunk
        finally:
            body.close()

    def modified_at(self, key: str) -> datetime | None:
        try:
            head = self._run(self._client.head_object(Bucket=self.bucket, Key=key))
        except ObjectMissing:
            return None
        modified: datetime = head["LastModified"]
        return modified

    def delete(self, key: str) -> None:
        self._run(self._client.delete_object(Bucket=self.bucket, Key=key))

    def check(self) -> None:
        self._run(self._client.head_bucket(Bucket=self.bucket))

    def ensure_bucket(self) -> None:
        """Create the bucket when it does not exist (local MinIO, tests)."""
        try:
            self.check()
        except ObjectMissing:
            self._run(self._client.create_bucket(Bucket=self.bucket))

    def close(self) -> None:
        if self._loop.is_closed():
            return
        self._submit(self._client_context.__aexit__(None, None, None)).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()
