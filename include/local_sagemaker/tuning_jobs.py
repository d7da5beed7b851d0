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
    Listing,
    ResourceFamily,
    check_runnable_image,
    page,
    paged,
    public,
    require,
    tags_of,
)
from include.local_sagemaker.errors import validation
from include.local_sagemaker.names import arn
from include.local_sagemaker.state import ResourceStore
from include.local_sagemaker.tuning import TuningRunner, child_summary
from include.local_sagemaker.tuning_strategies import SearchSpace, check_strategy


def _from_config(tuning: dict) -> dict:
    """What a ``HyperParameterTuningJobSummary`` takes from the job's config."""
    config = tuning["HyperParameterTuningJobConfig"]
    return {"Strategy": config["Strategy"], "ResourceLimits": config["ResourceLimits"]}


_LISTING = Listing(
    "HyperParameterTuningJobSummaries",
    "HyperParameterTuningJobName",
    (
        "HyperParameterTuningJobName",
        "HyperParameterTuningJobArn",
        "HyperParameterTuningJobStatus",
        "CreationTime",
        "HyperParameterTuningEndTime",
        "LastModifiedTime",
        "TrainingJobStatusCounters",
        "ObjectiveStatusCounters",
    ),
    status_field="HyperParameterTuningJobStatus",
    default_sort="Name",
    more=_from_config,
)


class TuningJobs(ResourceFamily):
    """``*HyperParameterTuningJob*`` operations over the ``tuning-jobs`` store."""

    listing = _LISTING
    missing = "Amazon SageMaker can't find a tuning job with name {name}"
    duplicate = "Hyperparameter tuning job {arn} already exists."
    duplicate_code = "ResourceInUse"
    stop_refusal = (
        "The hyperparameter tuning job {HyperParameterTuningJobName} is in status "
        "{HyperParameterTuningJobStatus} and cannot be stopped."
    )

    def __init__(self, tuning_jobs: ResourceStore, training_jobs: ResourceStore, runner: TuningRunner):
        super().__init__(tuning_jobs, runner)
        self.training_jobs = training_jobs

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
        document = {
            "HyperParameterTuningJobName": name,
            "HyperParameterTuningJobArn": arn("HyperParameterTuningJob", name),
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
        return self.create(document)

    @staticmethod
    def _check_objective(definition: dict, metric_name: str) -> bool:
        """Check the objective is a metric the training jobs emit; True for a built-in algorithm."""
        specification = definition["AlgorithmSpecification"]
        require(specification, "TrainingImage", path="trainingJobDefinition.algorithmSpecification")
        image = specification["TrainingImage"]
        repository = check_runnable_image(image)
        script_mode = "sagemaker_program" in (definition.get("StaticHyperParameters") or {}) or (
            registry.runs_script_mode(repository)
        )
        own = [] if script_mode else list(registry.lookup(image).metric_definitions)
        definitions = own + list(specification.get("MetricDefinitions") or [])
        names = [d["Name"] for d in definitions]
        if metric_name not in names:
            raise validation(
                f"The objective metric '{metric_name}' is not one the training jobs emit; valid metrics for "
                f"image {image}: {names or 'none (add MetricDefinitions to AlgorithmSpecification)'}"
            )
        return not script_mode

    _op_DescribeHyperParameterTuningJob = ResourceFamily.describe
    _op_StopHyperParameterTuningJob = ResourceFamily.stop
    _op_ListHyperParameterTuningJobs = ResourceFamily.list

    def _op_ListTrainingJobsForHyperParameterTuningJob(self, request: dict) -> dict:
        name = request["HyperParameterTuningJobName"]
        tuning = self.get(name)
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
        return paged("TrainingJobSummaries", [public(summary) for summary in found], token)
