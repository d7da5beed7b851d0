"""Helpers shared by the end-to-end DAG tests (fixtures are in ``conftest.py``)."""

from __future__ import annotations

import json
from pathlib import Path

from include.sagemaker_requests.names import RunNames
from include.sagemaker_requests.target import LOCAL_BUCKET

REPO = Path(__file__).resolve().parents[2]


def load_dag(dag_id: str):
    """The DAG ``dag_id`` parsed from ``dags/<dag_id>.py``, failing on any import error."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(REPO / "dags" / f"{dag_id}.py"))
    assert not bag.import_errors, bag.import_errors
    return bag.dags[dag_id]


def fast_dag(dag_id: str):
    """``load_dag(dag_id)`` polling SageMaker every second: the local engine's jobs and endpoints take
    seconds, not minutes, so a run waits less and does the same. Mapped tasks poll every second too."""
    dag = load_dag(dag_id)
    for task in dag.tasks:
        if "check_interval" in getattr(task, "partial_kwargs", {}):
            task.partial_kwargs["check_interval"] = 1
        elif hasattr(task, "check_interval"):
            task.check_interval = 1
    return dag


def left_deployed(sagemaker, names: RunNames) -> list[str]:
    """The endpoint, endpoint config and model named in ``names`` that still exist."""
    left = [
        e["EndpointName"]
        for e in sagemaker.list_endpoints(NameContains=names.endpoint)["Endpoints"]
        if e["EndpointName"] == names.endpoint
    ]
    left += [
        c["EndpointConfigName"]
        for c in sagemaker.list_endpoint_configs(NameContains=names.endpoint_config)["EndpointConfigs"]
        if c["EndpointConfigName"] == names.endpoint_config
    ]
    left += [
        m["ModelName"]
        for m in sagemaker.list_models(NameContains=names.model)["Models"]
        if m["ModelName"] == names.model
    ]
    return left


def read_json(s3, key: str, bucket: str = LOCAL_BUCKET) -> dict:
    """A JSON object stored on S3 (``metrics.json`` of a report, for instance)."""
    return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
