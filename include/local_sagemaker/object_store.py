"""S3 as the engine itself uses it: an S3 client of the object store, with the few calls jobs need.

The store is the engine's own SeaweedFS (:mod:`include.local_sagemaker.seaweedfs`) or, with
``--object-store``, one run as a service of its own. Objects stream between the store and files:
channels are downloaded, artifacts uploaded, without holding whole objects in memory.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
from boto3.s3.transfer import TransferConfig, create_transfer_manager
from botocore.config import Config
from botocore.exceptions import ClientError

from include.local_sagemaker.names import REGION

_MISSING = {"NoSuchKey", "NoSuchBucket", "404"}
RANGE_BYTES = 8 << 20  # one GET of a streamed object
# Ranges of a streamed object in flight at once: one GET waits on SeaweedFS about as long as it takes to
# hand its bytes on, so fetching ahead keeps the stream busy (the memory: this many ranges).
RANGES_AHEAD = 4


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
        (size,) = self.download_all([(bucket, key, destination)])
        return size

    def download_all(self, targets: list[tuple[str, str, Path]]) -> Iterator[int | None]:
        """Stream each ``(bucket, key, file)`` to its file; yields, in order, each object's size, or None
        if it does not exist. An error of the n-th download (say its file cannot be written) is raised at
        the n-th step, and the downloads still under way are cancelled.

        One transfer manager moves all of them, several at a time: a channel of 300 objects of 200 kB took
        4.8-6.3 s this way against 23.6-26.1 s one ``download_file`` after another, each waiting on its
        own round trips (benchmarks/results/engine.md); a large object is split into ranges either way.
        """
        with create_transfer_manager(self.client, TransferConfig()) as manager:
            futures = [manager.download(bucket, key, str(path)) for bucket, key, path in targets]
            for future, (_, _, path) in zip(futures, targets, strict=True):
                try:
                    future.result()
                except ClientError as error:
                    if error.response["Error"]["Code"] not in _MISSING:
                        raise
                    yield None
                    continue
                yield path.stat().st_size

    def stream(self, bucket: str, key: str, chunk_bytes: int) -> Iterator[bytes] | None:
        """An object's bytes in chunks of at most ``chunk_bytes``, or None if it does not exist.

        The object is fetched by consecutive ranged GETs of :data:`RANGE_BYTES`, :data:`RANGES_AHEAD` at a
        time, each after the first pinned to the first one's ETag, so memory is bounded by those ranges
        whatever the object's size. One long GET read chunk by chunk is several times slower from SeaweedFS
        (33 against 188 MB/s for a 512 MiB object on a 2-core machine, which made Pipe-mode channels
        crawl). If the object is deleted or replaced while it streams, the chunks end early.
        """
        first = self._range(bucket, key, 0)
        return None if first is None else self._chunks(bucket, key, first, chunk_bytes)

    def _range(
        self, bucket: str, key: str, start: int, etag: str | None = None
    ) -> tuple[bytes, int, str] | None:
        """(bytes from ``start``, the object's size, its ETag) by one ranged GET; None if the object is
        gone, or is no longer the one whose ETag is ``etag``."""
        request = {"Bucket": bucket, "Key": key, "Range": f"bytes={start}-{start + RANGE_BYTES - 1}"}
        if etag:
            request["IfMatch"] = etag
        try:
            response = self.client.get_object(**request)
        except ClientError as error:
            code = error.response["Error"]["Code"]
            if code in _MISSING or code in {"PreconditionFailed", "412"}:
                return None
            if code == "InvalidRange" and start == 0:  # an empty object
                return b"", 0, ""
            raise
        content_range = response.get("ContentRange")  # "bytes 0-8388607/123456789"
        size = int(content_range.rsplit("/", 1)[1]) if content_range else response["ContentLength"]
        return response["Body"].read(), size, response.get("ETag", "")

    def _chunks(
        self, bucket: str, key: str, first: tuple[bytes, int, str], chunk_bytes: int
    ) -> Iterator[bytes]:
        data, size, etag = first
        starts = iter(range(len(data), size, RANGE_BYTES))
        pool = ThreadPoolExecutor(max_workers=RANGES_AHEAD, thread_name_prefix="object-range")
        ahead = deque()
        try:
            while data:
                while len(ahead) < RANGES_AHEAD and (start := next(starts, None)) is not None:
                    ahead.append(pool.submit(self._range, bucket, key, start, etag))
                for offset in range(0, len(data), chunk_bytes):
                    yield data[offset : offset + chunk_bytes]
                following = ahead.popleft().result() if ahead else None
                data = following[0] if following else b""
        finally:  # the reader may stop early: the ranges not yet fetched are dropped
            pool.shutdown(wait=False, cancel_futures=True)

    def upload(self, source: Path, bucket: str, key: str, content_type: str) -> None:
        """Stream a file into an object (multipart above s3transfer's threshold)."""
        self.client.upload_file(str(source), bucket, key, ExtraArgs={"ContentType": content_type})

    def put(self, bucket: str, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        """Store a small object held in memory (a transform result, a log document)."""
        self.client.put_object(Bucket=bucket, Key=key, Body=data, ContentType=content_type)
