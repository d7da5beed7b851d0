"""Small k-means jobs for the transform and tuning tests: three well-separated blobs in 2-D."""

from __future__ import annotations

import numpy as np

from tests.support.engine import KMEANS_IMAGE, ROLE_ARN

CENTRES = np.array([[0.0, 0.0], [10.0, 10.0], [-10.0, 10.0]])


def blob_rows(per_centre: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``(rows, centre index of each row)``, rows grouped by centre."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(len(CENTRES)), per_centre)
    return CENTRES[labels] + rng.normal(scale=0.3, size=(len(labels), 2)), labels


def csv_bytes(rows: np.ndarray) -> bytes:
    return "".join(",".join(f"{value:.4f}" for value in row) + "\n" for row in rows).encode()


def upload_blobs(s3, bucket: str) -> None:
    """``train/`` and ``test/`` channels of blob rows as CSV in ``bucket`` (created here)."""
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="train/rows.csv", Body=csv_bytes(blob_rows(60, seed=1)[0]))
    s3.put_object(Bucket=bucket, Key="test/rows.csv", Body=csv_bytes(blob_rows(20, seed=2)[0]))


def channel(name: str, bucket: str) -> dict:
    return {
        "ChannelName": name,
        "DataSource": {
            "S3DataSource": {
                "S3DataType": "S3Prefix",
                "S3Uri": f"s3://{bucket}/{name}/",
                "S3DataDistributionType": "FullyReplicated",
            }
        },
        "ContentType": "text/csv;label_size=0",
    }


def kmeans_training_job(name: str, bucket: str, hyperparameters: dict[str, str]) -> dict:
    """A CreateTrainingJob request for k-means on the blob channels of ``bucket``."""
    return {
        "TrainingJobName": name,
        "AlgorithmSpecification": {"TrainingImage": KMEANS_IMAGE, "TrainingInputMode": "File"},
        "RoleArn": ROLE_ARN,
        "HyperParameters": hyperparameters,
        "InputDataConfig": [channel("train", bucket), channel("test", bucket)],
        "OutputDataConfig": {"S3OutputPath": f"s3://{bucket}/output"},
        "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 1},
        "StoppingCondition": {"MaxRuntimeInSeconds": 300},
    }
