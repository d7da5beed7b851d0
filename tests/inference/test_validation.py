from __future__ import annotations

import io
import json

import numpy as np
import pytest

from include.inference.validation import cluster_predictions


class NearestOfTwoRuntime:
    """Stands in for a k-means endpoint with centres 0 and 1 along the first feature (CSV in, JSON out)."""

    def invoke_endpoint(self, EndpointName, ContentType, Body, Accept=None):
        rows = np.loadtxt(io.BytesIO(Body), delimiter=",", ndmin=2)
        answers = [
            {"closest_cluster": float(row[0] > 0.5), "distance_to_cluster": float(min(row[0], 1 - row[0]))}
            for row in rows
        ]
        return {"Body": io.BytesIO(json.dumps({"predictions": answers}).encode()), "ContentType": Accept}


def test_the_report_shows_the_given_images_while_the_endpoint_sees_the_features() -> None:
    projections = np.array([[0.1, 5.0], [0.9, 5.0], [0.7, 5.0]], dtype=np.float32)
    images = np.arange(3 * 784, dtype=np.float32).reshape(3, 784)
    body = cluster_predictions(NearestOfTwoRuntime(), "ep", projections, np.array([4, 7, 7]), images=images)
    saved = np.load(io.BytesIO(body))
    assert np.array_equal(saved["images"], images)
    assert saved["clusters"].tolist() == [0, 1, 1]
    assert saved["labels"].tolist() == [4, 7, 7]


def test_without_images_the_features_are_the_images() -> None:
    features = np.array([[0.2, 0.0], [0.8, 0.0]], dtype=np.float32)
    saved = np.load(io.BytesIO(cluster_predictions(NearestOfTwoRuntime(), "ep", features, np.array([0, 1]))))
    assert np.array_equal(saved["images"], features)


def test_one_image_is_needed_per_row() -> None:
    with pytest.raises(ValueError, match="2 images for 3 rows"):
        cluster_predictions(
            NearestOfTwoRuntime(), "ep", np.zeros((3, 2)), np.zeros(3), images=np.zeros((2, 784))
        )
