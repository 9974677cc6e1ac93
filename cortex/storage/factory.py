"""Choose the object store from settings (called by bootstrap only)."""

from __future__ import annotations

from pathlib import Path

from cortex.settings import Settings
from cortex.storage.base import ObjectStore
from cortex.storage.local import LocalObjectStore
from cortex.storage.s3 import S3ObjectStore


def open_object_store(settings: Settings) -> ObjectStore:
    storage = settings.storage
    if not storage.bucket:
        return LocalObjectStore(settings.storage_dir)
    return S3ObjectStore(
        bucket=storage.bucket,
        endpoint_url=storage.endpoint_url,
        access_key=storage.access_key,
        secret_key=storage.secret_key,
        region=storage.region,
        staging_dir=Path(settings.var_dir) / "upload-staging",
        connect_timeout=settings.database.connect_timeout,
    )
