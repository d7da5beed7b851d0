"""The contract between the local engine and a built-in algorithm.

A training job runs inside a SageMaker-style container tree (``<base>/input/config/*.json``,
``<base>/input/data/<channel>``, ``<base>/model``, ``<base>/output``). The engine prepares that tree
and runs the algorithm's ``train`` in a subprocess; the algorithm reads its hyperparameters and
channels from a :class:`TrainingContext`, prints its logs (metrics in SageMaker's
``#quality_metric`` format) to stdout and writes its artifacts to ``model_dir``.
An endpoint (or batch transform) calls ``load`` once and ``Predictor.invoke`` per request.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol


class InferenceError(Exception):
    """A request the model cannot answer. ``status`` is the HTTP status the real container returns
    (400 unparsable payload, 415 unsupported content type, 406 unsupported accept, ...)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Channel:
    """One input channel as ``inputdataconfig.json`` describes it."""

    name: str
    path: Path
    content_type: str | None = None
    input_mode: str = "File"
    s3_distribution_type: str = "FullyReplicated"
    record_wrapper_type: str = "None"

    def files(self) -> list[Path]:
        """Data files of the channel in a stable order, hidden files (``.amazon.manifest``) excluded."""
        return sorted(p for p in self.path.rglob("*") if p.is_file() and not p.name.startswith("."))


@dataclass(frozen=True)
class TrainingContext:
    """What a training container sees: hyperparameters, channels and output directories."""

    base_dir: Path
    hyperparameters: dict[str, str]
    channels: dict[str, Channel]
    current_host: str = "algo-1"
    hosts: tuple[str, ...] = ("algo-1",)
    job_name: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def model_dir(self) -> Path:
        return self.base_dir / "model"

    @property
    def output_data_dir(self) -> Path:
        return self.base_dir / "output" / "data"

    @property
    def failure_file(self) -> Path:
        return self.base_dir / "output" / "failure"

    @classmethod
    def from_base_dir(cls, base_dir: Path, job_name: str = "") -> TrainingContext:
        """Read the container tree that the engine prepared under ``base_dir`` (SageMaker's /opt/ml)."""
        config = base_dir / "input" / "config"
        hyperparameters = _read_json(config / "hyperparameters.json", {})
        data_config = _read_json(config / "inputdataconfig.json", {})
        resources = _read_json(config / "resourceconfig.json", {})
        channels = {
            name: Channel(
                name=name,
                path=base_dir / "input" / "data" / name,
                content_type=spec.get("ContentType"),
                input_mode=spec.get("TrainingInputMode", "File"),
                s3_distribution_type=spec.get("S3DistributionType", "FullyReplicated"),
                record_wrapper_type=spec.get("RecordWrapperType", "None"),
            )
            for name, spec in data_config.items()
        }
        return cls(
            base_dir=base_dir,
            hyperparameters={str(k): str(v) for k, v in hyperparameters.items()},
            channels=channels,
            current_host=resources.get("current_host", "algo-1"),
            hosts=tuple(resources.get("hosts", ["algo-1"])),
            job_name=job_name,
        )


class Predictor(Protocol):
    """A loaded model that answers invocation requests."""

    def invoke(self, body: bytes, content_type: str | None, accept: str | None) -> tuple[bytes, str]:
        """Return ``(response body, response content type)`` or raise :class:`InferenceError`."""


class Algorithm(Protocol):
    """A built-in algorithm, selected by the repository name of its image URI."""

    #: Repository names in image URIs that select this algorithm, e.g. ``("kmeans",)``.
    image_repositories: tuple[str, ...]
    #: SageMaker metric definitions ``{"Name": "test:msd", "Regex": "..."}`` matched against its logs.
    metric_definitions: tuple[dict[str, str], ...]

    def train(self, context: TrainingContext) -> None:
        """Train from the context's channels and write artifacts to ``context.model_dir``.
        Raise :class:`JobFailure` with SageMaker's wording when the job must fail."""

    def load(self, model_dir: Path) -> Predictor:
        """Load the artifacts ``train`` wrote (extracted from ``model.tar.gz``)."""


def _read_json(path: Path, default):
    if not path.exists():
        return default
    return json.loads(path.read_text())
