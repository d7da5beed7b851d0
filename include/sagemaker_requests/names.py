"""Names of the SageMaker resources a DAG run creates: unique per run, valid, short enough.

SageMaker allows ``[a-zA-Z0-9](-*[a-zA-Z0-9])*`` and at most 63 characters (32 for tuning jobs). A run id
such as ``manual__2026-11-21T17:09:28.123456+00:00`` is neither, so names are built from a slug of the
DAG id, the run's timestamp and a short hash of the full run id (two runs never share a name, even when
they start in the same second).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass

MAX_NAME = 63
MAX_TUNING_NAME = 32
_VALID = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
_LONGEST_SUFFIX = len("-endpoint-config")


def slug(text: str) -> str:
    """``kmeans_mnist`` -> ``kmeans-mnist``: only letters, digits and single hyphens."""
    return re.sub(r"[^a-zA-Z0-9]+", "-", text).strip("-").lower()


def run_token(run_id: str) -> str:
    """Digits of the run's timestamp plus a hash of the whole run id, e.g. ``20261121T170928-3f9a2c``."""
    digest = hashlib.sha256(run_id.encode()).hexdigest()[:6]
    stamp = re.search(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})", run_id)
    return f"{''.join(stamp.groups()[:3])}t{''.join(stamp.groups()[3:])}-{digest}" if stamp else digest


@dataclass(frozen=True)
class RunNames:
    """Every name one DAG run uses; built once per run and passed downstream through XCom."""

    training_job: str
    model: str
    endpoint_config: str
    endpoint: str
    tuning_job: str
    s3_prefix: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def run_names(dag_id: str, run_id: str, stage: str = "") -> RunNames:
    """Names for ``run_id`` of ``dag_id``; ``stage`` tells several jobs of one run apart (``pca``)."""
    token = run_token(run_id)
    head = slug("-".join(filter(None, [dag_id, stage])))
    base_budget = MAX_NAME - _LONGEST_SUFFIX - len(token) - 1
    base = f"{head[:base_budget].rstrip('-')}-{token}"
    tuning_head = head[: MAX_TUNING_NAME - len(token) - 1].rstrip("-")
    names = RunNames(
        training_job=base,
        model=f"{base}-model",
        endpoint_config=f"{base}-endpoint-config",
        endpoint=f"{base}-endpoint",
        tuning_job=f"{tuning_head}-{token}" if tuning_head else token,
        s3_prefix=f"{slug(dag_id)}/{token}" + (f"/{slug(stage)}" if stage else ""),
    )
    for name in (names.training_job, names.model, names.endpoint_config, names.endpoint, names.tuning_job):
        if not _VALID.match(name):
            raise ValueError(f"Derived SageMaker name {name!r} is not valid; check dag_id {dag_id!r}")
    if len(names.tuning_job) > MAX_TUNING_NAME:
        raise ValueError(f"Tuning job name {names.tuning_job!r} is longer than {MAX_TUNING_NAME}")
    return names
