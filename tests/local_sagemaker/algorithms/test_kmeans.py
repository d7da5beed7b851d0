"""k-means end to end on a container tree: train, metrics, artifact, load, invoke."""

from __future__ import annotations

import io
import json
import re

import numpy as np
import pytest
from sklearn.metrics import pairwise_distances_argmin_min

from include.local_sagemaker.algorithms import mxnet_ndarray, registry
from include.local_sagemaker.algorithms.base import InferenceError
from include.local_sagemaker.algorithms.channel_data import stream_channel
from include.local_sagemaker.algorithms.hyperparameters import parse_hyperparameters
from include.local_sagemaker.algorithms.kmeans import ALGORITHM, KMeansPredictor, local_centres
from include.local_sagemaker.algorithms.kmeans import HYPERPARAMETERS as SPECS
from include.local_sagemaker.failures import JobFailure
from include.recordio import read_records, write_numpy_to_dense_tensor
from tests.local_sagemaker.algorithms.algorithm_test_data import blobs, csv_bytes

HYPERPARAMETERS = {"k": "3", "feature_dim": "5", "mini_batch_size": "100", "eval_metrics": '["msd", "ssd"]'}


def recordio_bytes(features: np.ndarray, labels: np.ndarray | None = None) -> bytes:
    buffer = io.BytesIO()
    write_numpy_to_dense_tensor(buffer, features, labels)
    return buffer.getvalue()


def metrics_from_log(log: str) -> dict[str, float]:
    """What the engine does: apply each metric definition's regex to the job's log, keep the last match."""
    found = {}
    for definition in ALGORITHM.metric_definitions:
        matches = re.findall(definition["Regex"], log)
        if matches:
            found[definition["Name"]] = float(matches[-1])
    return found


@pytest.fixture(scope="module")
def data():
    return blobs(rows=600, centres=3, dim=5)


def assert_finds_true_centres(centroids: np.ndarray, true_centres: np.ndarray) -> None:
    _, distance = pairwise_distances_argmin_min(true_centres, centroids)
    assert distance.max() < 0.3, distance


def test_registry_picks_kmeans_for_every_region():
    for uri in (
        "382416733822.dkr.ecr.us-east-1.amazonaws.com/kmeans:1",
        "664544806723.dkr.ecr.eu-central-1.amazonaws.com/kmeans:latest",
    ):
        assert registry.lookup(uri) is ALGORITHM


def test_trains_from_csv_writes_centroids_and_reports_test_metrics(make_job, data, capsys):
    features, _, true_centres = data
    context = make_job(
        HYPERPARAMETERS,
        {
            "train": ("text/csv;label_size=0", {"train.csv": csv_bytes(features[:500])}),
            "test": ("text/csv;label_size=0", {"test.csv": csv_bytes(features[500:])}),
        },
    )

    ALGORITHM.train(context)

    saved = mxnet_ndarray.load(context.model_dir / "model_algo-1")
    assert isinstance(saved, list)
    assert len(saved) == 1
    assert saved[0].shape == (3, 5)
    assert saved[0].dtype == np.float32
    assert_finds_true_centres(saved[0], true_centres)

    log = capsys.readouterr().out
    assert re.search(
        r"^\[\d\d/\d\d/\d{4} \d\d:\d\d:\d\d INFO \d+\] #quality_metric: host=algo-1, test msd <loss>=",
        log,
        re.M,
    )
    _, distance = pairwise_distances_argmin_min(features[500:], saved[0])
    expected_ssd = float(np.square(distance.astype(np.float64)).sum())
    metrics = metrics_from_log(log)
    assert metrics["test:msd"] == pytest.approx(expected_ssd / 100, rel=1e-5)
    assert metrics["test:ssd"] == pytest.approx(expected_ssd, rel=1e-5)


def test_trains_from_recordio_with_labels_and_default_content_type(make_job, data, capsys):
    features, labels, true_centres = data
    train_files = {
        "part-0.pbr": recordio_bytes(features[:300], labels[:300].astype(np.float32)),
        "part-1.pbr": recordio_bytes(features[300:]),
    }
    context = make_job(
        {"k": "3", "feature_dim": "5", "init_method": "kmeans++"}, {"train": (None, train_files)}
    )

    ALGORITHM.train(context)

    centroids = mxnet_ndarray.load(context.model_dir / "model_algo-1")[0]
    assert_finds_true_centres(centroids, true_centres)
    assert metrics_from_log(capsys.readouterr().out) == {}  # no test channel, no metrics


def test_extra_center_factor_one_skips_the_reduction(make_job, data, capsys):
    features, _, true_centres = data
    context = make_job(
        {"k": "3", "feature_dim": "5", "extra_center_factor": "1", "init_method": "kmeans++"},
        {"train": ("application/x-recordio-protobuf", {"a.pbr": recordio_bytes(features)})},
    )

    ALGORITHM.train(context)

    assert "No shrinking is required as extra_center_factor is 1." in capsys.readouterr().out
    assert_finds_true_centres(mxnet_ndarray.load(context.model_dir / "model_algo-1")[0], true_centres)


@pytest.mark.parametrize("init_method", ["random", "kmeans++"])
def test_class_sorted_data_gets_a_centre_in_every_cluster(make_job, init_method):
    # One file per cluster, as a converter writing one part per label would: the first mini-batch holds one
    # cluster only, so centres seeded from it alone miss the others.
    features, labels, true_centres = blobs(rows=3000, centres=6, dim=5, seed=11)
    files = {f"part-{label}.pbr": recordio_bytes(features[labels == label]) for label in range(6)}
    context = make_job(
        {"k": "6", "feature_dim": "5", "mini_batch_size": "100", "init_method": init_method},
        {"train": (None, files)},
    )

    ALGORITHM.train(context)

    centroids = mxnet_ndarray.load(context.model_dir / "model_algo-1")[0]
    assert_finds_true_centres(centroids, true_centres)
    closest, _ = pairwise_distances_argmin_min(features, centroids)
    purity = sum(np.bincount(labels[closest == c]).max() for c in np.unique(closest)) / len(labels)
    assert purity > 0.99, purity


@pytest.mark.parametrize("epochs", ["1", "3"])
def test_centre_weights_are_what_the_final_centres_win(make_job, epochs):
    # The reduction weighs each centre by what it won while the last epoch streamed by, not by a count
    # against the final centres; on class-sorted files (the hard case: centres move as classes arrive) the
    # two must still agree: the same mass on each cluster, shared out a little differently between the
    # cluster's several centres.
    features, labels, true_centres = blobs(rows=3000, centres=6, dim=5, seed=11)
    files = {f"part-{label}.pbr": recordio_bytes(features[labels == label]) for label in range(6)}
    hyperparameters = {"k": "6", "feature_dim": "5", "mini_batch_size": "100", "epochs": epochs}
    context = make_job(hyperparameters, {"train": (None, files)})
    train = stream_channel(context.channels["train"], 5)

    centres, weights, rows = local_centres(train, parse_hyperparameters(SPECS, hyperparameters), 4, False)

    assert rows == 3000
    assert weights.sum() == 3000
    closest, _ = pairwise_distances_argmin_min(features, centres)
    counted = np.bincount(closest, minlength=len(centres))
    assert np.abs(weights - counted).sum() / rows < 0.1, (weights, counted)
    cluster, _ = pairwise_distances_argmin_min(centres, true_centres)
    np.testing.assert_array_equal(np.bincount(cluster, weights, 6), np.bincount(cluster, counted, 6))


@pytest.mark.parametrize(
    ("hyperparameters", "channels", "reason"),
    [
        (
            {},
            {},
            "ClientError: No value(s) were specified for 'k', 'feature_dim' which are required "
            "hyperparameter(s) (caused by ValidationError)",
        ),
        (
            {"k": "3", "feature_dim": "5", "init_method": "best"},
            {},
            "The value 'best' is not valid for the 'init_method' hyperparameter",
        ),
        (
            {"k": "3", "feature_dim": "5"},
            {"validation": ("text/csv", {"a.csv": b"1\n"})},
            "Channel 'train' is required",
        ),
        (
            {"k": "30", "feature_dim": "5"},
            {"train": ("text/csv;label_size=0", {"a.csv": b"1,2,3,4,5\n"})},
            "has 1 records, fewer than k=30",
        ),
        (
            {"k": "3", "feature_dim": "4"},
            {"train": ("text/csv;label_size=0", {"a.csv": b"1,2,3,4,5\n"})},
            "have 5 features but the 'feature_dim' hyperparameter is 4",
        ),
    ],
)
def test_bad_jobs_fail_with_a_reason(make_job, hyperparameters, channels, reason):
    context = make_job(hyperparameters, channels)

    with pytest.raises(JobFailure) as caught:
        ALGORITHM.train(context)

    assert reason in str(caught.value)
    assert not (context.model_dir / "model_algo-1").exists()


# --- inference ------------------------------------------------------------------------------------

CENTROIDS = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]], dtype=np.float32)
RECORDS = np.array([[1.0, 1.0], [9.0, 0.5], [0.0, 13.0]], dtype=np.float32)
EXPECTED = [(0.0, 2**0.5), (1.0, (1 + 0.25) ** 0.5), (2.0, 3.0)]


@pytest.fixture(scope="module")
def predictor(tmp_path_factory):
    model_dir = tmp_path_factory.mktemp("model")
    mxnet_ndarray.save(model_dir / "model_algo-1", [CENTROIDS])
    return ALGORITHM.load(model_dir)


def csv_body(records: np.ndarray) -> bytes:
    return "\n".join(",".join(str(v) for v in row) for row in records).encode()


def test_csv_in_json_out_matches_the_documented_shape(predictor):
    body, content_type = predictor.invoke(csv_body(RECORDS), "text/csv", None)

    assert content_type == "application/json"
    predictions = json.loads(body)["predictions"]
    np.testing.assert_allclose(
        [(p["closest_cluster"], p["distance_to_cluster"]) for p in predictions], EXPECTED, rtol=1e-6
    )
    assert all(isinstance(p["closest_cluster"], float) for p in predictions)


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", json.dumps({"instances": [{"features": r} for r in RECORDS.tolist()]})),
        (
            "application/json",
            json.dumps({"instances": [{"data": {"features": {"values": r}}} for r in RECORDS.tolist()]}),
        ),
        ("application/jsonlines", "\n".join(json.dumps({"features": r}) for r in RECORDS.tolist())),
        ("application/x-recordio-protobuf", None),
    ],
)
def test_every_request_format_gives_the_same_answer(predictor, content_type, body):
    payload = recordio_bytes(RECORDS) if body is None else body.encode()

    response, _ = predictor.invoke(payload, content_type, "application/jsonlines")

    lines = [json.loads(line) for line in response.decode().splitlines()]
    np.testing.assert_allclose(
        [(p["closest_cluster"], p["distance_to_cluster"]) for p in lines], EXPECTED, rtol=1e-6
    )


def test_csv_response_is_one_line_per_record(predictor):
    body, content_type = predictor.invoke(csv_body(RECORDS), "text/csv", "text/csv")

    assert content_type == "text/csv"
    rows = [tuple(map(float, line.split(","))) for line in body.decode().splitlines()]
    np.testing.assert_allclose(rows, EXPECTED, rtol=1e-6)


def test_recordio_response_has_one_label_record_per_input(predictor):
    body, content_type = predictor.invoke(csv_body(RECORDS), "text/csv", "application/x-recordio-protobuf")

    assert content_type == "application/x-recordio-protobuf"
    records = read_records(io.BytesIO(body))
    assert len(records) == 3
    answers = [
        (
            r.label["closest_cluster"].float32_tensor.values[0],
            r.label["distance_to_cluster"].float32_tensor.values[0],
        )
        for r in records
    ]
    np.testing.assert_allclose(answers, EXPECTED, rtol=1e-6)
    assert all(len(r.features) == 0 for r in records)


@pytest.mark.parametrize(
    ("body", "content_type", "accept", "status", "message"),
    [
        (b"1,2,3", "text/csv", None, 400, "CSV record 1 has 3 values, expected 2"),
        (
            b'{"instances": [[1, 2, 3]]}',
            "application/json",
            None,
            400,
            "records have 3 features but the model expects 2",
        ),
        (b"1,2\n3", "text/csv", None, 400, "CSV record 2 has 1 values, expected 2"),
        (b"1,abc", "text/csv", None, 400, "CSV record 1 column 2 is 'abc', not a number"),
        (b"", "text/csv", None, 400, "the request body is empty"),
        (b"{", "application/json", None, 400, "is not valid JSON"),
        (b'{"rows": [[1, 2]]}', "application/json", None, 400, 'JSON object has no "instances" key'),
        (b"1,2", "application/octet-stream", None, 415, "'application/octet-stream' not supported"),
        (b"1,2", "text/csv", "image/png", 406, "Accept type 'image/png' is not supported"),
        (b"\n\x00\x01\x02", "application/x-recordio-protobuf", None, 400, "not recordIO-protobuf"),
        (b"0," * (3 << 20) + b"0", "text/csv", None, 413, "exceeds the 6291456 byte (6 MB) limit"),
    ],
)
def test_malformed_requests_raise_inference_errors(predictor, body, content_type, accept, status, message):
    with pytest.raises(InferenceError) as caught:
        predictor.invoke(body, content_type, accept)

    assert caught.value.status == status
    assert message in caught.value.message


def test_predictions_agree_with_scikit_learn_on_many_records():
    rng = np.random.default_rng(3)
    centroids = rng.normal(size=(10, 784)).astype(np.float32)
    records = rng.normal(size=(200, 784)).astype(np.float32)

    closest, distance = KMeansPredictor(centroids).predict(records)

    expected_closest, expected_distance = pairwise_distances_argmin_min(records, centroids)
    np.testing.assert_array_equal(closest, expected_closest)
    np.testing.assert_allclose(distance, expected_distance, rtol=1e-5)
