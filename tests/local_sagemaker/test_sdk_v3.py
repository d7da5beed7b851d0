"""The SageMaker Python SDK v3 works against the engine unchanged, given only an endpoint URL.

``sdk_v3_workflow.py`` runs in the SDK's own virtualenv (``make sdk3`` builds ``.cache/sagemaker-sdk-v3``
from ``requirements-sdk-v3.txt``) against an engine started as its own process, with the SDK's role
validation on: ModelTrainer → Model → EndpointConfig → Endpoint → invoke → delete.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest

from tests.support.engine import REPO, ROLE_ARN, engine_clients, sdk_environment, start_engine_process

pytestmark = pytest.mark.slow

SDK_V3_PYTHON = REPO / ".cache" / "sagemaker-sdk-v3" / "bin" / "python"
WORKFLOW = Path(__file__).resolve().parent / "sdk_v3_workflow.py"


@pytest.fixture(scope="module")
def engine_url(tmp_path_factory):
    process, url = start_engine_process(tmp_path_factory.mktemp("sdk-v3-engine"))
    yield url
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 0


def test_model_trainer_to_endpoint_and_back(engine_url, tmp_path):
    if not SDK_V3_PYTHON.exists():
        message = f"the SDK v3 virtualenv {SDK_V3_PYTHON.parent.parent} is not built: run `make sdk3`"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    report_path = tmp_path / "report.json"
    finished = subprocess.run(
        [str(SDK_V3_PYTHON), str(WORKFLOW), str(report_path)],
        env=sdk_environment(engine_url, tmp_path),
        capture_output=True,
        text=True,
        timeout=420,
    )
    output = (finished.stdout + finished.stderr)[-6000:]
    report = json.loads(report_path.read_text()) if report_path.exists() else {}

    assert report.get("foreign_role", {}).get("refused"), output
    assert report["foreign_role"]["message"].startswith("IAM role 'arn:aws:iam::999999999999:role/Elsewhere'")
    assert report.get("trainer", {}).get("role") == ROLE_ARN, output

    train = report.get("train", {})
    assert train.get("status") == "Completed", output
    # The SDK uploaded the local CSV under its default bucket and read the artifact's place back.
    assert train["channel"].startswith(f"s3://sdk-v3-workflow/sdk-v3-kmeans/{train['name']}/input/train")
    assert train["artifact"] == f"{report['trainer']['output_path']}/{train['name']}/output/model.tar.gz"

    assert report.get("model", {}).get("arn", "").endswith(f":model/{train['name']}"), output
    assert report.get("endpoint_config", {}).get("arn", "").endswith(f":endpoint-config/{train['name']}")
    assert report.get("endpoint", {}).get("status") == "InService", output

    invoke = report.get("invoke", {})
    assert invoke.get("variant") == "AllTraffic", output
    assert invoke["content_type"] == "application/json"
    # Each centre lands in a cluster of its own, next to the cluster's centroid.
    clusters = [prediction["closest_cluster"] for prediction in invoke["predictions"]]
    assert sorted(clusters) == [0, 1, 2]
    assert all(prediction["distance_to_cluster"] < 0.5 for prediction in invoke["predictions"])

    assert "delete" in report, output
    assert finished.returncode == 0, output
    _, sagemaker, _, _ = engine_clients(engine_url)
    assert sagemaker.list_endpoints()["Endpoints"] == []
    assert sagemaker.list_endpoint_configs()["EndpointConfigs"] == []
    assert sagemaker.list_models()["Models"] == []
