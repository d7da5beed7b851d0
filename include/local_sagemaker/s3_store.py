"""S3, durably: moto's S3 implementation serves the API, and every change is mirrored to disk.

moto keeps objects in memory. The engine writes each successful change through to
``<state-dir>/s3/<bucket>/`` and loads those files back into moto when it starts, so data uploaded
before a restart (training sets, model artifacts) is still there afterwards.

On disk, an object is ``<sha1(key)>.json`` (key, metadata, data file name) plus the data file
``<sha1(key)>-<etag>.bin``. The data is written first and the JSON document last, both atomically,
so a crash leaves either the old object or the new one.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

from moto.core import DEFAULT_ACCOUNT_ID
from moto.s3.models import s3_backends

from include.local_sagemaker.names import REGION
from include.local_sagemaker.state import remove_stale_temporaries, write_bytes_atomic, write_json_atomic

_MUTATING_METHODS = {"PUT", "POST", "DELETE"}
# Metadata moto records from request headers that describe the request, not the object.
_REQUEST_ONLY_METADATA = ("x-amz-content-sha256", "x-amz-checksum", "x-amz-sdk-checksum", "content-md5")


class S3Store:
    """The engine's view of S3: moto's in-memory backend plus its on-disk mirror under ``root``."""

    def __init__(self, root: Path):
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self.backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
        self._lock = threading.Lock()

    # -- objects, for the engine itself -------------------------------------------------------
    def bucket_exists(self, bucket: str) -> bool:
        return bucket in self.backend.buckets

    def list_keys(self, bucket: str, prefix: str = "") -> list[str]:
        """Keys under ``prefix`` in lexicographic order (as ListObjectsV2 orders them)."""
        if not self.bucket_exists(bucket):
            return []
        keys = self.backend.get_bucket(bucket).keys.keys()
        return sorted(key for key in keys if key.startswith(prefix))

    def get(self, bucket: str, key: str) -> bytes | None:
        if not self.bucket_exists(bucket):
            return None
        found = self.backend.get_object(bucket, key)
        return None if found is None else found.value

    def put(self, bucket: str, key: str, data: bytes, content_type: str = "application/octet-stream") -> str:
        """Store an object (creating the bucket's mirror entry if needed); returns its ETag."""
        stored = self.backend.put_object(bucket, key, data)
        stored.set_metadata({"content-type": content_type})
        self.mirror_key(bucket, key)
        return stored.etag

    # -- the mirror ---------------------------------------------------------------------------
    def mirror_request(self, method: str, path: str, query: str) -> None:
        """Write through the effect of a successful S3 request (path-style ``/<bucket>/<key>``)."""
        if method not in _MUTATING_METHODS:
            return
        bucket, _, key = unquote(path).lstrip("/").partition("/")
        if not bucket:
            return
        if not key:
            # CreateBucket, DeleteBucket, DeleteObjects (POST ?delete) or a bucket sub-resource.
            self.mirror_bucket(bucket)
        else:
            self.mirror_key(bucket, key)

    def mirror_bucket(self, bucket: str) -> None:
        """Make ``<root>/<bucket>`` match moto's bucket: every key present, nothing extra."""
        directory = self._bucket_dir(bucket)
        with self._lock:
            if not self.bucket_exists(bucket):
                shutil.rmtree(directory, ignore_errors=True)
                return
            directory.mkdir(parents=True, exist_ok=True)
            write_json_atomic(directory / ".bucket.json", {"Name": bucket})
            live = set(self.backend.get_bucket(bucket).keys.keys())
        on_disk = {document["key"] for document in self._documents(directory)}
        for key in live ^ on_disk:
            self.mirror_key(bucket, key)

    def mirror_key(self, bucket: str, key: str) -> None:
        """Make the mirror of one object match moto's: written if present, removed if not."""
        directory = self._bucket_dir(bucket)
        stem = hashlib.sha1(key.encode()).hexdigest()
        document_path = directory / f"{stem}.json"
        with self._lock:
            found = self.backend.get_object(bucket, key) if self.bucket_exists(bucket) else None
            if found is None:
                document_path.unlink(missing_ok=True)
                for data_file in directory.glob(f"{stem}-*.bin"):
                    data_file.unlink(missing_ok=True)
                return
            if not (directory / ".bucket.json").exists():
                write_json_atomic(directory / ".bucket.json", {"Name": bucket})
            data_name = f"{stem}-{found.etag.strip(chr(34)).replace('/', '_')}.bin"
            if not (directory / data_name).exists():
                write_bytes_atomic(directory / data_name, found.value)
            metadata = {
                name: value
                for name, value in dict(found.metadata).items()
                if not name.startswith(_REQUEST_ONLY_METADATA)
            }
            write_json_atomic(document_path, {"key": key, "data": data_name, "metadata": metadata})
            for stale in directory.glob(f"{stem}-*.bin"):
                if stale.name != data_name:
                    stale.unlink(missing_ok=True)

    def load(self) -> int:
        """Load the mirror into moto (at start). Returns the number of objects restored."""
        remove_stale_temporaries(self.root)
        restored = 0
        for marker in sorted(self.root.glob("*/.bucket.json")):
            bucket = json.loads(marker.read_text())["Name"]
            if not self.bucket_exists(bucket):
                self.backend.create_bucket(bucket, REGION)
            for document in self._documents(marker.parent):
                data_path = marker.parent / document["data"]
                if not data_path.exists():
                    continue
                stored = self.backend.put_object(bucket, document["key"], data_path.read_bytes())
                stored.set_metadata(document["metadata"])
                restored += 1
        return restored

    def _bucket_dir(self, bucket: str) -> Path:
        return self.root / bucket

    @staticmethod
    def _documents(directory: Path) -> Iterator[dict]:
        for path in directory.glob("*.json"):
            if path.name != ".bucket.json":
                yield json.loads(path.read_text())
