"""``plan_run``: the first task of every workflow, which settles what the rest of the run refers to."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from airflow.sdk import Variable, task

from include.sagemaker_requests.image_uris import image_uri
from include.sagemaker_requests.names import RunNames, run_names
from include.sagemaker_requests.target import Target, read_target
from mnist_workflows.spec import SWEPT_BY_DATE, WorkflowSpec
from mnist_workflows.sweep_params import run_sweep


@dataclass(frozen=True)
class Plan:
    """What a DAG's own additions to the plan are built from (see :func:`plan_run`'s ``extra``)."""

    dag_id: str
    run_id: str
    target: Target
    names: RunNames
    params: Any
    # The run's settled hyperparameters (a DAG swept by date): the params, or its grid point's values.
    hyperparameters: Mapping[str, Any] = field(default_factory=dict)

    @property
    def bucket_uri(self) -> str:
        return f"s3://{self.target.bucket}"

    @property
    def prefix(self) -> str:
        """``s3://<bucket>/<dag>/<run token>``: where everything of this run is stored."""
        return f"{self.bucket_uri}/{self.names.s3_prefix}"

    def stage(self, stage: str) -> RunNames:
        """The names of one stage of the run (``pca``, ``p3``, ...)."""
        return run_names(self.dag_id, self.run_id, stage=stage)

    def image(self, algorithm: str, scope: str = "training") -> str:
        """The image of ``algorithm`` in the run's region (``scope="inference"``: the one that serves it)."""
        return image_uri(algorithm, self.target.region, scope=scope)


def plan_run(
    spec: WorkflowSpec,
    *,
    stages: Mapping[str, str] | None = None,
    extra: Callable[[Plan], dict] | None = None,
):
    """The ``plan_run`` task of ``spec``'s DAG: names every SageMaker resource of the run (unique per run,
    valid), reads the bucket, role and region (Airflow Variables, local defaults otherwise) and, for a DAG
    swept by date, settles the hyperparameters (the params, or the grid point of the run's logical date).

    Its result, one XCom per key: ``bucket``, ``role_arn``, ``region``, the run's names (``training_job``,
    ``model``, ``endpoint_config``, ``endpoint``, ``tuning_job``, ``s3_prefix``), ``image``,
    ``output_path``, ``report_prefix``, ``predictions``, ``hyperparameters`` and ``sweep_index``; for each
    of ``stages`` (stage → algorithm, e.g. ``{"pca": "pca"}``) the stage's names and image under keys
    prefixed with it (``pca_training_job``, ``pca_model``, ``pca_image``, ...); and what ``extra(plan)``
    adds: a DAG's own names and locations, computed once here like the rest.
    """

    @task(task_id="plan_run", multiple_outputs=True)
    def plan(dag=None, dag_run=None, params=None) -> dict:
        """Name this run's resources, read where it deploys and settle its hyperparameters."""
        target = read_target(lambda name, default: Variable.get(name, default=default))
        names = run_names(dag_run.dag_id, dag_run.run_id)
        sweep = None
        if spec in SWEPT_BY_DATE:
            sweep = run_sweep(spec.swept, spec.schedule, dag=dag, dag_run=dag_run, params=params)
        values = sweep["values"] if sweep else {}
        planned = Plan(dag_run.dag_id, dag_run.run_id, target, names, params, values)
        result = {
            **target.to_dict(),
            **names.to_dict(),
            "image": planned.image(spec.image),
            "output_path": f"{planned.prefix}/models",
            "report_prefix": f"{planned.prefix}/report",
            "predictions": f"{planned.prefix}/validation/predictions.npz",
        }
        for stage, algorithm in (stages or {}).items():
            result |= {f"{stage}_{kind}": name for kind, name in planned.stage(stage).to_dict().items()}
            result[f"{stage}_image"] = planned.image(algorithm)
        if sweep:
            result |= {"hyperparameters": sweep["values"], "sweep_index": sweep["index"]}
        return result | (extra(planned) if extra else {})

    return plan()
