"""SageMaker's built-in k-means (image repository ``kmeans``) on scikit-learn.

Training is SageMaker's web-scale k-means in two stages, each honouring the hyperparameters that drive it:

1. a streaming mini-batch pass (``MiniBatchKMeans.partial_fit``): ``k × extra_center_factor`` centres
   seeded by ``init_method`` from a uniform sample of the whole channel (a reservoir of
   ``max(mini_batch_size, k × extra_center_factor)`` records drawn in one pass, so that files sorted by
   class still seed every cluster), then ``epochs`` passes over the channel in batches of
   ``mini_batch_size`` records, read in file order, counting the records each centre wins in the last one;
2. the reduction of those centres to ``k`` (SageMaker's "shrinking"): Lloyd's on the centres weighted by
   the records each one won (``KMeans`` with ``local_lloyd_init_method``, ``local_lloyd_num_trials``,
   ``local_lloyd_max_iter``, ``local_lloyd_tol``).

Why not a plain ``KMeans(k)`` on all records: each Lloyd's iteration touches every record and on MNIST
it needs ~80-100 of them, where the mini-batch pass reads the data about once. Measured on 60,000 × 784
MNIST-like digits, the two stages take a fraction of ``KMeans``' time and reach the same NMI against
the digit labels (within the spread of ``KMeans``' own random restarts); adding full-data Lloyd's
iterations after stage 2 did not raise the NMI. The benchmark in ``benchmarks/`` tracks both numbers.

The channels are streamed (:func:`~include.local_sagemaker.algorithms.channel_data.stream_channel`): memory
is bounded by a mini-batch and the centres, whatever the size of the data; the ``test`` metrics stream too.

Several hosts (``InstanceCount`` > 1) work as SageMaker's distributed k-means does: each host runs stage 1
on its share of ``train`` (all of it if the channel is ``FullyReplicated``, its objects if
``ShardedByS3Key``) and sends its ``k × extra_center_factor`` centres with the records each won to
``algo-1``, which runs stage 2 on all of them together (through
:mod:`~include.local_sagemaker.algorithms.host_exchange`). Each host scores its share of ``test`` with the
final centroids and ``algo-1`` reports the metrics of the sums. Only ``algo-1`` writes the model.

Artifact: ``model_algo-1``, an MXNet NDArray file holding a list with the (k, feature_dim) float32
centroids. Inference answers ``closest_cluster`` and ``distance_to_cluster`` (Euclidean) per record.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.metrics import pairwise_distances_argmin_min

from include.local_sagemaker.algorithms import mxnet_ndarray, payloads
from include.local_sagemaker.algorithms.base import TrainingContext
from include.local_sagemaker.algorithms.channel_data import ChannelStream, host_shard, reservoir_sample
from include.local_sagemaker.algorithms.host_exchange import HostExchange
from include.local_sagemaker.algorithms.hyperparameters import (
    Hyperparameter,
    as_mapping,
    boolean,
    client_error,
    integer,
    json_list_of,
    number,
    one_of,
    or_auto,
    parse_hyperparameters,
)
from include.local_sagemaker.algorithms.metrics import log, log_quality_metric, metric_definition

# In the order SageMaker lists missing required ones: "No value(s) were specified for 'k', 'feature_dim' ...".
HYPERPARAMETERS = (
    Hyperparameter("k", integer(minimum=1), required=True),
    Hyperparameter("feature_dim", integer(minimum=1), required=True),
    Hyperparameter("mini_batch_size", integer(minimum=1), default="5000"),
    Hyperparameter("epochs", integer(minimum=1), default="1"),
    Hyperparameter("init_method", one_of("random", "kmeans++"), default="random"),
    Hyperparameter("extra_center_factor", or_auto(integer(minimum=1)), default="auto"),
    Hyperparameter("local_lloyd_init_method", one_of("random", "kmeans++"), default="kmeans++"),
    Hyperparameter("local_lloyd_max_iter", integer(minimum=1), default="300"),
    Hyperparameter("local_lloyd_tol", number(0, 1), default="0.0001"),
    Hyperparameter("local_lloyd_num_trials", or_auto(integer(minimum=1)), default="auto"),
    # Validated for fidelity but without effect here: scikit-learn's mini-batch update has no decay knob, and
    # records are always dense.
    Hyperparameter("half_life_time_size", integer(minimum=0), default="0"),
    Hyperparameter("eval_metrics", json_list_of("msd", "ssd", name="eval_metrics"), default='["msd"]'),
    Hyperparameter("force_dense", boolean, default="true"),
)

# "auto" values. SageMaker does not publish its rule; 4 is the low end of the extra_center_factor range its
# tuning guide recommends (4-10) and already gives the reduction enough centres to choose from.
AUTO_EXTRA_CENTER_FACTOR = 4
AUTO_LOCAL_LLOYD_NUM_TRIALS = 10
SCORING_BATCH_ROWS = 5000  # records per batch of the test pass (the scores do not depend on it)
RANDOM_STATE = 0  # fixed so that re-running a job (or a sweep) reproduces its model
MODEL_FILE = "model_algo-1"

_SKLEARN_INIT = {"random": "random", "kmeans++": "k-means++"}


class KMeansAlgorithm:
    """The ``Algorithm`` the engine runs for ``…/kmeans:1`` images."""

    image_repositories = ("kmeans",)
    metric_definitions = (metric_definition("test", "msd"), metric_definition("test", "ssd"))

    def train(self, context: TrainingContext) -> None:
        """Fit centroids on the ``train`` channel, write ``model_algo-1``, score the ``test`` channel."""
        started = time.perf_counter()
        params = parse_hyperparameters(HYPERPARAMETERS, context.hyperparameters)
        log(f"Final configuration: {as_mapping(params)}")
        if "train" not in context.channels:
            raise client_error(
                "Channel 'train' is required; channels given: " + (", ".join(context.channels) or "none"),
                cause="KeyError",
            )
        for name in context.channels:
            if name not in ("train", "test"):
                log(f"Ignoring channel '{name}': k-means reads only 'train' and 'test'", level="WARNING")
        exchange = HostExchange.of(context)
        train = host_shard(context.channels["train"], params["feature_dim"], exchange.distributed)
        centroids = fit_centroids(train, params, exchange)
        if exchange.is_leader:
            context.model_dir.mkdir(parents=True, exist_ok=True)
            mxnet_ndarray.save(context.model_dir / MODEL_FILE, [centroids])
            log(f"Saved {centroids.shape[0]} centroids to {context.model_dir / MODEL_FILE}")

        if "test" in context.channels:
            test = host_shard(context.channels["test"], params["feature_dim"], exchange.distributed)
            sums = cluster_sums(test, centroids, SCORING_BATCH_ROWS)
            gathered = exchange.gather("kmeans-test", sums)
            if gathered is not None:
                total = sum(float(part["ssd"]) for part in gathered)
                count = sum(int(part["count"]) for part in gathered)
                if not count:
                    raise client_error("No data in channel 'test' on any host", cause="ValueError")
                scores = {"msd": total / count, "ssd": total}
                for name in params["eval_metrics"]:
                    log_quality_metric(context.current_host, "test", name, scores[name])
        log(f"#progress_metric: host={context.current_host}, completed 100 % of epochs")
        log(f"Training finished in {time.perf_counter() - started:.3f} seconds")

    def load(self, model_dir: Path) -> KMeansPredictor:
        """Load the centroids from ``model_algo-1`` (ours or one trained on SageMaker)."""
        arrays = mxnet_ndarray.load(_model_file(model_dir))
        centroids = arrays[0] if isinstance(arrays, list) else next(iter(arrays.values()))
        if centroids.ndim != 2:
            raise ValueError(
                f"{_model_file(model_dir)} holds an array of shape {centroids.shape}, not (k, feature_dim)"
            )
        return KMeansPredictor(centroids)


class KMeansPredictor:
    """Answers ``InvokeEndpoint`` with each record's closest cluster and its distance to it."""

    def __init__(self, centroids: np.ndarray):
        self.centroids = np.ascontiguousarray(centroids, dtype=np.float32)
        self.feature_dim = self.centroids.shape[1]
        # Kept in float64 so that |x|^2 - 2 x.c + |c|^2 does not lose the small distances to cancellation.
        self._centroids64 = self.centroids.astype(np.float64)
        self._centroid_norms = np.einsum("ij,ij->i", self._centroids64, self._centroids64)

    def invoke(self, body: bytes, content_type: str | None, accept: str | None) -> tuple[bytes, str]:
        """Decode ``body`` (CSV, JSON, JSON Lines, recordIO) and answer in the ``accept`` format."""
        response_type = payloads.choose_accept(accept)
        records = payloads.decode_features(body, content_type, self.feature_dim)
        closest, distance = self.predict(records)
        columns = {"closest_cluster": closest, "distance_to_cluster": distance}
        return payloads.encode_response(columns, response_type), response_type

    def predict(self, records: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(closest cluster index as float32, Euclidean distance to its centroid)`` per record."""
        # Plain numpy rather than sklearn's pairwise_distances_argmin_min: for an endpoint's one-record
        # requests its input validation and thread-pool start-up cost milliseconds, the arithmetic
        # microseconds.
        records = records.astype(np.float64)
        squared = self._centroid_norms - 2.0 * (records @ self._centroids64.T)
        squared += np.einsum("ij,ij->i", records, records)[:, None]
        closest = squared.argmin(axis=1)
        distance = np.sqrt(np.maximum(squared[np.arange(len(records)), closest], 0.0))
        return closest.astype(np.float32), distance.astype(np.float32)


def fit_centroids(
    train: ChannelStream | None, params: dict, exchange: HostExchange | None = None
) -> np.ndarray:
    """The two stages described in the module docstring; returns (k, feature_dim) float32 centroids.

    With an ``exchange`` of several hosts, each host runs the first stage on its ``train`` shard (None: the
    host received no records) and sends its centres with their weights to the leader, which reduces them
    all to ``k``; every host returns the leader's centroids. Raises :class:`JobFailure` if the
    channel (all shards together) has fewer records than ``k``.
    """
    exchange = exchange or HostExchange.single_host()
    k = params["k"]
    factor = params["extra_center_factor"]
    factor = AUTO_EXTRA_CENTER_FACTOR if factor == "auto" else factor
    centres, weights, rows = local_centres(train, params, factor, exchange.distributed)
    gathered = exchange.gather(
        "kmeans-centres", {"centres": centres, "weights": weights, "rows": np.array(rows)}
    )
    if gathered is None:
        return exchange.broadcast("kmeans-centroids", None)["centroids"]

    rows = sum(int(part["rows"]) for part in gathered)
    if rows < k:
        raise client_error(
            f"The 'train' channel has {rows} records, fewer than k={k} clusters", cause="ValueError"
        )
    centres = np.concatenate([part["centres"] for part in gathered if len(part["centres"])])
    if exchange.distributed:
        log(
            f"Gathered {len(centres)} centres from {len(gathered)} hosts "
            f"({', '.join(str(int(part['rows'])) for part in gathered)} records)"
        )
    if len(centres) > k:
        weights = np.concatenate([part["weights"] for part in gathered if len(part["centres"])])
        trials = params["local_lloyd_num_trials"]
        trials = AUTO_LOCAL_LLOYD_NUM_TRIALS if trials == "auto" else trials
        reduction = KMeans(
            n_clusters=k,
            init=_SKLEARN_INIT[params["local_lloyd_init_method"]],
            n_init=trials,
            max_iter=params["local_lloyd_max_iter"],
            tol=params["local_lloyd_tol"],
            random_state=RANDOM_STATE,
        ).fit(centres, sample_weight=weights + 1e-12)  # empty centres still need weight > 0
        centroids = reduction.cluster_centers_
        log(
            f"Reduced {len(centres)} centres to k={k} with local Lloyd's "
            f"({trials} trials, inertia {reduction.inertia_:.6g})"
        )
    else:
        centroids = centres
        log(
            f"No shrinking is required as extra_center_factor is {factor}."
            if factor == 1
            else f"No shrinking is required: the data has only {rows} records"
        )
    centroids = np.asarray(centroids, dtype=np.float32)
    exchange.broadcast("kmeans-centroids", {"centroids": centroids})
    return centroids


def local_centres(
    train: ChannelStream | None, params: dict, factor: int, distributed: bool
) -> tuple[np.ndarray, np.ndarray, int]:
    """Stage 1 on one host's records: ``(centres, the records each won, records read)``.

    ``min(k × factor, records)`` centres; none from a host that received no records (``train`` None). A
    single host (not ``distributed``) fails if the channel has fewer than ``k`` records; a host of several
    may, as the hosts' records count together.
    """
    if train is None:
        log("Received no records of channel 'train' (its objects are sharded over more hosts than it has)")
        empty = np.zeros((0, params["feature_dim"]), dtype=np.float32)
        return empty, np.zeros(0), 0
    k = params["k"]
    # Seeds come from a uniform sample of the whole channel, not from its first mini-batch: files are often
    # sorted (one label per part, or all the 0s first), and a first batch of one class would put every
    # centre in it. The sampling pass also counts the records.
    seed_sample, _ = reservoir_sample(
        train, max(params["mini_batch_size"], k * factor), SCORING_BATCH_ROWS, RANDOM_STATE
    )
    rows = train.rows
    if rows < k and not distributed:
        raise client_error(
            f"The 'train' channel has {rows} records, fewer than k={k} clusters", cause="ValueError"
        )
    centres = min(k * factor, rows)
    batch_size = min(params["mini_batch_size"], rows)

    web_scale = MiniBatchKMeans(
        n_clusters=centres,
        init=_SKLEARN_INIT[params["init_method"]],
        batch_size=batch_size,
        init_size=len(seed_sample),
        n_init=1,
        # scikit-learn moves a centre that has won few records to a random record of the current batch; on
        # sorted files that batch holds a single class, so this would pull the seeds of classes not yet
        # read into it. Centres that win little weigh little in the reduction below instead.
        reassignment_ratio=0.0,
        # Labels of each batch against the updated centres are a second assignment of every record, and
        # nothing here reads them.
        compute_labels=False,
        random_state=RANDOM_STATE,
    )
    # The sample is the first step: init_method seeds the centres from it, then one mini-batch update.
    web_scale.partial_fit(seed_sample)
    steps = 1
    for epoch in range(params["epochs"]):
        if epoch == params["epochs"] - 1:
            counted_before = _wins_so_far(web_scale)
        for batch in train.batches(batch_size):
            web_scale.partial_fit(batch)
            steps += 1
    # The weights of the reduction are what each centre won during the last epoch, as its records streamed
    # by: the assignments the mini-batch updates made anyway. A centre's records are assigned to it while
    # it moves, so these counts are not exactly those of the final centres; a separate pass counting them
    # against the final centres cost a whole read of the channel and another assignment of every record,
    # and gave the same NMI on the MNIST-like benchmark (benchmarks/engine_kmeans.py) and the DAG tests.
    weights = _wins_so_far(web_scale) - counted_before
    log(f"Read {rows} records of {params['feature_dim']} features from channel 'train'")
    log(
        f"Mini-batch pass: {centres} centres seeded ({params['init_method']}) from a sample of "
        f"{len(seed_sample)} records, batch size {batch_size}, {steps} steps"
    )
    return np.asarray(web_scale.cluster_centers_, dtype=np.float32), weights, rows


def _wins_so_far(web_scale: MiniBatchKMeans) -> np.ndarray:
    """The records (sample weights) each centre has been assigned by the mini-batch updates so far.

    scikit-learn keeps this count as the private ``_counts`` (its per-centre learning rate is its inverse);
    it is read here rather than assigning every record a second time. scikit-learn is pinned
    (requirements.txt), and the k-means tests check the weights against a count of the final centres.
    """
    return np.array(web_scale._counts, dtype=np.float64)


def cluster_scores(records: ChannelStream, centroids: np.ndarray, batch_rows: int) -> dict[str, float]:
    """SageMaker's k-means metrics: ``msd`` (mean) and ``ssd`` (sum) of the squared distances of the records
    to their closest centroid, accumulated batch by batch in float64."""
    sums = cluster_sums(records, centroids, batch_rows)
    total, count = float(sums["ssd"]), int(sums["count"])
    return {"msd": total / count, "ssd": total}


def cluster_sums(
    records: ChannelStream | None, centroids: np.ndarray, batch_rows: int
) -> dict[str, np.ndarray]:
    """What the metrics of several hosts' shards add up from: ``ssd`` and the record ``count``."""
    total, count = 0.0, 0
    for batch in records.batches(batch_rows) if records is not None else ():
        _, distance = pairwise_distances_argmin_min(batch, centroids)
        total += float(np.square(distance.astype(np.float64)).sum())
        count += len(batch)
    return {"ssd": np.array(total), "count": np.array(count)}


def _model_file(model_dir: Path) -> Path:
    model_dir = Path(model_dir)
    candidates = [model_dir / MODEL_FILE, *sorted(model_dir.glob("model_*"))]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"No k-means model in {model_dir}: expected {MODEL_FILE} (from model.tar.gz)")


ALGORITHM = KMeansAlgorithm()
