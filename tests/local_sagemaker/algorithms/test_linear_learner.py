"""Linear Learner end to end on a container tree: the three predictor types, metrics, artifact, serving."""

from __future__ import annotations

import contextlib
import io
import json
import re
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from include.local_sagemaker.algorithms import linear_learner_fit, mxnet_ndarray, registry
from include.local_sagemaker.algorithms.base import InferenceError, TrainingContext
from include.local_sagemaker.algorithms.linear_learner import ALGORITHM
from include.local_sagemaker.failures import JobFailure
from include.recordio import read_records
from tests.local_sagemaker.algorithms.algorithm_test_data import csv_bytes
from tests.local_sagemaker.algorithms.hosts_support import run_hosts
from tests.local_sagemaker.algorithms.mnist_test_data import mnist_sample, recordio_bytes

RECORDIO = "application/x-recordio-protobuf"


def metrics_from_log(log: str) -> dict[str, float]:
    """What the engine does: apply each metric definition's regex to the job's log, keep the last match."""
    found = {}
    for definition in ALGORITHM.metric_definitions:
        matches = re.findall(definition["Regex"], log)
        if matches:
            found[definition["Name"]] = float(matches[-1])
    return found


def failure_of(make_job, hyperparameters, channels) -> str:
    with pytest.raises(JobFailure) as raised:
        ALGORITHM.train(make_job(hyperparameters, channels))
    return str(raised.value)


@pytest.fixture(scope="module")
def mnist():
    return mnist_sample()


@dataclass(frozen=True)
class TrainedJob:
    context: TrainingContext
    log: str


def container_tree(base: Path, hyperparameters: dict, channels: dict) -> TrainingContext:
    """The container tree the engine prepares (what conftest's ``make_job`` builds, for module fixtures)."""
    (base / "input" / "config").mkdir(parents=True)
    (base / "input" / "config" / "hyperparameters.json").write_text(json.dumps(hyperparameters))
    data_config = {}
    for name, (content_type, files) in channels.items():
        data_config[name] = {"ContentType": content_type} if content_type else {}
        (base / "input" / "data" / name).mkdir(parents=True)
        for file_name, content in files.items():
            (base / "input" / "data" / name / file_name).write_bytes(content)
    (base / "input" / "config" / "inputdataconfig.json").write_text(json.dumps(data_config))
    return TrainingContext.from_base_dir(base, job_name="is-it-a-zero")


@pytest.fixture(scope="module")
def is_it_a_zero(mnist, tmp_path_factory) -> TrainedJob:
    """The seed's job, trained once: binary "is it a 0" from recordIO train / validation / test channels."""

    def zero(split):
        return recordio_bytes(split.images.astype(np.float32) / 255, (split.labels == 0).astype(np.float32))

    context = container_tree(
        tmp_path_factory.mktemp("zero") / "opt_ml",
        {"predictor_type": "binary_classifier", "feature_dim": "784", "mini_batch_size": "200"},
        {
            "train": (RECORDIO, {"train.rec": zero(mnist.train)}),
            "validation": (RECORDIO, {"validation.rec": zero(mnist.validation)}),
            "test": (None, {"test.rec": zero(mnist.test)}),  # recordIO is the default ContentType
        },
    )
    log = io.StringIO()
    with contextlib.redirect_stdout(log):
        ALGORITHM.train(context)
    return TrainedJob(context, log.getvalue())


def test_registry_picks_linear_learner():
    uri = "382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1"
    assert registry.lookup(uri) is ALGORITHM


def test_is_it_a_zero_reaches_the_seeds_accuracy(is_it_a_zero, mnist):
    metrics = metrics_from_log(is_it_a_zero.log)
    assert metrics["validation:binary_classification_accuracy"] >= 0.97
    assert metrics["test:binary_classification_accuracy"] >= 0.97  # data the model never saw
    assert metrics["test:roc_auc_score"] > 0.99
    assert metrics["validation:objective_loss"] < 0.1
    assert {"test:precision", "test:recall", "test:binary_f_beta", "validation:objective_loss"} <= set(
        metrics
    )

    predictor = ALGORITHM.load(is_it_a_zero.context.model_dir)
    images = mnist.test.images[:50].astype(np.float32) / 255
    answer, content_type = predictor.invoke(recordio_bytes(images), RECORDIO, "application/json")
    predictions = json.loads(answer)["predictions"]
    assert content_type == "application/json"
    assert set(predictions[0]) == {"score", "predicted_label"}
    labels = np.array([p["predicted_label"] for p in predictions])
    assert all(isinstance(label, int) for label in labels.tolist())
    assert (labels == (mnist.test.labels[:50] == 0)).mean() >= 0.96
    scores = np.array([p["score"] for p in predictions])
    assert ((scores >= predictor.model.threshold) == labels).all()
    assert ((scores >= 0) & (scores <= 1)).all()


# The seed notebook's request: absolute loss on the 0/1 "is it a 0" label, 32 candidates, 10 epochs.
SEED_HYPERPARAMETERS = {
    "feature_dim": "784",
    "mini_batch_size": "200",
    "predictor_type": "binary_classifier",
    "epochs": "10",
    "num_models": "32",
    "loss": "absolute_loss",
}


def test_the_seeds_absolute_loss_binary_classifier_trains_and_thresholds(mnist, tmp_path):
    def zero(split):
        return recordio_bytes(split.images.astype(np.float32) / 255, (split.labels == 0).astype(np.float32))

    context = container_tree(
        tmp_path / "opt_ml",
        SEED_HYPERPARAMETERS,
        {
            "train": (RECORDIO, {"train.rec": zero(mnist.train)}),
            "validation": (RECORDIO, {"validation.rec": zero(mnist.validation)}),
            "test": (RECORDIO, {"test.rec": zero(mnist.test)}),
        },
    )
    log = io.StringIO()
    with contextlib.redirect_stdout(log):
        ALGORITHM.train(context)

    metrics = metrics_from_log(log.getvalue())
    # About one digit in ten is a 0: "never a 0" would score about 0.9. The absolute loss ranks the digits
    # less well than the logistic loss of the default (is_it_a_zero above), so the bars are lower.
    assert metrics["test:binary_classification_accuracy"] >= 0.94
    assert metrics["test:recall"] > 0.75
    assert metrics["test:precision"] > 0.6
    assert metrics["test:roc_auc_score"] > 0.97
    assert 0 < metrics["validation:objective_loss"] < 0.2  # the mean absolute error of the 0/1 label
    with zipfile.ZipFile(context.model_dir / "model_algo-1") as archive:
        additional = json.loads(archive.read("additional-params.json"))
    assert (additional["loss"], additional["num_models_trained"]) == ("absolute_loss", 32)

    # The score is the regression of the 0/1 label (not a probability); the label thresholds it.
    predictor = ALGORITHM.load(context.model_dir)
    images = mnist.test.images[:200].astype(np.float32) / 255
    answer, _ = predictor.invoke(recordio_bytes(images), RECORDIO, "application/json")
    predictions = json.loads(answer)["predictions"]
    scores = np.array([p["score"] for p in predictions])
    labels = np.array([p["predicted_label"] for p in predictions])
    assert ((scores >= predictor.model.threshold) == labels).all()
    assert 0.0 < predictor.model.threshold < 1.0
    assert (labels == (mnist.test.labels[:200] == 0)).mean() >= 0.92


def test_streams_the_train_channel_in_windows_smaller_than_it(mnist, tmp_path, monkeypatch):
    # A window of 5 mini-batches and a calibration sample of 500 records, on a channel of several files:
    # training, thresholds and selection all work from bounded parts of the channel.
    monkeypatch.setattr(linear_learner_fit, "SHUFFLE_WINDOW_BYTES", 5 * 200 * 784 * 4)
    monkeypatch.setattr(linear_learner_fit, "AUTO_CALIBRATION_SAMPLES", 500)
    images, labels = mnist.train.images.astype(np.float32) / 255, (mnist.train.labels == 0).astype(np.float32)
    parts = np.array_split(np.arange(len(labels)), 3)
    context = container_tree(
        tmp_path / "opt_ml",
        {"predictor_type": "binary_classifier", "feature_dim": "784", "mini_batch_size": "200"},
        {
            "train": (
                RECORDIO,
                {f"part-{n}.rec": recordio_bytes(images[p], labels[p]) for n, p in enumerate(parts)},
            ),
            "test": (
                RECORDIO,
                {
                    "test.rec": recordio_bytes(
                        mnist.test.images.astype(np.float32) / 255,
                        (mnist.test.labels == 0).astype(np.float32),
                    )
                },
            ),
        },
    )
    log = io.StringIO()
    with contextlib.redirect_stdout(log):
        ALGORITHM.train(context)

    assert "on the 500 sampled training data" in log.getvalue()
    metrics = metrics_from_log(log.getvalue())
    assert metrics["test:binary_classification_accuracy"] >= 0.97
    assert metrics["test:roc_auc_score"] > 0.99


def test_a_bad_label_past_the_first_batch_is_located(make_job, monkeypatch):
    monkeypatch.setattr(linear_learner_fit, "PREPARATION_BATCH_ROWS", 2)
    channels = {"train": ("text/csv", {"a.csv": b"1,0.5\n0,0.1\n", "b.csv": b"1,0.3\n0,0.2\n2,0.4\n"})}
    assert failure_of(make_job, {"predictor_type": "binary_classifier"}, channels).startswith(
        "ClientError: Record 5 of the 'train' channel has label 2.0"
    )


# The losses of the SageMaker SDK's validator (sagemaker/amazon/linear_learner.py), written out here rather
# than taken from the engine.
SDK_LOSSES = (
    "logistic",
    "squared_loss",
    "absolute_loss",
    "hinge_loss",
    "eps_insensitive_squared_loss",
    "eps_insensitive_absolute_loss",
    "quantile_loss",
    "huber_loss",
    "softmax_loss",
)


@pytest.mark.parametrize("predictor_type", ["binary_classifier", "multiclass_classifier", "regressor"])
@pytest.mark.parametrize("loss", SDK_LOSSES)
def test_every_loss_trains_with_every_predictor_type(make_job, capsys, predictor_type, loss):
    # As the SageMaker SDK's and SageMaker Spark's validators accept them.
    rng = np.random.default_rng(7)
    features = rng.normal(size=(300, 3)).astype(np.float32)
    signal = features[:, 0] - 0.5 * features[:, 1]
    labels = (signal > 0).astype(np.float32)  # 0/1: binary, and a regressor with a classifying loss
    hyperparameters = {"predictor_type": predictor_type, "loss": loss, "epochs": "3", "num_models": "2"}
    if predictor_type == "multiclass_classifier":
        labels = features.argmax(axis=1).astype(np.float32)  # each class's indicator is near-linear
        hyperparameters.update(num_classes="3", accuracy_top_k="2")
    elif predictor_type == "regressor" and loss not in ("logistic", "hinge_loss", "softmax_loss"):
        labels = (2 * signal + 1).astype(np.float32)
    context = make_job(
        hyperparameters,
        {
            "train": ("text/csv", {"t.csv": csv_bytes(features[:200], labels[:200])}),
            "test": ("text/csv", {"t.csv": csv_bytes(features[200:], labels[200:])}),
        },
    )

    ALGORITHM.train(context)

    metrics = metrics_from_log(capsys.readouterr().out)
    if predictor_type == "binary_classifier":
        assert metrics["test:binary_classification_accuracy"] > 0.85
    elif predictor_type == "multiclass_classifier":
        assert metrics["test:multiclass_accuracy"] > 0.6
    elif loss != "hinge_loss":  # better than predicting the mean
        assert metrics["test:mse"] < 0.5 * np.var(labels[200:])
    answer, _ = ALGORITHM.load(context.model_dir).invoke(csv_bytes(features[200:]), "text/csv", None)
    predictions = json.loads(answer)["predictions"]
    assert len(predictions) == 100
    if predictor_type == "regressor" and loss == "hinge_loss":  # the score is the margin: its sign classifies
        assert ((np.array([p["score"] for p in predictions]) > 0) == labels[200:]).mean() > 0.85


def test_artifact_is_a_zip_with_ndarray_weights(is_it_a_zero):
    with zipfile.ZipFile(is_it_a_zero.context.model_dir / "model_algo-1") as archive:
        assert set(archive.namelist()) == {"manifest.json", "additional-params.json", "mx-mod-0000.params"}
        additional = json.loads(archive.read("additional-params.json"))
        params = mxnet_ndarray.loads(archive.read("mx-mod-0000.params"))
    assert additional["predictor_type"] == "binary_classifier"
    assert additional["num_models_trained"] == 4
    assert params["arg:fc0_weight"].shape == (1, 784)
    assert params["arg:fc0_weight"].dtype == np.float32
    assert params["arg:fc0_bias"].shape == (1,)


def test_responses_in_json_lines_and_recordio_agree(is_it_a_zero, mnist):
    predictor = ALGORITHM.load(is_it_a_zero.context.model_dir)
    images = mnist.test.images[:5].astype(np.float32) / 255
    body = csv_bytes(images)

    as_json, _ = predictor.invoke(body, "text/csv", "application/json")
    as_lines, content_type = predictor.invoke(body, "text/csv", "application/jsonlines")
    as_records, _ = predictor.invoke(body, "text/csv", RECORDIO)

    assert content_type == "application/jsonlines"
    assert [json.loads(line) for line in as_lines.decode().splitlines()] == json.loads(as_json)["predictions"]
    records = read_records(as_records)
    assert len(records) == 5
    for record, expected in zip(records, json.loads(as_json)["predictions"], strict=True):
        assert record.label["score"].float32_tensor.values[0] == pytest.approx(expected["score"], rel=1e-6)
        assert record.label["predicted_label"].float32_tensor.values[0] == expected["predicted_label"]


def test_multiclass_classifier_on_mnist_csv(make_job, mnist, capsys):
    images = mnist.train.images[:1500].astype(np.float32) / 255
    context = make_job(
        {"predictor_type": "multiclass_classifier", "num_classes": "10", "epochs": "5", "num_models": "2"},
        {
            "train": ("text/csv", {"train.csv": csv_bytes(images, mnist.train.labels[:1500])}),
            "validation": (
                "text/csv",
                {"v.csv": csv_bytes(mnist.validation.images / 255, mnist.validation.labels)},
            ),
        },
    )
    ALGORITHM.train(context)

    metrics = metrics_from_log(capsys.readouterr().out)
    assert metrics["validation:multiclass_accuracy"] > 0.8
    assert metrics["validation:multiclass_top_k_accuracy"] >= metrics["validation:multiclass_accuracy"]
    predictor = ALGORITHM.load(context.model_dir)
    answer, _ = predictor.invoke(csv_bytes(mnist.test.images[:3] / 255), "text/csv", None)
    for prediction in json.loads(answer)["predictions"]:
        assert len(prediction["score"]) == 10
        assert sum(prediction["score"]) == pytest.approx(1.0, abs=1e-5)
        assert prediction["predicted_label"] == int(np.argmax(prediction["score"]))


def test_regressor_recovers_a_linear_function(make_job, capsys):
    rng = np.random.default_rng(5)
    features = rng.normal(size=(800, 3)).astype(np.float32)
    targets = features @ np.array([2.0, -1.0, 0.5]) + 10 + rng.normal(0, 0.1, size=800)
    context = make_job(
        {"predictor_type": "regressor", "feature_dim": "3", "mini_batch_size": "50", "epochs": "10"},
        {
            "train": ("text/csv", {"t.csv": csv_bytes(features[:600], targets[:600])}),
            "test": ("text/csv", {"t.csv": csv_bytes(features[600:], targets[600:])}),
        },
    )
    ALGORITHM.train(context)

    metrics = metrics_from_log(capsys.readouterr().out)
    assert metrics["test:mse"] < 0.05
    assert metrics["test:rmse"] == pytest.approx(np.sqrt(metrics["test:mse"]))
    answer, _ = ALGORITHM.load(context.model_dir).invoke(b"1,1,1", "text/csv", "application/jsonlines")
    prediction = json.loads(answer)
    assert set(prediction) == {"score"}
    assert prediction["score"] == pytest.approx(11.5, abs=0.1)


# --- failures ------------------------------------------------------------------------------------

BINARY_CSV = {"train": ("text/csv", {"t.csv": b"1,0.5,0.2\n0,0.1,0.9\n"})}


@pytest.mark.parametrize(
    ("hyperparameters", "reason"),
    [
        (
            {},
            "ClientError: No value(s) were specified for 'predictor_type' "
            "which are required hyperparameter(s)",
        ),
        (
            {"predictor_type": "classifier"},
            "ClientError: The value 'classifier' is not valid for the 'predictor_type'",
        ),
        (
            {"predictor_type": "multiclass_classifier"},
            "ClientError: For predictor_type 'multiclass_classifier', 'num_classes' should be set",
        ),
        (
            {"predictor_type": "multiclass_classifier", "num_classes": "2"},
            "ClientError: The value '2' is not valid for the 'num_classes' hyperparameter "
            "which expects an integer in [3, 1000000]",
        ),
        (
            {"predictor_type": "binary_classifier", "loss": "cross_entropy"},
            "ClientError: The value 'cross_entropy' is not valid for the 'loss' hyperparameter",
        ),
        (
            {"predictor_type": "binary_classifier", "epochs": "0"},
            "ClientError: The value '0' is not valid for the 'epochs' hyperparameter",
        ),
        (
            {"predictor_type": "regressor", "positive_example_weight_mult": "-2"},
            "ClientError: The value '-2' is not valid for the 'positive_example_weight_mult' hyperparameter",
        ),
        (
            {"predictor_type": "regressor", "learning_rate_typo": "0.1"},
            "ClientError: Additional hyperparameters are not allowed ('learning_rate_typo' was unexpected)",
        ),
    ],
)
def test_bad_hyperparameters_fail_the_job(make_job, hyperparameters, reason):
    assert failure_of(make_job, hyperparameters, BINARY_CSV).startswith(reason)


@pytest.mark.parametrize(
    ("hyperparameters", "channels", "reason"),
    [
        (
            {"predictor_type": "binary_classifier"},
            {"train": ("text/csv", {"t.csv": b"1,0.5\n2,0.1\n"})},
            "ClientError: Record 2 of the 'train' channel has label 2.0; "
            "a binary_classifier label must be 0 or 1",
        ),
        (
            {"predictor_type": "multiclass_classifier", "num_classes": "3"},
            {"train": ("text/csv", {"t.csv": b"1,0.5\n3,0.1\n"})},
            "ClientError: Record 2 of the 'train' channel has label 3.0; "
            "a multiclass_classifier label must be an integer in [0, 2]",
        ),
        (
            {"predictor_type": "regressor", "loss": "logistic"},
            {"train": ("text/csv", {"t.csv": b"1,0.5\n2.5,0.1\n"})},
            "ClientError: Record 2 of the 'train' channel has label 2.5; "
            "a regressor label must be 0 or 1 with the 'logistic' loss",
        ),
        (
            {"predictor_type": "regressor"},
            {"train": (RECORDIO, {"t.rec": recordio_bytes(np.ones((4, 2)))})},
            "ClientError: The 'train' channel has no labels",
        ),
        (
            {"predictor_type": "regressor", "feature_dim": "5"},
            BINARY_CSV,
            "ClientError: Records in ",
        ),
        (
            {"predictor_type": "regressor"},
            {"train": ("csv", {"t.csv": b"1,2\n"})},
            "ClientError: No iterator has been registered for ContentType ('csv', '1.0') of channel 'train'",
        ),
        (
            {"predictor_type": "regressor"},
            {"validation": BINARY_CSV["train"]},
            "ClientError: Channel 'train' is required",
        ),
    ],
)
def test_bad_data_fails_the_job(make_job, hyperparameters, channels, reason):
    assert failure_of(make_job, hyperparameters, channels).startswith(reason)


def test_serving_errors(make_job):
    context = make_job({"predictor_type": "binary_classifier", "epochs": "2"}, BINARY_CSV)
    ALGORITHM.train(context)
    predictor = ALGORITHM.load(context.model_dir)
    cases = [
        ((b"0.5,0.2", "text/csv", "text/csv"), 406),
        ((b"0.5,0.2,0.3", "text/csv", None), 400),
        ((b"0.5,0.2", "application/octet-stream", None), 415),
        ((b"{not json", "application/json", None), 400),
    ]
    for arguments, status in cases:
        with pytest.raises(InferenceError) as raised:
            predictor.invoke(*arguments)
        assert raised.value.status == status, arguments
    answer, _ = predictor.invoke(b'{"instances": [{"features": [0.5, 0.2]}]}', "application/json", None)
    assert set(json.loads(answer)["predictions"][0]) == {"score", "predicted_label"}


# --- several hosts -------------------------------------------------------------------------------

LINEAR_LEARNER_IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1"
IS_IT_A_ZERO = {"predictor_type": "binary_classifier", "feature_dim": "784", "mini_batch_size": "200"}


def _zero(split, rows=slice(None)) -> bytes:
    return recordio_bytes(
        split.images[rows].astype(np.float32) / 255, (split.labels[rows] == 0).astype(np.float32)
    )


@pytest.mark.slow  # two containers, about 40 s on a busy machine
def test_two_hosts_average_their_candidates_into_one_model_as_good_as_one_host(is_it_a_zero, mnist, tmp_path):
    halves = [slice(0, 2000), slice(2000, 4000)]
    validation_halves = [slice(0, 250), slice(250, 500)]
    shares = [
        {
            "train": (RECORDIO, "ShardedByS3Key", {"train.rec": _zero(mnist.train, rows)}),
            "validation": (RECORDIO, "ShardedByS3Key", {"validation.rec": _zero(mnist.validation, held_out)}),
            "test": (RECORDIO, "FullyReplicated", {"test.rec": _zero(mnist.test)}),
        }
        for rows, held_out in zip(halves, validation_halves, strict=True)
    ]

    hosts = run_hosts(tmp_path, LINEAR_LEARNER_IMAGE, IS_IT_A_ZERO, shares)

    assert [host.returncode for host in hosts] == [0, 0], [host.output for host in hosts]
    for host in hosts:  # each host read only its own share of train
        assert "Read 2000 records of 784 features from channel 'train'" in host.output
        assert "Pooled the summaries of 2 hosts: 4000 records" in host.output
    assert "Gathered channel 'validation' from 2 hosts: [250, 250] records" in hosts[0].output
    assert [path.name for path in hosts[0].model_dir.iterdir()] == ["model_algo-1"]
    assert not list(hosts[1].model_dir.iterdir())
    assert "#quality_metric" not in hosts[1].output  # the leader scores the whole channels
    one, two = metrics_from_log(is_it_a_zero.log), metrics_from_log(hosts[0].output)
    print({name: (one[name], two[name]) for name in sorted(one)})
    assert two["validation:binary_classification_accuracy"] >= 0.97
    assert two["test:binary_classification_accuracy"] >= 0.97
    assert two["test:roc_auc_score"] > 0.99
    assert two["validation:objective_loss"] < 0.1
    assert two["test:binary_classification_accuracy"] > one["test:binary_classification_accuracy"] - 0.01


def test_a_host_that_never_reports_fails_the_job_within_the_timeout(mnist, tmp_path):
    share = {"train": (RECORDIO, "ShardedByS3Key", {"train.rec": _zero(mnist.train, slice(0, 200))})}

    started = time.monotonic()
    [leader] = run_hosts(tmp_path, LINEAR_LEARNER_IMAGE, IS_IT_A_ZERO, [share, None], timeout=2)

    assert time.monotonic() - started < 30
    assert leader.returncode != 0
    assert leader.failure.startswith(
        "AlgorithmError: algo-1 waited 2 s for 'linear-learner-summary' from algo-2, which did not send it"
    )


@pytest.mark.slow  # three containers
# Averaged every epoch, or once (the median of a 0/1 label is a weak classifier, but better than chance).
@pytest.mark.parametrize(("loss", "auc"), [("auto", 0.98), ("quantile_loss", 0.6)])
def test_a_host_without_a_share_takes_part_with_no_records(mnist, tmp_path, loss, auc):
    replicated = (RECORDIO, "FullyReplicated", {"validation.rec": _zero(mnist.validation)})
    shares = [
        {"train": (RECORDIO, "ShardedByS3Key", files), "validation": replicated}
        for files in (
            {"a.rec": _zero(mnist.train, slice(0, 300))},
            {"b.rec": _zero(mnist.train, slice(300, 600))},
            {},
        )
    ]
    hyperparameters = {**IS_IT_A_ZERO, "epochs": "2", "loss": loss}

    hosts = run_hosts(tmp_path, LINEAR_LEARNER_IMAGE, hyperparameters, shares)

    assert [host.returncode for host in hosts] == [0, 0, 0], [host.output for host in hosts]
    assert "Host algo-3 received none of channel 'train': it trains on no records" in hosts[2].output
    assert "Pooled the summaries of 3 hosts: 600 records" in hosts[0].output
    assert metrics_from_log(hosts[0].output)["validation:roc_auc_score"] > auc
