"""PCA end to end on a container tree: train, artifact layout, load, invoke."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from sklearn.decomposition import PCA

from include.local_sagemaker.algorithms import mxnet_ndarray, registry
from include.local_sagemaker.algorithms.base import InferenceError
from include.local_sagemaker.algorithms.pca import ALGORITHM, PCAPredictor
from include.local_sagemaker.failures import JobFailure
from include.recordio import read_records, write_numpy_to_dense_tensor
from tests.local_sagemaker.algorithms.algorithm_test_data import csv_bytes

REQUIRED = {"feature_dim": "6", "mini_batch_size": "50", "num_components": "2"}


@pytest.fixture(scope="module")
def data() -> np.ndarray:
    """Records near a 2-D plane in 6-D space, off the origin, so that centring matters."""
    rng = np.random.default_rng(11)
    plane = rng.normal(size=(2, 6))
    weights = rng.normal(size=(400, 2)) * [5.0, 2.0]
    return (weights @ plane + 3.0 + rng.normal(0, 0.01, size=(400, 6))).astype(np.float32)


def recordio_bytes(features: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    write_numpy_to_dense_tensor(buffer, features)
    return buffer.getvalue()


def train(make_job, data, **hyperparameters) -> dict[str, np.ndarray]:
    context = make_job(
        {**REQUIRED, **hyperparameters}, {"train": (None, {"train.pbr": recordio_bytes(data)})}
    )
    ALGORITHM.train(context)
    return mxnet_ndarray.load(context.model_dir / "model_algo-1")


def test_registry_picks_pca():
    assert registry.lookup("174872318107.dkr.ecr.us-west-2.amazonaws.com/pca:1") is ALGORITHM


@pytest.mark.parametrize("mode", ["regular", "randomized"])
def test_model_has_sagemakers_layout_and_scikit_learns_components(make_job, data, mode):
    model = train(make_job, data, algorithm_mode=mode)

    assert list(model) == ["mean", "s", "v"]
    assert model["mean"].shape == (1, 6)
    assert model["s"].shape == (2,)
    assert model["v"].shape == (6, 2)
    assert all(array.dtype == np.float32 for array in model.values())
    reference = PCA(2).fit(data)
    np.testing.assert_allclose(model["mean"][0], reference.mean_, rtol=1e-4)
    # ascending order: the most significant component is the last one
    np.testing.assert_allclose(model["s"], reference.singular_values_[::-1], rtol=1e-3)
    np.testing.assert_allclose(np.abs(model["v"].T @ reference.components_[::-1].T), np.eye(2), atol=1e-3)


@pytest.mark.parametrize("mode", ["regular", "randomized"])
def test_without_mean_subtraction_components_are_of_the_raw_data(make_job, data, mode):
    model = train(make_job, data, algorithm_mode=mode, subtract_mean="False")

    assert list(model) == ["s", "v"]
    _, singular_values, right_vectors = np.linalg.svd(data.astype(np.float64), full_matrices=False)
    np.testing.assert_allclose(model["s"], singular_values[:2][::-1], rtol=1e-3)
    np.testing.assert_allclose(np.abs(model["v"].T @ right_vectors[:2][::-1].T), np.eye(2), atol=1e-3)


def test_csv_training_and_test_channel(make_job, data, capsys):
    context = make_job(
        REQUIRED,
        {
            "train": ("text/csv;label_size=0", {"a.csv": csv_bytes(data[:300])}),
            "test": ("text/csv;label_size=0", {"b.csv": csv_bytes(data[300:])}),
        },
    )

    ALGORITHM.train(context)

    assert (context.model_dir / "model_algo-1").is_file()
    assert "Channel 'test': 100 records, mean squared reconstruction error" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("hyperparameters", "reason"),
    [
        (
            {},
            "ClientError: No value(s) were specified for 'feature_dim', 'mini_batch_size', 'num_components' "
            "which are required hyperparameter(s) (caused by ValidationError)",
        ),
        (
            {**REQUIRED, "algorithm_mode": "fast"},
            "The value 'fast' is not valid for the 'algorithm_mode' hyperparameter "
            "which expects one of the following: 'regular', 'randomized'",
        ),
        ({**REQUIRED, "num_components": "7"}, "num_components (7) must not exceed feature_dim (6)"),
        (
            {**REQUIRED, "extra_components": "-2"},
            "The value '-2' is not valid for the 'extra_components' hyperparameter",
        ),
    ],
)
def test_bad_hyperparameters_fail_the_job(make_job, data, hyperparameters, reason):
    context = make_job(hyperparameters, {"train": (None, {"a.pbr": recordio_bytes(data)})})

    with pytest.raises(JobFailure) as caught:
        ALGORITHM.train(context)

    assert reason in str(caught.value)


# --- inference ------------------------------------------------------------------------------------

COMPONENTS = np.array([[0.0, 1.0], [1.0, 0.0], [0.0, 0.0]], dtype=np.float32)  # (feature_dim 3, 2 components)
MEAN = np.array([[1.0, 1.0, 1.0]], dtype=np.float32)
RECORDS = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=np.float32)
PROJECTIONS = [[1.0, 0.0], [4.0, 3.0]]


@pytest.fixture(scope="module")
def predictor(tmp_path_factory):
    model_dir = tmp_path_factory.mktemp("model")
    mxnet_ndarray.save(
        model_dir / "model_algo-1", {"mean": MEAN, "s": np.array([1.0, 2.0], np.float32), "v": COMPONENTS}
    )
    return ALGORITHM.load(model_dir)


def test_json_response_has_projections(predictor):
    body, content_type = predictor.invoke(b"1,2,3\n4,5,6\n", "text/csv", "application/json")

    assert content_type == "application/json"
    assert json.loads(body) == {"projections": [{"projection": p} for p in PROJECTIONS]}


def test_jsonlines_and_recordio_responses(predictor):
    request = json.dumps({"instances": [{"features": r} for r in RECORDS.tolist()]}).encode()

    lines, _ = predictor.invoke(request, "application/json", "application/jsonlines")
    records, _ = predictor.invoke(request, "application/json", "application/x-recordio-protobuf")

    assert [json.loads(line)["projection"] for line in lines.decode().splitlines()] == PROJECTIONS
    assert [
        list(r.label["projection"].float32_tensor.values) for r in read_records(io.BytesIO(records))
    ] == PROJECTIONS


def test_csv_accept_is_not_offered_as_sagemakers_pca_does_not(predictor):
    with pytest.raises(InferenceError) as caught:
        predictor.invoke(b"1,2,3", "text/csv", "text/csv")

    assert caught.value.status == 406


def test_model_without_mean_projects_raw_records():
    projection = PCAPredictor(COMPONENTS, None).project(RECORDS)

    np.testing.assert_allclose(projection, [[2.0, 1.0], [5.0, 4.0]])


def test_a_kmeans_model_is_not_loaded_as_pca(tmp_path):
    mxnet_ndarray.save(tmp_path / "model_algo-1", [np.zeros((2, 3), np.float32)])

    with pytest.raises(ValueError, match="is not a PCA model"):
        ALGORITHM.load(tmp_path)
