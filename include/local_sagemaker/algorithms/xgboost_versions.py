"""Which SageMaker XGBoost image an image URI names, and how the images' versions order.

The tags are those of the SageMaker Python SDK's ``image_uri_config/xgboost.json``: ``xgboost:1`` and
``xgboost:latest`` run the legacy built-in algorithm (XGBoost 0.72, closed source); ``sagemaker-xgboost``
runs the open-source container of github.com/aws/sagemaker-xgboost-container, one branch per version,
tagged ``0.90-1-cpu-py3``, ``0.90-2-cpu-py3``, ``1.0-1-cpu-py3``, then ``1.2-1`` ... ``1.7-1``, ``3.0-5``
(Graviton images add ``-arm64``). What differs between versions is tabled where it matters:
hyperparameters in :mod:`~include.local_sagemaker.algorithms.xgboost_hyperparameters`, responses in
:mod:`~include.local_sagemaker.algorithms.xgboost_inference`.
"""

from __future__ import annotations

import re

# The legacy algorithm's version, for ordering: it came before the container's 0.90-1.
LEGACY = "0.72"
LEGACY_TAGS = ("1", "latest")
# A tag that names no version (a digest, a custom tag) behaves as the version the project's DAGs use.
DEFAULT = "1.7-1"

_VERSION = re.compile(r"^(\d+)\.(\d+)-(\d+)")


def image_version(image_uri: str) -> str:
    """``…/sagemaker-xgboost:1.0-1-cpu-py3`` -> ``"1.0-1"``; ``…/xgboost:1`` -> :data:`LEGACY`."""
    name = image_uri.strip().rsplit("/", 1)[-1]
    repository, _, tag = name.partition(":")
    tag = tag.split("@", 1)[0]
    if repository == "xgboost" and tag in LEGACY_TAGS:
        return LEGACY
    match = _VERSION.match(tag)
    return match.group(0) if match else DEFAULT


def order(version: str) -> tuple[int, int, int]:
    """A sortable key: ``"0.90-2"`` -> ``(0, 90, 2)``, :data:`LEGACY` -> ``(0, 72, 0)``."""
    if version == LEGACY:
        return (0, 72, 0)
    match = _VERSION.match(version)
    if not match:
        raise ValueError(f"{version!r} is not an XGBoost image version such as '1.7-1'")
    return tuple(int(part) for part in match.groups())  # type: ignore[return-value]


def between(version: str, first: str, last: str | None) -> bool:
    """Whether ``version`` is ``first``, ``last`` or an image between them (``last`` None: no end)."""
    return order(first) <= order(version) and (last is None or order(version) <= order(last))
