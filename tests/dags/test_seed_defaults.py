"""Each training DAG's params default to its seed notebook's values. The seed values a request fixes (Linear
Learner's loss, k-means' force_dense) are checked on the submitted jobs in ``test_<dag>_run.py``."""

from __future__ import annotations

import pytest

from tests.support.dags import load_dag

SEED_DEFAULTS = {
    # The low-level k-means notebook: k=10, feature_dim=784, mini_batch_size=500, force_dense=True.
    "kmeans_mnist": {"k": 10, "mini_batch_size": 500},
    # The Parquet -> recordIO -> Linear Learner notebook: binary_classifier, absolute_loss, 10 epochs,
    # 32 models, mini-batches of 200, feature_dim 784.
    "linear_learner_mnist": {"epochs": 10, "num_models": 32, "mini_batch_size": 200},
    # The MXNet Module API script-mode notebook: mxnet 1.6.0, learning-rate 0.1, and its mnist.py's own
    # defaults of 10 epochs in batches of 100.
    "mnist_batch_transform": {"framework": "mxnet", "epochs": 10, "batch_size": 100, "learning_rate": 0.1},
}


@pytest.mark.parametrize("dag_id", SEED_DEFAULTS)
def test_params_default_to_the_seeds_values(dag_id: str) -> None:
    params = load_dag(dag_id).params
    assert {name: params[name] for name in SEED_DEFAULTS[dag_id]} == SEED_DEFAULTS[dag_id]
