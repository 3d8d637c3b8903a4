"""Where photo blobs' bytes live: a ``BlobStore`` keyed by SHA-256. Local disk by default (under
``blob_dir``), S3-compatible object storage by configuration (``blob_store = s3``). Both are
write-once: a blob's name is its content's hash, so writing it twice writes the same bytes."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, Protocol

import anyio.to_thread

from services.inspection.config import Settings


class BlobStore(Protocol):
    name: str

    async def put(self, sha256: str, data: bytes, content_type: str) -> None: ...

    async def get(self, sha256: str) -> bytes | None: ...


class LocalBlobStore:
    """``<root>/ab/cd/<sha256>``, written to a temporary file and renamed into place (atomic), so
    a reader never sees half a blob."""

    name = "local"

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def _put(self, sha256: str, data: bytes) -> None:
        target = self.path(sha256)
        if target.exists():
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def _get(self, sha256: str) -> bytes | None:
        try:
            return self.path(sha256).read_bytes()
        except FileNotFoundError:
            return None

    async def put(self, sha256: str, data: bytes, content_type: str) -> None:
        await anyio.to_thread.run_sync(self._put, sha256, data)

    async def get(self, sha256: str) -> bytes | None:
        return await anyio.to_thread.run_sync(self._get, sha256)


class S3BlobStore:
    """An S3 bucket (any S3-compatible endpoint), key ``<prefix><sha256>``; boto3's blocking calls
    run in a worker thread. The client is built once (boto3 clients are thread-safe)."""

    name = "s3"

    def __init__(self, *, bucket: str, prefix: str = "", endpoint_url: str | None = None, region: str = "us-east-1",
                 access_key_id: str | None = None, secret_access_key: str | None = None) -> None:
        import boto3
        from botocore.config import Config

        self.bucket, self.prefix = bucket, prefix
        self.client: Any = boto3.session.Session().client(
            "s3", endpoint_url=endpoint_url, region_name=region, aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            config=Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=30))

    def key(self, sha256: str) -> str:
        return f"{self.prefix}{sha256}"

    def _put(self, sha256: str, data: bytes, content_type: str) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self.key(sha256), Body=data, ContentType=content_type)

    def _get(self, sha256: str) -> bytes | None:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self.key(sha256))["Body"].read()
        except self.client.exceptions.NoSuchKey:
            return None

    async def put(self, sha256: str, data: bytes, content_type: str) -> None:
        await anyio.to_thread.run_sync(self._put, sha256, data, content_type)

    async def get(self, sha256: str) -> bytes | None:
        return await anyio.to_thread.run_sync(self._get, sha256)


def build_store(settings: Settings) -> BlobStore:
    if settings.blob_store == "s3":
        secret = settings.blob_s3_secret_access_key
        return S3BlobStore(bucket=settings.blob_s3_bucket, prefix=settings.blob_s3_prefix,
                           endpoint_url=settings.blob_s3_endpoint_url, region=settings.blob_s3_region,
                           access_key_id=settings.blob_s3_access_key_id,
                           secret_access_key=secret.get_secret_value() if secret else None)
    return LocalBlobStore(settings.blob_directory)
