"""Fixtures of the parity suite: what each DAG sends to SageMaker, and what the SageMaker SDK sends.

**The DAG's side** is recorded from a real ``dag.test()`` run against the local engine: the requests are
assembled across tasks (plan_run, request-building tasks, Jinja templates rendered from XCom, the provider
operators' own preprocessing), so only a run shows what reaches boto3. The recording sits where the
provider's hooks make their clients (``AwsGenericHook.get_client_type``): every SageMaker client gets a
``before-parameter-build`` handler that keeps each ``Create*`` call's parameters as the operator passed
them. Each DAG runs once per session (30 to 90 s each), whatever the number of tests reading it.

**The SDK's side** is built by ``sdk_requests.py`` in the SDK's own virtualenv (``make sdk``), which
records the SDK's calls the same way and sends nothing.
"""

from __future__ import annotations

import base64
import copy
import json
import os
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from include.devstack.settings import local_connection
from tests.support.dags import REPO, fast_dag, load_dag

SDK_PYTHON = REPO / ".cache" / "sagemaker-sdk" / "bin" / "python"
SDK_SCRIPT = Path(__file__).resolve().parent / "sdk_requests.py"
# Not the local default (us-east-1): a DAG that hard-codes a region, or takes it from the wrong place,
# sends an image or an environment of another region than the SDK's and fails the comparison.
REGION = "eu-west-1"


@dataclass
class CapturedRun:
    """One DAG run and the SageMaker ``Create*`` requests its tasks sent, in order."""

    run_id: str
    requests: list[tuple[str, dict]]

    def request(self, operation: str, **identity: object) -> dict:
        """The one ``operation`` request whose fields equal ``identity`` (e.g. ``TrainingJobName=...``)."""
        found = [
            params
            for name, params in self.requests
            if name == operation and all(params.get(key) == value for key, value in identity.items())
        ]
        assert len(found) == 1, f"expected one {operation} {identity}, the run sent {len(found)}"
        return found[0]


@pytest.fixture(scope="session")
def parity_engine(tmp_path_factory: pytest.TempPathFactory, airflow_db: str) -> Iterator[str]:
    from include.local_sagemaker.engine import LocalSageMaker

    engine = LocalSageMaker(tmp_path_factory.mktemp("parity-engine")).start()
    try:
        yield engine.endpoint_url
    finally:
        engine.stop()


def _record_sagemaker_requests(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict]]:
    from airflow.providers.amazon.aws.hooks.base_aws import AwsGenericHook

    recorded: list[tuple[str, dict]] = []
    make_client = AwsGenericHook.get_client_type

    def record(params, model, **_) -> None:
        if model.name.startswith("Create"):
            recorded.append((model.name, copy.deepcopy(params)))

    def recording_client(self, *args, **kwargs):
        client = make_client(self, *args, **kwargs)
        meta = getattr(client, "meta", None)  # the deferrable path gets an aiobotocore context instead
        if meta is not None and meta.service_model.service_name == "sagemaker":
            meta.events.register("before-parameter-build.sagemaker", record)
        return client

    monkeypatch.setattr(AwsGenericHook, "get_client_type", recording_client)
    return recorded


@pytest.fixture(scope="session")
def dag_run(parity_engine: str) -> Callable[..., CapturedRun]:
    """``dag_run("kmeans_mnist", conf)``: the requests of one successful run of the DAG with ``conf``."""
    runs: dict[str, CapturedRun] = {}

    def run(dag_id: str, conf: dict | None = None) -> CapturedRun:
        key = json.dumps([dag_id, conf], sort_keys=True)
        if key not in runs:
            with pytest.MonkeyPatch.context() as monkeypatch:
                monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", local_connection(parity_engine))
                monkeypatch.setenv("AIRFLOW_VAR_SAGEMAKER_REGION", REGION)
                recorded = _record_sagemaker_requests(monkeypatch)
                # The operators' polling interval decides how long the run waits, not what it sends.
                finished = fast_dag(dag_id).test(run_conf=conf)
                states = {ti.task_id: ti.state for ti in finished.get_task_instances()}
                assert finished.state == "success", states
            runs[key] = CapturedRun(finished.run_id, recorded)
        return runs[key]

    return run


@pytest.fixture(scope="session")
def dag_params() -> Callable[[str], dict]:
    """``dag_params("kmeans_mnist")``: the DAG's params with their defaults (what a run without conf uses)."""

    def params(dag_id: str) -> dict:
        dag = load_dag(dag_id)
        return {name: dag.params[name] for name in dag.params}

    return params


@pytest.fixture(scope="session")
def sdk_requests(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., list[list]]:
    """``sdk_requests(steps)``: per step of ``sdk_requests.py``, the ``[operation, parameters]`` the SDK
    sent; ``sdk_requests(steps, uploads=True)``: those and, per step, what it uploaded to S3
    (``{"s3://...": bytes}``)."""
    if not SDK_PYTHON.exists():
        pytest.skip(f"the SageMaker SDK's virtualenv {SDK_PYTHON.parent.parent} is not built: run `make sdk`")
    directory = tmp_path_factory.mktemp("sdk-requests")

    def build(steps: list[dict], uploads: bool = False):
        output = directory / f"requests-{len(list(directory.iterdir()))}.json"
        finished = subprocess.run(
            [str(SDK_PYTHON), str(SDK_SCRIPT), str(output)],
            input=json.dumps([{"region": REGION, **step} for step in steps]),
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, "SAGEMAKER_SUPPRESS_V2_WARNING": "1"},
        )
        assert finished.returncode == 0, finished.stderr[-4000:]
        answers = json.loads(output.read_text())
        if not uploads:
            return answers["requests"]
        uploaded = [
            {uri: base64.b64decode(body) for uri, body in step.items()} for step in answers["uploads"]
        ]
        return answers["requests"], uploaded

    return build
