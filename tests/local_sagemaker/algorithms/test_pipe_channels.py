"""The built-in algorithms read Pipe-mode channels (a named pipe per pass) to the same model as File mode."""

from __future__ import annotations

import gzip
import io
import json
import shutil
import struct
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from include.local_sagemaker import channel_feeds
from include.local_sagemaker.algorithms import parquet_stream, registry
from include.local_sagemaker.algorithms.base import TrainingContext
from include.local_sagemaker.channel_feeds import PipeFeed
from include.local_sagemaker.channels import ChannelObject
from include.local_sagemaker.failures import JobFailure
from include.recordio import write_numpy_to_dense_tensor
from include.recordio.framing import iter_payloads
from tests.local_sagemaker.algorithms.algorithm_test_data import blobs, csv_bytes

PCA_IMAGE = "174872318107.dkr.ecr.us-west-2.amazonaws.com/pca:1"
LINEAR_LEARNER_IMAGE = "174872318107.dkr.ecr.us-west-2.amazonaws.com/linear-learner:1"
XGBOOST_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"


class LocalObjects:
    """An object store of local files (key = path), streamed as the engine's store streams objects."""

    def __init__(self):
        self.streamed: list[str] = []

    def stream(self, bucket: str, key: str, chunk_bytes: int) -> Iterator[bytes]:
        self.streamed.append(Path(key).name)
        with open(key, "rb") as source:
            while chunk := source.read(chunk_bytes):
                yield chunk


def _recordio(features: np.ndarray, labels: np.ndarray | None = None) -> bytes:
    buffer = io.BytesIO()
    write_numpy_to_dense_tensor(buffer, features, labels)
    return buffer.getvalue()


def _piped(context: TrainingContext, sources: Path) -> tuple[TrainingContext, list[PipeFeed]]:
    """The same job with every channel in Pipe mode: its files moved to ``sources`` and fed to pipes."""
    config = context.base_dir / "input" / "config" / "inputdataconfig.json"
    data_config = json.loads(config.read_text())
    feeds = []
    for name, channel in context.channels.items():
        data_config[name]["TrainingInputMode"] = "Pipe"
        shutil.move(channel.path, sources / name)
        objects = [
            ChannelObject("local", str(path), path.name) for path in sorted((sources / name).iterdir())
        ]
        feeds.append(PipeFeed(LocalObjects(), objects, channel.path.parent, name).start())
    config.write_text(json.dumps(data_config))
    for directory in ("model", "output/data"):
        shutil.rmtree(context.base_dir / directory)
        (context.base_dir / directory).mkdir()
    return TrainingContext.from_base_dir(context.base_dir, job_name="piped"), feeds


def _model(context: TrainingContext) -> dict[str, bytes | dict[str, bytes]]:
    """The model files' bytes; a zip archive's (Linear Learner's) by member, as its headers carry the time
    each member was written."""
    return {path.name: _contents(path) for path in sorted(context.model_dir.iterdir())}


def _contents(path: Path) -> bytes | dict[str, bytes]:
    if not zipfile.is_zipfile(path):
        return path.read_bytes()
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _train_both_ways(make_job, tmp_path: Path, image: str, hyperparameters: dict, channels: dict):
    algorithm = registry.lookup(image)
    context = make_job(hyperparameters, channels)
    algorithm.train(context)
    file_model = _model(context)
    (tmp_path / "sources").mkdir()
    piped, feeds = _piped(context, tmp_path / "sources")
    try:
        algorithm.train(piped)
    finally:
        for feed in feeds:
            feed.stop()
    assert all(path.is_fifo() for path in piped.base_dir.joinpath("input", "data").iterdir())
    return file_model, _model(piped), feeds


@pytest.mark.parametrize("algorithm_mode", ["regular", "randomized"])
def test_pca_in_pipe_mode_builds_the_file_modes_model(make_job, tmp_path, algorithm_mode):
    features, _, _ = blobs(rows=900, dim=6)
    channels = {
        "train": (
            "application/x-recordio-protobuf",
            {"a": _recordio(features[:400]), "b": _recordio(features[400:])},
        ),
        "test": ("text/csv;label_size=0", {"rows.csv": csv_bytes(features[:50])}),
    }
    hyperparameters = {
        "feature_dim": "6",
        "num_components": "2",
        "mini_batch_size": "100",
        "algorithm_mode": algorithm_mode,
    }
    file_model, pipe_model, feeds = _train_both_ways(make_job, tmp_path, PCA_IMAGE, hyperparameters, channels)
    assert pipe_model == file_model
    assert feeds[0].store.streamed.count("a") >= 1


def test_linear_learner_in_pipe_mode_builds_the_file_modes_model(make_job, tmp_path):
    features, labels, _ = blobs(rows=800, dim=5)
    binary = (labels == 0).astype(np.float32)
    channels = {
        "train": (
            "text/csv",
            {
                "a.csv": csv_bytes(features[:500], binary[:500]),
                "b.csv": csv_bytes(features[500:], binary[500:]),
            },
        ),
        "validation": ("application/x-recordio-protobuf", {"v": _recordio(features[:200], binary[:200])}),
    }
    hyperparameters = {"predictor_type": "binary_classifier", "feature_dim": "5", "epochs": "3"}
    file_model, pipe_model, feeds = _train_both_ways(
        make_job, tmp_path, LINEAR_LEARNER_IMAGE, hyperparameters, channels
    )
    assert pipe_model == file_model
    # A pass per epoch at least, each through a pipe of its own.
    assert feeds[0].store.streamed.count("a.csv") > 3


def test_xgboost_in_pipe_mode_reads_recordio(make_job, tmp_path):
    features, labels, _ = blobs(rows=600, dim=4)
    binary = (labels == 0).astype(np.float32)
    channels = {"train": ("application/x-recordio-protobuf", {"a": _recordio(features, binary)})}
    hyperparameters = {"num_round": "3", "objective": "binary:logistic"}
    file_model, pipe_model, _ = _train_both_ways(make_job, tmp_path, XGBOOST_IMAGE, hyperparameters, channels)
    assert pipe_model == file_model


def test_a_bad_record_in_a_pipe_fails_the_job_with_its_offset(make_job, tmp_path):
    features, _, _ = blobs(rows=100, dim=6)
    channels = {"train": ("application/x-recordio-protobuf", {"a": _recordio(features)[:-5]})}
    context = make_job({"feature_dim": "6", "num_components": "2", "mini_batch_size": "10"}, channels)
    (tmp_path / "sources").mkdir()
    piped, feeds = _piped(context, tmp_path / "sources")
    try:
        with pytest.raises(JobFailure, match=r"ClientError: .*truncated record at byte offset"):
            registry.lookup(PCA_IMAGE).train(piped)
    finally:
        for feed in feeds:
            feed.stop()


@pytest.mark.parametrize("compression", ["None", "Gzip"])
def test_a_pipe_wraps_each_object_in_a_recordio_record_as_dmlc_does(tmp_path, monkeypatch, compression):
    magic = struct.pack("<I", 0xCED7230A)
    # The last object holds the magic at aligned offsets 8 and 12: dmlc splits it there, dropping the magic.
    contents = [b"x" * 5, b"", b"a" * 8 + magic + magic + b"tail!"]
    objects = []
    for index, content in enumerate(contents):
        path = tmp_path / f"object-{index}"
        path.write_bytes(gzip.compress(content) if compression == "Gzip" else content)
        objects.append(ChannelObject("local", str(path), path.name))
    monkeypatch.setattr(channel_feeds, "CHUNK_BYTES", 7)  # records spanning chunks
    feed = PipeFeed(LocalObjects(), objects, tmp_path / "data", "train", compression, "RecordIO").start()
    try:
        streamed = (tmp_path / "data" / "train_0").read_bytes()
    finally:
        feed.stop()
    assert [bytes(payload) for _, payload in iter_payloads(streamed)] == contents
    assert [(lrecord >> 29, lrecord & 0xFFFFFFF) for lrecord in _headers(streamed)] == [
        (0, 5),
        (0, 0),
        (1, 8),
        (2, 0),
        (3, 5),
    ]


def _headers(data: bytes) -> list[int]:
    headers, offset = [], 0
    while offset < len(data):
        _, lrecord = struct.unpack_from("<II", data, offset)
        headers.append(lrecord)
        length = lrecord & ((1 << 29) - 1)
        offset += 8 + length + (-length % 4)
    return headers


def _parquet(features: np.ndarray, labels: np.ndarray, row_group_rows: int = 10**9) -> bytes:
    table = pd.DataFrame(np.column_stack([labels, features]).astype(np.float32))
    table.columns = [f"c{index}" for index in table.columns]
    buffer = io.BytesIO()
    table.to_parquet(buffer, engine="fastparquet", index=False, row_group_offsets=row_group_rows)
    return buffer.getvalue()


def test_xgboost_in_pipe_mode_reads_parquet_objects_back_to_back_to_the_file_modes_model(
    make_job, tmp_path, monkeypatch
):
    features, labels, _ = blobs(rows=700, dim=4)
    binary = (labels == 0).astype(np.float32)
    # Several objects, one of several row groups; a pipe chunk far smaller than an object.
    train = {
        "a.parquet": _parquet(features[:250], binary[:250], row_group_rows=100),
        "b.parquet": _parquet(features[250:260], binary[250:260]),
        "c.parquet": _parquet(features[260:500], binary[260:500]),
    }
    channels = {
        "train": ("application/x-parquet", train),
        "validation": ("parquet", {"v.parquet": _parquet(features[500:], binary[500:])}),
    }
    monkeypatch.setattr(parquet_stream, "CHUNK_BYTES", 64)
    hyperparameters = {"num_round": "3", "objective": "binary:logistic", "eval_metric": "logloss"}
    file_model, pipe_model, feeds = _train_both_ways(
        make_job, tmp_path, XGBOOST_IMAGE, hyperparameters, channels
    )
    assert pipe_model == file_model
    assert feeds[0].store.streamed[:3] == ["a.parquet", "b.parquet", "c.parquet"]


def test_parquet_objects_are_split_where_a_footer_ends_not_at_every_magic(tmp_path):
    # float32 0x31524150 is "PAR1" in the data pages: only a magic preceded by a metadata length ends a file.
    magic_value = np.frombuffer(parquet_stream.MAGIC, dtype="<f4")
    first = _parquet(np.full((5, 2), magic_value, dtype=np.float32), np.zeros(5))
    second = _parquet(np.ones((3, 2), dtype=np.float32), np.ones(3))
    assert first.count(parquet_stream.MAGIC) > 2

    objects = [obj.read() for obj in parquet_stream.parquet_objects(io.BytesIO(first + second), tmp_path)]

    assert objects == [first, second]
    assert not list(tmp_path.iterdir())  # the spilled objects leave nothing behind


@pytest.mark.parametrize(
    ("stream", "message"),
    [
        (b"not parquet", "does not start with the Parquet magic number"),
        (b"PAR1 and no footer", "does not have a valid Parquet footer"),
    ],
)
def test_a_pipe_of_bad_parquet_fails_as_mlio_words_it(tmp_path, stream, message):
    with pytest.raises(ValueError, match=message):
        list(parquet_stream.parquet_objects(io.BytesIO(stream), tmp_path))
