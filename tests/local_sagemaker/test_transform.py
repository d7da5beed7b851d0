"""Batch transform jobs with a k-means model: splitting, batching, assembly, output naming, failures."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from botocore.exceptions import ClientError

from include.local_sagemaker.transform import assembled, batch_records, split_records
from include.recordio import write_numpy_to_dense_tensor
from include.recordio.framing import frame
from tests.support.engine import KMEANS_IMAGE, ROLE_ARN, wait_for, wait_for_job
from tests.support.kmeans_jobs import blob_rows, csv_bytes, kmeans_training_job, upload_blobs

BUCKET = "transform-kmeans"
MODEL = "transform-kmeans-model"


@pytest.fixture(scope="module")
def kmeans_model(sagemaker, s3) -> str:
    upload_blobs(s3, BUCKET)
    job = "transform-kmeans-training"
    sagemaker.create_training_job(**kmeans_training_job(job, BUCKET, {"k": "3", "feature_dim": "2"}))
    described = wait_for_job(sagemaker, job)
    assert described["TrainingJobStatus"] == "Completed", described.get("FailureReason")
    sagemaker.create_model(
        ModelName=MODEL,
        PrimaryContainer={
            "Image": KMEANS_IMAGE,
            "ModelDataUrl": described["ModelArtifacts"]["S3ModelArtifacts"],
        },
        ExecutionRoleArn=ROLE_ARN,
    )
    return MODEL


def _shuffled_rows(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rows, labels = blob_rows(7, seed=seed)
    order = np.random.default_rng(seed).permutation(len(rows))
    return rows[order], labels[order]


def _wait(sagemaker, name: str) -> dict:
    return wait_for(
        lambda: (
            d
            if (d := sagemaker.describe_transform_job(TransformJobName=name))["TransformJobStatus"]
            in {"Completed", "Failed", "Stopped"}
            else None
        ),
        timeout=120,
    )


def _transform_request(name: str, prefix: str, **overrides) -> dict:
    request = {
        "TransformJobName": name,
        "ModelName": MODEL,
        "TransformInput": {
            "DataSource": {
                "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/{prefix}/in/"}
            },
            "ContentType": "text/csv",
            "SplitType": "Line",
        },
        "TransformOutput": {
            "S3OutputPath": f"s3://{BUCKET}/{prefix}/out",
            "Accept": "application/jsonlines",
            "AssembleWith": "Line",
        },
        "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and key in request:
            request[key] = {**request[key], **value}
        else:
            request[key] = value
    return request


def _assert_clusters_follow_labels(clusters: list[int], labels: np.ndarray) -> None:
    """Every row of one blob in one cluster, each blob its own: the predictions are in input order."""
    assert len(clusters) == len(labels)
    mapping = {}
    for cluster, label in zip(clusters, labels, strict=True):
        assert mapping.setdefault(int(label), cluster) == cluster
    assert len(set(mapping.values())) == 3


CASES = {
    "line-multi": {"BatchStrategy": "MultiRecord", "MaxPayloadInMB": 1},
    "line-single-concurrent": {"BatchStrategy": "SingleRecord", "MaxConcurrentTransforms": 4},
    # 0 lets SageMaker choose, which without an execution-parameters endpoint is 1.
    "line-chosen-concurrency": {"BatchStrategy": "SingleRecord", "MaxConcurrentTransforms": 0},
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_csv_lines_give_one_prediction_per_record_in_input_order(sagemaker, s3, kmeans_model, unique, case):
    prefix = f"csv-{case}"
    first, first_labels = _shuffled_rows(seed=3)
    second, second_labels = _shuffled_rows(seed=4)
    s3.put_object(Bucket=BUCKET, Key=f"{prefix}/in/a.csv", Body=csv_bytes(first))
    s3.put_object(Bucket=BUCKET, Key=f"{prefix}/in/nested/b.csv", Body=csv_bytes(second))
    name = unique(f"tr-{case}")

    sagemaker.create_transform_job(**_transform_request(name, prefix, **CASES[case]))
    described = _wait(sagemaker, name)

    assert described["TransformJobStatus"] == "Completed", described.get("FailureReason")
    assert described["TransformStartTime"] <= described["TransformEndTime"]
    assert described["BatchStrategy"] == CASES[case]["BatchStrategy"]
    assert described["MaxConcurrentTransforms"] == (CASES[case].get("MaxConcurrentTransforms") or 1)
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=f"{prefix}/out/")["Contents"])
    assert keys == [f"{prefix}/out/a.csv.out", f"{prefix}/out/nested/b.csv.out"]
    for key, labels in ((keys[0], first_labels), (keys[1], second_labels)):
        lines = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode().splitlines()
        clusters = [int(json.loads(line)["closest_cluster"]) for line in lines]
        _assert_clusters_follow_labels(clusters, labels)


def test_recordio_split_and_whole_object_json(sagemaker, s3, kmeans_model, unique):
    rows, labels = _shuffled_rows(seed=5)
    buffer = io.BytesIO()
    write_numpy_to_dense_tensor(buffer, rows.astype(np.float32))
    s3.put_object(Bucket=BUCKET, Key="recordio/in/rows.rec", Body=buffer.getvalue())
    s3.put_object(Bucket=BUCKET, Key="whole/in/rows.csv", Body=csv_bytes(rows))

    recordio_job, whole_job = unique("tr-recordio"), unique("tr-whole")
    sagemaker.create_transform_job(
        **_transform_request(
            recordio_job,
            "recordio",
            TransformInput={"ContentType": "application/x-recordio-protobuf", "SplitType": "RecordIO"},
            BatchStrategy="MultiRecord",
        )
    )
    sagemaker.create_transform_job(
        **_transform_request(
            whole_job,
            "whole",
            TransformInput={"SplitType": "None"},
            TransformOutput={"Accept": "application/json", "AssembleWith": "None"},
        )
    )
    for name in (recordio_job, whole_job):
        described = _wait(sagemaker, name)
        assert described["TransformJobStatus"] == "Completed", described.get("FailureReason")

    lines = s3.get_object(Bucket=BUCKET, Key="recordio/out/rows.rec.out")["Body"].read().decode().splitlines()
    _assert_clusters_follow_labels([int(json.loads(line)["closest_cluster"]) for line in lines], labels)
    whole = json.loads(s3.get_object(Bucket=BUCKET, Key="whole/out/rows.csv.out")["Body"].read())
    _assert_clusters_follow_labels([int(p["closest_cluster"]) for p in whole["predictions"]], labels)


def test_a_bad_object_gets_no_output_and_fails_the_job(sagemaker, s3, kmeans_model, unique):
    rows, _ = _shuffled_rows(seed=6)
    s3.put_object(Bucket=BUCKET, Key="bad/in/good.csv", Body=csv_bytes(rows))
    s3.put_object(Bucket=BUCKET, Key="bad/in/wrong.csv", Body=csv_bytes(rows[:3]) + b"1.0,two\n")
    name = unique("tr-bad")
    sagemaker.create_transform_job(**_transform_request(name, "bad"))
    described = _wait(sagemaker, name)

    assert described["TransformJobStatus"] == "Failed"
    assert f"s3://{BUCKET}/bad/in/wrong.csv" in described["FailureReason"]
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="bad/out/").get("Contents", [])]
    assert keys == ["bad/out/good.csv.out"]
    # The model container's log is in the job's CloudWatch stream, as on SageMaker.
    assert sagemaker.list_transform_jobs(NameContains=name)["TransformJobSummaries"][0][
        "TransformJobStatus"
    ] == ("Failed")


def test_invalid_requests_are_refused(sagemaker, kmeans_model, unique):
    with pytest.raises(ClientError) as no_model:
        sagemaker.create_transform_job(
            **_transform_request(unique("tr-nomodel"), "x", ModelName="no-such-model")
        )
    assert "no-such-model" in no_model.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as too_much:
        sagemaker.create_transform_job(
            **_transform_request(unique("tr-limits"), "x", MaxPayloadInMB=60, MaxConcurrentTransforms=2)
        )
    assert "must not exceed 100" in too_much.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as bad_split:
        sagemaker.create_transform_job(
            **_transform_request(unique("tr-split"), "x", TransformInput={"SplitType": "TFRecord"})
        )
    assert "TFRecord" in bad_split.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as unknown:
        sagemaker.describe_transform_job(TransformJobName="no-such-transform")
    assert unknown.value.response["Error"]["Code"] == "ValidationException"


def test_splitting_batching_and_assembly_units():
    assert list(split_records(b"1,2\n\n3,4\n5,6", "Line")) == [b"1,2\n", b"3,4\n", b"5,6"]
    framed = frame(b"abcde") + frame(b"xy")
    assert list(split_records(framed, "RecordIO")) == [frame(b"abcde"), frame(b"xy")]
    assert list(batch_records([b"aaa", b"bbb", b"cc"], "MultiRecord", 6)) == [b"aaabbb", b"cc"]
    assert list(batch_records([b"aaa", b"bbb"], "SingleRecord", 6)) == [b"aaa", b"bbb"]
    with pytest.raises(Exception, match="record 1 is 7 bytes"):
        list(batch_records([b"a", b"1234567"], "MultiRecord", 6))
    assert [assembled(r, "Line") for r in (b"1", b"2\n")] == [b"1\n", b"2\n"]
    assert [assembled(r, "None") for r in (b"1", b"2")] == [b"1", b"2"]
