"""classification_predictions: the answer shapes of XGBoost and Linear Learner, first from a stand-in
runtime client (the parser alone), then from real endpoints of the local engine."""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Iterator

import boto3
import numpy as np
import pytest

from include.inference.batches import LIBSVM, BatchAnswer, invoke_in_batches, libsvm_body
from include.inference.classification import (
    classification_predictions,
    parse_answer,
    read_libsvm_objects,
)
from include.mnist.writers.libsvm import write_libsvm


def _arrays(npz: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(npz), allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}


class AnsweringRuntime:
    """Stands in for sagemaker-runtime: answers every request with ``answer(rows)`` as ``content_type``."""

    def __init__(self, answer, content_type: str) -> None:
        self.answer = answer
        self.content_type = content_type
        self.requests: list[dict] = []

    def invoke_endpoint(self, **request):
        self.requests.append(request)
        body = request["Body"].decode()
        if request["ContentType"] == "text/csv":
            rows = np.loadtxt(io.StringIO(body), delimiter=",", ndmin=2)
        else:
            rows = np.zeros((len(body.splitlines()), 1))
        return {"Body": io.BytesIO(self.answer(rows).encode()), "ContentType": self.content_type}


FEATURES = np.arange(7 * 3, dtype=np.float32).reshape(7, 3)
LABELS = np.array([0, 1, 2, 0, 1, 2, 0])


def test_xgboost_softmax_csv_class_indices() -> None:
    # Row i starts with 3 * i: answer class i % 3, written as XGBoost writes floats.
    runtime = AnsweringRuntime(lambda rows: "".join(f"{row[0] // 3 % 3}\n" for row in rows), "text/csv")
    arrays = _arrays(classification_predictions(runtime, "ep", FEATURES, LABELS, batch_size=3))
    assert arrays["predictions"].dtype == np.int64
    assert arrays["predictions"].tolist() == [0, 1, 2, 0, 1, 2, 0]
    assert arrays["labels"].tolist() == LABELS.tolist()
    assert arrays["images"].dtype == np.float32
    assert arrays["images"].shape == (7, 3)
    assert "scores" not in arrays  # class indices carry no score
    assert len(runtime.requests) == 3
    assert "Accept" not in runtime.requests[0]  # each algorithm answers in its own default shape


def test_xgboost_softprob_csv_vectors_are_argmaxed_and_kept_as_scores() -> None:
    def probabilities(rows):
        return "".join("0.1,0.7,0.2\n" if row[0] < 9 else "0.6,0.3,0.1\n" for row in rows)

    arrays = _arrays(
        classification_predictions(AnsweringRuntime(probabilities, "text/csv"), "ep", FEATURES, LABELS)
    )
    assert arrays["predictions"].tolist() == [1, 1, 1, 0, 0, 0, 0]
    assert arrays["scores"].shape == (7, 3)
    assert arrays["scores"][0].tolist() == [0.1, 0.7, 0.2]


def test_linear_learner_json_is_it_a_zero() -> None:
    def answer(rows):
        predictions = [
            {"score": 0.9 if row[0] < 6 else 0.2, "predicted_label": int(row[0] < 6)} for row in rows
        ]
        return json.dumps({"predictions": predictions})

    runtime = AnsweringRuntime(answer, "application/json")
    binary = np.array([1, 1, 0, 0, 0, 0, 1])
    arrays = _arrays(classification_predictions(runtime, "ep", FEATURES, binary))
    assert arrays["predictions"].tolist() == [1, 1, 0, 0, 0, 0, 0]
    assert arrays["scores"].tolist() == [0.9, 0.9, 0.2, 0.2, 0.2, 0.2, 0.2]
    assert arrays["labels"].tolist() == binary.tolist()


def test_json_scores_without_labels_and_jsonlines_are_read() -> None:
    xgboost_json = BatchAnswer(
        2, b'{"predictions": [{"score": 3.0}, {"score": [0.2, 0.8]}]}', "application/json"
    )
    assert parse_answer(xgboost_json) == ([3, 1], [None, [0.2, 0.8]])
    lines = BatchAnswer(
        2, b'{"score": 0.1, "predicted_label": 0}\n{"score": 0.8, "predicted_label": 1}\n', ""
    )
    lines = BatchAnswer(lines.rows, lines.body, "application/jsonlines; charset=utf-8")
    assert parse_answer(lines) == ([0, 1], [0.1, 0.8])


def test_a_threshold_turns_one_number_scores_into_labels() -> None:
    answer = BatchAnswer(3, b"0.2\n0.5\n0.93\n", "text/csv")
    assert parse_answer(answer, threshold=0.5) == ([0, 1, 1], [0.2, 0.5, 0.93])
    with pytest.raises(ValueError, match=r"0\.2 is a score, not a class index; pass threshold="):
        parse_answer(answer)


def test_bad_answers_are_errors_naming_what_was_wrong() -> None:
    with pytest.raises(ValueError, match="answered as 'application/x-recordio-protobuf'"):
        parse_answer(BatchAnswer(1, b"\x00", "application/x-recordio-protobuf"))
    with pytest.raises(ValueError, match=r'must be \{"predictions"'):
        parse_answer(BatchAnswer(1, b"[1, 2]", "application/json"))
    with pytest.raises(ValueError, match="needs predicted_label or score"):
        parse_answer(BatchAnswer(1, b'{"predictions": [{"closest_cluster": 1}]}', "application/json"))
    too_few = AnsweringRuntime(lambda rows: "1\n", "text/csv")
    with pytest.raises(ValueError, match="answered 1 predictions for 5 rows"):
        classification_predictions(too_few, "ep", FEATURES[:5], LABELS[:5])


def test_inputs_are_checked_before_anything_is_sent() -> None:
    runtime = AnsweringRuntime(lambda rows: "0\n" * len(rows), "text/csv")
    with pytest.raises(ValueError, match=r"7 feature rows \(shape \(7, 3\)\) but 6 labels"):
        classification_predictions(runtime, "ep", FEATURES, LABELS[:6])
    with pytest.raises(ValueError, match="content_type 'application/x-npy' must be one of"):
        classification_predictions(runtime, "ep", FEATURES, LABELS, content_type="application/x-npy")
    assert runtime.requests == []


def test_libsvm_requests_and_objects_round_trip_the_pixels() -> None:
    rows = np.array([[0.0, 0.5, 0.0, 0.25], [1.0, 0.0, 0.0, 0.0]], dtype=np.float32)
    assert libsvm_body(rows) == b"0 2:0.5 4:0.25\n0 1:1\n"
    written = io.BytesIO()
    write_libsvm(written, rows, np.array([3, 7]))
    features, labels = read_libsvm_objects([written.getvalue(), written.getvalue()], n_features=4)
    assert np.array_equal(features, np.vstack([rows, rows]))
    assert labels.tolist() == [3, 7, 3, 7]
    with pytest.raises(ValueError, match="libsvm object 0 is not 2-feature libsvm"):
        read_libsvm_objects([written.getvalue()], n_features=2)


# --- against real endpoints of the local engine ------------------------------------------------------

XGBOOST_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
LINEAR_LEARNER_IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/linear-learner:1"
ROLE_ARN = "arn:aws:iam::123456789012:role/SageMakerRole"
BUCKET = "classification-inference"


@pytest.fixture(scope="module")
def engine_clients(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    from include.local_sagemaker.engine import LocalSageMaker

    engine = LocalSageMaker(tmp_path_factory.mktemp("engine")).start()
    session = boto3.session.Session("testing", "testing", region_name="us-east-1")
    clients = {
        name: session.client(name, endpoint_url=engine.endpoint_url)
        for name in ("s3", "sagemaker", "sagemaker-runtime")
    }
    clients["s3"].create_bucket(Bucket=BUCKET)
    try:
        yield clients
    finally:
        engine.stop()


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    """The offline sample's digits, pixels in [0, 1], as MnistToS3Operator writes them to libsvm."""
    from include.mnist import load_mnist

    train = load_mnist("sample").splits["train"]
    return np.asarray(train.images[:800], dtype=np.float32), np.asarray(train.labels[:800], dtype=np.int64)


def _deploy(clients: dict, name: str, image: str, model_file: str, model_bytes: bytes) -> str:
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        info = tarfile.TarInfo(model_file)
        info.size = len(model_bytes)
        tar.addfile(info, io.BytesIO(model_bytes))
    clients["s3"].put_object(Bucket=BUCKET, Key=f"{name}/model.tar.gz", Body=archive.getvalue())
    sagemaker = clients["sagemaker"]
    sagemaker.create_model(
        ModelName=name,
        PrimaryContainer={"Image": image, "ModelDataUrl": f"s3://{BUCKET}/{name}/model.tar.gz"},
        ExecutionRoleArn=ROLE_ARN,
    )
    variant = {"VariantName": "AllTraffic", "ModelName": name, "InitialInstanceCount": 1}
    sagemaker.create_endpoint_config(
        EndpointConfigName=name, ProductionVariants=[{**variant, "InstanceType": "ml.m5.large"}]
    )
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=name)
    sagemaker.get_waiter("endpoint_in_service").wait(
        EndpointName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 120}
    )
    return name


def test_xgboost_endpoint_trained_on_libsvm_answers_digits(engine_clients: dict, digits, tmp_path) -> None:
    import xgboost as xgb
    from sklearn.datasets import load_svmlight_file

    images, labels = digits
    train_file = io.BytesIO()
    write_libsvm(train_file, images[:600], labels[:600])
    train_file.seek(0)
    # Read as the engine's training reader does: each index is a column, so column 0 stays empty. All
    # 785 columns are kept: a model knows only the columns its training data reaches, and an endpoint
    # refuses requests wider than that.
    train_matrix, train_labels = load_svmlight_file(train_file, zero_based=True, n_features=785)
    params = {"objective": "multi:softprob", "num_class": 10, "max_depth": 4, "eta": 0.3, "nthread": 1}
    booster = xgb.train(params, xgb.DMatrix(train_matrix, label=train_labels), num_boost_round=5)
    model_path = tmp_path / "model.ubj"  # UBJSON, the format the container saves xgboost-model in
    booster.save_model(str(model_path))
    endpoint = _deploy(
        engine_clients, "xgboost-softprob", XGBOOST_IMAGE, "xgboost-model", model_path.read_bytes()
    )

    test_images, test_labels = images[600:], labels[600:]
    npz = classification_predictions(
        engine_clients["sagemaker-runtime"],
        endpoint,
        test_images,
        test_labels,
        batch_size=64,
        content_type=LIBSVM,
    )
    arrays = _arrays(npz)

    test_file = io.BytesIO()
    write_libsvm(test_file, test_images, test_labels)
    test_file.seek(0)
    test_matrix, _ = load_svmlight_file(test_file, zero_based=True, n_features=train_matrix.shape[1])
    expected = booster.predict(xgb.DMatrix(test_matrix))
    assert arrays["scores"].shape == (200, 10)
    np.testing.assert_allclose(arrays["scores"], expected, atol=1e-6)
    assert arrays["predictions"].tolist() == expected.argmax(axis=1).tolist()
    assert (arrays["predictions"] == test_labels).mean() > 0.7  # five small rounds on 600 digits
    # No Accept header: XGBoost answers its default, CSV, which is what was parsed above.
    answer = next(
        invoke_in_batches(
            engine_clients["sagemaker-runtime"], endpoint, test_images[:2], content_type=LIBSVM, accept=None
        )
    )
    assert answer.content_type.startswith("text/csv")


def test_linear_learner_endpoint_answers_is_it_a_zero(engine_clients: dict, digits, tmp_path) -> None:
    from include.local_sagemaker.algorithms.linear_learner_model import LinearModel, save

    images, labels = digits
    is_zero = (labels == 0).astype(np.int64)
    # A template classifier: how much more a digit looks like the average 0 than like the average other.
    template = images[is_zero == 1].mean(axis=0) - images[is_zero == 0].mean(axis=0)
    margins = images @ template
    bias = -float(np.median(margins[is_zero == 1]) + np.median(margins[is_zero == 0])) / 2
    model = LinearModel(
        "binary_classifier", "logistic", template[None, :].astype(np.float64), np.array([bias])
    )
    save(model, tmp_path / "model_algo-1")
    endpoint = _deploy(
        engine_clients,
        "linear-is-zero",
        LINEAR_LEARNER_IMAGE,
        "model_algo-1",
        (tmp_path / "model_algo-1").read_bytes(),
    )

    npz = classification_predictions(
        engine_clients["sagemaker-runtime"], endpoint, images, is_zero, batch_size=300
    )
    arrays = _arrays(npz)

    expected_scores = model.scores(images)
    np.testing.assert_allclose(arrays["scores"], expected_scores, rtol=1e-5, atol=1e-6)
    assert arrays["predictions"].tolist() == model.predicted_labels(expected_scores).tolist()
    assert set(arrays["predictions"].tolist()) == {0, 1}
    assert (arrays["predictions"] == is_zero).mean() > 0.9
    # No Accept header: Linear Learner answers its default, JSON, which is what was parsed above.
    answer = next(invoke_in_batches(engine_clients["sagemaker-runtime"], endpoint, images[:2], accept=None))
    assert answer.content_type.startswith("application/json")
