"""XGBoost's hosts joined as SageMaker's XGBoost container joins them: one booster, XGBoost's collective.

The container (``sagemaker_xgboost_container/distributed.py`` and ``algorithm_mode/train.py`` in
github.com/aws/sagemaker-xgboost-container) first asks every host of ``resourceconfig.json`` whether it
received training data (and, from image 1.7-1 on, validation data if the job has a validation channel);
the hosts without are left out ("Host ... not being used for distributed
training"), then the first of the others starts the Rabit tracker and every host with data joins it and
runs ``xgboost.train`` on its own share. XGBoost combines the hosts inside the library: the quantile
sketch of every ``QuantileDMatrix``, the gradient histograms of each split and the evaluation metrics
are summed over the hosts (allreduce), so every host holds the same booster, and only the master saves it.

Here the hosts run on one machine: the leader (``algo-1``, the first host with data) starts
``xgboost.tracker.RabitTracker`` on 127.0.0.1 and a free port and sends its address through the job's
:class:`~include.local_sagemaker.algorithms.host_exchange.HostExchange`; the hosts join it in
``xgboost.collective.CommunicatorContext``, ranked by host name so that ``algo-1`` is rank 0 (the rank
XGBoost's ``EvaluationMonitor`` prints on). The exchange's timeout bounds the tracker's start and
finish and every collective operation: a host that never joins fails the job rather than hanging it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import xgboost as xgb
from xgboost.tracker import RabitTracker

from include.local_sagemaker.algorithms.host_exchange import HostExchange
from include.local_sagemaker.algorithms.metrics import log
from include.local_sagemaker.failures import JobFailure

TRACKER_HOST = "127.0.0.1"


@contextmanager
def boosting_hosts(exchange: HostExchange, has_data: bool) -> Iterator[bool | None]:
    """Join this host to the job's collective for the ``with`` block.

    Yields True on the host that saves the model, False on the other hosts that train, and None on a
    host that received no training data and so takes no part (a single host without data trains, and
    fails on its empty channel as ever).
    """
    if not exchange.distributed:
        yield True
        return
    gathered = exchange.gather("xgboost-hosts", {"has_data": np.array(has_data)})
    tracker, plan = None, None
    if exchange.is_leader:
        training = np.array([bool(message["has_data"]) for message in gathered])
        if not training.any():
            raise JobFailure(f"ClientError: No data in training channel on any host of {exchange.hosts}")
        port = 0
        if training.sum() > 1:
            tracker = RabitTracker(
                n_workers=int(training.sum()), host_ip=TRACKER_HOST, sortby="task", timeout=_seconds(exchange)
            )
            tracker.start()
            port = int(tracker.worker_args()["dmlc_tracker_port"])
        plan = {"training": training, "port": np.array(port)}
    plan = exchange.broadcast("xgboost-tracker", plan)
    training = [host for host, part in zip(exchange.hosts, plan["training"], strict=True) if part]
    if exchange.current_host not in training:
        log(f"Host {exchange.current_host} has no training data; it is not used for distributed training")
        yield None
        return
    is_master = exchange.current_host == training[0]
    if len(training) == 1:
        log(f"Only {exchange.current_host} has training data: single node training")
        yield is_master
        return
    log(f"Distributed training with {len(training)} hosts: {training}")
    worker = {
        "dmlc_tracker_uri": TRACKER_HOST,
        "dmlc_tracker_port": int(plan["port"]),
        # Task ids sort the ranks; zero-padded so that algo-10 comes after algo-9.
        "dmlc_task_id": f"{training.index(exchange.current_host):08d}",
        "dmlc_timeout": _seconds(exchange),
    }
    try:
        with xgb.collective.CommunicatorContext(**worker):
            yield is_master
        if tracker is not None:
            tracker.wait_for(_seconds(exchange))
    except xgb.core.XGBoostError as error:
        raise JobFailure(
            f"AlgorithmError: host {exchange.current_host} lost the XGBoost collective of {training} "
            f"(timeout {_seconds(exchange)} s): {str(error).splitlines()[0]}; see the other hosts' logs"
        ) from None


def _seconds(exchange: HostExchange) -> int:
    return max(1, int(exchange.timeout))
