"""Transform and tuning jobs that a restart interrupted end Failed, never half-done."""

from __future__ import annotations

import time

import boto3

from include.local_sagemaker.engine import LocalSageMaker
from include.local_sagemaker.state import ResourceStore

ARN_PREFIX = "arn:aws:sagemaker:us-east-1:123456789012"


def test_interrupted_transform_and_tuning_jobs_fail_after_a_restart(tmp_path):
    now = time.time()
    ResourceStore(tmp_path / "transform-jobs").put(
        "lost-transform",
        {
            "TransformJobName": "lost-transform",
            "TransformJobArn": f"{ARN_PREFIX}:transform-job/lost-transform",
            "TransformJobStatus": "InProgress",
            "ModelName": "m",
            "CreationTime": now,
        },
    )
    ResourceStore(tmp_path / "tuning-jobs").put(
        "lost-tuning",
        {
            "HyperParameterTuningJobName": "lost-tuning",
            "HyperParameterTuningJobArn": f"{ARN_PREFIX}:hyper-parameter-tuning-job/lost-tuning",
            "HyperParameterTuningJobStatus": "InProgress",
            "HyperParameterTuningJobConfig": {
                "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "test:msd"}
            },
            "CreationTime": now,
            "_Children": ["gone-child"],
        },
    )
    with LocalSageMaker(tmp_path) as engine:
        sagemaker = boto3.client(
            "sagemaker",
            endpoint_url=engine.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        transform = sagemaker.describe_transform_job(TransformJobName="lost-transform")
        tuning = sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="lost-tuning")
    assert transform["TransformJobStatus"] == "Failed"
    assert "restarted" in transform["FailureReason"]
    assert tuning["HyperParameterTuningJobStatus"] == "Failed"
    assert "restarted" in tuning["FailureReason"]
    assert tuning["TrainingJobStatusCounters"]["InProgress"] == 0
