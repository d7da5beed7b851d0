"""A deliberately tiny algorithm for testing the engine's machinery, not any maths.

``train`` averages the rows of the CSV files in the ``train`` channel and writes the mean vector;
its hyperparameters make it misbehave on request (``fail``, ``sleep``, ``crash``; ``fail_on_host``
fails only that host of a multi-host job). Each host logs its ``resourceconfig.json`` hosts and the
files it received; the first host writes ``mean.json``, the others ``mean_<host>.json``. The predictor
answers CSV with each row's Euclidean distance to that mean, in SageMaker's JSON shape; a model whose
container environment sets ``TINY_LOAD_SECONDS`` takes that long to load.
Registered for the engine's containers through ``LOCAL_SAGEMAKER_EXTRA_ALGORITHMS``.
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

from include.local_sagemaker.algorithms.base import InferenceError, TrainingContext
from include.local_sagemaker.failures import JobFailure


def _rows(text: str) -> list[list[float]]:
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                rows.append([float(value) for value in line.split(",")])
            except ValueError as error:
                raise ValueError(f"line {number}: {error}") from error
    return rows


class _MeanPredictor:
    def __init__(self, mean: list[float]):
        self.mean = mean

    def invoke(self, body: bytes, content_type: str | None, accept: str | None) -> tuple[bytes, str]:
        if (content_type or "").split(";")[0].strip() != "text/csv":
            raise InferenceError(415, f"Content-Type {content_type!r} not supported; use text/csv")
        try:
            rows = _rows(body.decode())
        except (UnicodeDecodeError, ValueError) as error:
            raise InferenceError(400, f"unable to evaluate payload provided: {error}") from error
        if any(len(row) != len(self.mean) for row in rows):
            raise InferenceError(
                400, f"unable to evaluate payload provided: expected {len(self.mean)} columns"
            )
        distances = [math.dist(row, self.mean) for row in rows]
        return json.dumps({"predictions": [{"distance": d} for d in distances]}).encode(), "application/json"


class TinyAlgorithm:
    image_repositories = ("tiny",)
    metric_definitions = (
        {"Name": "train:norm", "Regex": r"#quality_metric: host=\S+, train norm <loss>=(\S+)"},
    )

    def train(self, context: TrainingContext) -> None:
        hyperparameters = context.hyperparameters
        print(f"tiny: hyperparameters {sorted(hyperparameters.items())}", flush=True)
        if len(context.hosts) > 1:
            files = sorted(
                str(path.relative_to(channel.path))
                for channel in context.channels.values()
                for path in channel.files()
            )
            print(f"tiny: host {context.current_host} of {list(context.hosts)} received {files}", flush=True)
        if hyperparameters.get("fail_on_host") == context.current_host:
            raise JobFailure(f"ClientError: {context.current_host} was told to fail")
        time.sleep(float(hyperparameters.get("sleep", 0)))
        if "fail" in hyperparameters:
            raise JobFailure(f"ClientError: {hyperparameters['fail']}")
        if "crash" in hyperparameters:
            raise RuntimeError(hyperparameters["crash"])
        rows = [row for path in context.channels["train"].files() for row in _rows(path.read_text())]
        mean = [sum(column) / len(rows) for column in zip(*rows, strict=True)]
        print(f"tiny: {len(rows)} rows from {len(context.channels['train'].files())} files", flush=True)
        print(
            f"#quality_metric: host={context.current_host}, train norm <loss>={math.hypot(*mean)}", flush=True
        )
        first = context.current_host == context.hosts[0]
        (context.model_dir / ("mean.json" if first else f"mean_{context.current_host}.json")).write_text(
            json.dumps(mean)
        )

    def load(self, model_dir: Path) -> _MeanPredictor:
        predictor = _MeanPredictor(json.loads((model_dir / "mean.json").read_text()))
        delay = float(os.environ.get("TINY_LOAD_SECONDS", 0))
        if delay:
            print(f"tiny: model read; loading takes {delay} s more", flush=True)
            time.sleep(delay)
        return predictor


ALGORITHM = TinyAlgorithm()
