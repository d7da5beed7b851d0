"""A grid sweep in one run: its points, planned in ``plan_run``, and its results, one leaderboard entry per
trained point from its mapped training jobs or its tuning job."""

from __future__ import annotations

from collections.abc import Callable

from airflow.providers.amazon.aws.hooks.sagemaker import SageMakerHook
from airflow.sdk import task

from include.sweeps.entries import training_entry
from include.sweeps.grid import expand, point_label
from include.sweeps.tuning import tuned_point, tuning_children
from mnist_workflows.planning import Plan


def grid_points(swept: tuple[str, ...]) -> Callable[[Plan], dict]:
    """``plan_run``'s ``extra`` of a grid sweep over the hyperparameters ``swept``: the param ``grid``'s
    points, checked and expanded, each with its index, values, label and training job's name."""

    def points(plan: Plan) -> dict:
        expanded = expand(plan.params["grid"], allowed=swept)
        if not expanded:
            raise ValueError("The grid is empty: give at least one hyperparameter and its values")
        return {
            "points": [
                {
                    "index": index,
                    "values": point,
                    "label": point_label(point),
                    "training_job": plan.stage(f"p{index}").training_job,
                }
                for index, point in enumerate(expanded)
            ]
        }

    return points


@task(trigger_rule="none_failed_min_one_success")
def collect_results(run: dict, trained=None, tuned=None, objective: str = "", params=None) -> list[dict]:
    """A leaderboard entry per trained point, from the mapped jobs or the tuning job's children."""
    if tuned:
        children = tuning_children(SageMakerHook().conn, tuned["Tuning"]["HyperParameterTuningJobName"])
        results = [
            (*tuned_point(params["grid"], summary["TunedHyperParameters"]), job)
            for summary, job in children
            if job["TrainingJobStatus"] == "Completed"
        ]
        strategy = f"tuning:{params['tuning_strategy']}"
    else:
        results = [
            (point["index"], point["values"], job["Training"])
            for point, job in zip(run["points"], trained, strict=True)
        ]
        strategy = "mapped"
    entries = [
        training_entry(job, values, sweep_point=index, strategy=strategy) for index, values, job in results
    ]
    if not any(entry["metrics"].get(objective) is not None for entry in entries):
        raise ValueError(f"No training job of this sweep reported {objective}; nothing to rank")
    return entries
