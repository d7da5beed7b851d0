"""The control plane of hyperparameter tuning: create, describe, stop and list tuning jobs and their
child training jobs (``ListTrainingJobsForHyperParameterTuningJob``).

``CreateHyperParameterTuningJob`` reaches the handler checked against the service model (names of at
most 32 characters, enums, positive limits) and is then validated as SageMaker validates it beyond the
model: the strategy and its ranges, the resource limits, and an objective metric that the algorithm
emits (a built-in algorithm's own metric definitions, or the job's ``MetricDefinitions`` for script mode
and custom images).
"""

from __future__ import annotations

import time

from include.local_sagemaker.algorithms import registry
from include.local_sagemaker.api_support import (
    check_runnable_image,
    page,
    public,
    require,
    tags_of,
    time_filters,
)
from include.local_sagemaker.errors import resource_in_use, validation
from include.local_sagemaker.names import arn
from include.local_sagemaker.state import ResourceStore
from include.local_sagemaker.tuning import TuningRunner, child_summary
from include.local_sagemaker.tuning_strategies import SearchSpace, check_strategy


class TuningJobs:
    """``*HyperParameterTuningJob*`` operations over the ``tuning-jobs`` store."""

    def __init__(self, tuning_jobs: ResourceStore, training_jobs: ResourceStore, runner: TuningRunner):
        self.tuning_jobs = tuning_jobs
        self.training_jobs = training_jobs
        self.runner = runner

    def tagged_stores(self) -> list[tuple[ResourceStore, str, str]]:
        return [(self.tuning_jobs, "HyperParameterTuningJobName", "HyperParameterTuningJobArn")]

    def _op_CreateHyperParameterTuningJob(self, request: dict) -> dict:
        name = request["HyperParameterTuningJobName"]
        for unsupported in ("TrainingJobDefinitions", "WarmStartConfig", "Autotune"):
            if request.get(unsupported):
                raise validation(f"{unsupported} is not supported by the local engine")
        # The model makes these optional for what the engine does not run (several definitions,
        # HyperParameterTuningResourceConfig).
        require(request, "TrainingJobDefinition")
        config = dict(request["HyperParameterTuningJobConfig"])
        definition = dict(request["TrainingJobDefinition"])
        require(definition, "ResourceConfig", path="trainingJobDefinition")
        strategy = config["Strategy"]
        space = SearchSpace(
            config.get("ParameterRanges") or definition.get("HyperParameterRanges") or {},
            definition.get("StaticHyperParameters"),
        )
        config.setdefault("ParameterRanges", definition.get("HyperParameterRanges"))
        check_strategy(strategy, space)
        limits = dict(config["ResourceLimits"])
        if strategy == "Grid":
            grid_size = len(space.grid())
            max_jobs = min(grid_size, limits.get("MaxNumberOfTrainingJobs") or grid_size)
        else:
            require(limits, "MaxNumberOfTrainingJobs", path="hyperParameterTuningJobConfig.resourceLimits")
            max_jobs = limits["MaxNumberOfTrainingJobs"]
        config["ResourceLimits"] = limits
        config.setdefault("TrainingJobEarlyStoppingType", "Off")
        objective = config.get("HyperParameterTuningJobObjective") or definition.get("TuningObjective")
        if not objective:
            raise validation(
                "HyperParameterTuningJobObjective (Type Maximize or Minimize, and MetricName) is required "
                "unless the training job definition has a TuningObjective"
            )
        config["HyperParameterTuningJobObjective"] = objective
        built_in = self._check_objective(definition, objective["MetricName"])

        now = time.time()
        tuning_arn = arn("HyperParameterTuningJob", name)
        document = {
            "HyperParameterTuningJobName": name,
            "HyperParameterTuningJobArn": tuning_arn,
            "HyperParameterTuningJobConfig": config,
            "TrainingJobDefinition": definition,
            "HyperParameterTuningJobStatus": "InProgress",
            "CreationTime": now,
            "LastModifiedTime": now,
            "TrainingJobStatusCounters": {
                "Completed": 0,
                "InProgress": 0,
                "RetryableError": 0,
                "NonRetryableError": 0,
                "Stopped": 0,
            },
            "ObjectiveStatusCounters": {"Succeeded": 0, "Pending": 0, "Failed": 0},
            "_Children": [],
            "_MaxJobs": max_jobs,
            "_BuiltInAlgorithm": built_in,
            "_Tags": tags_of(request),
        }
        with self.tuning_jobs.lock:
            if name in self.tuning_jobs:
                raise resource_in_use(f"Hyperparameter tuning job {tuning_arn} already exists.")
            self.tuning_jobs.put(name, document)
        self.runner.start(name)
        return {"HyperParameterTuningJobArn": tuning_arn}

    @staticmethod
    def _check_objective(definition: dict, metric_name: str) -> bool:
        """Check the objective is a metric the training jobs emit; True for a built-in algorithm."""
        specification = definition["AlgorithmSpecification"]
        require(specification, "TrainingImage", path="trainingJobDefinition.algorithmSpecification")
        image = specification["TrainingImage"]
        repository = check_runnable_image(image)
        script_mode = "sagemaker_program" in (definition.get("StaticHyperParameters") or {}) or (
            registry._MODULES[repository] == registry.SCRIPT_MODE_MODULE
        )
        own = [] if script_mode else list(registry.algorithm_for_image(image).metric_definitions)
        definitions = own + list(specification.get("MetricDefinitions") or [])
        names = [d["Name"] for d in definitions]
        if metric_name not in names:
            raise validation(
                f"The objective metric '{metric_name}' is not one the training jobs emit; valid metrics for "
                f"image {image}: {names or 'none (add MetricDefinitions to AlgorithmSpecification)'}"
            )
        return not script_mode

    def _tuning(self, name: str) -> dict:
        tuning = self.tuning_jobs.get(name)
        if tuning is None:
            raise validation(f"Amazon SageMaker can't find a tuning job with name {name}")
        return tuning

    def _op_DescribeHyperParameterTuningJob(self, request: dict) -> dict:
        return public(self._tuning(request["HyperParameterTuningJobName"]))

    def _op_StopHyperParameterTuningJob(self, request: dict) -> dict:
        name = request["HyperParameterTuningJobName"]
        with self.tuning_jobs.lock:
            tuning = self._tuning(name)
            if tuning["HyperParameterTuningJobStatus"] != "InProgress":
                raise validation(
                    f"The hyperparameter tuning job {name} is in status "
                    f"{tuning['HyperParameterTuningJobStatus']} and cannot be stopped."
                )
            self.tuning_jobs.update(
                name, HyperParameterTuningJobStatus="Stopping", LastModifiedTime=time.time()
            )
        self.runner.request_stop(name)
        return {}

    def _op_ListHyperParameterTuningJobs(self, request: dict) -> dict:
        contains = request.get("NameContains", "")
        status = request.get("StatusEquals")
        items = [
            t
            for t in self.tuning_jobs.all()
            if contains in t["HyperParameterTuningJobName"]
            and (not status or t["HyperParameterTuningJobStatus"] == status)
            and time_filters(t, request)
        ]
        found, token = page(
            items,
            request,
            {
                "Name": "HyperParameterTuningJobName",
                "CreationTime": "CreationTime",
                "Status": "HyperParameterTuningJobStatus",
            },
            "Name",
        )
        summaries = [
            {
                "HyperParameterTuningJobName": t["HyperParameterTuningJobName"],
                "HyperParameterTuningJobArn": t["HyperParameterTuningJobArn"],
                "HyperParameterTuningJobStatus": t["HyperParameterTuningJobStatus"],
                "Strategy": t["HyperParameterTuningJobConfig"]["Strategy"],
                "CreationTime": t["CreationTime"],
                "LastModifiedTime": t["LastModifiedTime"],
                "TrainingJobStatusCounters": t["TrainingJobStatusCounters"],
                "ObjectiveStatusCounters": t["ObjectiveStatusCounters"],
                "ResourceLimits": t["HyperParameterTuningJobConfig"]["ResourceLimits"],
                **(
                    {"HyperParameterTuningEndTime": t["HyperParameterTuningEndTime"]}
                    if "HyperParameterTuningEndTime" in t
                    else {}
                ),
            }
            for t in found
        ]
        return {"HyperParameterTuningJobSummaries": summaries, **({"NextToken": token} if token else {})}

    def _op_ListTrainingJobsForHyperParameterTuningJob(self, request: dict) -> dict:
        name = request["HyperParameterTuningJobName"]
        tuning = self._tuning(name)
        objective = tuning["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"]
        status = request.get("StatusEquals")
        summaries = [
            child_summary(job, name, objective)
            for child in tuning["_Children"]
            if (job := self.training_jobs.get(child)) is not None
            and (not status or job["TrainingJobStatus"] == status)
        ]
        sort_by = request.get("SortBy", "Name")
        if sort_by == "FinalObjectiveMetricValue":
            # As on SageMaker: sorting by the objective lists only the jobs that reported it.
            summaries = [s for s in summaries if "FinalHyperParameterTuningJobObjectiveMetric" in s]
            for summary in summaries:
                summary["_Objective"] = summary["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
        found, token = page(
            summaries,
            request,
            {
                "Name": "TrainingJobName",
                "CreationTime": "CreationTime",
                "Status": "TrainingJobStatus",
                "FinalObjectiveMetricValue": "_Objective",
            },
            "Name",
        )
        return {
            "TrainingJobSummaries": [public(summary) for summary in found],
            **({"NextToken": token} if token else {}),
        }
