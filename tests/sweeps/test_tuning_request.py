"""A sweep grid as a SageMaker tuning job request, and a tuning job's children mapped back to points."""

from __future__ import annotations

import pytest

from include.sagemaker_requests import configs
from include.sweeps.grid import GridError
from include.sweeps.tuning import tuned_point, tuning_job

GRID = {"k": [8, 10, 12], "init_method": ["random", "kmeans++"], "force_dense": [True]}


def _training() -> dict:
    return configs.training_job(
        name="template",
        image="382416733822.dkr.ecr.us-east-1.amazonaws.com/kmeans:1",
        role_arn="arn:aws:iam::123456789012:role/SageMakerRole",
        channels=[configs.s3_channel("train", "s3://b/train/", "application/x-recordio-protobuf")],
        output_path="s3://b/models",
        hyperparameters={"k": 10, "init_method": "random", "feature_dim": 784, "epochs": 1},
    )


def test_the_grid_becomes_categorical_ranges_and_the_rest_stays_static() -> None:
    request = tuning_job(name="kmeans-sw-1", training=_training(), grid=GRID, max_parallel_jobs=10)
    config = request["HyperParameterTuningJobConfig"]
    assert config["Strategy"] == "Grid"
    assert config["ParameterRanges"]["CategoricalParameterRanges"] == [
        {"Name": "force_dense", "Values": ["True"]},
        {"Name": "init_method", "Values": ["random", "kmeans++"]},
        {"Name": "k", "Values": ["8", "10", "12"]},
    ]
    assert config["ResourceLimits"] == {"MaxNumberOfTrainingJobs": 6, "MaxParallelTrainingJobs": 6}
    assert config["HyperParameterTuningJobObjective"] == {"Type": "Minimize", "MetricName": "test:msd"}
    definition = request["TrainingJobDefinition"]
    assert definition["StaticHyperParameters"] == {"feature_dim": "784", "epochs": "1"}
    assert definition["AlgorithmSpecification"]["TrainingImage"].endswith("/kmeans:1")
    assert "TrainingJobName" not in definition


def test_bad_tuning_settings_are_refused() -> None:
    with pytest.raises(GridError, match="Tuning strategy 'Bayesian' must be one of"):
        tuning_job(name="t", training=_training(), grid=GRID, strategy="Bayesian")
    with pytest.raises(GridError, match="max_parallel_jobs must be a positive integer, got 0"):
        tuning_job(name="t", training=_training(), grid=GRID, max_parallel_jobs=0)
    with pytest.raises(GridError, match="The grid is empty"):
        tuning_job(name="t", training=_training(), grid={})


def test_tuned_hyperparameters_map_back_to_their_point() -> None:
    assert tuned_point(GRID, {"k": "12", "init_method": "kmeans++", "force_dense": "True"}) == (
        5,
        {"force_dense": True, "init_method": "kmeans++", "k": 12},
    )
    with pytest.raises(GridError, match="are not a point of the grid"):
        tuned_point(GRID, {"k": "9", "init_method": "random", "force_dense": "True"})
