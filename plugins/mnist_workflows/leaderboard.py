"""``record_leaderboard``: a run's row on its DAG's shared leaderboard."""

from __future__ import annotations

from airflow.sdk import task

from include.sweeps.entries import report_entry
from mnist_workflows.spec import WorkflowSpec
from operators.leaderboard import LeaderboardOperator

CLUSTERING_METRICS = ("purity", "nmi", "ari")
CLASSIFICATION_METRICS = ("accuracy", "macro_f1")


@task
def leaderboard_entry(run: dict, train: dict, report: dict, metrics: list, jobs: dict) -> dict:
    """This run's leaderboard row: its hyperparameters, the report's metrics and the training metrics."""
    return report_entry(
        train["Training"],
        run["hyperparameters"],
        report,
        tuple(metrics),
        **{column: job["Training"]["TrainingJobName"] for column, job in jobs.items()},
        sweep_point=run["sweep_index"],
    )


def record_leaderboard(spec: WorkflowSpec, run, train, report, metrics: tuple[str, ...], **jobs):
    """Append the run to ``spec``'s leaderboard, ranked by its metric: the ``metrics`` of ``report``
    (a report operator) and the final metrics of the training task ``train``; each of ``jobs`` (a column
    name → another training task) adds that job's name as a column."""
    return LeaderboardOperator(
        task_id="record_leaderboard",
        bucket=run["bucket"],
        leaderboard=spec.leaderboard,
        entries=leaderboard_entry(
            run, train.output, report.output, list(metrics), {c: t.output for c, t in jobs.items()}
        ),
        metric=spec.metric,
        direction=spec.direction,
    )
