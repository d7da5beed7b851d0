"""MnistToS3Operator against the local engine's S3 through the aws_default connection (local mode)."""

from __future__ import annotations

import gzip
import hashlib
import pickle

import boto3
import numpy as np
import pytest

from include.mnist import FORMATS, SourceSpecError
from include.recordio import read_dense
from operators.mnist_to_s3 import MnistToS3Operator

# Every test here talks to the local engine's S3 through the aws_default connection.
pytestmark = pytest.mark.slow

BUCKET = "mnist-data"
PREFIX = "runs/run-1"


@pytest.fixture
def s3(aws_connection):
    client = boto3.client("s3", endpoint_url=aws_connection, region_name="us-east-1")
    yield client
    for bucket in client.list_buckets()["Buckets"]:
        # A page is at most 1,000 keys, as many as one DeleteObjects takes.
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket["Name"]):
            if page.get("Contents"):
                client.delete_objects(
                    Bucket=bucket["Name"], Delete={"Objects": [{"Key": o["Key"]} for o in page["Contents"]]}
                )
        client.delete_bucket(Bucket=bucket["Name"])


def keys(client, prefix=""):
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return sorted(o["Key"] for page in pages for o in page.get("Contents", []))


def run(**kwargs):
    defaults = {"task_id": "mnist_to_s3", "s3_bucket": BUCKET, "s3_prefix": PREFIX, "create_bucket": True}
    return MnistToS3Operator(**{**defaults, **kwargs}).execute(context={})


def test_sample_in_every_format_lands_on_s3_with_locations_and_counts(s3, tmp_path):
    result = run(
        formats=sorted(FORMATS), splits=["validation", "test"], rows_per_shard=300, cache_dir=str(tmp_path)
    )

    assert result["source"] == "sample"
    assert result["sizes"] == {"validation": 500, "test": 500}
    assert set(result["outputs"]) == set(FORMATS)
    assert result["outputs"]["recordio"]["test"] == {
        "s3_uri": f"s3://{BUCKET}/{PREFIX}/recordio/test/",
        "keys": [f"{PREFIX}/recordio/test/part-0000{i}.recordio" for i in range(2)],
        "records": 500,
        "feature_dim": 784,
        "content_type": "application/x-recordio-protobuf",
    }
    outputs = [out for by_split in result["outputs"].values() for out in by_split.values()]
    expected_keys = sorted(key for out in outputs for key in out["keys"])
    # Two shards of up to 300 rows per split; the seed's whole-split formats write their own files: the
    # gzip IDX pair, and one file per digit.
    whole_split_files = {"idx": 2, "csv-digits": 500}
    files = {
        name: [len(out["keys"]) for out in by_split.values()] for name, by_split in result["outputs"].items()
    }
    assert files == {name: [whole_split_files.get(name, 2)] * 2 for name in FORMATS}
    assert keys(s3) == expected_keys

    bodies = [s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() for key in outputs[-1]["keys"]]
    features, labels = read_dense(b"".join(bodies))
    assert features.shape == (500, 784)
    np.testing.assert_array_equal(np.bincount(labels.astype(int)), [50] * 10)
    line = s3.get_object(Bucket=BUCKET, Key=f"{PREFIX}/csv-features/test/part-00000.csv")["Body"].readline()
    assert len(line.split(b",")) == 784


def test_pickle_source_on_s3_is_read_through_the_connection(s3, tmp_path):
    rng = np.random.default_rng(3)
    images = rng.integers(0, 256, size=(4, 784), dtype=np.uint8) * (rng.random((4, 784)) > 0.7)
    labels = np.array([3, 1, 4, 1])
    split = (images.astype(np.float32) / 255, labels)
    data = gzip.compress(pickle.dumps((split, split, split), protocol=2))
    s3.create_bucket(Bucket="sample-data")
    s3.put_object(Bucket="sample-data", Key="mnist/mnist.pkl.gz", Body=data)
    spec = f"s3://sample-data/mnist/mnist.pkl.gz#sha256={hashlib.sha256(data).hexdigest()}"

    result = run(source=spec, formats=["libsvm"], splits=["train"], pixels="uint8", cache_dir=str(tmp_path))
    assert result["sizes"] == {"train": 4}
    body = s3.get_object(Bucket=BUCKET, Key=f"{PREFIX}/libsvm/train/part-00000.libsvm")["Body"].read()
    first = body.decode().splitlines()[0].split()
    assert first[0] == "3"
    assert first[1:] == [f"{i + 1}:{images[0, i]}" for i in np.flatnonzero(images[0])]


def test_a_failed_upload_leaves_nothing_on_s3(s3, tmp_path, monkeypatch):
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    real_load_file = S3Hook.load_file
    calls = []

    def flaky_load_file(self, filename, key, *args, **kwargs):
        calls.append(key)
        if len(calls) == 3:
            raise OSError("connection reset by peer")
        return real_load_file(self, filename, key, *args, **kwargs)

    monkeypatch.setattr(S3Hook, "load_file", flaky_load_file)
    with pytest.raises(OSError, match="connection reset"):
        run(formats=["csv", "libsvm"], cache_dir=str(tmp_path))
    assert len(calls) == 3
    assert keys(s3) == []


def test_a_rerun_replaces_the_shards_of_an_earlier_run(s3, tmp_path):
    run(formats=["csv"], splits=["train"], rows_per_shard=1000, cache_dir=str(tmp_path))
    assert len(keys(s3, f"{PREFIX}/csv/train/")) == 4
    s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}/csv/other-split-kept.txt", Body=b"untouched")

    result = run(formats=["csv"], splits=["train"], rows_per_shard=3000, cache_dir=str(tmp_path))
    assert keys(s3, f"{PREFIX}/csv/train/") == result["outputs"]["csv"]["train"]["keys"]
    assert len(result["outputs"]["csv"]["train"]["keys"]) == 2
    assert f"{PREFIX}/csv/other-split-kept.txt" in keys(s3)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"source": "imagenet"}, SourceSpecError, "MNIST source 'imagenet' is not recognised"),
        ({"formats": ["tfrecord"]}, ValueError, r"formats \['tfrecord'\] must be a non-empty list"),
        ({"splits": ["holdout"]}, ValueError, r"splits \['holdout'\]"),
        ({"pixels": "float16"}, ValueError, "pixels 'float16'"),
    ],
)
def test_bad_arguments_fail_before_anything_is_written(s3, kwargs, error, message):
    with pytest.raises(error, match=message):
        run(**kwargs)
    assert BUCKET not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
