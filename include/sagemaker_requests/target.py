"""Where a run's SageMaker work goes: bucket, execution role and region, from Airflow Variables with local
defaults.

Read when a task runs, never when a DAG file is parsed, so DAG files parse with no configuration.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

LOCAL_BUCKET = "sagemaker-mnist-local"
LOCAL_ROLE_ARN = "arn:aws:iam::123456789012:role/SageMakerRole"
LOCAL_REGION = "us-east-1"


@dataclass(frozen=True)
class Target:
    """The bucket a run stores its data and models in, the role its jobs run as, and their region."""

    bucket: str
    role_arn: str
    region: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def read_target(get_variable: Callable[[str, str], str]) -> Target:
    """The target the Variables ``sagemaker_bucket``, ``sagemaker_role_arn`` and ``sagemaker_region`` name;
    ``get_variable(name, default)`` is e.g. ``lambda k, d: Variable.get(k, default=d)``."""
    settings = Target(
        bucket=get_variable("sagemaker_bucket", LOCAL_BUCKET),
        role_arn=get_variable("sagemaker_role_arn", LOCAL_ROLE_ARN),
        region=get_variable("sagemaker_region", LOCAL_REGION),
    )
    if "/" not in settings.role_arn or not settings.role_arn.startswith("arn:"):
        # The provider would otherwise call IAM GetRole to expand a bare role name.
        raise ValueError(f"sagemaker_role_arn must be a full role ARN, got {settings.role_arn!r}")
    return settings
