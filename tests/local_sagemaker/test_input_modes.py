"""Pipe and FastFile input modes: channels streamed from the object store while the container reads them."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import textwrap
import threading
import time

import numpy as np
import pytest

from include.local_sagemaker import fastfile
from include.local_sagemaker.fastfile import FastFileMount
from include.local_sagemaker.object_store import ObjectStore
from include.recordio import write_numpy_to_dense_tensor
from tests.support.engine import KMEANS_IMAGE, ROLE_ARN, wait_for, wait_for_job
from tests.support.kmeans_jobs import blob_rows, csv_bytes

XGBOOST_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
BUCKET = "input-modes"

# Reads two passes of the Pipe-mode channel ``train`` as a SageMaker script does, and records what it saw:
# the bytes and digest of each pass, and, half-way through the first, what the data directory holds.
PIPE_SCRIPT = textwrap.dedent(
    """
    import hashlib, json, os, stat, sys, time

    channel = os.environ["SM_CHANNEL_TRAIN"]
    data_dir = os.path.dirname(channel)
    mode = json.loads(os.environ["SM_INPUT_DATA_CONFIG"])["train"]["TrainingInputMode"]
    stop_after = int(os.environ.get("SM_HP_STOP_AFTER", "0"))
    seen = {"mode": mode, "passes": []}
    for epoch in range(2):
        digest, size = hashlib.sha256(), 0
        with open(f"{channel}_{epoch}", "rb") as pipe:
            while chunk := pipe.read(65536):
                digest.update(chunk)
                size += len(chunk)
                if stop_after and size >= stop_after:
                    if os.environ.get("SM_HP_FAIL"):
                        sys.exit("failing half-way through a pass")
                    time.sleep(600)
                if epoch == 0 and "listing" not in seen and size > 1_000_000:
                    seen["listing"] = {
                        name: stat.S_ISFIFO(os.stat(os.path.join(data_dir, name)).st_mode)
                        for name in sorted(os.listdir(data_dir))
                    }
                    seen["disk_bytes"] = sum(
                        os.path.getsize(os.path.join(root, name))
                        for root, _, names in os.walk(os.path.dirname(data_dir))
                        for name in names
                        if stat.S_ISREG(os.stat(os.path.join(root, name)).st_mode)
                    )
        seen["passes"].append([size, digest.hexdigest()])
    with open(os.path.join(os.environ["SM_MODEL_DIR"], "seen.json"), "w") as out:
        json.dump(seen, out)
    """
)

# Looks at the FastFile channel as a SageMaker script may: lists it, takes sizes, seeks, loads and maps an
# .npy, reads one object twice and another whole, tries to write; then, with SM_HP_SLEEP, waits to be stopped.
FASTFILE_SCRIPT = textwrap.dedent(
    """
    import errno, hashlib, json, os, time
    import numpy as np

    channel = os.environ["SM_CHANNEL_TRAIN"]
    path = lambda name: os.path.join(channel, name)
    with open(path("blob.bin"), "rb") as blob:
        blob.seek(1_500_000)
        middle = blob.read(16).hex()
    try:
        open(path("new.txt"), "w")
        write_error = None
    except OSError as error:
        write_error = errno.errorcode[error.errno]
    seen = {
        "mode": json.loads(os.environ["SM_INPUT_DATA_CONFIG"])["train"]["TrainingInputMode"],
        "listing": sorted(
            os.path.relpath(os.path.join(root, name), channel)
            for root, dirs, names in os.walk(channel)
            for name in dirs + names
        ),
        "sizes": {name: os.path.getsize(path(name)) for name in ("a.csv", "blob.bin", "nested/m.npy")},
        "middle": middle,
        "npy": np.load(path("nested/m.npy")).tolist(),
        "mapped": np.load(path("nested/m.npy"), mmap_mode="r").sum().item(),
        "reads": [open(path("a.csv")).read() for _ in range(2)],
        "blob_sha256": hashlib.sha256(open(path("blob.bin"), "rb").read()).hexdigest(),
        "write_error": write_error,
    }
    with open(os.path.join(os.environ["SM_MODEL_DIR"], "seen.json"), "w") as out:
        json.dump(seen, out)
    if os.environ.get("SM_HP_SLEEP"):
        time.sleep(600)
    """
)
# Where FUSE is available this machine's FastFile channels are mounted; elsewhere they are downloaded.
FUSE = os.path.exists("/dev/fuse")
FALLBACK_LINE = (
    "is served as File here (its objects are downloaded before training) because FUSE is unavailable"
)
BLOB = np.random.default_rng(4).bytes(3_000_000)
MATRIX = np.arange(12, dtype=np.float64).reshape(3, 4)


def _sourcedir(script: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        info = tarfile.TarInfo("train.py")
        info.size = len(script.encode())
        archive.addfile(info, io.BytesIO(script.encode()))
    return buffer.getvalue()


def _recordio(rows: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    write_numpy_to_dense_tensor(buffer, rows.astype(np.float32))
    return buffer.getvalue()


@pytest.fixture(scope="module")
def bucket(s3) -> str:
    s3.create_bucket(Bucket=BUCKET)
    rows, _ = blob_rows(1000, seed=1)
    # Two objects, so that a pass is their concatenation.
    s3.put_object(Bucket=BUCKET, Key="kmeans/train/part-0", Body=_recordio(rows[::2]))
    s3.put_object(Bucket=BUCKET, Key="kmeans/train/part-1", Body=_recordio(rows[1::2]))
    s3.put_object(Bucket=BUCKET, Key="kmeans/test/rows.csv", Body=csv_bytes(blob_rows(50, seed=2)[0]))
    rng = np.random.default_rng(3)
    s3.put_object(Bucket=BUCKET, Key="bytes/train/a.bin", Body=rng.bytes(3_000_000))
    s3.put_object(Bucket=BUCKET, Key="bytes/train/b.bin", Body=rng.bytes(1_000_003))
    s3.put_object(Bucket=BUCKET, Key="fastfile/train/a.csv", Body=b"1,2\n3,4\n")
    s3.put_object(Bucket=BUCKET, Key="fastfile/train/b.csv", Body=b"5,6\n")
    s3.put_object(Bucket=BUCKET, Key="fastfile/train/blob.bin", Body=BLOB)
    s3.put_object(Bucket=BUCKET, Key="fastfile/train/nested/m.npy", Body=_npy_bytes())
    s3.put_object(Bucket=BUCKET, Key="libsvm/train/rows.txt", Body=b"1 1:0.5\n0 1:0.1\n")
    labelled = np.column_stack(
        [np.arange(300) % 2, rng.normal(size=(300, 3)) + (np.arange(300) % 2)[:, None]]
    )
    s3.put_object(Bucket=BUCKET, Key="xgboost/train/part-0.csv", Body=csv_bytes(labelled[:150]))
    s3.put_object(Bucket=BUCKET, Key="xgboost/train/part-1.csv", Body=csv_bytes(labelled[150:]))
    for name, script in (("pipe", PIPE_SCRIPT), ("fastfile", FASTFILE_SCRIPT)):
        s3.put_object(Bucket=BUCKET, Key=f"code/{name}.tar.gz", Body=_sourcedir(script))
    return BUCKET


def _channel(name: str, prefix: str, content_type: str | None = None, **fields) -> dict:
    channel = {
        "ChannelName": name,
        "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/{prefix}/"}},
        **fields,
    }
    if content_type:
        channel["ContentType"] = content_type
    return channel


def _job(name: str, image: str, mode: str, channels: list[dict], hyperparameters: dict) -> dict:
    return {
        "TrainingJobName": name,
        "AlgorithmSpecification": {"TrainingImage": image, "TrainingInputMode": mode},
        "RoleArn": ROLE_ARN,
        "HyperParameters": hyperparameters,
        "InputDataConfig": channels,
        "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/output"},
        "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 1},
        "StoppingCondition": {"MaxRuntimeInSeconds": 300},
    }


def _script_job(name: str, script: str, mode: str, prefix: str, **hyperparameters) -> dict:
    encoded = {key: json.dumps(value) for key, value in hyperparameters.items()}
    encoded.update(
        sagemaker_program=json.dumps("train.py"),
        sagemaker_submit_directory=json.dumps(f"s3://{BUCKET}/code/{script}.tar.gz"),
    )
    return _job(name, XGBOOST_IMAGE, mode, [_channel("train", f"{prefix}/train")], encoded)


def _model_file(s3, described: dict, name: str) -> bytes:
    uri = described["ModelArtifacts"]["S3ModelArtifacts"]
    key = uri.split(f"s3://{BUCKET}/", 1)[1]
    body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(body)) as archive:
        return archive.extractfile(name).read()


@pytest.fixture
def fetches(monkeypatch) -> list[str]:
    """The keys the engine fetches from the object store (Pipe passes, FastFile ranged GETs), in order."""
    keys: list[str] = []
    original = ObjectStore.stream

    def recording(self, bucket, key, chunk_bytes):
        keys.append(key)
        return original(self, bucket, key, chunk_bytes)

    monkeypatch.setattr(ObjectStore, "stream", recording)
    monkeypatch.setattr(FastFileMount, "_record_fetch", lambda self, key: keys.append(key))
    return keys


def _mounts_under(path) -> list[str]:
    with open("/proc/self/mounts") as mounts:
        return [line.split()[1] for line in mounts if line.split()[1].startswith(str(path))]


def _log_lines(client_factory, name: str) -> list[str]:
    logs = client_factory("logs")
    events = logs.filter_log_events(logGroupName="/aws/sagemaker/TrainingJobs", logStreamNamePrefix=name)
    return [event["message"] for event in events["events"]]


def _kmeans(sagemaker, unique, mode: str) -> dict:
    name = unique(f"kmeans-{mode.lower()}")
    channels = [
        _channel("train", "kmeans/train", "application/x-recordio-protobuf"),
        _channel("test", "kmeans/test", "text/csv;label_size=0"),
    ]
    hyperparameters = {"k": "3", "feature_dim": "2", "mini_batch_size": "300", "epochs": "3"}
    sagemaker.create_training_job(**_job(name, KMEANS_IMAGE, mode, channels, hyperparameters))
    described = wait_for_job(sagemaker, name)
    assert described["TrainingJobStatus"] == "Completed", described.get("FailureReason")
    return {metric["MetricName"]: metric["Value"] for metric in described["FinalMetricDataList"]}


def test_kmeans_trains_alike_in_every_input_mode(sagemaker, unique, bucket, fetches):
    file_mode = _kmeans(sagemaker, unique, "File")
    for mode in ("Pipe", "FastFile"):
        fetches.clear()
        assert _kmeans(sagemaker, unique, mode) == pytest.approx(file_mode, rel=1e-6), mode
        if mode == "FastFile" and not FUSE:
            continue
        # Streamed, not downloaded: every pass of k-means (the seed sample, 3 epochs) fetched the objects
        # again, and the test channel once.
        assert fetches.count("kmeans/train/part-0") >= 4
        assert fetches.count("kmeans/test/rows.csv") == 1
    assert file_mode["test:msd"] < 1.0


def test_a_host_whose_pipe_is_empty_joins_a_sharded_kmeans_job(sagemaker, unique, bucket):
    name = unique("kmeans-pipe-3i")
    train = _channel("train", "kmeans/train", "application/x-recordio-protobuf")
    train["DataSource"]["S3DataSource"]["S3DataDistributionType"] = "ShardedByS3Key"  # 2 objects, 3 hosts
    request = _job(
        name, KMEANS_IMAGE, "Pipe", [train], {"k": "3", "feature_dim": "2", "mini_batch_size": "300"}
    )
    request["ResourceConfig"]["InstanceCount"] = 3
    sagemaker.create_training_job(**request)
    described = wait_for_job(sagemaker, name)
    assert described["TrainingJobStatus"] == "Completed", described.get("FailureReason")


def test_an_xgboost_host_whose_pipe_is_empty_is_left_out_as_the_container_leaves_it_out(
    sagemaker, logs, unique, bucket
):
    """Three hosts over two objects: algo-3's pipe exists and carries nothing. The container's Pipe-mode
    readers build no matrix from it and leave the host out of training; the job trains on the others."""
    name = unique("xgboost-pipe-3i")
    train = _channel("train", "xgboost/train", "text/csv")
    train["DataSource"]["S3DataSource"]["S3DataDistributionType"] = "ShardedByS3Key"
    request = _job(name, XGBOOST_IMAGE, "Pipe", [train], {"num_round": "2", "objective": "binary:logistic"})
    request["ResourceConfig"]["InstanceCount"] = 3
    sagemaker.create_training_job(**request)
    described = wait_for_job(sagemaker, name)
    assert described["TrainingJobStatus"] == "Completed", described.get("FailureReason")
    events = logs.filter_log_events(logGroupName="/aws/sagemaker/TrainingJobs", logStreamNamePrefix=name)
    left_out = {
        event["logStreamName"].split("/")[1].rsplit("-", 1)[0]
        for event in events["events"]
        if "does not have training data" in event["message"]
    }
    assert left_out == {"algo-3"}


def test_a_script_reads_a_pipe_per_pass_and_nothing_lands_on_disk(sagemaker, s3, unique, bucket):
    name = unique("pipe-script")
    sagemaker.create_training_job(**_script_job(name, "pipe", "Pipe", "bytes"))
    described = wait_for_job(sagemaker, name)
    assert described["TrainingJobStatus"] == "Completed", described.get("FailureReason")
    seen = json.loads(_model_file(s3, described, "seen.json"))

    objects = [
        s3.get_object(Bucket=BUCKET, Key=f"bytes/train/{n}")["Body"].read() for n in ("a.bin", "b.bin")
    ]
    concatenated = b"".join(objects)
    expected = [len(concatenated), hashlib.sha256(concatenated).hexdigest()]
    assert seen["mode"] == "Pipe"
    assert seen["passes"] == [expected, expected]
    # Half-way through the first pass: the pass's pipe and the next one's, no channel directory, no files.
    assert seen["listing"] == {"train_0": True, "train_1": True}
    assert seen["disk_bytes"] < 100_000  # the config files only; the channel holds 4 MB


@pytest.mark.parametrize("ending", ["Stopped", "Failed"])
def test_a_pipe_job_stopped_or_failed_mid_pass_ends_its_feed_and_removes_its_pipes(
    sagemaker, unique, bucket, engine, ending
):
    name = unique(f"pipe-{ending.lower()}")
    failing = {"fail": "yes"} if ending == "Failed" else {}
    sagemaker.create_training_job(**_script_job(name, "pipe", "Pipe", "bytes", stop_after=65536, **failing))
    job_dir = engine.training.work_root / name
    if ending == "Stopped":
        wait_for(lambda: (job_dir / "algo-1/opt/ml/input/data/train_1").exists())
        sagemaker.stop_training_job(TrainingJobName=name)
    described = wait_for_job(sagemaker, name)
    assert described["TrainingJobStatus"] == ending, described.get("FailureReason")
    wait_for(lambda: not any(t.name.startswith("channel-feed-") for t in threading.enumerate()), timeout=15)
    # The runner cleans up after recording the job's end.
    wait_for(lambda: not (job_dir / "algo-1/opt/ml/input/data").exists(), timeout=15)
    assert not [path for path in engine.training.work_root.rglob("*") if path.is_fifo()]


def test_a_fastfile_channel_holds_real_files_fetched_only_when_read(
    sagemaker, s3, unique, bucket, fetches, engine, client_factory
):
    name = unique("fastfile-script")
    sagemaker.create_training_job(**_script_job(name, "fastfile", "FastFile", "fastfile"))
    described = wait_for_job(sagemaker, name)
    assert described["TrainingJobStatus"] == "Completed", described.get("FailureReason")
    seen = json.loads(_model_file(s3, described, "seen.json"))
    assert seen == {
        "mode": "File",
        "listing": ["a.csv", "b.csv", "blob.bin", "nested", "nested/m.npy"],
        "sizes": {"a.csv": 8, "blob.bin": len(BLOB), "nested/m.npy": len(_npy_bytes())},
        "middle": BLOB[1_500_000:1_500_016].hex(),
        "npy": MATRIX.tolist(),
        "mapped": MATRIX.sum(),
        "reads": ["1,2\n3,4\n", "1,2\n3,4\n"],
        "blob_sha256": hashlib.sha256(BLOB).hexdigest(),
        "write_error": "EROFS" if FUSE else None,
    }
    # The runner cleans up after recording the job's end.
    wait_for(lambda: not _mounts_under(engine.training.work_root / name), timeout=15)
    if not FUSE:
        assert any(FALLBACK_LINE in line for line in _log_lines(client_factory, name))
        return
    time.sleep(0.2)
    assert "fastfile/train/b.csv" not in fetches  # never opened, never fetched
    assert 1 <= fetches.count("fastfile/train/a.csv") <= 2
    # One GET for the sought 16 bytes; the whole 3 MB read sequentially in 1 MiB GETs, not 128 KiB ones.
    assert 2 <= fetches.count("fastfile/train/blob.bin") <= 6


def _npy_bytes() -> bytes:
    npy = io.BytesIO()
    np.save(npy, MATRIX)
    return npy.getvalue()


@pytest.mark.skipif(not FUSE, reason="needs /dev/fuse: without it FastFile channels are downloaded")
def test_a_stopped_fastfile_job_leaves_no_mount(sagemaker, unique, bucket, engine):
    name = unique("fastfile-stopped")
    sagemaker.create_training_job(**_script_job(name, "fastfile", "FastFile", "fastfile", sleep="yes"))
    wait_for(lambda: _mounts_under(engine.training.work_root / name))
    wait_for(lambda: sagemaker.describe_training_job(TrainingJobName=name)["SecondaryStatus"] == "Training")
    sagemaker.stop_training_job(TrainingJobName=name)
    described = wait_for_job(sagemaker, name)
    assert described["TrainingJobStatus"] == "Stopped", described.get("FailureReason")
    wait_for(lambda: not _mounts_under(engine.training.work_root / name), timeout=15)
    wait_for(lambda: not (engine.training.work_root / name / "algo-1/opt/ml/input/data").exists())


def test_fastfile_is_served_as_file_where_fuse_is_unavailable(
    sagemaker, unique, bucket, monkeypatch, client_factory
):
    monkeypatch.setattr(fastfile, "unavailable_reason", lambda: "/dev/fuse does not exist")
    file_mode = _kmeans(sagemaker, unique, "File")
    assert _kmeans(sagemaker, unique, "FastFile") == pytest.approx(file_mode, rel=1e-6)
    name = unique("fastfile-fallback")
    sagemaker.create_training_job(**_script_job(name, "fastfile", "FastFile", "fastfile"))
    assert wait_for_job(sagemaker, name)["TrainingJobStatus"] == "Completed"
    lines = _log_lines(client_factory, name)
    assert [line for line in lines if FALLBACK_LINE in line] == [
        f"local engine: FastFile channel 'train' {FALLBACK_LINE}: /dev/fuse does not exist"
    ]


def test_xgboost_reads_csv_in_pipe_mode_and_refuses_libsvm_as_its_container_does(sagemaker, unique, bucket):
    hyperparameters = {"num_round": "2", "objective": "binary:logistic"}
    csv_job, libsvm_job = unique("xgboost-pipe-csv"), unique("xgboost-pipe-libsvm")
    for name, prefix, content_type in (
        (csv_job, "xgboost", "text/csv"),
        (libsvm_job, "libsvm", "text/libsvm"),
    ):
        channels = [_channel(channel, f"{prefix}/train", content_type) for channel in ("train", "validation")]
        sagemaker.create_training_job(**_job(name, XGBOOST_IMAGE, "Pipe", channels, hyperparameters))
    described = wait_for_job(sagemaker, csv_job)
    assert described["TrainingJobStatus"] == "Completed", described.get("FailureReason")
    assert {metric["MetricName"] for metric in described["FinalMetricDataList"]} >= {"validation:logloss"}
    described = wait_for_job(sagemaker, libsvm_job)
    assert described["TrainingJobStatus"] == "Failed"
    assert described["FailureReason"] == "ClientError: Pipe mode not supported for LibSVM."
