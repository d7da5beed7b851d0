"""The MXNet Module entry point in an MXNet environment: trained as the training toolkit runs it, then served
by the MXNet serving image's default Module handlers, with no handler in the script."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from include.training_scripts import MNIST_MXNET, MNIST_MXNET_ENTRY_POINT, MNIST_MXNET_METRICS
from tests.support.script_mode import metric_values, predicted_label, serve_csv, top_level_functions, train

pytestmark = pytest.mark.slow

EPOCHS = 6
BATCH_SIZE = 100
HANDLER_SERVICE = "sagemaker_mxnet_serving_container.handler_service"


@pytest.fixture(scope="module")
def mxnet_python(framework_python) -> Path:
    return framework_python("mxnet")


@pytest.fixture(scope="module")
def trained(mxnet_python, idx_channels, tmp_path_factory):
    model_dir, finished = train(
        mxnet_python,
        MNIST_MXNET,
        MNIST_MXNET_ENTRY_POINT,
        tmp_path_factory.mktemp("mxnet-job"),
        idx_channels,
        {"batch-size": BATCH_SIZE, "epochs": EPOCHS, "learning-rate": 0.1},
    )
    assert finished.returncode == 0, finished.stderr
    return model_dir, finished.stdout + finished.stderr


def test_each_epoch_logs_an_accuracy_the_metric_definitions_pick(trained) -> None:
    _, log = trained
    metrics = metric_values(log, MNIST_MXNET_METRICS)
    assert len(metrics["validation:accuracy"]) == EPOCHS, log
    assert len(metrics["train:accuracy"]) == EPOCHS, log
    assert metrics["validation:accuracy"][-1] > 0.8, log


def test_the_model_dir_holds_the_module_checkpoint_and_its_input_shape(trained) -> None:
    model_dir, _ = trained
    assert sorted(path.name for path in model_dir.iterdir()) == [
        "model-0000.params",
        "model-shapes.json",
        "model-symbol.json",
    ]
    shapes = json.loads((model_dir / "model-shapes.json").read_text())
    assert shapes == [{"name": "data", "shape": [BATCH_SIZE, 1, 28, 28]}]


def test_the_default_module_handlers_serve_csv_rows(trained, mxnet_python, digits) -> None:
    assert not {"model_fn", "input_fn", "predict_fn", "output_fn", "transform_fn"} & set(
        top_level_functions(MNIST_MXNET / MNIST_MXNET_ENTRY_POINT)
    )
    test = digits.splits["test"]
    rows, labels = test.images[:100], test.labels[:100]
    answers = serve_csv(mxnet_python, HANDLER_SERVICE, trained[0], MNIST_MXNET, MNIST_MXNET_ENTRY_POINT, rows)

    assert {(answer["content_type"], answer["status"]) for answer in answers} == {("application/json", None)}
    first = json.loads(answers[0]["body"])
    assert len(first) == 1
    assert len(first[0]) == 10
    assert sum(first[0]) == pytest.approx(1.0, abs=1e-4)
    predicted = np.array([predicted_label(answer["body"]) for answer in answers])
    assert (predicted == labels).mean() > 0.8
