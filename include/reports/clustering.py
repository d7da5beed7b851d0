"""How well clusters match the true digit labels."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn import metrics


@dataclass(frozen=True)
class ClusteringMetrics:
    records: int
    clusters: int
    cluster_sizes: dict[int, int]
    contingency: list[list[int]]  # rows: clusters (sorted ids), columns: labels (sorted)
    cluster_ids: list[int]
    label_ids: list[int]
    purity: float
    nmi: float
    ari: float
    mean_distance: float | None
    mean_distance_by_cluster: dict[int, float]

    def summary(self) -> dict:
        """The headline numbers, as written to ``metrics.json`` and printed by ``make demo``."""
        return {
            "records": self.records,
            "clusters": self.clusters,
            "purity": round(self.purity, 4),
            "nmi": round(self.nmi, 4),
            "ari": round(self.ari, 4),
            "mean_distance": None if self.mean_distance is None else round(self.mean_distance, 4),
        }


def clustering_metrics(
    clusters: np.ndarray, labels: np.ndarray, distances: np.ndarray | None = None
) -> ClusteringMetrics:
    """Purity, NMI, ARI, sizes and the cluster × label table of ``clusters`` against ``labels``."""
    clusters = np.asarray(clusters).astype(np.int64).ravel()
    labels = np.asarray(labels).astype(np.int64).ravel()
    if clusters.shape != labels.shape:
        raise ValueError(f"{clusters.size} cluster assignments but {labels.size} labels")
    if clusters.size == 0:
        raise ValueError("No cluster assignments to report on")
    cluster_ids = sorted(int(c) for c in np.unique(clusters))
    label_ids = sorted(int(c) for c in np.unique(labels))
    table = metrics.cluster.contingency_matrix(clusters, labels)
    by_cluster: dict[int, float] = {}
    mean_distance = None
    if distances is not None:
        distances = np.asarray(distances, dtype=np.float64).ravel()
        if distances.shape != clusters.shape:
            raise ValueError(f"{distances.size} distances but {clusters.size} cluster assignments")
        mean_distance = float(distances.mean())
        by_cluster = {c: float(distances[clusters == c].mean()) for c in cluster_ids}
    return ClusteringMetrics(
        records=int(clusters.size),
        clusters=len(cluster_ids),
        cluster_sizes={c: int((clusters == c).sum()) for c in cluster_ids},
        contingency=table.tolist(),
        cluster_ids=cluster_ids,
        label_ids=label_ids,
        purity=float(table.max(axis=1).sum() / clusters.size),
        nmi=float(metrics.normalized_mutual_info_score(labels, clusters)),
        ari=float(metrics.adjusted_rand_score(labels, clusters)),
        mean_distance=mean_distance,
        mean_distance_by_cluster=by_cluster,
    )
