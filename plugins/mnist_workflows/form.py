"""The trigger form: the params every workflow shares, grouped in sections.

A DAG declares its hyperparameters itself (in :func:`hyperparameters`) and takes the rest from here: where
the digits come from, where the model is served and for how long, and how a backfill sweeps it.
"""

from __future__ import annotations

from collections.abc import Mapping

from airflow.sdk import Param

from mnist_workflows.source_param import mnist_source_param
from mnist_workflows.spec import START_DATE, WorkflowSpec
from mnist_workflows.sweep_params import sweep_params

DATA = "Data"
HYPERPARAMETERS = "Hyperparameters"
DEPLOYMENT = "Deployment"
SWEEP = "Sweep"
INSTANCE_TYPE_PATTERN = r"^ml\.[a-z0-9]+\.[a-z0-9]+$"


def source() -> dict[str, Param]:
    """``source``: which MNIST to load; the offline sample by default."""
    return {"source": mnist_source_param(section=DATA)}


def hyperparameters(**params: Param) -> dict[str, Param]:
    """``params`` in the trigger form's Hyperparameters section (as if each were given ``section=``)."""
    for param in params.values():
        param.schema["section"] = HYPERPARAMETERS
    return params


def clusters() -> Param:
    """k-means' ``k``, the seed's 10 by default."""
    return Param(
        10,
        type="integer",
        minimum=2,
        maximum=500,
        title="Clusters (k)",
        description="Number of clusters; 10 matches the ten digits.",
    )


def epochs(default: int, description: str, title: str = "Epochs") -> Param:
    """An algorithm's ``epochs``: passes over the training data, 1 to 100."""
    return Param(default, type="integer", minimum=1, maximum=100, title=title, description=description)


def mini_batch_size(default: int, description: str, maximum: int | None = None) -> Param:
    """An algorithm's ``mini_batch_size``: records per mini-batch, at least 1 (at most ``maximum``)."""
    bounds = {"minimum": 1} | ({"maximum": maximum} if maximum else {})
    return Param(default, type="integer", **bounds, title="Mini-batch size", description=description)


def instance_type(used_for: str) -> dict[str, Param]:
    """``instance_type``: the ML instance type of the run's jobs and endpoints, described by ``used_for``."""
    return {
        "instance_type": Param(
            "ml.m5.large",
            type="string",
            pattern=INSTANCE_TYPE_PATTERN,
            title="Instance type",
            description=used_for,
            section=DEPLOYMENT,
        )
    }


def instance_count(default: int, description: str) -> dict[str, Param]:
    """``instance_count``: how many instances train (``algo-1`` … ``algo-N``), the seed's ``default``."""
    return {
        "instance_count": Param(
            default,
            type="integer",
            minimum=1,
            maximum=16,
            title="Training instances",
            description=description,
            section=DEPLOYMENT,
        )
    }


def deployment(
    instance_types: str = "For training and for the endpoint.", endpoints: str = "the endpoint"
) -> dict[str, Param]:
    """``instance_type``, ``validation_records`` and ``keep_endpoint`` of a DAG serving ``endpoints``."""
    plural = endpoints != "the endpoint"
    return {
        **instance_type(instance_types),
        "validation_records": Param(
            1000,
            type="integer",
            minimum=10,
            maximum=10000,
            title="Validation records",
            description=f"How many test digits to send to {endpoints}.",
            section=DEPLOYMENT,
        ),
        "keep_endpoint": Param(
            False,
            type="boolean",
            title="Keep the endpoints" if plural else "Keep the endpoint",
            description=f"Leave {endpoints} running after the run (you pay for "
            f"{'them' if plural else 'it'} on AWS).",
            section=DEPLOYMENT,
        ),
    }


def sweep(spec: WorkflowSpec, *, example: Mapping[str, list]) -> dict[str, Param]:
    """``sweep_grid`` and ``sweep_start``: a backfill's grid over ``spec.swept`` (see
    :mod:`mnist_workflows.sweep_params`)."""
    return sweep_params(START_DATE, spec.swept, example=example, section=SWEEP)


def leaderboard(spec: WorkflowSpec) -> dict[str, Param]:
    """``leaderboard``: which shared leaderboard a run's results join, ``spec``'s by default."""
    return {
        "leaderboard": Param(
            spec.leaderboard,
            type="string",
            pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$",
            title="Leaderboard",
            section=SWEEP,
            description="Name of the shared leaderboard under s3://<bucket>/leaderboards/.",
        )
    }
