"""File uploads (材料上传): S3 presigned POSTs, so photos go from the phone straight to the bucket.

* :class:`S3Files` (AWS stages, and tests under moto): ``generate_presigned_post`` on the private
  uploads bucket with the content type and a size range as policy conditions; ``exists`` is a HEAD.
* :class:`LocalFiles` (local stage): when ``GJJ_S3_ENDPOINT`` is set (e.g. a ``moto_server`` on
  ``http://127.0.0.1:5001``) it is :class:`S3Files` against that endpoint; otherwise the "URL" is a
  directory under ``.local/uploads/`` and the client (or a test) writes the file there as ``fields.key``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

from chalicelib import adapters, settings


class Files(Protocol):
    def presigned_post(self, key: str, content_type: str, max_bytes: int, expires: int) -> tuple[str, dict]: ...

    def exists(self, key: str) -> bool: ...


class S3Files:
    def __init__(self, bucket: str | None = None, endpoint: str | None = None):
        self.bucket = bucket or settings.get().uploads_bucket
        self.endpoint = endpoint
        self._client = None

    @property
    def client(self):
        if self._client is None:
            import boto3
            from botocore.config import Config

            self._client = boto3.client("s3", region_name=settings.get().region, endpoint_url=self.endpoint,
                                        config=Config(signature_version="s3v4"))
        return self._client

    def presigned_post(self, key: str, content_type: str, max_bytes: int, expires: int) -> tuple[str, dict]:
        post = self.client.generate_presigned_post(
            Bucket=self.bucket, Key=key, Fields={"Content-Type": content_type},
            Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, max_bytes]], ExpiresIn=expires)
        return post["url"], post["fields"]

    def put_file(self, key: str, path) -> None:
        """A file of this machine into the bucket (``gjj import`` in an AWS stage: its workers read it there)."""
        self.client.upload_file(str(path), self.bucket, key)

    def size(self, key: str) -> int:
        return int(self.client.head_object(Bucket=self.bucket, Key=key)["ContentLength"])

    def read(self, key: str, start: int, end: int, piece: int = 1 << 18):
        """The bytes [start, end) of an object, a piece at a time (one ranged GET)."""
        if start >= end:
            return
        body = self.client.get_object(Bucket=self.bucket, Key=key, Range=f"bytes={start}-{end - 1}")["Body"]
        try:
            yield from body.iter_chunks(piece)
        finally:
            body.close()

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError:
            return False
        return True


class LocalFiles:
    def __init__(self, root: Path | None = None):
        self._root = root

    @property
    def root(self) -> Path:
        return self._root or settings.get().local_dir / "uploads"

    def presigned_post(self, key: str, content_type: str, max_bytes: int, expires: int) -> tuple[str, dict]:
        self.root.mkdir(parents=True, exist_ok=True)
        return self.root.resolve().as_uri(), {"key": key, "Content-Type": content_type}

    def exists(self, key: str) -> bool:
        return (self.root / key).is_file()


def _local() -> Files:
    endpoint = os.environ.get("GJJ_S3_ENDPOINT")
    return S3Files(endpoint=endpoint) if endpoint else LocalFiles()


_files: Files | None = None


def files() -> Files:
    global _files
    if _files is None:
        _files = adapters.pick(_local, S3Files)
    return _files


def reset() -> None:
    global _files
    _files = None
