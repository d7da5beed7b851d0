"""The PyTorch entry point in a PyTorch environment: trained as the training toolkit runs it, then served by
the PyTorch serving image's default handlers around the script's ``model_fn``, answering as MXNet does."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from include.training_scripts import MNIST_PYTORCH, MNIST_PYTORCH_ENTRY_POINT, MNIST_PYTORCH_METRICS
from tests.support.script_mode import metric_values, predicted_label, serve_csv, top_level_functions, train

pytestmark = pytest.mark.slow

EPOCHS = 6
HANDLER_SERVICE = "sagemaker_pytorch_serving_container.handler_service"


@pytest.fixture(scope="module")
def pytorch_python(framework_python) -> Path:
    return framework_python("pytorch")


@pytest.fixture(scope="module")
def trained(pytorch_python, idx_channels, tmp_path_factory):
    model_dir, finished = train(
        pytorch_python,
        MNIST_PYTORCH,
        MNIST_PYTORCH_ENTRY_POINT,
        tmp_path_factory.mktemp("pytorch-job"),
        idx_channels,
        {"backend": "gloo", "batch-size": 100, "epochs": EPOCHS, "learning-rate": 0.1},
    )
    assert finished.returncode == 0, finished.stderr
    return model_dir, finished.stdout + finished.stderr


def test_each_epoch_logs_an_accuracy_the_metric_definitions_pick(trained) -> None:
    model_dir, log = trained
    metrics = metric_values(log, MNIST_PYTORCH_METRICS)
    assert len(metrics["validation:accuracy"]) == EPOCHS, log
    assert len(metrics["train:accuracy"]) == EPOCHS, log
    assert metrics["validation:accuracy"][-1] > 0.8, log
    assert [path.name for path in model_dir.iterdir()] == ["model.pth"]


def test_the_default_handlers_serve_csv_rows_with_only_model_fn(trained, pytorch_python, digits) -> None:
    handlers = {"model_fn", "input_fn", "predict_fn", "output_fn", "transform_fn"}
    assert handlers & set(top_level_functions(MNIST_PYTORCH / MNIST_PYTORCH_ENTRY_POINT)) == {"model_fn"}
    test = digits.splits["test"]
    rows, labels = test.images[:100], test.labels[:100]
    answers = serve_csv(
        pytorch_python, HANDLER_SERVICE, trained[0], MNIST_PYTORCH, MNIST_PYTORCH_ENTRY_POINT, rows
    )

    assert {(answer["content_type"], answer["status"]) for answer in answers} == {("application/json", None)}
    first = json.loads(answers[0]["body"])
    assert len(first) == 1
    assert len(first[0]) == 10
    assert sum(first[0]) == pytest.approx(1.0, abs=1e-4)
    predicted = np.array([predicted_label(answer["body"]) for answer in answers])
    assert (predicted == labels).mean() > 0.8


def test_only_the_first_host_saves(pytorch_python, idx_channels, tmp_path) -> None:
    model_dir, finished = train(
        pytorch_python,
        MNIST_PYTORCH,
        MNIST_PYTORCH_ENTRY_POINT,
        tmp_path,
        idx_channels,
        {"epochs": 1},
        current_host="algo-2",
        hosts=["algo-1", "algo-2"],
    )
    assert finished.returncode == 0, finished.stderr
    assert "Epoch[0] Validation-accuracy=" in finished.stdout
    assert list(model_dir.iterdir()) == []
