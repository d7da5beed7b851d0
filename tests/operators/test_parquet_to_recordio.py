"""ParquetToRecordIOOperator end to end against the local engine's S3 through the aws_default connection."""

from __future__ import annotations

import io

import boto3
import fastparquet
import numpy as np
import pandas as pd
import pytest
from airflow.sdk import Asset

from include.recordio import read_dense, write_numpy_to_dense_tensor
from include.recordio.parquet import ParquetInputError, record_size
from operators.parquet_to_recordio import ParquetToRecordIOOperator

BUCKET = "recordio-data"
PREFIX = "runs/run-1/train"
N_ROWS, N_FEATURES = 250, 12


@pytest.fixture
def s3(aws_connection):
    client = boto3.client("s3", endpoint_url=aws_connection, region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    yield client
    objects = client.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    if objects:
        client.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": o["Key"]} for o in objects]})
    client.delete_bucket(Bucket=BUCKET)


def keys(client, prefix=PREFIX):
    return sorted(o["Key"] for o in client.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", []))


def digits_frame(rows=N_ROWS) -> pd.DataFrame:
    """The seed's layout: string-named pixel columns plus an integer label column."""
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(rng.random((rows, N_FEATURES)), columns=[str(i) for i in range(N_FEATURES)])
    frame["label"] = np.arange(rows) % 10
    return frame


def write_parquet(path, frame, rows_per_group=100):
    fastparquet.write(str(path), frame, row_group_offsets=rows_per_group, write_index=False)
    return str(path)


def run(source, **kwargs):
    arguments = {
        "task_id": "to_recordio",
        "source": source,
        "s3_prefix": f"s3://{BUCKET}/{PREFIX}/",
        "label_column": "label",
        **kwargs,
    }
    return ParquetToRecordIOOperator(**arguments).execute(context={})


def test_converts_a_multi_row_group_file_into_bounded_shards(s3, tmp_path):
    frame = digits_frame()
    source = write_parquet(tmp_path / "train.parquet", frame)
    max_shard_bytes = 60 * record_size(N_FEATURES) + 10

    result = run(source, label_mapping={0: 1}, label_default=0, max_shard_bytes=max_shard_bytes)

    expected_keys = [f"{PREFIX}/part-{i:05d}.pbr" for i in range(5)]
    assert result == {
        "s3_uri": f"s3://{BUCKET}/{PREFIX}/",
        "keys": expected_keys,
        "records": N_ROWS,
        "feature_dim": N_FEATURES,
        "label_column": "label",
    }
    assert keys(s3) == expected_keys
    shards = [s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() for key in expected_keys]
    assert max(len(shard) for shard in shards) <= max_shard_bytes
    features = frame.drop(columns="label").to_numpy(dtype=np.float32)
    is_zero = (frame["label"].to_numpy() == 0).astype(np.float32)
    expected = io.BytesIO()
    write_numpy_to_dense_tensor(expected, features, is_zero)
    assert b"".join(shards) == expected.getvalue()
    read_features, read_labels = read_dense(shards[1])
    np.testing.assert_array_equal(read_features, features[60:120])
    np.testing.assert_array_equal(read_labels, is_zero[60:120])


def test_reads_the_source_from_s3_and_removes_shards_of_an_earlier_run(s3, tmp_path):
    source = write_parquet(tmp_path / "train.parquet", digits_frame())
    s3.upload_file(source, BUCKET, "parquet/train.parquet")
    s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}/part-00007.pbr", Body=b"stale")
    s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}/notes.txt", Body=b"not ours")

    result = run(f"s3://{BUCKET}/parquet/train.parquet", feature_columns=["3", "1"])

    assert result["keys"] == [f"{PREFIX}/part-00000.pbr"]
    assert keys(s3) == [f"{PREFIX}/notes.txt", f"{PREFIX}/part-00000.pbr"]
    body = s3.get_object(Bucket=BUCKET, Key=f"{PREFIX}/part-00000.pbr")["Body"].read()
    features, labels = read_dense(body)
    np.testing.assert_array_equal(features, digits_frame()[["3", "1"]].to_numpy(dtype=np.float32))
    np.testing.assert_array_equal(labels, np.arange(N_ROWS) % 10)


def test_nan_features_are_written_when_allowed(s3, tmp_path):
    frame = digits_frame()
    frame.loc[5, "2"] = np.nan
    run(write_parquet(tmp_path / "nan.parquet", frame), allow_nan=True)
    features, _ = read_dense(s3.get_object(Bucket=BUCKET, Key=f"{PREFIX}/part-00000.pbr")["Body"].read())
    assert np.isnan(features[5, 2])
    assert np.isfinite(np.delete(features.ravel(), 5 * N_FEATURES + 2)).all()


def _with(frame, **columns):
    frame = frame.copy()
    for name, values in columns.items():
        frame[name] = values
    return frame


def _nan_in_last_row_group(frame):
    frame = frame.copy()
    frame.loc[230, "7"] = np.nan
    return frame


BAD_INPUTS = {
    "missing label column": (digits_frame().drop(columns="label"), {}, r"has no label column 'label'"),
    "non-numeric label": (_with(digits_frame(), label="seven"), {}, r"label column 'label' holds str values"),
    "non-numeric feature": (_with(digits_frame(), **{"5": "x"}), {}, r"feature column '5' holds str values"),
    "ragged feature": (
        _with(digits_frame(), **{"5": [[1.0] * (i % 3) for i in range(N_ROWS)]}),
        {},
        r"feature column '5' holds sequences \(ragged\)",
    ),
    "NaN feature after shards were uploaded": (
        _nan_in_last_row_group(digits_frame()),
        {"max_shard_bytes": 40 * record_size(N_FEATURES)},
        r"column '7' is NaN \(or null\) at row 230",
    ),
    "NaN label": (
        _with(digits_frame(), label=np.where(np.arange(N_ROWS) == 9, np.nan, 1.0)),
        {},
        r"'label' .* row 9",
    ),
    "unmapped label": (digits_frame(), {"label_mapping": {0: 1}}, r"label 1\.0 at row 1 .* no label_default"),
    "empty file": (digits_frame(rows=0), {}, r"is empty: it has no rows"),
}


@pytest.mark.parametrize("case", BAD_INPUTS)
def test_bad_input_is_refused_and_leaves_nothing_behind(s3, tmp_path, case):
    frame, options, message = BAD_INPUTS[case]
    source = write_parquet(tmp_path / "bad.parquet", frame)
    with pytest.raises(ParquetInputError, match=message) as raised:
        run(source, **options)
    assert str(tmp_path / "bad.parquet") in str(raised.value)
    assert keys(s3) == []


def test_a_missing_source_is_refused(s3, tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        run(str(tmp_path / "absent.parquet"))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        run(f"s3://{BUCKET}/absent.parquet")
    assert keys(s3) == []


def test_input_and_output_are_declared_as_assets(tmp_path):
    source = tmp_path / "train.parquet"
    operator = ParquetToRecordIOOperator(
        task_id="to_recordio", source=str(source), s3_prefix="s3://bucket/train/", label_column="label"
    )
    assert operator.inlets == [Asset(source.as_uri())]
    assert operator.outlets == [Asset("s3://bucket/train/")]
    templated = ParquetToRecordIOOperator(
        task_id="templated", source="{{ params.source }}", s3_prefix="s3://b/{{ run_id }}/", label_column="y"
    )
    assert templated.inlets == []
    assert templated.outlets == []
    assert {"source", "s3_prefix", "label_mapping"} <= set(templated.template_fields)


def test_locations_from_xcom_declare_no_assets():
    from airflow.sdk import DAG, task

    with DAG("xcom_fed", schedule=None):

        @task
        def locations() -> dict:
            return {"source": "s3://b/train.parquet", "prefix": "s3://b/train/"}

        where = locations()
        operator = ParquetToRecordIOOperator(
            task_id="to_recordio", source=where["source"], s3_prefix=where["prefix"], label_column="label"
        )
    assert operator.inlets == []
    assert operator.outlets == []
