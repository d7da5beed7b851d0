"""XGBoost end to end on a container tree: hyperparameters, channels, metrics, artifact, serving."""

from __future__ import annotations

import io
import json
import os
import pickle
import re
import time
import warnings

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

from include.local_sagemaker.algorithms import registry, xgboost_data, xgboost_versions
from include.local_sagemaker.algorithms import xgboost as xgboost_module
from include.local_sagemaker.algorithms.base import Channel, InferenceError
from include.local_sagemaker.algorithms.xgboost import ALGORITHM, XGBoostAlgorithm, XGBoostPredictor
from include.local_sagemaker.algorithms.xgboost import train_booster as real_train_booster
from include.local_sagemaker.algorithms.xgboost_hyperparameters import validate
from include.local_sagemaker.failures import JobFailure
from tests.local_sagemaker.algorithms.algorithm_test_data import csv_bytes
from tests.local_sagemaker.algorithms.hosts_support import run_hosts
from tests.local_sagemaker.algorithms.mnist_test_data import libsvm_bytes, mnist_sample, recordio_bytes

# The XGBoost seed's hyperparameters; one thread keeps the test fast on a busy machine and the seed
# is XGBoost's default, written out so that both sides of the comparison visibly use it.
SEED_HYPERPARAMETERS = {
    "eta": "0.2",
    "gamma": "4",
    "min_child_weight": "6",
    "objective": "multi:softmax",
    "num_class": "10",
    "num_round": "10",
    "seed": "0",
    "nthread": "1",
}
SEED_PARAMS = {
    "eta": 0.2,
    "gamma": 4.0,
    "min_child_weight": 6.0,
    "objective": "multi:softmax",
    "num_class": 10,
    "seed": 0,
    "nthread": 1,
}
TRAIN_ROWS = 1500
BINARY = {"objective": "binary:logistic", "num_round": "5", "nthread": "1", "max_depth": "3"}


def metrics_from_log(log: str) -> dict[str, float]:
    """What the engine does: render tabs as CloudWatch does, apply every definition, keep the last match."""
    rendered = log.replace("\t", "#011")
    found = {}
    for definition in ALGORITHM.metric_definitions:
        matches = re.findall(definition["Regex"], rendered)
        if matches:
            found[definition["Name"]] = float(matches[-1])
    return found


def xgboost_libsvm_reader(path) -> xgb.DMatrix:
    """XGBoost's own text reader, which the container uses (deprecated since XGBoost 3.1: it warns)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return xgb.DMatrix(f"{path}?format=libsvm")


def binary_data(rows: int = 300, dim: int = 4, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(rows, dim)).astype(np.float32)
    labels = (features[:, 0] + 0.5 * features[:, 1] > 0).astype(np.float32)
    return features, labels


def failure_of(make_job, hyperparameters, channels) -> str:
    with pytest.raises(JobFailure) as raised:
        ALGORITHM.train(make_job(hyperparameters, channels))
    return str(raised.value)


@pytest.fixture(scope="module")
def mnist():
    return mnist_sample()


@pytest.fixture
def binary_model_dir(make_job):
    features, labels = binary_data()
    context = make_job(BINARY, {"train": ("text/csv", {"train.csv": csv_bytes(features, labels)})})
    ALGORITHM.train(context)
    return context.model_dir


@pytest.fixture
def binary_predictor(binary_model_dir) -> XGBoostPredictor:
    return ALGORITHM.load(binary_model_dir)


def test_registry_picks_xgboost_for_both_repository_names_and_the_tags_version():
    for uri, version in (
        ("683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1", "1.7-1"),
        ("492215442770.dkr.ecr.eu-central-1.amazonaws.com/sagemaker-xgboost:3.0-5", "3.0-5"),
        ("811284229777.dkr.ecr.us-east-1.amazonaws.com/xgboost:1", xgboost_versions.LEGACY),
    ):
        algorithm = registry.lookup(uri)
        assert isinstance(algorithm, XGBoostAlgorithm)
        assert algorithm.version == version


def test_seed_hyperparameters_on_mnist_libsvm_predict_like_xgboost_run_directly(
    make_job, mnist, capsys, tmp_path
):
    train, validation, test = mnist.train, mnist.validation, mnist.test
    train_file = libsvm_bytes(train.images[:TRAIN_ROWS], train.labels[:TRAIN_ROWS])
    validation_file = libsvm_bytes(validation.images, validation.labels)
    context = make_job(
        SEED_HYPERPARAMETERS,
        {
            "train": (None, {"train.libsvm": train_file}),  # no ContentType: libsvm, as in the container
            "validation": ("text/libsvm", {"validation.libsvm": validation_file}),
        },
    )

    ALGORITHM.train(context)
    predictor = ALGORITHM.load(context.model_dir)
    body, content_type = predictor.invoke(libsvm_bytes(test.images, test.labels), "text/libsvm", "text/csv")

    # The reference: the same files read by XGBoost's own libsvm reader (as the container reads them),
    # trained with the same parameters and seed.
    (tmp_path / "train.libsvm").write_bytes(train_file)
    (tmp_path / "validation.libsvm").write_bytes(validation_file)
    (tmp_path / "test.libsvm").write_bytes(libsvm_bytes(test.images, test.labels))
    direct_train, direct_validation, direct_test = (
        xgboost_libsvm_reader(tmp_path / name)
        for name in ("train.libsvm", "validation.libsvm", "test.libsvm")
    )
    history: dict = {}
    direct = xgb.train(
        SEED_PARAMS,
        direct_train,
        num_boost_round=10,
        evals=[(direct_train, "train"), (direct_validation, "validation")],
        evals_result=history,
        verbose_eval=False,
    )
    expected = direct.predict(direct_test)

    assert content_type == "text/csv"
    served = np.array([float(line) for line in body.decode().splitlines()])
    np.testing.assert_array_equal(served, expected)
    assert (served == test.labels).mean() > 0.8  # a real digit classifier, not a constant

    log = capsys.readouterr().out
    assert "[9]\ttrain-mlogloss:" in log  # XGBoost's own evaluation lines
    assert metrics_from_log(log) == {"validation:mlogloss": round(history["validation"]["mlogloss"][-1], 5)}
    model_bytes = (context.model_dir / "xgboost-model").read_bytes()
    assert model_bytes.startswith(b"{")  # UBJSON, what Booster.save_model("xgboost-model") writes
    with pytest.warns(UserWarning, match="UBJSON"):  # a file without extension: XGBoost guesses UBJSON
        reloaded = xgb.Booster(model_file=str(context.model_dir / "xgboost-model"))
    np.testing.assert_array_equal(reloaded.predict(direct_test), expected)


def test_csv_requests_predict_like_a_dense_dmatrix(make_job, mnist):
    train, test = mnist.train, mnist.test
    features = train.images[:600].astype(np.float32)
    context = make_job(
        {**SEED_HYPERPARAMETERS, "num_round": "3", "objective": "multi:softprob"},
        {"train": ("text/csv", {"train.csv": csv_bytes(features, train.labels[:600])})},
    )
    ALGORITHM.train(context)
    predictor = ALGORITHM.load(context.model_dir)
    body = "\n".join(",".join(str(v) for v in row) for row in test.images[:5]).encode()

    answer, content_type = predictor.invoke(body, "text/csv", "text/csv")

    expected = predictor.booster.predict(xgb.DMatrix(test.images[:5].astype(np.float64)))
    rows = [[float(v) for v in line.split(",")] for line in answer.decode().splitlines()]
    assert content_type == "text/csv"
    np.testing.assert_array_equal(np.array(rows), expected)  # one row of 10 class probabilities per record
    assert [len(row) for row in rows] == [10] * 5


@pytest.mark.parametrize("content_type", ["text/csv", "csv", "application/x-recordio-protobuf", "parquet"])
def test_trains_binary_classifier_from_every_format_with_validation_metrics(make_job, capsys, content_type):
    features, labels = binary_data()
    if "csv" in content_type:
        files = [csv_bytes(features[:200], labels[:200]), csv_bytes(features[200:], labels[200:])]
    elif "recordio" in content_type:
        files = [recordio_bytes(features[:200], labels[:200]), recordio_bytes(features[200:], labels[200:])]
    else:
        table = pd.DataFrame(np.column_stack([labels, features]), columns=["label", "a", "b", "c", "d"])
        files = []
        for part in (table[:200], table[200:]):
            buffer = io.BytesIO()
            part.to_parquet(buffer, engine="fastparquet", index=False)
            files.append(buffer.getvalue())
    hyperparameters = {**BINARY, "eval_metric": "error,auc,f1_binary", "learning_rate": "0.5"}
    context = make_job(
        hyperparameters,
        {
            "train": (content_type, {"part-0": files[0]}),
            "validation": (content_type, {"part-0": files[1]}),
        },
    )

    ALGORITHM.train(context)

    metrics = metrics_from_log(capsys.readouterr().out)
    assert set(metrics) == {"validation:error", "validation:auc", "validation:f1_binary"}
    assert metrics["validation:error"] < 0.1
    assert metrics["validation:auc"] > 0.95
    predictor = ALGORITHM.load(context.model_dir)
    answer, _ = predictor.invoke(csv_bytes(features[200:]).rstrip(b"\n"), "text/csv", "application/json")
    scores = np.array([p["score"] for p in json.loads(answer)["predictions"]])
    assert ((scores > 0.5) == labels[200:]).mean() > 0.9


def test_early_stopping_keeps_the_best_round(make_job, capsys):
    features, labels = binary_data(rows=400)
    context = make_job(
        {**BINARY, "num_round": "200", "eta": "1", "eval_metric": "logloss", "early_stopping_rounds": "2"},
        {
            "train": ("csv", {"t.csv": csv_bytes(features[:300], labels[:300])}),
            "validation": ("csv", {"v.csv": csv_bytes(features[300:], labels[300:])}),
        },
    )
    ALGORITHM.train(context)
    rounds = re.findall(r"^\[(\d+)\]", capsys.readouterr().out, re.M)
    assert 0 < len(rounds) < 200
    booster = ALGORITHM.load(context.model_dir).booster
    assert booster.num_boosted_rounds() <= len(rounds)


# --- failures ------------------------------------------------------------------------------------

TRAIN_CSV = {"train": ("text/csv", {"train.csv": csv_bytes(*binary_data(rows=20))})}


@pytest.mark.parametrize(
    ("hyperparameters", "reason"),
    [
        ({"objective": "binary:logistic"}, "ClientError: Missing required hyperparameter: num_round"),
        ({"num_round": "5", "silent": "1"}, "ClientError: Extraneous hyperparameter found: silent"),
        (
            {"num_round": "ten"},
            "ClientError: Hyperparameter num_round: could not parse value (caused by ValueError)",
        ),
        ({"num_round": "5", "eta": "2"}, "ClientError: Hyperparameter eta: 2.0 is not in [0, 1]"),
        ({"num_round": "5", "learning_rate": "-1"}, "ClientError: Hyperparameter eta: -1.0 is not in [0, 1]"),
        ({"num_round": "0"}, "ClientError: Hyperparameter num_round: 0 is not in [1, +inf)"),
        ({"num_round": "5", "subsample": "0"}, "ClientError: Hyperparameter subsample: 0.0 is not in (0, 1]"),
        (
            {"num_round": "5", "objective": "multi:softmax"},
            "ClientError: Require input for parameter 'num_class' for multi-classification",
        ),
        (
            {"num_round": "5", "objective": "reg:squarederror", "eval_metric": "auc"},
            "ClientError: Metric 'auc' can only be applied for classification and ranking problems.",
        ),
        (
            {"num_round": "5", "eval_metric": "rmse,bogus"},
            "ClientError: Hyperparameter eval_metric: value ['rmse', 'bogus'] not in range",
        ),
        (
            {"num_round": "5", "booster": "forest"},
            "ClientError: Hyperparameter booster: forest is not in ['gbtree', 'gblinear', 'dart']",
        ),
    ],
)
def test_bad_hyperparameters_fail_with_the_containers_words(make_job, hyperparameters, reason):
    assert failure_of(make_job, hyperparameters, TRAIN_CSV).startswith(reason)


WRITERS = {
    "text/libsvm": libsvm_bytes,
    "text/csv": csv_bytes,
    "application/x-recordio-protobuf": recordio_bytes,
}


def recording_train_matrices(monkeypatch) -> list:
    """Make the algorithm's ``train_booster`` record the ``train`` matrix it is given."""
    matrices = []

    def recording(params, train, validation):
        matrices.append(train)
        return real_train_booster(params, train, validation)

    monkeypatch.setattr(xgboost_module, "train_booster", recording)
    return matrices


def test_a_paged_matrix_lives_in_the_jobs_input_directory_and_goes_with_it(make_job, monkeypatch, tmp_path):
    # The exact method trains on a DMatrix built from the batch iterator, which XGBoost pages to files.
    features, labels = binary_data()
    context = make_job(
        {**BINARY, "tree_method": "exact"}, {"train": ("text/csv", {"t.csv": csv_bytes(features, labels)})}
    )
    working_dir = tmp_path / "working-dir"
    working_dir.mkdir()
    monkeypatch.chdir(working_dir)
    input_dir = context.channels["train"].path.parent
    pages = []

    def recording(params, train, validation):
        pages.extend(path.name for path in input_dir.glob(".xgboost-train*.page"))
        return real_train_booster(params, train, validation)

    monkeypatch.setattr(xgboost_module, "train_booster", recording)

    ALGORITHM.train(context)

    assert pages, "the exact method's matrix was not paged to the job's input directory"
    assert list(working_dir.iterdir()) == []
    assert list(input_dir.glob("*.page")) == []


@pytest.mark.parametrize("content_type", sorted(WRITERS))
def test_trains_from_batches_across_files_like_one_dmatrix(make_job, mnist, monkeypatch, content_type):
    # Batches of 100 records from three files; only the last file's digits use the last pixel (always 0 in
    # MNIST), so libsvm batches differ in width until the channel's width is applied to all.
    monkeypatch.setattr(xgboost_data, "BATCH_ROWS", 100)
    images, labels = mnist.train.images[:900].astype(np.float32), mnist.train.labels[:900].astype(np.float32)
    images[600:, -1] = 1.0
    parts = [slice(n * 300, (n + 1) * 300) for n in range(3)]
    files = {f"part-{n}": WRITERS[content_type](images[part], labels[part]) for n, part in enumerate(parts)}
    context = make_job({**SEED_HYPERPARAMETERS, "num_round": "5"}, {"train": (content_type, files)})
    matrices = recording_train_matrices(monkeypatch)

    ALGORITHM.train(context)

    [train] = matrices
    assert isinstance(train, xgb.QuantileDMatrix)
    columns = 785 if content_type == "text/libsvm" else 784  # libsvm_bytes writes 1-based indices
    assert (train.num_row(), train.num_col()) == (900, columns)
    np.testing.assert_array_equal(train.get_label(), labels)
    test_images = mnist.test.images.astype(np.float32)
    request = (csv_bytes(test_images).rstrip(b"\n"), "text/csv")
    if content_type == "text/libsvm":  # the model's columns are the file's 1-based indices
        request = (libsvm_bytes(test_images, mnist.test.labels), content_type)
    body, _ = ALGORITHM.load(context.model_dir).invoke(*request, "text/csv")
    accuracy = (np.array([float(line) for line in body.decode().splitlines()]) == mnist.test.labels).mean()
    direct = xgb.train(SEED_PARAMS, xgb.DMatrix(images, label=labels), num_boost_round=5)
    direct_accuracy = (direct.predict(xgb.DMatrix(test_images)) == mnist.test.labels).mean()
    assert accuracy > direct_accuracy - 0.03, (accuracy, direct_accuracy)


@pytest.mark.parametrize(
    ("hyperparameters", "quantile"),
    [
        ({}, True),
        ({"tree_method": "hist", "max_bin": "64"}, True),
        ({"tree_method": "exact"}, False),
        ({"tree_method": "approx"}, False),
        ({"booster": "gblinear"}, False),
    ],
)
def test_a_quantile_matrix_only_for_the_histogram_method(make_job, monkeypatch, hyperparameters, quantile):
    features, labels = binary_data()
    context = make_job(
        {**BINARY, **hyperparameters}, {"train": ("text/csv", {"t.csv": csv_bytes(features, labels)})}
    )
    matrices = recording_train_matrices(monkeypatch)

    ALGORITHM.train(context)

    assert isinstance(matrices[0], xgb.QuantileDMatrix) is quantile


def test_csv_data_under_the_default_libsvm_content_type_fails_naming_the_file(make_job):
    features, labels = binary_data(rows=5)
    reason = failure_of(
        make_job, {"num_round": "2"}, {"train": (None, {"data.csv": csv_bytes(features, labels)})}
    )
    assert reason.startswith("ClientError: First line '1.0,")
    assert "of file 'data.csv' is not 'LIBSVM' format" in reason


@pytest.mark.parametrize(
    ("channels", "reason"),
    [
        ({}, "ClientError: Missing required channel: train"),
        (
            {**TRAIN_CSV, "test": ("text/csv", {"t.csv": b"1,2\n"})},
            "ClientError: Extraneous channel found: test",
        ),
        (
            {"train": ("text/csv;label_size=1", {"t.csv": b"1,2\n"})},
            "ClientError: Channel configuration for 'train' channel is not supported: "
            "{'ContentType': 'text/csv;label_size=1'",
        ),
        ({"train": ("text/csv", {})}, "ClientError: No data in training channel path "),
        (
            {**TRAIN_CSV, "validation": ("text/csv", {"empty.csv": b""})},
            "ClientError: No data in validation channel path ",
        ),
        (
            {"train": ("text/csv", {"t.csv": b"1,2,3\n0,4,abc\n"})},
            "ClientError: Failed to load csv data with exception:\n"
            "t.csv line 2 column 3 is 'abc', not a number",
        ),
        (
            {"train": ("libsvm", {"t.libsvm": b"1 1:0.5 2:1\n0 1:x\n"})},
            "ClientError: Failed to load libsvm data with exception:\n"
            "t.libsvm line 2: '1:x' is not index:value",
        ),
        (
            {"train": ("application/x-recordio-protobuf", {"t.rec": recordio_bytes(np.ones((3, 2)))})},
            "ClientError: Got input data without labels.",
        ),
        (
            {"train": ("application/x-recordio-protobuf", {"t.rec": b"not recordio at all"})},
            "ClientError: Failed to load recordio-protobuf data with exception:",
        ),
    ],
)
def test_bad_channels_and_data_fail_clearly(make_job, channels, reason):
    assert failure_of(make_job, {"num_round": "2"}, channels).startswith(reason)


def test_labels_outside_num_class_are_a_client_error(make_job):
    features, _ = binary_data(rows=20)
    channels = {"train": ("text/csv", {"t.csv": csv_bytes(features, np.full(20, 7.0))})}
    reason = failure_of(
        make_job, {"num_round": "2", "objective": "multi:softmax", "num_class": "3"}, channels
    )
    assert reason == (
        "ClientError: Check failed: valid: SoftmaxMultiClassObj: "
        "label must be discrete values in the range of [0, num_class)."
    )


# --- serving -------------------------------------------------------------------------------------


def test_serving_statuses_match_the_container(binary_predictor):
    record = b"0.5,0.1,-0.3,1.0"
    cases = [
        ((b"", "text/csv", None), 204, ""),
        (
            (record, "application/json", None),
            415,
            "application/json is not an accepted ContentType: csv, libsvm",
        ),
        ((record, "text/csv;label_size=0", None), 415, "is not an accepted csv ContentType"),
        (
            (record, "application/x-parquet", None),
            415,
            "Content-type application/x-parquet is not supported.",
        ),
        ((b"0.5,abc,1,2", "text/csv", None), 415, "line 1 column 2 is 'abc', not a number"),
        ((b"1,2,3,4\n1,2", "text/csv", None), 415, "line 2 has 2 values but line 1 has 4"),
        ((b"1 a:2", "text/libsvm", None), 415, "Loading libsvm data failed with Exception"),
        (
            (b"1,2,3,4,5,6", "text/csv", None),
            400,
            "Unable to evaluate payload provided: records have 6 features",
        ),
        ((record, "text/csv", "application/xml"), 406, "Accept type application/xml is not supported."),
        ((record, "text/csv", "application/jsonlines"), 500, "selectable inference mode"),
    ]
    for arguments, status, message in cases:
        with pytest.raises(InferenceError) as raised:
            binary_predictor.invoke(*arguments)
        assert raised.value.status == status, arguments
        assert message in raised.value.message, arguments


def test_serving_formats_and_defaults(binary_predictor):
    features, _ = binary_data(rows=3, seed=11)
    expected = binary_predictor.booster.predict(xgb.DMatrix(features.astype(np.float64)))
    csv_body = csv_bytes(features)

    answer, content_type = binary_predictor.invoke(csv_body, "text/csv", "*/*")
    assert content_type == "text/csv"
    assert answer.decode() == "".join(f"{float(value)!r}\n" for value in expected)

    answer, content_type = binary_predictor.invoke(csv_body, "text/csv", "application/json")
    assert content_type == "application/json"
    assert json.loads(answer) == {"predictions": [{"score": float(value)} for value in expected]}

    answer, _ = binary_predictor.invoke(recordio_bytes(features), "application/x-recordio-protobuf", None)
    np.testing.assert_array_equal([float(v) for v in answer.split()], expected)

    # No Content-Type means libsvm; indices are column numbers and absent entries are missing values.
    libsvm = "\n".join(
        "0 " + " ".join(f"{i}:{v!r}" for i, v in enumerate(map(float, row))) for row in features
    )
    answer, _ = binary_predictor.invoke(libsvm.encode(), None, None)
    np.testing.assert_array_equal([float(v) for v in answer.split()], expected)
    answer, _ = binary_predictor.invoke(b"1 0:0.5", "text/x-libsvm", "text/csv")
    missing = binary_predictor.booster.predict(xgb.DMatrix(np.array([[0.5, np.nan, np.nan, np.nan]])))
    assert float(answer) == float(missing[0])


def test_loads_a_model_saved_under_another_name_and_rejects_garbage(tmp_path, binary_predictor):
    binary_predictor.booster.save_model(str(tmp_path / "model.json"))
    reloaded = ALGORITHM.load(tmp_path)
    features, _ = binary_data(rows=2)
    assert reloaded.invoke(csv_bytes(features), "text/csv", None) == binary_predictor.invoke(
        csv_bytes(features), "text/csv", None
    )
    pickled = tmp_path / "pickled"
    pickled.mkdir()
    (pickled / "xgboost-model").write_bytes(pickle.dumps(binary_predictor.booster))  # images up to 1.2-2
    assert ALGORITHM.load(pickled).invoke(csv_bytes(features), "text/csv", None) == binary_predictor.invoke(
        csv_bytes(features), "text/csv", None
    )
    garbage = tmp_path / "garbage"
    garbage.mkdir()
    (garbage / "xgboost-model").write_bytes(b"\x00\x01 not a model")
    with pytest.raises(ValueError, match=r"(?s)cannot be loaded:\nPickle load error=.*legacy binary format"):
        ALGORITHM.load(garbage)


# --- image versions ------------------------------------------------------------------------------
# Each difference is read off the version's branch of github.com/aws/sagemaker-xgboost-container
# (algorithm_mode/hyperparameter_validation.py, algorithm_mode/serve.py); the legacy image (xgboost:1) is
# closed source, and SageMaker Spark's XGBoost estimator, written for it, sends `silent` and splits
# answers on commas.

LEGACY = xgboost_versions.LEGACY
ALL_VERSIONS = (LEGACY, "0.90-1", "0.90-2", "1.0-1", "1.2-1", "1.2-2", "1.3-1", "1.5-1", "1.7-1", "3.0-5")
COMMA_JOINED = (LEGACY, "0.90-1", "0.90-2", "1.0-1", "1.2-1")


def test_every_sdk_image_tag_names_its_version():
    # The URIs the SageMaker SDK gives (include/sagemaker_requests builds them from its table).
    from include.sagemaker_requests.image_registries import IMAGES
    from include.sagemaker_requests.image_uris import image_uri

    versions = {
        version: registry.lookup(image_uri("xgboost", "eu-west-1", version)).version
        for version in IMAGES["xgboost"]
    }
    assert versions == {
        "1": LEGACY,
        "latest": LEGACY,
        **{version: version for version in IMAGES["xgboost"] if version not in ("1", "latest")},
    }
    assert xgboost_versions.image_version(
        "1.dkr.ecr.us-west-2.amazonaws.com/sagemaker-xgboost:1.5-1-arm64"
    ) == ("1.5-1")
    # A digest or a custom tag says nothing of the version: the DAGs' version's behaviour.
    assert (
        xgboost_versions.image_version("1.dkr.ecr.r.amazonaws.com/sagemaker-xgboost@sha256:ab12") == "1.7-1"
    )
    assert xgboost_versions.image_version("my-registry/sagemaker-xgboost:mine") == "1.7-1"


def train_as(version: str, make_job, hyperparameters: dict) -> XGBoostAlgorithm:
    algorithm = XGBoostAlgorithm(version)
    algorithm.train(make_job(hyperparameters, TRAIN_CSV))
    return algorithm


@pytest.mark.parametrize("version", [LEGACY, "0.90-1", "0.90-2", "1.0-1"])
def test_silent_is_accepted_up_to_1_0_1(make_job, version):
    train_as(version, make_job, {"num_round": "2", "silent": "1"})
    assert failure_of_version(version, {"num_round": "2", "silent": "2"}) == (
        "ClientError: Hyperparameter silent: 2 is not in [0, 1]"
    )


@pytest.mark.parametrize("version", ["1.2-1", "1.2-2", "1.3-1", "1.5-1", "1.7-1", "3.0-5"])
def test_silent_is_extraneous_from_1_2_1(make_job, version):
    assert failure_of_version(version, {"num_round": "2", "silent": "0"}) == (
        "ClientError: Extraneous hyperparameter found: silent"
    )


def failure_of_version(version: str, hyperparameters: dict) -> str:
    # Validation comes before the data is read, so the failing half needs no container tree of its own.
    with pytest.raises(JobFailure) as raised:
        validate(hyperparameters, version)
    return str(raised.value)


@pytest.mark.parametrize(
    ("name", "value", "accepted_by", "extraneous_for"),
    [
        ("num_parallel_tree", "2", "0.90-2", (LEGACY, "0.90-1")),
        ("save_model_on_termination", "false", "1.0-1", ("0.90-2",)),
        ("aft_loss_distribution", "normal", "1.2-1", ("1.0-1",)),
        ("single_precision_histogram", "true", "1.5-1", ("1.0-1", "1.7-1", "3.0-5")),
        ("sampling_method", "uniform", "1.3-1", ("1.2-2",)),
        ("use_dask_gpu_training", "false", "1.5-1", ("1.3-1",)),
    ],
)
def test_names_each_version_accepts(make_job, name, value, accepted_by, extraneous_for):
    train_as(accepted_by, make_job, {"num_round": "2", name: value})
    for version in extraneous_for:
        assert failure_of_version(version, {"num_round": "2", name: value}) == (
            f"ClientError: Extraneous hyperparameter found: {name}"
        ), version


@pytest.mark.parametrize(
    ("version", "folds", "other"), [("1.2-1", "_nfold", "_kfold"), ("1.2-2", "_kfold", "_nfold")]
)
def test_cross_validation_is_nfold_in_1_2_1_and_kfold_after(make_job, version, folds, other):
    with pytest.raises(JobFailure, match=f"{folds}: cross-validation training is not supported"):
        train_as(version, make_job, {"num_round": "2", folds: "3"})
    assert failure_of_version(version, {"num_round": "2", other: "3"}) == (
        f"ClientError: Extraneous hyperparameter found: {other}"
    )


def served_by(version: str, model_dir, monkeypatch, batch: bool = False) -> XGBoostPredictor:
    # What the container process does: the image picks the algorithm, SAGEMAKER_BATCH is read at load.
    if batch:
        monkeypatch.setenv("SAGEMAKER_BATCH", "true")
    else:
        monkeypatch.delenv("SAGEMAKER_BATCH", raising=False)
    tag = {LEGACY: "1"}.get(version, version)
    repository = "xgboost" if version == LEGACY else "sagemaker-xgboost"
    algorithm = registry.lookup(f"1.dkr.ecr.us-east-1.amazonaws.com/{repository}:{tag}")
    return algorithm.load(model_dir)


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_real_time_csv_answers_by_version(binary_model_dir, monkeypatch, version):
    predictor = served_by(version, binary_model_dir, monkeypatch)
    features, _ = binary_data(rows=3, seed=11)
    expected = [float(value) for value in predictor.booster.predict(xgb.DMatrix(features.astype(np.float64)))]

    for accept in ("text/csv", None, "application/json", "application/xml"):
        if version not in COMMA_JOINED and accept in ("application/json", "application/xml"):
            continue
        answer, content_type = predictor.invoke(csv_bytes(features), "text/csv", accept)
        assert content_type == "text/csv"
        if version in COMMA_JOINED:  # one line, Accept not read
            assert answer.decode() == ",".join(map(str, expected))
        else:
            assert answer.decode() == "".join(f"{value}\n" for value in expected)
    if version not in COMMA_JOINED:
        with pytest.raises(InferenceError) as raised:
            predictor.invoke(csv_bytes(features), "text/csv", "application/xml")
        assert raised.value.status == 406


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_batch_transform_answers_one_prediction_a_line_in_every_version(
    binary_model_dir, monkeypatch, version
):
    predictor = served_by(version, binary_model_dir, monkeypatch, batch=True)
    features, _ = binary_data(rows=3, seed=11)
    expected = [float(value) for value in predictor.booster.predict(xgb.DMatrix(features.astype(np.float64)))]

    answer, content_type = predictor.invoke(csv_bytes(features), "text/csv", "text/csv")

    assert (answer.decode(), content_type) == ("".join(f"{value}\n" for value in expected), "text/csv")


def test_class_probabilities_are_written_as_the_containers_str_of_a_row(make_job, monkeypatch):
    features, labels = binary_data(rows=60)
    context = make_job(
        {"objective": "multi:softprob", "num_class": "2", "num_round": "2", "nthread": "1"},
        {"train": ("text/csv", {"t.csv": csv_bytes(features, labels)})},
    )
    ALGORITHM.train(context)
    rows = ALGORITHM.load(context.model_dir).booster.predict(xgb.DMatrix(features[:2].astype(np.float64)))
    first, second = ([float(value) for value in row] for row in rows)

    answer, _ = served_by("1.0-1", context.model_dir, monkeypatch).invoke(
        csv_bytes(features[:2]), "text/csv", None
    )
    assert answer.decode() == f"{first},{second}"  # "[p0, p1],[p0, p1]"
    answer, _ = served_by("1.7-1", context.model_dir, monkeypatch).invoke(
        csv_bytes(features[:2]), "text/csv", None
    )
    assert answer.decode() == f"{first[0]},{first[1]}\n{second[0]},{second[1]}\n"
    batch = served_by("1.7-1", context.model_dir, monkeypatch, batch=True)
    answer, content_type = batch.invoke(csv_bytes(features[:2]), "text/csv", "application/json")
    assert (answer.decode(), content_type) == (f"{first}\n{second}\n", "application/json")


# --- several hosts -------------------------------------------------------------------------------

XGBOOST_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
BINARY_TEN_CLASSES = {**SEED_HYPERPARAMETERS, "num_round": "2"}


@pytest.mark.slow  # three containers, about 30 s on a busy machine
def test_two_hosts_train_one_booster_each_on_its_share_as_good_as_one_host(mnist, tmp_path):
    train, validation = mnist.train, mnist.validation
    halves = np.array_split(np.arange(TRAIN_ROWS), 2)
    shares = [
        libsvm_bytes(train.images[rows], train.labels[rows]) for rows in (np.arange(TRAIN_ROWS), *halves)
    ]
    # Unequal validation shares, so that a mean of the hosts' values differs from the whole set's value.
    validation_rows = np.split(np.arange(len(validation.labels)), [len(validation.labels) // 3])
    validation_shares = [
        libsvm_bytes(validation.images[rows], validation.labels[rows]) for rows in validation_rows
    ]
    whole_validation = libsvm_bytes(validation.images, validation.labels)
    hyperparameters = {**SEED_HYPERPARAMETERS, "eval_metric": "mlogloss,merror,accuracy"}

    def channels(share: bytes, validation_share: bytes, distribution: str) -> dict:
        return {
            "train": ("text/libsvm", "ShardedByS3Key", {"train.libsvm": share}),
            "validation": ("text/libsvm", distribution, {"validation.libsvm": validation_share}),
        }

    [single] = run_hosts(
        tmp_path / "one",
        XGBOOST_IMAGE,
        hyperparameters,
        [channels(shares[0], whole_validation, "FullyReplicated")],
    )
    double = run_hosts(
        tmp_path / "two",
        XGBOOST_IMAGE,
        hyperparameters,
        [channels(*pair, "ShardedByS3Key") for pair in zip(shares[1:], validation_shares, strict=True)],
    )

    assert [run.returncode for run in (single, *double)] == [0, 0, 0], [
        run.output for run in (single, *double)
    ]
    for run, rows, validated in zip(double, halves, validation_rows, strict=True):  # each read its own share
        assert f"Train matrix has {len(rows)} rows" in run.output
        assert f"Validation matrix has {len(validated)} rows" in run.output
    assert "Distributed training with 2 hosts: ['algo-1', 'algo-2']" in double[0].output
    assert [path.name for path in double[0].model_dir.iterdir()] == ["xgboost-model"]
    assert not list(double[1].model_dir.iterdir())  # only the master saves the model, as the container does

    # XGBoost's own metrics cover every host's validation share: each host evaluates its share and the
    # collective sums the parts (xgboost src/metric/*.cc, collective::GlobalSum), so algo-1 logs what
    # one host logs for the whole validation set. The container's scikit-learn metrics are computed on
    # each host's share and averaged over the hosts by XGBoost's callback (xgboost/callback.py,
    # _allreduce_metric), on AWS as here.
    logged = metrics_from_log(double[0].output)
    booster = ALGORITHM.load(double[0].model_dir).booster
    for name in ("mlogloss", "merror"):
        booster.set_param("eval_metric", name)

    def matrix(name: str, content: bytes) -> xgb.DMatrix:
        (tmp_path / name).write_bytes(content)
        return xgboost_libsvm_reader(tmp_path / name)

    whole = booster.eval(matrix("whole.libsvm", whole_validation), "validation")
    for name in ("mlogloss", "merror"):
        value = float(re.search(f"validation-{name}:([0-9.]+)", whole).group(1))
        assert logged[f"validation:{name}"] == pytest.approx(value, abs=1e-5), (name, whole)
    share_accuracy = []
    for index, (rows, share) in enumerate(zip(validation_rows, validation_shares, strict=True)):
        predicted = booster.predict(matrix(f"share-{index}.libsvm", share))
        share_accuracy.append((predicted == validation.labels[rows]).mean())
    assert logged["validation:accuracy"] == pytest.approx(np.mean(share_accuracy), abs=1e-5)

    one_host = metrics_from_log(single.output)["validation:mlogloss"]
    two_hosts = logged["validation:mlogloss"]
    assert two_hosts < one_host * 1.05, (one_host, two_hosts)
    test = mnist.test
    accuracy = {}
    for hosts, run in ((1, single), (2, double[0])):
        body, _ = ALGORITHM.load(run.model_dir).invoke(
            libsvm_bytes(test.images, test.labels), "text/libsvm", "text/csv"
        )
        predicted = np.array([float(line) for line in body.decode().splitlines()])
        accuracy[hosts] = (predicted == test.labels).mean()
    print(f"validation mlogloss {one_host:.4f} / {two_hosts:.4f}, test accuracy {accuracy} (1 / 2 hosts)")
    assert accuracy[2] > accuracy[1] - 0.02, accuracy
    assert accuracy[2] > 0.8, accuracy


@pytest.mark.slow  # two containers
def test_a_host_without_a_validation_share_is_left_out_of_training_as_the_container_does(mnist, tmp_path):
    train, validation = mnist.train, mnist.validation
    train_share = libsvm_bytes(train.images[:200], train.labels[:200])
    validation_share = libsvm_bytes(validation.images[:100], validation.labels[:100])

    def channels(validation_files: dict) -> dict:
        return {
            "train": ("text/libsvm", "ShardedByS3Key", {"train.libsvm": train_share}),
            "validation": ("text/libsvm", "ShardedByS3Key", validation_files),
        }

    # One validation object over two hosts: algo-2 gets none (SageMaker allows it).
    runs = run_hosts(
        tmp_path, XGBOOST_IMAGE, BINARY_TEN_CLASSES, [channels({"v.libsvm": validation_share}), channels({})]
    )

    assert [run.returncode for run in runs] == [0, 0], [run.output for run in runs]
    assert "Only algo-1 has training data: single node training" in runs[0].output
    assert "Host algo-2 does not have validation data" in runs[1].output
    assert [path.name for path in runs[0].model_dir.iterdir()] == ["xgboost-model"]


def test_a_single_hosts_pipe_mode_channel_has_data_when_its_first_pipe_is_there(tmp_path):
    channel = Channel("train", tmp_path / "train", "text/csv", input_mode="Pipe")
    assert not xgboost_module._has_data(channel, distributed=False)
    os.mkfifo(tmp_path / "train_0")
    # The container's get_size: a pipe counts as data (a host of several also looks into it).
    assert xgboost_module._has_data(channel, distributed=False)


def test_a_host_that_never_joins_the_collective_fails_the_job_within_the_timeout(mnist, tmp_path):
    train = mnist.train
    share = libsvm_bytes(train.images[:200], train.labels[:200])
    # algo-2 told the others it has data, then died before joining the collective.
    said = tmp_path / "exchange" / "xgboost-hosts"
    said.mkdir(parents=True)
    np.savez(said / "algo-2.npz", has_data=np.array(True))
    channels = {"train": ("text/libsvm", "ShardedByS3Key", {"train.libsvm": share})}

    started = time.monotonic()
    [leader] = run_hosts(tmp_path, XGBOOST_IMAGE, BINARY_TEN_CLASSES, [channels, None], timeout=3)

    assert time.monotonic() - started < 30
    assert leader.returncode != 0
    assert "AlgorithmError: host algo-1 lost the XGBoost collective of ['algo-1', 'algo-2']" in leader.failure
