"""A sweep grid as a SageMaker hyperparameter tuning job, and the tuning job's children as grid points.

The grid becomes categorical ranges (the only kind SageMaker's ``Grid`` strategy accepts), so ``Grid``
trains every point once and ``Random`` draws as many jobs as the grid has points.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from include.sagemaker_requests.configs import hyperparameter_value
from include.sweeps.grid import GridError, Point, expand, validate_grid

STRATEGIES = ("Grid", "Random")
# The parts of a CreateTrainingJob request that a tuning job's TrainingJobDefinition takes as they are.
_DEFINITION_FIELDS = (
    "AlgorithmSpecification",
    "RoleArn",
    "InputDataConfig",
    "OutputDataConfig",
    "ResourceConfig",
    "StoppingCondition",
)


def tuning_job(
    *,
    name: str,
    training: Mapping[str, Any],
    grid: Any,
    strategy: str = "Grid",
    max_parallel_jobs: int = 2,
    objective_metric: str = "test:msd",
    objective_type: str = "Minimize",
    random_seed: int | None = None,
) -> dict:
    """A ``CreateHyperParameterTuningJob`` request tuning ``grid`` over the job ``training`` describes
    (a ``CreateTrainingJob`` request); its other hyperparameters stay fixed."""
    if strategy not in STRATEGIES:
        raise GridError(f"Tuning strategy {strategy!r} must be one of {STRATEGIES}")
    if not isinstance(max_parallel_jobs, int) or max_parallel_jobs < 1:
        raise GridError(f"max_parallel_jobs must be a positive integer, got {max_parallel_jobs!r}")
    checked = validate_grid(grid)
    if not checked:
        raise GridError("The grid is empty: a tuning job needs at least one hyperparameter to tune")
    points = len(expand(checked))
    config = {
        "Strategy": strategy,
        "HyperParameterTuningJobObjective": {"Type": objective_type, "MetricName": objective_metric},
        "ResourceLimits": {
            "MaxNumberOfTrainingJobs": points,
            "MaxParallelTrainingJobs": min(max_parallel_jobs, points),
        },
        "ParameterRanges": {
            "CategoricalParameterRanges": [
                {"Name": name, "Values": [hyperparameter_value(value) for value in values]}
                for name, values in checked.items()
            ]
        },
        "TrainingJobEarlyStoppingType": "Off",
    }
    if random_seed is not None:
        config["RandomSeed"] = random_seed
    definition = {field: training[field] for field in _DEFINITION_FIELDS if field in training}
    definition["StaticHyperParameters"] = {
        key: value for key, value in (training.get("HyperParameters") or {}).items() if key not in checked
    }
    return {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": config,
        "TrainingJobDefinition": definition,
    }


def tuned_point(grid: Any, tuned: Mapping[str, str]) -> tuple[int, Point]:
    """``(index, point)`` of the grid point a tuning job's child trained, from its
    ``TunedHyperParameters`` (SageMaker's strings)."""
    for index, point in enumerate(expand(grid)):
        if all(hyperparameter_value(value) == tuned.get(name) for name, value in point.items()):
            return index, point
    raise GridError(f"Tuned hyperparameters {dict(tuned)} are not a point of the grid {grid}")


def tuning_children(sagemaker: Any, tuning_job_name: str) -> list[tuple[dict, dict]]:
    """``(summary, DescribeTrainingJob)`` of every child of a tuning job, in the order they were created.

    ``sagemaker`` is a boto3 SageMaker client (e.g. ``SageMakerHook().conn``).
    """
    paginator = sagemaker.get_paginator("list_training_jobs_for_hyper_parameter_tuning_job")
    summaries = [
        summary
        for page in paginator.paginate(HyperParameterTuningJobName=tuning_job_name)
        for summary in page["TrainingJobSummaries"]
    ]
    summaries.sort(key=lambda summary: (summary["CreationTime"], summary["TrainingJobName"]))
    return [
        (summary, sagemaker.describe_training_job(TrainingJobName=summary["TrainingJobName"]))
        for summary in summaries
    ]
