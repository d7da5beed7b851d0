from __future__ import annotations

import numpy as np
import pytest

from include.reports.clustering import clustering_metrics
from include.reports.html import clustering_report_html
from include.reports.montage import cluster_montage


def test_perfect_clustering_up_to_renaming() -> None:
    labels = np.array([0, 0, 1, 1, 2, 2])
    clusters = np.array([5, 5, 3, 3, 9, 9])
    result = clustering_metrics(clusters, labels, distances=np.array([1, 3, 2, 2, 0, 0.5]))
    assert result.purity == 1.0
    assert result.nmi == pytest.approx(1.0)
    assert result.ari == pytest.approx(1.0)
    assert result.cluster_sizes == {3: 2, 5: 2, 9: 2}
    assert result.mean_distance_by_cluster[5] == 2.0
    assert result.contingency == [[0, 2, 0], [2, 0, 0], [0, 0, 2]]


def test_one_cluster_for_everything_has_purity_of_the_majority_label() -> None:
    labels = np.array([0, 0, 0, 1])
    result = clustering_metrics(np.zeros(4), labels)
    assert result.purity == 0.75
    assert result.ari == pytest.approx(0.0)
    assert result.mean_distance is None


def test_mismatched_lengths_are_rejected_with_counts() -> None:
    with pytest.raises(ValueError, match="3 cluster assignments but 2 labels"):
        clustering_metrics(np.zeros(3), np.zeros(2))


def test_html_is_self_contained_and_shows_the_metrics() -> None:
    rng = np.random.default_rng(0)
    images = rng.random((40, 784), dtype=np.float32)
    clusters = np.repeat(np.arange(4), 10)
    labels = clusters.copy()
    result = clustering_metrics(clusters, labels)
    png = cluster_montage(images, clusters, per_cluster=5)
    assert png.startswith(b"\x89PNG")
    page = clustering_report_html("k-means on MNIST", result, png, {"run_id": "manual__1"})
    assert "data:image/png;base64," in page
    assert "id='metric-purity'>1.0<" in page
    assert "http://" not in page
    assert "https://" not in page


def test_montage_rejects_images_of_the_wrong_shape() -> None:
    with pytest.raises(ValueError, match=r"\(n, 784\)"):
        cluster_montage(np.zeros((3, 10)), np.zeros(3))
