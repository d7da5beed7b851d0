"""The Amazon provider's SageMaker operators and sensors against the local engine.

Copied into a temporary dags folder and run with ``dag.test()`` by ``test_airflow_provider.py``;
``ENGINE_TEST_BUCKET`` and ``ENGINE_TEST_RUN`` name the data bucket and make resource names unique.
"""

from __future__ import annotations

import os
from datetime import datetime

from airflow.providers.amazon.aws.operators.sagemaker import (
    SageMakerEndpointConfigOperator,
    SageMakerEndpointOperator,
    SageMakerModelOperator,
    SageMakerTrainingOperator,
)
from airflow.providers.amazon.aws.sensors.sagemaker import SageMakerEndpointSensor, SageMakerTrainingSensor
from airflow.sdk import DAG

BUCKET = os.environ.get("ENGINE_TEST_BUCKET", "engine-provider-data")
RUN = os.environ.get("ENGINE_TEST_RUN", "run")
IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/kmeans:1"
ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"


def training_config(job: str, hyperparameters: dict[str, str]) -> dict:
    return {
        "TrainingJobName": job,
        "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        "RoleArn": ROLE,
        "HyperParameters": hyperparameters,
        "InputDataConfig": [
            {
                "ChannelName": "train",
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": f"s3://{BUCKET}/train/",
                        "S3DataDistributionType": "FullyReplicated",
                    }
                },
                "ContentType": "text/csv;label_size=0",
            }
        ],
        "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/output"},
        "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 5},
        "StoppingCondition": {"MaxRuntimeInSeconds": 600},
    }


GOOD = {"k": "3", "feature_dim": "8", "mini_batch_size": "100"}

with DAG("engine_provider", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):
    train_quiet = SageMakerTrainingOperator(
        task_id="train_quiet", config=training_config(f"quiet-{RUN}", GOOD), print_log=False, check_interval=1
    )
    train_logged = SageMakerTrainingOperator(
        task_id="train_logged",
        config=training_config(f"logged-{RUN}", GOOD),
        print_log=True,
        check_interval=1,
    )
    train_deferred = SageMakerTrainingOperator(
        task_id="train_deferred",
        config=training_config(f"deferred-{RUN}", GOOD),
        print_log=False,
        check_interval=1,
        deferrable=True,
    )
    train_failing = SageMakerTrainingOperator(
        task_id="train_failing",
        config=training_config(f"failing-{RUN}", {"feature_dim": "8"}),
        print_log=False,
        check_interval=1,
    )
    training_sensor = SageMakerTrainingSensor(
        task_id="training_sensor", job_name=f"quiet-{RUN}", print_log=False, poke_interval=1
    )
    model = SageMakerModelOperator(
        task_id="model",
        config={
            "ModelName": f"model-{RUN}",
            "PrimaryContainer": {
                "Image": IMAGE,
                "ModelDataUrl": "{{ ti.xcom_pull(task_ids='train_quiet')['Training']['ModelArtifacts']"
                "['S3ModelArtifacts'] }}",
            },
            "ExecutionRoleArn": ROLE,
        },
    )
    endpoint_config = SageMakerEndpointConfigOperator(
        task_id="endpoint_config",
        config={
            "EndpointConfigName": f"config-{RUN}",
            "ProductionVariants": [
                {
                    "VariantName": "AllTraffic",
                    "ModelName": f"model-{RUN}",
                    "InitialInstanceCount": 1,
                    "InstanceType": "ml.m5.large",
                }
            ],
        },
    )
    endpoint = SageMakerEndpointOperator(
        task_id="endpoint",
        config={"EndpointName": f"endpoint-{RUN}", "EndpointConfigName": f"config-{RUN}"},
        wait_for_completion=False,
    )
    endpoint_sensor = SageMakerEndpointSensor(
        task_id="endpoint_sensor", endpoint_name=f"endpoint-{RUN}", poke_interval=1
    )
    train_quiet >> training_sensor >> model >> endpoint_config >> endpoint >> endpoint_sensor
