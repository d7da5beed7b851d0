"""Hyperparameter tuning jobs: a thread per job launching child training jobs and tracking the best.

The runner asks the job's strategy for values, creates each child through the control plane's own
``CreateTrainingJob`` (named ``<tuning job>-<NNN>-<8 hex>`` as SageMaker names them), keeps at most
``MaxParallelTrainingJobs`` running and at most ``MaxNumberOfTrainingJobs`` in all, and after each
change records the status counters and ``BestTrainingJob``: the completed child whose final value of
the objective metric (from ``FinalMetricDataList``) is lowest or highest.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable

from include.local_sagemaker.errors import ServiceError
from include.local_sagemaker.failures import failure_reason
from include.local_sagemaker.job_runner import ACTIVE_STATUSES, JobRunner
from include.local_sagemaker.job_threads import RunningJob
from include.local_sagemaker.state import ResourceStore
from include.local_sagemaker.tuning_strategies import SearchSpace, make_strategy

POLL_SECONDS = 0.5


def objective_value(job: dict, metric_name: str) -> float | None:
    """The child's final value of the objective metric, if it reported one."""
    for metric in job.get("FinalMetricDataList") or []:
        if metric["MetricName"] == metric_name:
            return float(metric["Value"])
    return None


def child_summary(job: dict, tuning_name: str, objective: dict) -> dict:
    """A ``HyperParameterTrainingJobSummary`` of one child training job."""
    value = objective_value(job, objective["MetricName"])
    status = job["TrainingJobStatus"]
    summary = {
        "TrainingJobName": job["TrainingJobName"],
        "TrainingJobArn": job["TrainingJobArn"],
        "TuningJobName": tuning_name,
        "CreationTime": job["CreationTime"],
        "TrainingJobStatus": status,
        "TunedHyperParameters": job.get("_TunedHyperParameters", {}),
        "ObjectiveStatus": "Pending"
        if status in ACTIVE_STATUSES
        else ("Succeeded" if value is not None else "Failed"),
    }
    for field in ("TrainingStartTime", "TrainingEndTime", "FailureReason"):
        if field in job:
            summary[field] = job[field]
    if value is not None:
        summary["FinalHyperParameterTuningJobObjectiveMetric"] = {
            "Type": objective["Type"],
            "MetricName": objective["MetricName"],
            "Value": value,
        }
    return summary


class TuningRunner(JobRunner):
    """Runs the tuning jobs in ``tuning_jobs``; children are created with ``create_training_job``.

    A tuning job ends (whether it completes, fails or stops) only once its children have ended; on a
    user's stop, or the engine's, it stops them and ends Stopped.
    """

    kind = "tuning"
    status_field = "HyperParameterTuningJobStatus"
    name_field = "HyperParameterTuningJobName"
    # After a restart the children were lost (the training runner failed them): so is the tuning job.
    restart_reason = (
        "InternalServerError: The local SageMaker engine was restarted while this "
        "tuning job was in progress. Start it again under a new name."
    )

    def __init__(
        self,
        tuning_jobs: ResourceStore,
        training_jobs: ResourceStore,
        create_training_job: Callable[[dict], dict],
        stop_training_job: Callable[[str], None],
    ):
        super().__init__(tuning_jobs)
        self.tuning_jobs = tuning_jobs
        self.training_jobs = training_jobs
        self.create_training_job = create_training_job
        self.stop_training_job = stop_training_job

    # -- one tuning job -----------------------------------------------------------------------------
    def _children(self, tuning: dict) -> list[dict]:
        return [
            job for name in tuning.get("_Children", []) if (job := self.training_jobs.get(name)) is not None
        ]

    def _refresh(self, name: str) -> dict:
        """Recompute the counters and the best job from the children's documents; returns the tuning doc."""
        with self.tuning_jobs.lock:
            tuning = self.tuning_jobs.get(name)
            objective = tuning["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"]
            summaries = [child_summary(job, name, objective) for job in self._children(tuning)]
            statuses = [s["TrainingJobStatus"] for s in summaries]
            objectives = [s["ObjectiveStatus"] for s in summaries]
            changes = {
                "TrainingJobStatusCounters": {
                    "Completed": statuses.count("Completed"),
                    "InProgress": sum(status in ACTIVE_STATUSES for status in statuses),
                    "RetryableError": 0,
                    "NonRetryableError": statuses.count("Failed"),
                    "Stopped": statuses.count("Stopped"),
                },
                "ObjectiveStatusCounters": {
                    "Succeeded": objectives.count("Succeeded"),
                    "Pending": objectives.count("Pending"),
                    "Failed": objectives.count("Failed"),
                },
                "LastModifiedTime": time.time(),
            }
            scored = [
                s
                for s in summaries
                if s["TrainingJobStatus"] == "Completed" and s["ObjectiveStatus"] == "Succeeded"
            ]
            if scored:
                sign = 1 if objective["Type"] == "Minimize" else -1
                changes["BestTrainingJob"] = min(
                    scored, key=lambda s: sign * s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
                )
            return self.tuning_jobs.update(name, **changes)

    def _fail(self, name: str, reason: str) -> None:
        self._stop_children(name)
        super()._fail(name, reason)

    def _execute(self, name: str, running: RunningJob) -> None:
        stop = running.stop_requested
        tuning = self.tuning_jobs.get(name)
        config = tuning["HyperParameterTuningJobConfig"]
        definition = tuning["TrainingJobDefinition"]
        limits = config["ResourceLimits"]
        objective = config["HyperParameterTuningJobObjective"]
        space = SearchSpace(config["ParameterRanges"], definition.get("StaticHyperParameters"))
        strategy = make_strategy(config["Strategy"], space, config.get("RandomSeed"))
        target = (config.get("TuningJobCompletionCriteria") or {}).get("TargetObjectiveMetricValue")
        sign = 1 if objective["Type"] == "Minimize" else -1
        max_jobs, max_parallel = tuning["_MaxJobs"], limits["MaxParallelTrainingJobs"]
        exhausted = False
        reached = False
        while True:
            if stop.is_set():
                self._stop_children(name)
                self._finish(name, "Stopped")
                return
            tuning = self._refresh(name)
            children = self._children(tuning)
            active = sum(job["TrainingJobStatus"] in ACTIVE_STATUSES for job in children)
            if target is not None and "BestTrainingJob" in tuning:
                best = tuning["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
                reached = sign * best <= sign * float(target)
            can_launch = not (exhausted or reached) and len(children) < max_jobs
            if can_launch and active < max_parallel:
                history = [
                    (job.get("_TunedHyperParameters", {}), self._minimised(job, objective))
                    for job in children
                ]
                values = strategy.propose(history)
                if values is None:
                    exhausted = True
                else:
                    self._launch(name, tuning, len(children) + 1, values)
                continue
            if active == 0 and not can_launch:
                break
            stop.wait(POLL_SECONDS)
        tuning = self._refresh(name)
        if "BestTrainingJob" in tuning:
            self._finish(name, "Completed")
            return
        reasons = [job.get("FailureReason", "") for job in self._children(tuning) if job.get("FailureReason")]
        self._finish(
            name,
            "Failed",
            FailureReason=failure_reason(
                f"No training job reported the objective metric {objective['MetricName']}"
                + (f"; the first failure: {reasons[0]}" if reasons else "")
            ),
        )

    @staticmethod
    def _minimised(job: dict, objective: dict) -> float | None:
        value = (
            objective_value(job, objective["MetricName"]) if job["TrainingJobStatus"] == "Completed" else None
        )
        if value is None:
            return None
        return value if objective["Type"] == "Minimize" else -value

    def _launch(self, name: str, tuning: dict, index: int, values: dict[str, str]) -> None:
        definition = tuning["TrainingJobDefinition"]
        child = f"{name}-{index:03d}-{uuid.uuid4().hex[:8]}"
        hyperparameters = {**(definition.get("StaticHyperParameters") or {}), **values}
        if tuning.get("_BuiltInAlgorithm"):
            # SageMaker tells a built-in algorithm which metric it is tuned for.
            metric = tuning["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"]["MetricName"]
            hyperparameters["_tuning_objective_metric"] = metric
        request = {
            "TrainingJobName": child,
            "AlgorithmSpecification": definition["AlgorithmSpecification"],
            "RoleArn": definition["RoleArn"],
            "HyperParameters": hyperparameters,
            "InputDataConfig": definition.get("InputDataConfig") or [],
            "OutputDataConfig": definition["OutputDataConfig"],
            "ResourceConfig": definition["ResourceConfig"],
            "StoppingCondition": definition["StoppingCondition"],
        }
        for optional in ("VpcConfig", "EnableNetworkIsolation", "CheckpointConfig", "Environment"):
            if optional in definition:
                request[optional] = definition[optional]
        with self.tuning_jobs.lock:
            self.tuning_jobs.update(name, _Children=[*tuning.get("_Children", []), child])
        try:
            self.create_training_job(request)
        except ServiceError as error:
            with self.tuning_jobs.lock:
                children = [c for c in self.tuning_jobs.get(name)["_Children"] if c != child]
                self.tuning_jobs.update(name, _Children=children)
            raise RuntimeError(f"creating training job {child} failed: {error.message}") from error
        with self.training_jobs.lock:
            self.training_jobs.update(
                child, TuningJobArn=tuning["HyperParameterTuningJobArn"], _TunedHyperParameters=values
            )

    def _stop_children(self, name: str) -> None:
        tuning = self.tuning_jobs.get(name)
        children = self._children(tuning)
        for job in children:
            if job["TrainingJobStatus"] == "InProgress":
                with contextlib.suppress(ServiceError):  # it finished meanwhile
                    self.stop_training_job(job["TrainingJobName"])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and any(
            (self.training_jobs.get(job["TrainingJobName"]) or {}).get("TrainingJobStatus") in ACTIVE_STATUSES
            for job in children
        ):
            time.sleep(0.2)

    def _finish(self, name: str, status: str, **fields) -> None:
        self._refresh(name)
        now = time.time()
        tuning = self.tuning_jobs.get(name)
        self.tuning_jobs.update(
            name,
            HyperParameterTuningJobStatus=status,
            HyperParameterTuningEndTime=now,
            LastModifiedTime=now,
            ConsumedResources={"RuntimeInSeconds": int(now - tuning["CreationTime"])},
            **fields,
        )
