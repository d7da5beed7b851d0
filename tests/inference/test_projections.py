from __future__ import annotations

import io

import numpy as np
import pytest

from include.inference.projections import (
    RECORDIO_PROTOBUF,
    project,
    projected_recordio,
    read_projections,
)
from include.local_sagemaker.algorithms.payloads import encode_response
from include.local_sagemaker.algorithms.pca import PCAPredictor
from include.recordio import read_dense, write_numpy_to_dense_tensor

RNG = np.random.default_rng(7)


def pca_answer(projections: np.ndarray) -> bytes:
    """What the engine's PCA model answers for Accept application/x-recordio-protobuf."""
    return encode_response({"projection": projections}, RECORDIO_PROTOBUF)


def recordio(features: np.ndarray, labels: np.ndarray | None) -> bytes:
    buffer = io.BytesIO()
    write_numpy_to_dense_tensor(buffer, features, labels)
    return buffer.getvalue()


class PCARuntime:
    """Stands in for sagemaker-runtime in front of one PCA model: the engine's own predictor answers."""

    def __init__(self, predictor: PCAPredictor) -> None:
        self.predictor = predictor
        self.requests = 0

    def invoke_endpoint(self, EndpointName, ContentType, Body, Accept=None):
        self.requests += 1
        body, content_type = self.predictor.invoke(Body, ContentType, Accept)
        return {"Body": io.BytesIO(body), "ContentType": content_type}


def test_read_projections_decodes_each_records_projection_in_order() -> None:
    projections = RNG.normal(size=(7, 5)).astype(np.float32)
    assert np.array_equal(read_projections(pca_answer(projections)), projections)


def test_read_projections_names_the_labels_of_an_answer_that_is_not_pcas() -> None:
    kmeans_answer = encode_response(
        {"closest_cluster": np.zeros(3), "distance_to_cluster": np.ones(3)}, RECORDIO_PROTOBUF
    )
    with pytest.raises(ValueError, match=r"no 'projection' label.*closest_cluster, distance_to_cluster"):
        read_projections(kmeans_answer)


def test_projected_recordio_labels_each_projection_with_its_digit() -> None:
    digits = RNG.random((6, 784), dtype=np.float32)
    labels = np.array([3, 1, 4, 1, 5, 9], dtype=np.float32)
    projections = RNG.normal(size=(6, 4)).astype(np.float32)
    features, kept = read_dense(projected_recordio(pca_answer(projections), recordio(digits, labels), 4))
    assert np.array_equal(features, projections)
    assert np.array_equal(kept, labels)


def test_projected_recordio_refuses_a_transform_output_that_lost_records() -> None:
    source = recordio(RNG.random((5, 8), dtype=np.float32), np.arange(5, dtype=np.float32))
    with pytest.raises(ValueError, match="4 projections for 5 input records"):
        projected_recordio(pca_answer(np.zeros((4, 2), dtype=np.float32)), source, 2)


def test_projected_recordio_refuses_projections_of_another_width() -> None:
    source = recordio(RNG.random((3, 8), dtype=np.float32), np.arange(3, dtype=np.float32))
    with pytest.raises(ValueError, match="projections of 3 values; expected num_components=50"):
        projected_recordio(pca_answer(np.zeros((3, 3), dtype=np.float32)), source, 50)


def test_projected_recordio_refuses_an_unlabelled_source() -> None:
    source = recordio(RNG.random((3, 8), dtype=np.float32), None)
    with pytest.raises(ValueError, match="no labels"):
        projected_recordio(pca_answer(np.zeros((3, 2), dtype=np.float32)), source, 2)


def test_project_matches_the_model_across_request_batches() -> None:
    components = RNG.normal(size=(784, 6)).astype(np.float32)
    mean = RNG.random((1, 784), dtype=np.float32)
    predictor = PCAPredictor(components, mean)
    digits = RNG.random((1100, 784), dtype=np.float32)
    runtime = PCARuntime(predictor)
    projected = project(runtime, "pca-endpoint", digits)
    assert runtime.requests == 3  # 500-row requests
    np.testing.assert_allclose(projected, predictor.project(digits), rtol=1e-4, atol=1e-3)
