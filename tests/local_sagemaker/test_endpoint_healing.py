"""An endpoint whose model server dies gets a new one, as SageMaker replaces an unhealthy instance;
a server that keeps failing fails the endpoint; a delete or update during a restart leaves nothing."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from include.local_sagemaker.hosting import DEPLOYMENT_FIELD
from tests.support.engine import deploy, in_service, living, processes_under, train_tiny_model, wait_for


def _messages(logs, endpoint: str) -> list[str]:
    events = logs.filter_log_events(logGroupName=f"/aws/sagemaker/Endpoints/{endpoint}")["events"]
    return [event["message"] for event in events]


def _kill_server(engine, endpoint: str, variant: str = "AllTraffic") -> int:
    pid = engine.hosting.server_process_ids(endpoint)[variant]
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not living(pid), timeout=5)
    return pid


def _invoke(runtime, endpoint: str) -> dict:
    response = runtime.invoke_endpoint(EndpointName=endpoint, ContentType="text/csv", Body=b"3,4\n")
    return json.loads(response["Body"].read())


def test_a_killed_model_server_is_replaced(engine, sagemaker, s3, runtime, logs, unique):
    name = unique("heal")
    deploy(sagemaker, name, train_tiny_model(sagemaker, s3, name))
    in_service(sagemaker, name)

    killed = _kill_server(engine, name)
    started = time.monotonic()
    # Sent while the server is dead: it waits for the replacement instead of failing.
    assert _invoke(runtime, name) == {"predictions": [{"distance": 0.0}]}
    assert time.monotonic() - started < 15
    assert sagemaker.describe_endpoint(EndpointName=name)["EndpointStatus"] == "InService"
    replacement = engine.hosting.server_process_ids(name)["AllTraffic"]
    assert replacement != killed
    assert all(_invoke(runtime, name) == {"predictions": [{"distance": 0.0}]} for _ in range(5))

    wait_for(
        lambda: any(
            line.startswith("Model server for variant AllTraffic restarted") for line in _messages(logs, name)
        )
    )
    assert "Model server for variant AllTraffic exited with code -9; restarting" in _messages(logs, name)

    sagemaker.delete_endpoint(EndpointName=name)
    wait_for(lambda: not living(replacement), timeout=10)


def test_a_model_server_that_keeps_failing_fails_the_endpoint(engine, sagemaker, s3, runtime, logs, unique):
    name = unique("crash-loop")
    deploy(sagemaker, name, train_tiny_model(sagemaker, s3, name))
    in_service(sagemaker, name)
    model_dir = Path(engine.endpoints.get(name)[DEPLOYMENT_FIELD]["AllTraffic"]["ModelDir"])
    (model_dir / "mean.json").unlink()  # from now on every restart fails to load the model

    _kill_server(engine, name)
    described = wait_for(
        lambda: (
            d if (d := sagemaker.describe_endpoint(EndpointName=name))["EndpointStatus"] == "Failed" else None
        ),
        timeout=60,
    )
    reason = described["FailureReason"]
    assert "production variant AllTraffic exited or failed to start 3 times in a row" in reason
    assert "mean.json" in reason  # the container's last error
    with pytest.raises(ClientError) as refused:
        _invoke(runtime, name)
    assert "is not in service (status Failed)" in refused.value.response["Error"]["Message"]
    assert sum("did not restart" in line for line in _messages(logs, name)) == 2
    assert not processes_under(model_dir)
    assert engine.hosting.server_process_ids(name) == {}
    sagemaker.delete_endpoint(EndpointName=name)


@pytest.mark.parametrize("action", ["delete", "update"])
def test_a_delete_or_update_during_a_restart_leaves_no_server_behind(
    engine, sagemaker, s3, runtime, logs, unique, action
):
    name = unique(f"heal-{action}")
    # Loading takes 2 s more once the model is read, so the restart is under way when the endpoint is
    # deleted or updated, and the replacement comes up afterwards.
    deploy(sagemaker, name, train_tiny_model(sagemaker, s3, name, {"TINY_LOAD_SECONDS": "2"}))
    in_service(sagemaker, name)
    if action == "update":
        replacement_model = train_tiny_model(sagemaker, s3, f"{name}-v2")
        sagemaker.create_endpoint_config(
            EndpointConfigName=f"{name}-v2",
            ProductionVariants=[
                {
                    "VariantName": "Solo",
                    "ModelName": replacement_model,
                    "InitialInstanceCount": 1,
                    "InstanceType": "ml.m5.large",
                }
            ],
        )
    variant_dir = Path(engine.endpoints.get(name)[DEPLOYMENT_FIELD]["AllTraffic"]["ModelDir"]).parent

    _kill_server(engine, name)
    # The replacement has read the model (the first such line is the original server's).
    wait_for(lambda: sum(line.startswith("tiny: model read") for line in _messages(logs, name)) == 2)
    if action == "delete":
        sagemaker.delete_endpoint(EndpointName=name)
    else:
        sagemaker.update_endpoint(EndpointName=name, EndpointConfigName=f"{name}-v2")
        wait_for(lambda: sagemaker.describe_endpoint(EndpointName=name)["EndpointConfigName"] == f"{name}-v2")
        assert sagemaker.describe_endpoint(EndpointName=name)["EndpointStatus"] == "InService"

    wait_for(lambda: not processes_under(variant_dir), timeout=15)
    if action == "delete":
        assert not any("restarted" in line for line in _messages(logs, name))
    else:
        assert list(engine.hosting.server_process_ids(name)) == ["Solo"]
        assert _invoke(runtime, name) == {"predictions": [{"distance": 0.0}]}
        sagemaker.delete_endpoint(EndpointName=name)
    assert not processes_under(engine.state_dir / "hosting" / name)
