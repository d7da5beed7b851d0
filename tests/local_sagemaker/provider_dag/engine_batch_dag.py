"""The provider's tuning, model-registry and batch-transform operators against the local engine.

Copied into a temporary dags folder and run with ``dag.test()`` by ``test_provider_batch_operators.py``;
``ENGINE_TEST_BUCKET`` holds the ``train/``, ``test/`` and ``batch/`` data and ``ENGINE_TEST_RUN`` makes
resource names unique. The tuned k-means model's artifacts are found from ``BestTrainingJob`` in XCom.
"""

from __future__ import annotations

import os
from datetime import datetime

from airflow.providers.amazon.aws.operators.sagemaker import (
    SageMakerRegisterModelVersionOperator,
    SageMakerTransformOperator,
    SageMakerTuningOperator,
)
from airflow.sdk import DAG

BUCKET = os.environ.get("ENGINE_TEST_BUCKET", "engine-batch-data")
RUN = os.environ.get("ENGINE_TEST_RUN", "run")
IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/kmeans:1"
ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"
BEST_MODEL = (
    f"s3://{BUCKET}/output/"
    "{{ ti.xcom_pull(task_ids='tune')['Tuning']['BestTrainingJob']['TrainingJobName'] }}/output/model.tar.gz"
)


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


TUNING = {
    "HyperParameterTuningJobName": f"tune-{RUN}",
    "HyperParameterTuningJobConfig": {
        "Strategy": "Random",
        "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "test:msd"},
        "ResourceLimits": {"MaxNumberOfTrainingJobs": "3", "MaxParallelTrainingJobs": "2"},
        "ParameterRanges": {"IntegerParameterRanges": [{"Name": "k", "MinValue": "2", "MaxValue": "4"}]},
    },
    "TrainingJobDefinition": {
        "StaticHyperParameters": {"feature_dim": "2"},
        "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        "RoleArn": ROLE,
        "InputDataConfig": [channel("train"), channel("test")],
        "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/output"},
        "ResourceConfig": {"InstanceCount": "1", "InstanceType": "ml.m5.large", "VolumeSizeInGB": "1"},
        "StoppingCondition": {"MaxRuntimeInSeconds": "300"},
    },
}


def transform_config(name: str) -> dict:
    return {
        "TransformJobName": f"{name}-{RUN}",
        "ModelName": f"model-{RUN}",
        "BatchStrategy": "MultiRecord",
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/batch/"}},
            "ContentType": "text/csv",
            "SplitType": "Line",
        },
        "TransformOutput": {
            "S3OutputPath": f"s3://{BUCKET}/{name}-out",
            "Accept": "application/jsonlines",
            "AssembleWith": "Line",
        },
        "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": "1"},
    }


with DAG("engine_batch", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):
    tune = SageMakerTuningOperator(task_id="tune", config=TUNING, check_interval=1)
    register = SageMakerRegisterModelVersionOperator(
        task_id="register",
        image_uri=IMAGE,
        model_url=BEST_MODEL,
        package_group_name=f"kmeans-{RUN}",
        package_desc="best k-means of the tuning job",
    )
    transform = SageMakerTransformOperator(
        task_id="transform",
        config={
            "Model": {
                "ModelName": f"model-{RUN}",
                "PrimaryContainer": {"Image": IMAGE, "ModelDataUrl": BEST_MODEL},
                "ExecutionRoleArn": ROLE,
            },
            "Transform": transform_config("transform"),
        },
        check_interval=1,
    )
    transform_deferred = SageMakerTransformOperator(
        task_id="transform_deferred",
        config=transform_config("deferred"),
        check_interval=1,
        deferrable=True,
    )
    tune >> [register, transform]
    transform >> transform_deferred
