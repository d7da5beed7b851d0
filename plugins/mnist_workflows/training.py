"""Data in, a trained and registered model out: the steps between ``plan_run`` and deployment."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from airflow.sdk import task

from include.recordio import CONTENT_TYPE as RECORDIO
from include.sagemaker_requests import configs
from operators.mnist_to_s3 import MnistToS3Operator
from operators.sagemaker_register import RegisterModelVersionOperator
from operators.sagemaker_resumable import ResumableTrainingOperator

# How often a task asks SageMaker how its job is doing; tests poll every second instead.
CHECK_INTERVAL = 5

__all__ = [
    "CHECK_INTERVAL",
    "RECORDIO",
    "ingest_mnist",
    "model_artifact",
    "one_file_per_split",
    "recordio_channels",
    "register_model",
    "train",
    "training_job",
]


def ingest_mnist(run, formats: Sequence[str], splits: Sequence[str], task_id: str = "ingest_mnist", **kwargs):
    """Load MNIST from the ``source`` param and upload ``splits`` in ``formats`` under the run's prefix."""
    return MnistToS3Operator(
        task_id=task_id,
        source="{{ params.source }}",
        s3_bucket=run["bucket"],
        s3_prefix=run["s3_prefix"],
        formats=list(formats),
        splits=list(splits),
        create_bucket=True,
        **kwargs,
    )


def one_file_per_split(run, data, data_format: str, splits: Sequence[str]):
    """The ``<data_format>_files`` task: the one file ``MnistToS3Operator`` (its result ``data``) wrote per
    split in ``data_format``, as ``{split: "s3://..."}`` (one XCom per split). More than one fails the
    task: it was given too few rows per shard (``rows_per_shard``)."""

    @task(task_id=f"{data_format}_files", multiple_outputs=True)
    def files(run: dict, data: dict) -> dict:
        """The file of each split, as an s3:// URI."""
        found = {}
        for split in splits:
            keys = data["outputs"][data_format][split]["keys"]
            if len(keys) != 1:
                raise ValueError(
                    f"Expected one {data_format} file for the {split} split, got {len(keys)}: {keys}; "
                    f"ingest it with more than {data['sizes'][split]} rows per shard"
                )
            found[split] = f"s3://{run['bucket']}/{keys[0]}"
        return found

    return files(run, data)


def recordio_channels(
    data: Mapping, splits: Sequence[str] = ("train", "test"), distribution: str = "FullyReplicated"
) -> list[dict]:
    """Training channels of the recordIO splits ``MnistToS3Operator`` wrote (its XCom result ``data``);
    ``distribution="ShardedByS3Key"`` gives each training instance its share of the split's objects."""
    recordio = data["outputs"]["recordio"]
    return [
        configs.s3_channel(split, recordio[split]["s3_uri"], RECORDIO, distribution=distribution)
        for split in splits
    ]


def training_job(
    run: Mapping, params: Mapping, *, channels: list[dict], hyperparameters: Mapping, stage: str = ""
) -> dict:
    """The ``CreateTrainingJob`` request of the run (of its ``stage``, a prefix of ``plan_run``'s keys
    such as ``pca``): its job name, image, role and output path, on the ``instance_type`` param (and
    ``instance_count`` instances, if the DAG has that param; else one)."""
    prefix = f"{stage}_" if stage else ""
    return configs.training_job(
        name=run[f"{prefix}training_job"],
        image=run[f"{prefix}image"],
        role_arn=run["role_arn"],
        channels=channels,
        output_path=run["output_path"],
        hyperparameters=hyperparameters,
        instance_type=params["instance_type"],
        instance_count=params.get("instance_count", 1),
    )


def train(config, stage: str = "") -> ResumableTrainingOperator:
    """The ``train`` task (``train_<stage>``): run the training job ``config``, its log streamed into the
    task log; a retry attaches to the job its first try started."""
    return ResumableTrainingOperator(
        task_id=f"train_{stage}" if stage else "train",
        config=config,
        print_log=True,
        check_interval=CHECK_INTERVAL,
    )


def model_artifact(training_task_id: str = "train") -> str:
    """A template of the ``model.tar.gz`` the training task ``training_task_id`` produced."""
    artifacts = f"ti.xcom_pull(task_ids='{training_task_id}')['Training']['ModelArtifacts']"
    return "{{ " + artifacts + "['S3ModelArtifacts'] }}"


def register_model(
    trained,
    run,
    group: str,
    group_description: str,
    stage: str = "",
    description: str = "{{ run_id }}",
    *,
    served_by: Mapping | None = None,
) -> RegisterModelVersionOperator:
    """The ``register_model`` task (``register_<stage>``), after the training task ``trained`` (``train``,
    ``train_<stage>``): register its model as a version of the package group ``group``, served by the
    run's image (of its ``stage``) and described by the run id (or ``description``).

    ``served_by`` registers another container instead: its ``image``, ``model_url`` and ``environment``
    (XComs or templates), e.g. a script-mode model's serving image, repacked archive and environment.
    """
    container = served_by or {
        "image": run[f"{stage}_image" if stage else "image"],
        "model_url": model_artifact(f"train_{stage}" if stage else "train"),
    }
    register = RegisterModelVersionOperator(
        task_id=f"register_{stage}" if stage else "register_model",
        image_uri=container["image"],
        model_url=container["model_url"],
        environment=container.get("environment"),
        package_group_name=group,
        package_group_desc=group_description,
        package_desc=description,
    )
    trained >> register
    return register
