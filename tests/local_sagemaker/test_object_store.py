"""The engine's object store: its own SeaweedFS, or one running as a service of its own."""

from __future__ import annotations

import shutil
import subprocess
import sys

import boto3
import pytest

from include.local_sagemaker import channels, object_store
from include.local_sagemaker.engine import LocalSageMaker
from include.local_sagemaker.seaweedfs import SeaweedServer

pytestmark = pytest.mark.slow


def _client(url: str):
    return boto3.client(
        "s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )


def test_an_engine_on_a_store_of_its_own(tmp_path):
    """What the compose file runs: SeaweedFS as a service, the engine given its URL and credentials."""
    service = SeaweedServer(tmp_path / "seaweedfs").start()
    try:
        engine = LocalSageMaker(tmp_path / "engine", object_store=service.store).start()
        try:
            s3 = _client(engine.endpoint_url)
            s3.create_bucket(Bucket="shared-store")
            s3.put_object(Bucket="shared-store", Key="a/b.txt", Body=b"kept by the service")
        finally:
            engine.stop()
        assert not (tmp_path / "engine" / "s3").exists()
        # The engine stopped; the service did not, and holds the object.
        stored = service.store.client.get_object(Bucket="shared-store", Key="a/b.txt")
        assert stored["Body"].read() == b"kept by the service"
    finally:
        service.stop()


def test_the_cli_needs_the_stores_credentials(tmp_path):
    finished = subprocess.run(
        [sys.executable, "-m", "include.local_sagemaker", "serve", "--state-dir", str(tmp_path),
         "--object-store", "http://127.0.0.1:9"],
        capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert finished.returncode == 2
    assert "LOCAL_SAGEMAKER_STORE_ACCESS_KEY_ID" in finished.stderr


def test_a_stream_reads_the_object_range_by_range_and_ends_if_it_changes(tmp_path, monkeypatch):
    """What Pipe-mode feeds read: the whole object over several ranged GETs, in chunks no larger than
    asked; nothing for an empty object, None for a missing one; a stream whose object is replaced ends
    early, with the first object's bytes only, rather than splice two objects' bytes."""
    monkeypatch.setattr(object_store, "RANGE_BYTES", 1 << 20)
    service = SeaweedServer(tmp_path / "seaweedfs").start()
    try:
        store = service.store
        store.client.create_bucket(Bucket="streams")
        data = bytes(range(256)) * (5 * 4096 + 7)  # 5 MiB and a little more: six ranges
        store.put("streams", "object", data)
        store.put("streams", "empty", b"")
        chunks = list(store.stream("streams", "object", 300_000))
        assert b"".join(chunks) == data
        assert max(len(chunk) for chunk in chunks) <= 300_000
        assert list(store.stream("streams", "empty", 1024)) == []
        assert store.stream("streams", "missing", 1024) is None

        stream = store.stream("streams", "object", 1 << 20)
        first = next(stream)
        store.put("streams", "object", b"another object of another length")
        # The ranges already fetched ahead are the first object's; the next one finds it replaced.
        streamed = first + b"".join(stream)
        assert data.startswith(streamed)
        assert len(streamed) <= (1 + object_store.RANGES_AHEAD) << 20
    finally:
        service.stop()


def test_the_store_takes_more_buckets_than_its_disk_has_gigabytes(tmp_path):
    """SeaweedFS gives each bucket volumes of its own and by default caps their count at free disk / volume
    size; a store on a small disk then refused every write to a new bucket after a few dozen."""
    free_gigabytes = shutil.disk_usage(tmp_path).free // 2**30
    service = SeaweedServer(tmp_path / "seaweedfs").start()
    try:
        store = service.store
        for index in range(free_gigabytes + 20):
            bucket = f"bucket-{index:05d}"
            store.client.create_bucket(Bucket=bucket)
            store.put(bucket, "object", b"stored")
        assert store.client.get_object(Bucket=bucket, Key="object")["Body"].read() == b"stored"
    finally:
        service.stop()


def test_a_channel_downloads_together_and_names_the_object_it_cannot_write(tmp_path):
    """File mode copies a channel's objects through one transfer manager, several at a time: every byte
    at its relative path, a missing object reported at its place, and an object that cannot be written
    (a file where another key needs a directory) failing the job with its key, leaving no partial file."""
    service = SeaweedServer(tmp_path / "seaweedfs").start()
    try:
        store = service.store
        store.client.create_bucket(Bucket="channel")
        contents = {
            f"train/part-{index // 10}/{index:03d}.csv": f"{index},1\n".encode() * index
            for index in range(40)
        }
        for key, body in contents.items():
            store.put("channel", key, body)
        objects = channels.host_objects(store, _prefix_channel("s3://channel/train/"), "", 0, 1)
        written = channels.download_objects(store, objects, tmp_path / "train")
        assert written == sum(len(body) for body in contents.values())
        for key, body in contents.items():
            assert (tmp_path / key).read_bytes() == body

        targets = [
            ("channel", key, tmp_path / "again" / key.replace("/", "_"))
            for key in ("train/part-0/001.csv", "missing")
        ]
        (tmp_path / "again").mkdir()
        assert list(store.download_all(targets)) == [len(contents["train/part-0/001.csv"]), None]

        store.put("channel", "clash/x", b"a file")
        store.put("channel", "clash/x/y", b"where the file is a directory")
        clash = channels.host_objects(store, _prefix_channel("s3://channel/clash/"), "", 0, 1)
        with pytest.raises(channels.ChannelError, match=r"s3://channel/clash/x cannot be written as 'x'"):
            channels.download_objects(store, clash, tmp_path / "clash")
        # The other download was cancelled or finished; either way no temporary or partial file is left.
        left = {
            str(path.relative_to(tmp_path / "clash")): path.read_bytes()
            for path in (tmp_path / "clash").rglob("*")
            if path.is_file()
        }
        assert left in ({}, {"x/y": b"where the file is a directory"})
    finally:
        service.stop()


def _prefix_channel(uri: str) -> dict:
    return {"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": uri}}}
