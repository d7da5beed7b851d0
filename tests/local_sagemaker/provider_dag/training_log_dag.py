"""ResumableTrainingOperator with ``print_log=True``, waiting in the worker and in the triggerer.

Copied into a temporary dags folder and run with ``dag.test()`` by ``test_training_log.py``;
``ENGINE_TEST_BUCKET`` holds the blob channels and ``ENGINE_TEST_RUN`` makes job names unique.
"""

from __future__ import annotations

import os
from datetime import datetime

from airflow.sdk import DAG

from operators.sagemaker_resumable import ResumableTrainingOperator

BUCKET = os.environ.get("ENGINE_TEST_BUCKET", "training-log-data")
RUN = os.environ.get("ENGINE_TEST_RUN", "run")
IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/kmeans:1"
ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"


def channel(name: str) -> dict:
    return {
        "ChannelName": name,
        "DataSource": {
            "S3DataSource": {
                "S3DataType": "S3Prefix",
                "S3Uri": f"s3://{BUCKET}/{name}/",
                "S3DataDistributionType": "FullyReplicated",
            }
        },
        "ContentType": "text/csv;label_size=0",
    }


def training_config(job: str, k: int) -> dict:
    return {
        "TrainingJobName": job,
        "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        "RoleArn": ROLE,
        "HyperParameters": {"k": str(k), "feature_dim": "2", "mini_batch_size": "50"},
        "InputDataConfig": [channel("train"), channel("test")],
        "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/output"},
        "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 1},
        "StoppingCondition": {"MaxRuntimeInSeconds": 300},
    }


with DAG("training_log", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):
    ResumableTrainingOperator(
        task_id="train_in_worker",
        config=training_config(f"worker-{RUN}", 2),
        print_log=True,
        check_interval=1,
    )
    ResumableTrainingOperator(
        task_id="train_deferred",
        config=training_config(f"deferred-{RUN}", 4),
        print_log=True,
        check_interval=1,
        deferrable=True,
    )
