"""Reading a channel: CSV with label_size, content-type rules and errors that name the file."""

from __future__ import annotations

import io

import numpy as np
import pytest

from include.local_sagemaker.algorithms.channel_data import read_channel, reservoir_sample, stream_channel
from include.local_sagemaker.failures import JobFailure
from include.recordio import write_numpy_to_dense_tensor
from tests.local_sagemaker.algorithms.algorithm_test_data import csv_bytes


def test_csv_without_labels_reads_every_column_as_a_feature(make_job):
    features = np.arange(12, dtype=np.float32).reshape(4, 3)
    context = make_job({}, {"train": ("text/csv;label_size=0", {"part-0.csv": csv_bytes(features)})})

    data = read_channel(context.channels["train"], feature_dim=3)

    np.testing.assert_array_equal(data.features, features)
    assert data.features.dtype == np.float32
    assert data.labels is None


def test_csv_takes_the_first_column_as_label_by_default(make_job):
    features = np.arange(12, dtype=np.float32).reshape(4, 3)
    labels = np.array([0, 1, 0, 1])
    context = make_job({}, {"train": ("text/csv", {"a.csv": csv_bytes(features, labels)})})

    data = read_channel(context.channels["train"], feature_dim=3)

    np.testing.assert_array_equal(data.features, features)
    np.testing.assert_array_equal(data.labels, labels)


def test_files_are_read_in_order_and_hidden_files_skipped(make_job):
    first, second = np.zeros((2, 2), np.float32), np.ones((3, 2), np.float32)
    files = {
        "b/part-1.csv": csv_bytes(second),
        "a.csv": csv_bytes(first),
        ".amazon.manifest": b"[]",
        "empty.csv": b"",
    }
    context = make_job({}, {"train": ("text/csv;label_size=0", files)})

    data = read_channel(context.channels["train"], feature_dim=2)

    np.testing.assert_array_equal(data.features, np.vstack([first, second]))


def reason(context, **kwargs) -> str:
    with pytest.raises(JobFailure) as caught:
        read_channel(context.channels["train"], **kwargs)
    return str(caught.value)


def test_a_non_numeric_cell_is_located(make_job):
    context = make_job({}, {"train": ("text/csv;label_size=0", {"bad.csv": b"1,2\n3,x4\n"})})

    message = reason(context, feature_dim=2)

    assert message.startswith("ClientError: Unable to read ")
    assert "bad.csv" in message
    assert "line 2 column 2 is 'x4', not a number" in message


def test_a_short_row_is_located(make_job):
    context = make_job({}, {"train": ("text/csv;label_size=0", {"short.csv": b"1,2,3\n4,5\n"})})

    assert "short.csv line 2 column 3 is nan (empty, NaN or infinite)" in reason(context, feature_dim=3)


def test_infinite_values_in_recordio_are_located(make_job):
    features = np.ones((3, 2), np.float32)
    features[2, 1] = np.inf
    buffer = io.BytesIO()
    write_numpy_to_dense_tensor(buffer, features)
    context = make_job({}, {"train": (None, {"inf.pbr": buffer.getvalue()})})

    assert "inf.pbr record 3 feature 2 is inf" in reason(context, feature_dim=2)


def test_garbage_recordio_names_the_file(make_job):
    context = make_job({}, {"train": ("application/x-recordio-protobuf", {"junk.pbr": b"not a record file"})})

    message = reason(context, feature_dim=2)

    assert message.startswith("ClientError: Unable to read ")
    assert "junk.pbr as recordIO-protobuf" in message


def test_feature_dim_mismatch_names_file_and_hints_label_size(make_job):
    context = make_job({}, {"train": ("text/csv", {"x.csv": csv_bytes(np.zeros((2, 4)))})})

    message = reason(context, feature_dim=4)

    assert "x.csv of channel 'train' have 3 features but the 'feature_dim' hyperparameter is 4" in message
    assert "text/csv;label_size=0" in message


def test_unsupported_content_type_fails_like_sagemaker(make_job):
    context = make_job({}, {"train": ("csv", {"x.csv": b"1\n"})})

    assert reason(context).startswith(
        "ClientError: No iterator has been registered for ContentType ('csv', '1.0')"
    )


def test_empty_channel_fails(make_job):
    context = make_job({}, {"train": ("text/csv;label_size=0", {})})

    assert "No data in channel 'train'" in reason(context)


def test_channel_of_empty_files_fails(make_job):
    context = make_job({}, {"train": ("text/csv;label_size=0", {"a.csv": b"", "b.csv": b"\n\n"})})

    assert "hold no records" in reason(context)


def test_bad_label_size_is_reported(make_job):
    context = make_job({}, {"train": ("text/csv;label_size=-1", {"a.csv": b"1,2\n"})})

    assert "label_size='-1' is not a non-negative integer" in reason(context)


def recordio(features: np.ndarray, labels=None) -> bytes:
    buffer = io.BytesIO()
    write_numpy_to_dense_tensor(buffer, features, labels)
    return buffer.getvalue()


def test_stream_gives_every_record_in_batches_that_span_files(make_job):
    first = np.arange(14, dtype=np.float32).reshape(7, 2)
    second = -np.arange(10, dtype=np.float32).reshape(5, 2)
    files = {"a.pbr": recordio(first, np.ones(7, np.float32)), "b.pbr": recordio(second)}
    stream = stream_channel(make_job({}, {"train": (None, files)}).channels["train"], feature_dim=2)

    batches = list(stream.batches(5))

    assert [len(batch) for batch in batches] == [5, 5, 2]
    assert all(batch.dtype == np.float32 and batch.flags.c_contiguous for batch in batches)
    np.testing.assert_array_equal(np.vstack(batches), np.vstack([first, second]))
    assert stream.rows == 12
    np.testing.assert_array_equal(np.vstack(list(stream.batches(100))), np.vstack([first, second]))


def test_stream_reads_csv_in_chunks(make_job):
    features = np.arange(30, dtype=np.float32).reshape(10, 3)
    context = make_job({}, {"train": ("text/csv", {"a.csv": csv_bytes(features, np.zeros(10))})})

    batches = list(stream_channel(context.channels["train"], feature_dim=3).batches(4))

    assert [len(batch) for batch in batches] == [4, 4, 2]
    np.testing.assert_array_equal(np.vstack(batches), features)


def stream_reason(context, **kwargs) -> str:
    with pytest.raises(JobFailure) as caught:
        list(stream_channel(context.channels["train"], **kwargs).batches(2))
    return str(caught.value)


def test_stream_locates_a_bad_recordio_value_past_the_first_batch(make_job):
    features = np.ones((5, 2), np.float32)
    features[4, 1] = np.nan
    context = make_job({}, {"train": (None, {"nan.pbr": recordio(features)})})

    assert "nan.pbr record 5 feature 2 is nan" in stream_reason(context, feature_dim=2)


def test_stream_locates_a_bad_csv_value_past_the_first_batch(make_job):
    context = make_job({}, {"train": ("text/csv;label_size=0", {"nan.csv": b"1,2\n3,4\n5,6\n7,\n"})})

    assert "nan.csv line 4 column 2 is nan" in stream_reason(context, feature_dim=2)


@pytest.mark.parametrize(
    ("content_type", "files", "feature_dim", "message"),
    [
        ("text/csv;label_size=0", {"a.csv": b"", "b.csv": b"\n\n"}, 2, "hold no records"),
        (None, {"junk.pbr": b"not a record file"}, 2, "junk.pbr as recordIO-protobuf"),
        (
            "text/csv",
            {"x.csv": csv_bytes(np.zeros((2, 4)))},
            4,
            "have 3 features but the 'feature_dim' hyperparameter is 4",
        ),
    ],
)
def test_stream_checks_like_read_channel(make_job, content_type, files, feature_dim, message):
    context = make_job({}, {"train": (content_type, files)})

    assert message in stream_reason(context, feature_dim=feature_dim)


@pytest.mark.parametrize("size", [1, 7, 40, 500])
def test_reservoir_keeps_the_records_of_the_smallest_keys(make_job, size):
    # Records whose key cannot enter a full sample are not copied; the sample must be the one keeping
    # every record would give: the ``size`` smallest of the keys drawn batch by batch, in key order.
    features = np.arange(600, dtype=np.float32).reshape(300, 2)
    files = {"a.pbr": recordio(features[:130], np.arange(130, dtype=np.float32))}
    files["b.pbr"] = recordio(features[130:], np.arange(130, 300, dtype=np.float32))
    stream = stream_channel(make_job({}, {"train": (None, files)}).channels["train"], feature_dim=2)

    sample, labels = reservoir_sample(stream, size, batch_rows=16, seed=3)

    rng = np.random.default_rng(3)
    keys = np.concatenate([rng.random(min(16, 300 - start)) for start in range(0, 300, 16)])
    expected = np.argsort(keys)[: min(size, 300)]
    np.testing.assert_array_equal(labels, expected)
    np.testing.assert_array_equal(sample, features[expected])
