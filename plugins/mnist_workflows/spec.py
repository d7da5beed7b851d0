"""What tells one training DAG apart from another at its edges: a frozen record per DAG.

The DAG files, the README's sweep table and the sweep tests read the same records, so a DAG's
leaderboard, ranking metric or swept params are written down once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

SCHEDULE = "@weekly"
START_DATE = datetime(2026, 1, 1)
DEFAULT_ARGS = {"owner": "ml-platform", "retries": 2, "retry_delay": timedelta(seconds=20)}
DIRECTIONS = {"minimize": "lowest first", "maximize": "highest first"}


@dataclass(frozen=True)
class WorkflowSpec:
    """One DAG's identity.

    :param dag_id: the DAG's id (its file is ``dags/<dag_id>.py``).
    :param image: the algorithm or framework of the model the leaderboard ranks, as
        :func:`include.sagemaker_requests.image_uris.image_uri` names it (``kmeans``, ``xgboost``, ...).
    :param swept: the params a sweep grid may override, in the order the leaderboard shows them.
    :param leaderboard: the shared leaderboard under ``s3://<bucket>/leaderboards/``.
    :param metric: the metric that ranks the leaderboard.
    :param direction: ``minimize`` or ``maximize``.
    :param package_group: the model package group the ranked model is registered in.
    :param max_active_runs: runs of the DAG at once.
    :param schedule: when it runs; a sweep by date takes one grid point per period of it.
    """

    dag_id: str
    image: str
    swept: tuple[str, ...]
    leaderboard: str
    metric: str
    direction: Literal["minimize", "maximize"]
    package_group: str
    max_active_runs: int = 4
    schedule: str = SCHEDULE

    def __post_init__(self) -> None:
        if self.direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {sorted(DIRECTIONS)}, got {self.direction!r}")

    def dag_arguments(self) -> dict[str, Any]:
        """The ``@dag`` arguments every workflow shares but ``schedule``, which a DAG names itself
        (``schedule=SPEC.schedule``): from 2026-01-01 without catch-up, two retries per task, templates
        rendered as Python objects (requests travel through XCom)."""
        return {
            "dag_id": self.dag_id,
            "start_date": START_DATE,
            "catchup": False,
            "max_active_runs": self.max_active_runs,
            "default_args": DEFAULT_ARGS,
            "render_template_as_native_obj": True,
        }

    @property
    def ranking(self) -> str:
        """How the leaderboard ranks, in words: ``test:msd, lowest first``."""
        return f"{self.metric}, {DIRECTIONS[self.direction]}"


KMEANS_MNIST = WorkflowSpec(
    dag_id="kmeans_mnist",
    image="kmeans",
    swept=("k", "epochs", "init_method", "mini_batch_size"),
    leaderboard="kmeans-mnist",
    metric="test:msd",
    direction="minimize",
    package_group="kmeans-mnist",
)
XGBOOST_MNIST = WorkflowSpec(
    dag_id="xgboost_mnist",
    image="xgboost",
    swept=("eta", "gamma", "min_child_weight", "num_round", "max_depth"),
    leaderboard="xgboost-mnist",
    metric="accuracy",
    direction="maximize",
    package_group="xgboost-mnist",
)
LINEAR_LEARNER_MNIST = WorkflowSpec(
    dag_id="linear_learner_mnist",
    image="linear-learner",
    # model_selection_criteria is sent as binary_classifier_model_selection_criteria.
    swept=("epochs", "mini_batch_size", "num_models", "model_selection_criteria"),
    leaderboard="linear-learner-mnist",
    metric="accuracy",
    direction="maximize",
    package_group="linear-learner-mnist",
)
# The ranked model is the k-means over the projections; the PCA stage registers in its own group.
PCA_KMEANS_MNIST = WorkflowSpec(
    dag_id="pca_kmeans_mnist",
    image="kmeans",
    swept=("num_components", "k", "epochs", "mini_batch_size"),
    leaderboard="pca-kmeans-mnist",
    metric="purity",
    direction="maximize",
    package_group="pca-kmeans-mnist",
)
MNIST_BATCH_TRANSFORM = WorkflowSpec(
    dag_id="mnist_batch_transform",
    # The seed's framework; the DAG's `framework` param (swept too) picks the run's own.
    image="mxnet",
    swept=("framework", "epochs", "batch_size", "learning_rate"),
    leaderboard="mnist-batch-transform",
    metric="accuracy",
    direction="maximize",
    package_group="mnist-script-mode",
)
# A grid in one run rather than one point per logical date: its swept names are those a grid may hold,
# and its leaderboard is the default of its `leaderboard` param.
KMEANS_SWEEP = WorkflowSpec(
    dag_id="kmeans_sweep",
    image="kmeans",
    swept=(
        "k",
        "init_method",
        "epochs",
        "mini_batch_size",
        "extra_center_factor",
        "local_lloyd_init_method",
        "local_lloyd_max_iter",
        "local_lloyd_tol",
        "local_lloyd_num_trials",
        "half_life_time_size",
    ),
    leaderboard="kmeans-sweep",
    metric="test:msd",
    direction="minimize",
    package_group="kmeans-sweep",
    max_active_runs=2,
)

# The DAGs a backfill sweeps, one grid point per logical date (params `sweep_grid` and `sweep_start`).
SWEPT_BY_DATE = (KMEANS_MNIST, XGBOOST_MNIST, LINEAR_LEARNER_MNIST, PCA_KMEANS_MNIST, MNIST_BATCH_TRANSFORM)
SPECS = {spec.dag_id: spec for spec in (*SWEPT_BY_DATE, KMEANS_SWEEP)}
