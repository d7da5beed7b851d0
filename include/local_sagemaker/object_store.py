"""S3 as the engine itself uses it: an S3 client of the object store, with the few calls jobs need.

The store is the engine's own SeaweedFS (:mod:`include.local_sagemaker.seaweedfs`) or, with
``--object-store``, one run as a service of its own. Objects stream between the store and files:
channels are downloaded, artifacts uploaded, without holding whole objects in memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from include.local_sagemaker.names import REGION

_MISSING = {"NoSuchKey", "NoSuchBucket", "404"}


class ObjectStore:
    """The store at ``endpoint``, reached with the engine's credentials for it."""

    def __init__(self, endpoint: str, access_key: str, secret_key: str):
        self.endpoint = endpoint.rstrip("/")
        self.access_key = access_key
        self.secret_key = secret_key
        self.client = boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            config=Config(
                s3={"addressing_style": "path"},
                retries={"mode": "standard", "max_attempts": 3},
                max_pool_connections=32,
            ),
        )

    def bucket_exists(self, bucket: str) -> bool:
        try:
            self.client.head_bucket(Bucket=bucket)
            return True
        except ClientError:
            return False

    def list_objects(self, bucket: str, prefix: str = "") -> Iterator[tuple[str, int]]:
        """``(key, size)`` of the objects under ``prefix`` in lexicographic key order, page by page
        (nothing if no bucket)."""
        paginator = self.client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
                for entry in page.get("Contents", ()):
                    yield entry["Key"], entry["Size"]
        except ClientError as error:
            if error.response["Error"]["Code"] != "NoSuchBucket":
                raise

    def size(self, bucket: str, key: str) -> int | None:
        """An object's size in bytes, or None if it does not exist."""
        try:
            return self.client.head_object(Bucket=bucket, Key=key)["ContentLength"]
        except ClientError:
            return None

    def get(self, bucket: str, key: str) -> bytes | None:
        """A small object's bytes (a manifest, a request), or None if it does not exist."""
        try:
            return self.client.get_object(Bucket=bucket, Key=key)["Body"].read()
        except ClientError as error:
            if error.response["Error"]["Code"] in _MISSING:
                return None
            raise

    def read_range(self, bucket: str, key: str, start: int, length: int) -> bytes | None:
        """``length`` bytes of an object from byte ``start`` (fewer at its end), by one ranged GET;
        None if it does not exist."""
        try:
            response = self.client.get_object(
                Bucket=bucket, Key=key, Range=f"bytes={start}-{start + length - 1}"
            )
        except ClientError as error:
            if error.response["Error"]["Code"] in _MISSING:
                return None
            if error.response["Error"]["Code"] == "InvalidRange":  # from at or past the end
                return b""
            raise
        return response["Body"].read()

    def download(self, bucket: str, key: str, destination: Path) -> int | None:
        """Stream an object to ``destination``; its size, or None if it does not exist."""
        try:
            self.client.download_file(bucket, key, str(destination))
        except ClientError as error:
            if error.response["Error"]["Code"] in _MISSING:
                return None
            raise
        return destination.stat().st_size

    def stream(self, bucket: str, key: str, chunk_bytes: int) -> Iterator[bytes] | None:
        """An object's bytes in chunks of at most ``chunk_bytes`` as they arrive, or None if it does not
        exist (memory is bounded by a chunk, whatever the object's size)."""
        try:
            body = self.client.get_object(Bucket=bucket, Key=key)["Body"]
        except ClientError as error:
            if error.response["Error"]["Code"] in _MISSING:
                return None
            raise
        return body.iter_chunks(chunk_bytes)

    def upload(self, source: Path, bucket: str, key: str, content_type: str) -> None:
        """Stream a file into an object (multipart above s3transfer's threshold)."""
        self.client.upload_file(str(source), bucket, key, ExtraArgs={"ContentType": content_type})

    def put(self, bucket: str, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        """Store a small object held in memory (a transform result, a log document)."""
        self.client.put_object(Bucket=bucket, Key=key, Body=data, ContentType=content_type)
