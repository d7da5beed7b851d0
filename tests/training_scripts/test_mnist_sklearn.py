"""The scikit-learn entry point: trained as the training toolkit runs it (this project's scikit-learn),
then served through its own handlers with one-row ``text/csv`` requests, answering as MXNet does."""

from __future__ import annotations

import ast
import importlib.util
import json
import sys

import numpy as np
import pytest

from include.training_scripts import (
    MNIST_MXNET,
    MNIST_PYTORCH,
    MNIST_SKLEARN,
    MNIST_SKLEARN_ENTRY_POINT,
    MNIST_SKLEARN_METRICS,
)
from tests.support.script_mode import metric_values, predicted_label, top_level_functions, train

pytestmark = pytest.mark.slow

EPOCHS = 6


@pytest.fixture(scope="module")
def trained(idx_channels, tmp_path_factory):
    model_dir, finished = train(
        sys.executable,
        MNIST_SKLEARN,
        MNIST_SKLEARN_ENTRY_POINT,
        tmp_path_factory.mktemp("sklearn-job"),
        idx_channels,
        {"batch-size": 100, "epochs": EPOCHS, "learning-rate": 0.1},
    )
    assert finished.returncode == 0, finished.stderr
    return model_dir, finished.stdout


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("mnist_sklearn", MNIST_SKLEARN / MNIST_SKLEARN_ENTRY_POINT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def model(trained, script):
    return script.model_fn(str(trained[0]))


def test_each_epoch_logs_an_accuracy_the_metric_definitions_pick(trained) -> None:
    model_dir, log = trained
    metrics = metric_values(log, MNIST_SKLEARN_METRICS)
    assert len(metrics["validation:accuracy"]) == EPOCHS, log
    assert len(metrics["train:accuracy"]) == EPOCHS, log
    assert metrics["validation:accuracy"][-1] > 0.8, log
    assert [path.name for path in model_dir.iterdir()] == ["model.joblib"]


def test_the_hyperparameters_reach_the_estimator(model) -> None:
    assert (model.batch_size, model.max_iter, model.learning_rate_init) == (100, EPOCHS, 0.1)
    assert (model.solver, model.momentum, model.hidden_layer_sizes) == ("sgd", 0.0, (128, 64))


def test_one_row_csv_requests_are_answered_with_ten_probabilities(script, model, digits) -> None:
    test = digits.splits["test"]
    predicted = []
    # The project's CSV writer prints zeros as "0" beside "0.329411775": the handlers read both as floats.
    for row in test.images[:100]:
        body = (",".join(f"{value:.9g}" for value in row) + "\n").encode()
        answer, content_type = script.output_fn(
            script.predict_fn(script.input_fn(body, "text/csv"), model), "application/json"
        )
        assert content_type == "application/json"
        predicted.append(predicted_label(answer))
    assert (np.array(predicted) == test.labels[:100]).mean() > 0.8

    [probabilities] = json.loads(answer)
    assert len(probabilities) == 10
    assert sum(probabilities) == pytest.approx(1.0)


def test_answers_follow_accept(script, model, digits) -> None:
    rows = script.input_fn(json.dumps(digits.splits["test"].images[:2].tolist()), "application/json")
    probabilities = script.predict_fn(rows, model)
    for accept in (None, "*/*", "application/json; charset=utf-8"):
        assert script.output_fn(probabilities, accept)[1] == "application/json"
    answer, content_type = script.output_fn(probabilities, "text/csv")
    assert content_type == "text/csv"
    assert np.loadtxt(answer.splitlines(), delimiter=",") == pytest.approx(probabilities)


def test_the_handlers_refuse_what_they_cannot_read(script, model) -> None:
    with pytest.raises(ValueError, match="application/x-parquet") as refused:
        script.input_fn(b"PAR1", "application/x-parquet")
    assert refused.value.status_code == 415
    with pytest.raises(ValueError, match="784 pixel values"):
        script.predict_fn(np.zeros((1, 3), dtype=np.float32), model)
    with pytest.raises(ValueError, match="image/png"):
        script.output_fn(np.zeros((1, 10)), "image/png")


def test_only_the_first_host_saves(idx_channels, tmp_path) -> None:
    model_dir, finished = train(
        sys.executable,
        MNIST_SKLEARN,
        MNIST_SKLEARN_ENTRY_POINT,
        tmp_path,
        idx_channels,
        {"epochs": 1},
        current_host="algo-2",
        hosts=["algo-1", "algo-2"],
    )
    assert finished.returncode == 0, finished.stderr
    assert "Epoch[0] Validation-accuracy=" in finished.stdout
    assert list(model_dir.iterdir()) == []


def test_a_channel_without_its_idx_files_is_named(idx_channels, tmp_path) -> None:
    empty = tmp_path / "empty-test-channel"
    empty.mkdir()
    _, finished = train(
        sys.executable,
        MNIST_SKLEARN,
        MNIST_SKLEARN_ENTRY_POINT,
        tmp_path / "job",
        {"train": idx_channels["train"], "test": empty},
        {"epochs": 1},
    )
    assert finished.returncode != 0
    assert "The test channel" in finished.stderr
    assert "t10k-images-idx3-ubyte.gz" in finished.stderr


@pytest.mark.parametrize("function", ["read_idx", "host_list"])
def test_the_three_scripts_share_their_copies_of_a_helper(function) -> None:
    """Each source directory must stand alone in its image, so the helpers are copied; keep them equal.
    Annotations may differ: the MXNet script quotes them for the Python 3.6 of its image."""
    copies = {
        ast.unparse(
            ast.Module(body=top_level_functions(directory / "mnist.py")[function].body, type_ignores=[])
        )
        for directory in (MNIST_MXNET, MNIST_PYTORCH, MNIST_SKLEARN)
    }
    assert len(copies) == 1
