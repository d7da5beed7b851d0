"""Hyperparameter tuning jobs over k-means: strategies, limits, child jobs and the best job."""

from __future__ import annotations

import numpy as np
import pytest
from botocore.exceptions import ClientError

from include.local_sagemaker.tuning_strategies import BayesianStrategy, SearchSpace
from tests.support.engine import wait_for
from tests.support.kmeans_jobs import kmeans_training_job, upload_blobs

BUCKET = "tuning-kmeans"


@pytest.fixture(scope="module")
def blobs(s3) -> str:
    upload_blobs(s3, BUCKET)
    return BUCKET


def _definition(bucket: str) -> dict:
    job = kmeans_training_job("unused", bucket, {})
    return {
        "StaticHyperParameters": {"feature_dim": "2", "mini_batch_size": "50"},
        "AlgorithmSpecification": job["AlgorithmSpecification"],
        "RoleArn": job["RoleArn"],
        "InputDataConfig": job["InputDataConfig"],
        "OutputDataConfig": job["OutputDataConfig"],
        "ResourceConfig": job["ResourceConfig"],
        "StoppingCondition": job["StoppingCondition"],
    }


def _config(strategy: str, ranges: dict, max_jobs: int | None, parallel: int) -> dict:
    limits = {"MaxParallelTrainingJobs": parallel}
    if max_jobs:
        limits["MaxNumberOfTrainingJobs"] = max_jobs
    return {
        "Strategy": strategy,
        "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "test:msd"},
        "ResourceLimits": limits,
        "ParameterRanges": ranges,
        "RandomSeed": 7,
    }


def _wait(sagemaker, name: str) -> dict:
    return wait_for(
        lambda: (
            d
            if (d := sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name))[
                "HyperParameterTuningJobStatus"
            ]
            in {"Completed", "Failed", "Stopped"}
            else None
        ),
        timeout=240,
        interval=0.5,
    )


def _children(sagemaker, name: str) -> list[dict]:
    return sagemaker.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name, MaxResults=100
    )["TrainingJobSummaries"]


def test_random_search_with_integer_and_continuous_ranges(sagemaker, blobs, unique):
    name = unique("tune-rand")
    ranges = {
        "IntegerParameterRanges": [{"Name": "k", "MinValue": "2", "MaxValue": "5"}],
        "ContinuousParameterRanges": [
            {"Name": "local_lloyd_tol", "MinValue": "0.0001", "MaxValue": "0.1", "ScalingType": "Logarithmic"}
        ],
    }
    arn = sagemaker.create_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name,
        HyperParameterTuningJobConfig=_config("Random", ranges, max_jobs=4, parallel=2),
        TrainingJobDefinition=_definition(blobs),
    )["HyperParameterTuningJobArn"]
    assert arn.endswith(f":hyper-parameter-tuning-job/{name}")
    described = _wait(sagemaker, name)

    assert described["HyperParameterTuningJobStatus"] == "Completed", described.get("FailureReason")
    assert described["TrainingJobStatusCounters"]["Completed"] == 4
    assert described["ObjectiveStatusCounters"]["Succeeded"] == 4
    children = _children(sagemaker, name)
    assert len(children) == 4
    for child in children:
        assert child["TrainingJobName"].startswith(f"{name}-")
        assert 2 <= int(child["TunedHyperParameters"]["k"]) <= 5
        assert 0.0001 <= float(child["TunedHyperParameters"]["local_lloyd_tol"]) <= 0.1
        training = sagemaker.describe_training_job(TrainingJobName=child["TrainingJobName"])
        assert training["TuningJobArn"] == arn
        assert training["HyperParameters"]["feature_dim"] == "2"
        assert training["HyperParameters"]["_tuning_objective_metric"] == "test:msd"
    values = {
        c["TrainingJobName"]: c["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for c in children
    }
    best = described["BestTrainingJob"]
    assert values[best["TrainingJobName"]] == min(values.values())  # ties are possible (same k)
    assert best["FinalHyperParameterTuningJobObjectiveMetric"] == {
        "Type": "Minimize",
        "MetricName": "test:msd",
        "Value": min(values.values()),
    }
    by_objective = sagemaker.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name, SortBy="FinalObjectiveMetricValue", SortOrder="Ascending"
    )["TrainingJobSummaries"]
    assert [c["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for c in by_objective] == sorted(
        values.values()
    )


def test_grid_search_runs_every_categorical_combination(sagemaker, blobs, unique):
    name = unique("tune-grid")
    ranges = {
        "CategoricalParameterRanges": [
            {"Name": "k", "Values": ["2", "3"]},
            {"Name": "init_method", "Values": ["random", "kmeans++"]},
        ]
    }
    sagemaker.create_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name,
        HyperParameterTuningJobConfig=_config("Grid", ranges, max_jobs=None, parallel=2),
        TrainingJobDefinition=_definition(blobs),
    )
    described = _wait(sagemaker, name)

    assert described["HyperParameterTuningJobStatus"] == "Completed", described.get("FailureReason")
    tried = sorted(
        (c["TunedHyperParameters"]["k"], c["TunedHyperParameters"]["init_method"])
        for c in _children(sagemaker, name)
    )
    assert tried == [("2", "kmeans++"), ("2", "random"), ("3", "kmeans++"), ("3", "random")]
    # Three real blobs: three clusters fit far better than two.
    assert described["BestTrainingJob"]["TunedHyperParameters"]["k"] == "3"


def test_stop_ends_the_children_and_the_tuning_job(sagemaker, blobs, unique):
    name = unique("tune-stop")
    definition = _definition(blobs)
    definition["StaticHyperParameters"]["epochs"] = "100000"  # long enough to be stopped mid-way
    sagemaker.create_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name,
        HyperParameterTuningJobConfig=_config(
            "Random", {"IntegerParameterRanges": [{"Name": "k", "MinValue": "2", "MaxValue": "4"}]}, 3, 1
        ),
        TrainingJobDefinition=definition,
    )
    wait_for(lambda: _children(sagemaker, name), timeout=30)
    sagemaker.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    described = _wait(sagemaker, name)

    assert described["HyperParameterTuningJobStatus"] == "Stopped"
    assert all(c["TrainingJobStatus"] in {"Stopped", "Completed"} for c in _children(sagemaker, name))
    assert described["TrainingJobStatusCounters"]["InProgress"] == 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"objective": "train:loss"}, "'train:loss' is not one the training jobs emit"),
        ({"strategy": "Grid"}, "Grid strategy supports only CategoricalParameterRanges"),
        ({"name": "x" * 33}, "length less than or equal to 32"),
        ({"strategy": "Hyperband"}, "Hyperband is not supported"),
    ],
)
def test_invalid_tuning_jobs_are_refused(sagemaker, blobs, change, message):
    config = _config(
        "Random", {"IntegerParameterRanges": [{"Name": "k", "MinValue": "2", "MaxValue": "4"}]}, 2, 1
    )
    if "objective" in change:
        config["HyperParameterTuningJobObjective"]["MetricName"] = change["objective"]
    if "strategy" in change:
        config["Strategy"] = change["strategy"]
    with pytest.raises(ClientError) as refused:
        sagemaker.create_hyper_parameter_tuning_job(
            HyperParameterTuningJobName=change.get("name", "refused"),
            HyperParameterTuningJobConfig=config,
            TrainingJobDefinition=_definition(blobs),
        )
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert message in refused.value.response["Error"]["Message"]


def test_bayesian_strategy_proposes_near_the_minimum_of_what_it_has_seen():
    space = SearchSpace({"ContinuousParameterRanges": [{"Name": "x", "MinValue": "0", "MaxValue": "1"}]})
    strategy = BayesianStrategy(space, seed=3)
    history = [({"x": repr(x)}, (x - 0.7) ** 2) for x in (0.05, 0.2, 0.4, 0.55, 0.95)]
    proposals = [float(strategy.propose(history)["x"]) for _ in range(5)]
    # Random draws would land anywhere in [0, 1]; expected improvement looks around 0.7.
    assert abs(np.median(proposals) - 0.7) < 0.15


def test_search_space_scaling_round_trips():
    space = SearchSpace(
        {
            "IntegerParameterRanges": [
                {"Name": "n", "MinValue": "1", "MaxValue": "1000", "ScalingType": "Logarithmic"}
            ],
            "ContinuousParameterRanges": [
                {"Name": "m", "MinValue": "0.9", "MaxValue": "0.999", "ScalingType": "ReverseLogarithmic"}
            ],
        }
    )
    rng = np.random.default_rng(0)
    samples = [space.sample(rng) for _ in range(200)]
    assert all(1 <= int(s["n"]) <= 1000 for s in samples)
    assert all(0.9 <= float(s["m"]) <= 0.999 for s in samples)
    # Logarithmic: about half the draws below the geometric midpoint (~31.6).
    assert 60 < sum(int(s["n"]) < 32 for s in samples) < 140
