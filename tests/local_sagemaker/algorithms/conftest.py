"""Fixtures for the built-in algorithms: a SageMaker container tree in tmp_path."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from include.local_sagemaker.algorithms.base import TrainingContext

ChannelFiles = dict[str, bytes]


@pytest.fixture
def make_job(tmp_path: Path) -> Callable[..., TrainingContext]:
    """Build ``<tmp>/opt_ml`` as the engine does and return its :class:`TrainingContext`.

    ``channels`` maps a channel name to ``(content_type or None, {file name: bytes})``.
    """

    def build(hyperparameters: dict[str, str], channels: dict[str, tuple[str | None, ChannelFiles]]):
        base = tmp_path / "opt_ml"
        config = base / "input" / "config"
        config.mkdir(parents=True)
        (config / "hyperparameters.json").write_text(json.dumps(hyperparameters))
        data_config = {}
        for name, (content_type, files) in channels.items():
            data_config[name] = {"TrainingInputMode": "File", "S3DistributionType": "FullyReplicated"}
            if content_type is not None:
                data_config[name]["ContentType"] = content_type
            directory = base / "input" / "data" / name
            directory.mkdir(parents=True)
            for file_name, content in files.items():
                (directory / file_name).parent.mkdir(parents=True, exist_ok=True)
                (directory / file_name).write_bytes(content)
        (config / "inputdataconfig.json").write_text(json.dumps(data_config))
        (config / "resourceconfig.json").write_text(
            json.dumps({"current_host": "algo-1", "hosts": ["algo-1"]})
        )
        (base / "model").mkdir()
        (base / "output" / "data").mkdir(parents=True)
        return TrainingContext.from_base_dir(base, job_name="test-job")

    return build
