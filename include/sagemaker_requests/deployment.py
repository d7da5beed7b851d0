"""Where a run deploys: bucket, execution role and region, from Airflow Variables with local defaults.

Read when a task runs, never when a DAG file is parsed, so DAG files parse with no configuration.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

LOCAL_BUCKET = "sagemaker-mnist-local"
LOCAL_ROLE_ARN = "arn:aws:iam::123456789012:role/SageMakerRole"
LOCAL_REGION = "us-east-1"


@dataclass(frozen=True)
class Deployment:
    bucket: str
    role_arn: str
    region: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def deployment(get_variable: Callable[[str, str], str]) -> Deployment:
    """``get_variable(name, default)`` is e.g. ``lambda k, d: Variable.get(k, default=d)``."""
    settings = Deployment(
        bucket=get_variable("sagemaker_bucket", LOCAL_BUCKET),
        role_arn=get_variable("sagemaker_role_arn", LOCAL_ROLE_ARN),
        region=get_variable("sagemaker_region", LOCAL_REGION),
    )
    if "/" not in settings.role_arn or not settings.role_arn.startswith("arn:"):
        # The provider would otherwise call IAM GetRole to expand a bare role name.
        raise ValueError(f"sagemaker_role_arn must be a full role ARN, got {settings.role_arn!r}")
    return settings
